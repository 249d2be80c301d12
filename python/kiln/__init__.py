"""kiln: an ahead-of-time inference compiler for neural networks, from Python.

    import kiln, numpy as np
    module = kiln.compile("zoo:mlp")          # or a .kir / .onnx path, or a torch.nn.Module
    y = module(np.ones((1, 784), np.float32))

kiln.compile builds a model into a shared library (kiln.Module); kiln.load loads one built
earlier (also by the `kiln compile` tool); kiln.reference_eval runs a model with kiln's
reference interpreter. With PyTorch installed, `torch.compile(model, backend="kiln")` works too.
See docs/python.md.
"""
import sys as _sys

from ._compile import compile, reference_eval
from ._ext import _kiln
from ._module import Module, TensorSpec, load

__version__ = "0.1.0"
ABI_VERSION: int = _kiln.ABI_VERSION

__all__ = ["Module", "TensorSpec", "compile", "load", "reference_eval", "ABI_VERSION"]

# The torch.compile backend is registered through the "torch_dynamo_backends" entry point of an
# installed kiln; in a source checkout (or when torch is already imported) it is registered here.
if "torch" in _sys.modules:
    from .torch_frontend import register_backend as _register_backend

    _register_backend()
