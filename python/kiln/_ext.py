"""Finds the C++ extension kiln._kiln.

An installed kiln (`pip install .`) has it inside the package. In a source checkout (the tests,
scripts/setup's development install) it is built by CMake with -DKILN_PYTHON=ON into
<build>/python/kiln: $KILN_BUILD_DIR/python/kiln, else build/python/kiln at the repository root.

An installed package also ships the runtime sources every compiled model is built from
(kiln/share/kiln); $KILN_HOME points the compiler at them unless it is already set.
"""
import importlib.machinery
import importlib.util
import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _load_from_build_dir():
    repo = os.path.dirname(os.path.dirname(_PACKAGE_DIR))
    build_dirs = []
    if os.environ.get("KILN_BUILD_DIR"):
        build_dirs.append(os.environ["KILN_BUILD_DIR"])
    build_dirs.append(os.path.join(repo, "build"))
    tried = []
    for build in build_dirs:
        folder = os.path.join(os.path.abspath(build), "python", "kiln")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_kiln" + suffix)
            if os.path.exists(path):
                spec = importlib.util.spec_from_file_location("kiln._kiln", path)
                module = importlib.util.module_from_spec(spec)
                sys.modules["kiln._kiln"] = module
                spec.loader.exec_module(module)
                return module
        tried.append(folder)
    raise ImportError(
        "kiln's C++ extension (kiln._kiln) is neither installed with the package nor built in "
        + " or ".join(tried)
        + ": run `pip install .` at the repository root, or build it with "
        "`cmake -DKILN_PYTHON=ON ... && ninja _kiln` (scripts/test does)"
    )


try:
    from . import _kiln  # noqa: F401  (installed package)
except ImportError:
    _kiln = _load_from_build_dir()

_SHARE = os.path.join(_PACKAGE_DIR, "share", "kiln")
if not os.environ.get("KILN_HOME") and os.path.exists(
    os.path.join(_SHARE, "include", "kiln", "module_abi.h")
):
    os.environ["KILN_HOME"] = _SHARE
