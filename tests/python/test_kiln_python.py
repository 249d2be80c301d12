"""The Python package (python/kiln) on the CPU target with numpy: compile, load, run, compare
against kiln's reference interpreter, zero-copy, and every error path.

Tolerance: compiled CPU code vs the interpreter, max abs error <= 1e-5 on values of order 1
(f32; the kernels sum in a different order).
"""
import io
import logging
import os
import sys

import numpy as np
import pytest

import kiln
from kiln._progress import CompileProgress

TOL = 1e-5

# y = relu(x @ w), s = x + b: two inputs, two outputs, one weight, a dynamic batch N.
SMALL_KIR = """
graph @small(%x: f32[N,4], %b: f32[4]) -> (%y, %s) where N in [1, 8] {
  %w = weight "w" : f32[4,3]
  %h = gemm(%x, %w) : f32[N,3]
  %y = relu(%h) : f32[N,3]
  %s = add(%x, %b) : f32[N,4]
}
"""


def rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype(np.float32)


W = rand(4, 3, seed=42)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    return kiln.compile(SMALL_KIR, output_dir=out, weights={"w": W}, progress=False)


def test_compile_load_run_matches_interpreter(small):
    x, b = rand(5, 4, seed=1), rand(4, seed=2)
    y, s = small(x, b)
    ref_y, ref_s = kiln.reference_eval(SMALL_KIR, x, b, weights={"w": W})
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == (5, 3)
    assert np.abs(y - ref_y).max() <= TOL
    assert np.abs(s - ref_s).max() <= TOL
    # and the interpreter against numpy, so neither can be trivially wrong
    assert np.abs(ref_y - np.maximum(x @ W, 0)).max() <= TOL
    assert np.abs(ref_s - (x + b)).max() <= TOL


@pytest.mark.parametrize("n", [1, 8])
def test_dynamic_dim_inferred_from_inputs(small, n):
    x, b = rand(n, 4, seed=n), rand(4, seed=3)
    y, s = small(x, b)
    assert y.shape == (n, 3) and s.shape == (n, 4)
    assert np.abs(y - np.maximum(x @ W, 0)).max() <= TOL


def test_interface(small, tmp_path):
    assert small.target == "cpu"
    assert [str(spec) for spec in small.inputs] == ["x: f32[N,4]", "b: f32[4]"]
    assert [(o.name, o.dtype, o.shape) for o in small.outputs] == [("y", "f32", ("N", 3)),
                                                                    ("s", "f32", ("N", 4))]
    assert small.symbols == {"N": (1, 8)}
    assert small.compile_info["nodes_in"] == 4
    assert small.compile_info["scratch_bytes"] == 0  # the CPU target's kernels ask for none
    assert os.path.exists(small.compile_info["ir_path"])
    assert "kiln.Module" in repr(small)


def test_load_output_dir_and_library(small):
    directory = os.path.dirname(small.path)
    x, b = rand(2, 4, seed=5), rand(4, seed=6)
    expected = small(x, b)
    for loaded in (kiln.load(directory), kiln.load(small.path),
                   kiln.load(small.path, weights=os.path.join(directory, "model.safetensors"))):
        for got, want in zip(loaded(x, b), expected):
            np.testing.assert_array_equal(got, want)


def test_inputs_by_name(small):
    x, b = rand(3, 4, seed=7), rand(4, seed=8)
    by_pos = small(x, b)
    for got, want in zip(small(x=x, b=b), by_pos):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(small(x, b=b), by_pos):
        np.testing.assert_array_equal(got, want)


def test_zero_copy_inputs_and_outputs(small):
    x, b = rand(4, 4, seed=9), rand(4, seed=10)
    y_out = np.empty((4, 3), np.float32)
    s_out = np.empty((4, 4), np.float32)
    y, s = small(x, b, out=(y_out, s_out))
    assert y is y_out and s is s_out
    inputs, outputs = small._impl.last_pointers()
    assert inputs == [x.ctypes.data, b.ctypes.data]
    assert outputs == [y_out.ctypes.data, s_out.ctypes.data]
    assert np.abs(y_out - np.maximum(x @ W, 0)).max() <= TOL
    # allocated outputs are handed back without a copy too
    y2, s2 = small(x, b)
    assert small._impl.last_pointers()[1] == [y2.ctypes.data, s2.ctypes.data]


def test_out_with_none_allocates_that_output(small):
    x, b = rand(2, 4, seed=11), rand(4, seed=12)
    s_out = np.empty((2, 4), np.float32)
    y, s = small(x, b, out=[None, s_out])
    assert s is s_out and y.shape == (2, 3)
    np.testing.assert_allclose(s_out, x + b, atol=TOL)


def test_strided_input_is_made_contiguous(small):
    base = rand(4, 8, seed=13)
    x = base[:, ::2]  # a strided view
    y, _ = small(x, np.zeros(4, np.float32))
    assert np.abs(y - np.maximum(np.ascontiguousarray(x) @ W, 0)).max() <= TOL


# ---- errors ----
def test_wrong_dtype_names_input_expected_and_actual(small):
    with pytest.raises(ValueError, match=r"input x: expected dtype f32, got float64"):
        small(rand(2, 4).astype(np.float64), rand(4))


def test_unsupported_dtype(small):
    with pytest.raises(ValueError, match=r"input x: expected dtype f32, got i64"):
        small(np.zeros((2, 4), np.int64), rand(4))
    with pytest.raises(ValueError, match=r"input x: expected dtype f32, got complex64"):
        small(np.zeros((2, 4), np.complex64), rand(4))


def test_wrong_static_dim(small):
    with pytest.raises(ValueError, match=r"input x: dim 1 must be 4, got 5 \(expected f32\[N,4\], "
                                         r"got f32\[2,5\]\)"):
        small(rand(2, 5), rand(4))


def test_wrong_rank(small):
    with pytest.raises(ValueError, match=r"input b: expected f32\[4\] \(rank 1\), got f32\[1,4\]"):
        small(rand(2, 4), rand(1, 4))


def test_dynamic_dim_out_of_range(small):
    with pytest.raises(ValueError, match=r"dynamic dim N = 9 .* outside its declared range \[1, 8\]"):
        small(rand(9, 4), rand(4))


def test_argument_errors(small):
    with pytest.raises(TypeError, match=r"missing input\(s\): b"):
        small(rand(2, 4))
    with pytest.raises(TypeError, match=r"no input named 'z'"):
        small(rand(2, 4), z=rand(4))
    with pytest.raises(TypeError, match=r"takes 2 inputs \(x, b\), got 3"):
        small(rand(2, 4), rand(4), rand(4))
    with pytest.raises(TypeError, match=r"input 'x' given both by position and by name"):
        small(rand(2, 4), x=rand(2, 4), b=rand(4))


def test_out_errors(small):
    x, b = rand(2, 4), rand(4)
    with pytest.raises(ValueError, match=r"out\[0\] \(output y\): expected f32\[2,3\], got f32\[2,4\]"):
        small(x, b, out=(np.empty((2, 4), np.float32), np.empty((2, 4), np.float32)))
    with pytest.raises(ValueError, match=r"out\[1\] \(output s\): expected f32\[2,4\], got i32\[2,4\]"):
        small(x, b, out=(np.empty((2, 3), np.float32), np.empty((2, 4), np.int32)))
    with pytest.raises(ValueError, match=r"out= gives 1 tensors, the module has 2 outputs"):
        small(x, b, out=np.empty((2, 3), np.float32))
    readonly = np.empty((2, 4), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(TypeError, match=r"out\[1\] \(output s\): expected a writable tensor"):
        small(x, b, out=(np.empty((2, 3), np.float32), readonly))
    strided = np.empty((2, 6), np.float32)[:, ::2]
    with pytest.raises(ValueError, match=r"out\[0\] \(output y\): expected a contiguous"):
        small(x, b, out=(strided, None))


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such kiln model library"):
        kiln.load(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="nothing.kir"):
        kiln.compile(str(tmp_path / "nothing.kir"), output_dir=tmp_path / "o", progress=False)
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        kiln.compile("zoo:mlp", weights=str(tmp_path / "w.safetensors"),
                     output_dir=tmp_path / "o", progress=False)
    with pytest.raises(FileNotFoundError, match="unknown zoo model 'nope'"):
        kiln.compile("zoo:nope", output_dir=tmp_path / "o", progress=False)


def test_not_a_library(tmp_path):
    bad = tmp_path / "model.so"
    bad.write_bytes(b"not an ELF file")
    with pytest.raises(ValueError, match="model.so"):
        kiln.load(bad)


def test_parse_error_has_position(tmp_path):
    text = SMALL_KIR.replace("relu(%h)", "relu(%nope)")
    with pytest.raises(ValueError, match=r"<text>:5:\d+: undefined value %nope"):
        kiln.compile(text, output_dir=tmp_path, weights={"w": W}, progress=False)


def test_weights_dict_errors(tmp_path):
    with pytest.raises(ValueError, match=r"no tensor for the graph's weight 'w'"):
        kiln.compile(SMALL_KIR, output_dir=tmp_path, weights={}, progress=False)
    with pytest.raises(ValueError, match=r"weight 'w': expected f32\[4,3\], got f32\[3,4\]"):
        kiln.compile(SMALL_KIR, output_dir=tmp_path, weights={"w": W.T.copy()}, progress=False)


def test_unsupported_op_or_dtype_is_not_implemented(tmp_path):
    f16 = SMALL_KIR.replace("f32", "f16")
    with pytest.raises(NotImplementedError, match=r"f16"):
        kiln.compile(f16, output_dir=tmp_path, weights={"w": W.astype(np.float16)},
                     progress=False)


def test_unknown_target_and_options(tmp_path):
    with pytest.raises(ValueError, match=r"unknown target \"tpu\""):
        kiln.compile(SMALL_KIR, target="tpu", output_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"tune='sometimes'"):
        kiln.compile(SMALL_KIR, tune="sometimes", output_dir=tmp_path, progress=False)
    with pytest.raises(TypeError, match="example_inputs"):
        kiln.compile(SMALL_KIR, (rand(2, 4),), output_dir=tmp_path, progress=False)
    with pytest.raises(TypeError, match=r"model: expected a path, 'zoo:NAME', KIR text or a "
                                        r"torch.nn.Module, got int"):
        kiln.compile(42, output_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"programmatic dependent launch \(--pdl\) needs the "
                                         r"cuda-sm90 target \(Hopper\), not cpu"):
        kiln.compile(SMALL_KIR, pdl=True, weights={"w": W}, output_dir=tmp_path, progress=False)


# ---- models kiln knows: the zoo and ONNX files ----
def test_zoo_model_matches_interpreter(tmp_path):
    module = kiln.compile("zoo:mlp", output_dir=tmp_path, dynamic={"batch": (1, 4)},
                          progress=False)
    assert module.symbols == {"N": (1, 4)}
    x = rand(3, 784, seed=20)
    (ref,) = kiln.reference_eval("zoo:mlp", x, dynamic={"batch": (1, 4)})
    got = module(x)
    assert got.shape == (3, 10)
    assert np.abs(got - ref).max() <= TOL * max(1.0, float(np.abs(ref).max()))


ONNX_RELU = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx"


@pytest.mark.skipif(not os.path.exists(ONNX_RELU), reason="libonnx-testdata not installed")
def test_onnx_file(tmp_path):
    module = kiln.compile(ONNX_RELU, output_dir=tmp_path, progress=False)
    shape = tuple(module.inputs[0].shape)
    x = rand(*shape, seed=21)
    np.testing.assert_array_equal(module(x), np.maximum(x, 0))
    np.testing.assert_array_equal(kiln.reference_eval(ONNX_RELU, x)[0], np.maximum(x, 0))


ONNX_RESHAPE = "/usr/share/libonnx-testdata/data/node/test_reshape_reordered_all_dims/model.onnx"


@pytest.mark.skipif(not os.path.exists(ONNX_RESHAPE), reason="libonnx-testdata not installed")
def test_onnx_input_bound_at_compile_time(tmp_path):
    # The model takes its Reshape's shape as a graph input: bound, it becomes a constant.
    with pytest.raises(NotImplementedError, match="--bind"):
        kiln.compile(ONNX_RESHAPE, output_dir=tmp_path / "plain", progress=False)
    module = kiln.compile(ONNX_RESHAPE, output_dir=tmp_path / "bound", progress=False,
                          bind={"shape": np.array([4, 2, 3])})
    assert [i.name for i in module.inputs] == ["data"]
    x = rand(2, 3, 4, seed=22)
    np.testing.assert_array_equal(module(x), x.reshape(4, 2, 3))
    ref = kiln.reference_eval(ONNX_RESHAPE, x, bind={"shape": [4, 2, 3]})[0]
    np.testing.assert_array_equal(ref, x.reshape(4, 2, 3))
    with pytest.raises(ValueError, match="value 1 \\('2.5'\\) is not an integer"):
        kiln.compile(ONNX_RESHAPE, output_dir=tmp_path / "bad", progress=False,
                     bind={"shape": [4, 2.5, 3]})
    with pytest.raises(ValueError, match="bind applies to .onnx models only"):
        kiln.compile("zoo:mlp", output_dir=tmp_path / "zoo", progress=False, bind={"x": [1]})
    with pytest.raises(TypeError, match="flat sequence"):
        kiln.compile(ONNX_RESHAPE, output_dir=tmp_path / "nested", progress=False,
                     bind={"shape": [[4, 2, 3]]})


# ---- progress ----
class FakeTerminal:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_bar_on_a_terminal():
    term = FakeTerminal()
    p = CompileProgress(None, stream=term)
    p.log("optimising: 10 passes")
    p.progress(1, 4, "compiled", "kernel_1.cc")
    p.progress(4, 4, "cached", "model.cc")
    p.finish("compiled 'small'")
    assert "[######..................] 1/4 compiled kernel_1.cc" in term.text
    assert "[########################] 4/4" in term.text
    assert term.text.endswith("kiln: compiled 'small'\n")


def test_progress_logs_when_not_a_terminal(caplog, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a TTY, even under `pytest -s`
    with caplog.at_level(logging.INFO, logger="kiln"):
        kiln.compile(SMALL_KIR, output_dir=tmp_path, weights={"w": W})
    messages = [r.getMessage() for r in caplog.records if r.name == "kiln"]
    assert any(m.startswith("compiling graph @small") for m in messages)
    assert any(m.startswith("built ") and "objects" in m for m in messages)
    assert any(m.startswith("compiled 'small' for cpu") for m in messages)


def test_progress_false_is_silent(caplog, capsys, tmp_path):
    with caplog.at_level(logging.INFO, logger="kiln"):
        kiln.compile(SMALL_KIR, output_dir=tmp_path, weights={"w": W}, progress=False)
    assert not [r for r in caplog.records if r.name == "kiln"]
    assert capsys.readouterr().err == ""
