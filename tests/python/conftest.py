"""pytest setup for tests/python: the kiln package from this checkout (python/kiln, its extension
from $KILN_BUILD_DIR/python/kiln, default build/), or the installed one when KILN_TEST_INSTALLED=1
(to test a wheel: `pip install . pytest && KILN_TEST_INSTALLED=1 python -m pytest tests/python`);
and the `gpu` marker: GPU tests run with `scripts/test --gpu` (pytest -m gpu) and skip where
PyTorch has no CUDA device."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.environ.get("KILN_TEST_INSTALLED") != "1":
    sys.path.insert(0, os.path.join(REPO, "python"))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (scripts/test --gpu)")


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs PyTorch with a CUDA device")
        for item in gpu_items:
            item.add_marker(skip)
