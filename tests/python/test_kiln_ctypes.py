"""Tests bench/kiln_ctypes.py against the hand-written fixture module, numpy as the reference
(tests/runtime/fixture_module.cc: y = relu(x) * w + b, x: f32[N,4], N in [1, 8], w, b: f32[4]).

Needs the fixture libraries built in $KILN_BUILD_DIR (default: build/ at the repo root):
    ninja -C build kiln_test_fixture_module kiln_test_fixture_module_abi999 \
        kiln_test_fixture_module_residual
    KILN_BUILD_DIR=build .venv/bin/python -m pytest tests/python/test_kiln_ctypes.py
"""
import json
import os
import struct
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))

import kiln_ctypes  # noqa: E402
from kiln_ctypes import KilnError  # noqa: E402

BUILD_DIR = os.path.join(REPO, os.environ.get("KILN_BUILD_DIR", "build"))


def fixture_path(name):
    """The built fixture library `name`, or a skip saying how to build it."""
    path = os.path.join(BUILD_DIR, "tests", f"lib{name}.so")
    if not os.path.exists(path):
        pytest.skip(f"{path} not built: run `ninja -C {BUILD_DIR} {name}` "
                    "(or set KILN_BUILD_DIR to a build dir that has it)")
    return path


def save_safetensors(path, tensors):
    """Writes `tensors` (name -> numpy array) as a safetensors file with numpy only."""
    codes = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
             np.dtype(np.int64): "I64", np.dtype(np.int32): "I32"}
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


W = np.array([0.5, -2.0, 3.0, 1.25], dtype=np.float32)
B = np.array([0.1, 0.2, -0.3, 4.0], dtype=np.float32)


@pytest.fixture()
def module():
    return kiln_ctypes.Module.load(fixture_path("kiln_test_fixture_module"))


@pytest.fixture()
def weights(tmp_path):
    path = tmp_path / "w.safetensors"
    save_safetensors(path, {"w": W, "b": B})
    return path


def reference(x):
    return np.maximum(x, 0) * W + B


def test_interface(module):
    assert module.target == "cpu"
    assert [i.name for i in module.inputs] == ["x"]
    assert [o.name for o in module.outputs] == ["y"]
    x = module.inputs[0]
    assert x.np_dtype == np.float32 and x.rank == 2
    assert x.static_dims == (-1, 4) and x.dims == ["N", 4]
    assert x.type_string() == "f32[N,4]"
    assert module.symbols == [("N", 1, 8)]


def test_run_matches_numpy_for_each_batch(module, weights):
    rng = np.random.default_rng(0)
    with module.create_instance(weights) as inst:
        for n in (1, 3, 8):
            x = rng.standard_normal((n, 4)).astype(np.float32)
            (y,) = inst.run([x])
            assert y.shape == (n, 4) and y.dtype == np.float32
            np.testing.assert_allclose(y, reference(x), rtol=1e-6, atol=1e-6)
        # Dict inputs and caller-provided outputs.
        x = rng.standard_normal((2, 4)).astype(np.float32)
        out = np.full((2, 4), np.nan, dtype=np.float32)
        (y,) = inst.run({"x": x}, outputs=[out])
        assert y is out
        np.testing.assert_allclose(out, reference(x), rtol=1e-6, atol=1e-6)


def test_set_dims_and_output_shape(module, weights):
    with module.create_instance(weights) as inst:
        with pytest.raises(KilnError, match="dims not set") as e:
            inst.output_shape(0)
        assert e.value.code == 1
        inst.set_dims({"N": 5})
        assert inst.output_shape(0) == (5, 4)
        inst.set_dims([2])
        assert inst.output_shape(0) == (2, 4)


def test_out_of_range_dim_is_a_library_error(module, weights):
    with module.create_instance(weights) as inst:
        inst.set_dims([3])
        with pytest.raises(KilnError, match=r"N = 9 is outside its declared range \[1, 8\]") as e:
            inst.set_dims([9])
        assert e.value.code == 4 and "OUT_OF_RANGE" in str(e.value)
        assert inst.output_shape(0) == (3, 4)  # the previous binding is kept
        with pytest.raises(KilnError, match="outside its declared range"):
            inst.run([np.zeros((9, 4), np.float32)])


def test_bad_inputs_are_caught_before_the_call(module, weights):
    with module.create_instance(weights) as inst:
        with pytest.raises(ValueError, match=r"input x: expected f32\[N,4\], got float64"):
            inst.run([np.zeros((2, 4))])
        with pytest.raises(ValueError, match="dim 1 is 3, expected 4"):
            inst.run([np.zeros((2, 3), np.float32)])
        with pytest.raises(ValueError, match="expected 1 inputs"):
            inst.run([np.zeros((2, 4), np.float32)] * 2)
        with pytest.raises(ValueError, match="output y: need a writable C-contiguous"):
            inst.run([np.zeros((2, 4), np.float32)], outputs=[np.zeros((3, 4), np.float32)])


def test_missing_weights_file(module, tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(KilnError, match="nope.safetensors") as e:
        module.create_instance(missing)
    assert e.value.code == 2  # KILN_ERR_NOT_FOUND


def test_wrong_weights(module, tmp_path):
    path = tmp_path / "bad.safetensors"
    save_safetensors(path, {"w": W})
    with pytest.raises(KilnError, match='missing tensor "b"') as e:
        module.create_instance(path)
    assert e.value.code == 1
    save_safetensors(path, {"w": W, "b": np.zeros(3, np.float32)})
    with pytest.raises(KilnError, match=r'tensor "b" is f32\[3\], expected f32\[4\]'):
        module.create_instance(path)
    with pytest.raises(KilnError, match="needs a weights file"):
        module.create_instance(None)


def test_closed_instance(module, weights):
    inst = module.create_instance(weights)
    inst.close()
    inst.close()  # idempotent
    with pytest.raises(ValueError, match="after close"):
        inst.output_shape(0)


def test_abi_version_mismatch():
    path = fixture_path("kiln_test_fixture_module_abi999")
    with pytest.raises(KilnError, match="ABI version 999, this loader speaks version 1"):
        kiln_ctypes.Module.load(path)


def test_not_a_module(tmp_path):
    with pytest.raises(KilnError, match="not found") as e:
        kiln_ctypes.Module.load(tmp_path / "missing.so")
    assert e.value.code == 2
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"not an ELF file")
    with pytest.raises(KilnError, match="not a loadable shared library"):
        kiln_ctypes.Module.load(junk)


@pytest.mark.parametrize("text,values,expected", [
    ("N", {"N": 3}, 3),
    ("S*12", {"S": 5}, 60),
    ("N*S*12+3", {"N": 2, "S": 4}, 99),
    ("seq-1", {"seq": 7}, 6),
])
def test_dim_expressions(text, values, expected):
    assert kiln_ctypes.eval_dim_expr(kiln_ctypes.parse_dim_expr(text), values) == expected


@pytest.mark.parametrize("bad", ["", "N+", "(N)", "N**2", "N S"])
def test_malformed_dim_expressions(bad):
    with pytest.raises(ValueError, match="malformed"):
        kiln_ctypes.parse_dim_expr(bad)


def test_two_inputs_share_a_symbol(weights):
    module = kiln_ctypes.Module.load(fixture_path("kiln_test_fixture_module_residual"))
    assert [i.name for i in module.inputs] == ["x", "r"]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    r = rng.standard_normal((3, 4)).astype(np.float32)
    with module.create_instance(weights) as inst:
        (y,) = inst.run({"r": r, "x": x})
        np.testing.assert_allclose(y, reference(x) + r, rtol=1e-6, atol=1e-6)
        with pytest.raises(ValueError, match=r"input r: shape \[2, 4\] is inconsistent"):
            inst.run([x, r[:2]])
