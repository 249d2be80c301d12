"""The benchmark harness (kiln.bench, bench/compare.py) end to end on the CPU target.

A tiny CNN classifier at one batch through the Python API: the correctness check (kiln vs
PyTorch fp32 eager, max |err| / max |ref| <= 1e-3, top-1 agreement 100%), timings of kiln and
PyTorch eager / channels_last / torch.compile, and the Markdown, JSON and (with matplotlib) PNG
reports; the PNG is skipped with a note when matplotlib cannot be imported; a model whose
exported graph differs from its eager forward fails the check and makes the CLI exit 1 without
timings. Skipped without PyTorch (the CI venv has none; run with .venv-bench).
"""
import json
import sys

import pytest

torch = pytest.importorskip("torch")

from kiln.bench import BenchConfig, main, run_benchmark  # noqa: E402


class TinyCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def tiny_cnn(batch):
    torch.manual_seed(0)
    model = TinyCNN()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model, (torch.randn(batch, 3, 16, 16),)


class ExportDiffers(torch.nn.Module):
    """Doubles its input when traced by torch.export (what kiln compiles), not in eager."""

    def forward(self, x):
        return x * 2.0 if torch.compiler.is_exporting() else x + 0.0


def export_differs():  # no batch argument: the harness resizes the inputs' dim 0
    return ExportDiffers(), (torch.randn(1, 4),)


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_end_to_end_on_the_cpu(tmp_path):
    out = str(tmp_path / "results" / "tiny_cpu")
    result = run_benchmark(BenchConfig(
        model=tiny_cnn, batches=[3], modes=["eager", "channels_last", "compile"],
        target="cpu", warmup=1, reps=3, out=out, progress=False))
    assert result["ok"] and result["target"] == "cpu" and result["dtype"] == "f32"
    check = result["check"]
    assert check["tolerance"] == 1e-3 and check["top1_agreement"] == 1.0
    assert len(check["rows"]) == 1 and check["rows"][0]["batch"] == 3
    assert check["rows"][0]["rel_err"] <= 1e-3 and check["rows"][0]["max_abs_ref"] > 0
    (row,) = result["rows"]
    assert row["batch"] == 3
    assert set(row["ms"]) == {"kiln", "eager", "channels_last", "compile"}
    assert all(ms > 0 for ms in row["ms"].values())
    best = row["best_torch"]
    assert best != "kiln" and row["vs_best_torch"][best] == 1.0
    assert row["vs_best_torch"]["kiln"] == pytest.approx(row["ms"][best] / row["ms"]["kiln"])
    assert row["items_per_s"]["eager"] == pytest.approx(3 / row["ms"]["eager"] * 1e3)
    # 3 images x (conv 16 x 16 x 8 outputs x 27 + fc 8 x 10) multiply-adds, 2 FLOPs each.
    assert row["flops"] == 3 * 2 * (16 * 16 * 8 * 27 + 8 * 10)
    assert row["tflops"]["kiln"] == pytest.approx(row["flops"] / row["ms"]["kiln"] / 1e9)
    assert result["peak_tflops"] > 0
    (build,) = result["kiln_builds"]  # one batch: one static library
    assert build["compile_s"] > 0 and not build["dynamic"] and build["workspace_bytes"][0] > 0
    assert row["peak_mb"]["kiln"] == build["workspace_bytes"][0] / 2**20
    with open(out + ".json") as f:
        saved = json.load(f)
    assert saved["rows"][0]["ms"] == row["ms"] and saved["ok"] is True
    with open(out + ".md") as f:
        md = f.read()
    assert "## Correctness: passed" in md and "| TFLOP/s | % of roofline |" in md
    assert "0.000111 GFLOP per item" in md
    for mode in ("kiln", "eager", "channels_last", "compile"):
        assert f"| 3 | {mode}" in md
    png = tmp_path / "results" / "tiny_cpu.png"
    if has_matplotlib():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert not png.exists() and "matplotlib is not installed" in md


def test_dynamic_batch_memory_is_the_workspace_of_the_batch(tmp_path):
    # One library for batch 1..3: its workspace scales with the batch, and so does kiln's
    # peak-memory column. torch.compile runs at batch 3 only (compile_batches).
    result = run_benchmark(BenchConfig(
        model=tiny_cnn, batches=[1, 3], modes=["eager", "compile"], compile_batches=[3],
        target="cpu", warmup=1, reps=2, out=str(tmp_path / "tiny_dyn"), progress=False))
    assert result["ok"]
    assert [set(row["ms"]) for row in result["rows"]] == [{"kiln", "eager"},
                                                          {"kiln", "eager", "compile"}]
    assert "torch.compile modes not run at batch 1 (--compile-batches)" in result["notes"]
    (build,) = result["kiln_builds"]
    assert build["dynamic"]
    unit = build["workspace_unit_bytes"][0]
    assert unit > 0
    one, three = (row["peak_mb"]["kiln"] for row in result["rows"])
    assert three - one == pytest.approx(2 * unit / 2**20)
    assert three * 2**20 <= build["workspace_bytes"][0]


def test_png_skipped_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = str(tmp_path / "tiny")
    result = run_benchmark(BenchConfig(model=tiny_cnn, batches=[2], modes=["eager"],
                                       target="cpu", warmup=1, reps=2, out=out, progress=False))
    assert result["ok"]
    assert result["files"] == [out + ".json", out + ".md"]
    assert not (tmp_path / "tiny.png").exists()
    with open(out + ".md") as f:
        assert "no chart: matplotlib is not installed" in f.read()


def test_mismatch_exits_1_without_timings(tmp_path, capsys):
    out = str(tmp_path / "differs")
    status = main(["--model", f"{__name__}:export_differs", "--target", "cpu", "--batches", "2",
                   "--modes", "eager", "--warmup", "1", "--reps", "2", "--out", out])
    assert status == 1
    with open(out + ".json") as f:
        saved = json.load(f)
    assert saved["ok"] is False and saved["rows"] == []
    (check_row,) = saved["check"]["rows"]
    assert check_row["batch"] == 2 and check_row["rel_err"] == pytest.approx(1.0, rel=1e-6)
    with open(out + ".md") as f:
        md = f.read()
    assert "## Correctness: FAILED" in md and "timings skipped" in md
    assert "correctness check FAILED" in capsys.readouterr().out


class TinyMlp(torch.nn.Module):
    def __init__(self, split=False):
        super().__init__()
        self.split = split
        self.fc = torch.nn.Linear(16, 8)

    def forward(self, x):
        if self.split:  # the same function, another PyTorch form
            return torch.relu(x @ self.fc.weight.t() + self.fc.bias)
        return torch.relu(self.fc(x))


def tiny_mlp_with_a_form(batch):
    torch.manual_seed(0)
    model = TinyMlp()
    other = TinyMlp(split=True)
    other.load_state_dict(model.state_dict())
    return model, (torch.randn(batch, 16),), {"matmul": other}


def test_other_pytorch_forms_are_timed_and_count_for_the_best(tmp_path):
    result = run_benchmark(BenchConfig(
        model=tiny_mlp_with_a_form, batches=[2], modes=["eager"], target="cpu", warmup=1,
        reps=3, out=str(tmp_path / "mlp"), progress=False))
    assert result["ok"]
    (row,) = result["rows"]
    assert set(row["ms"]) == {"kiln", "eager", "eager [matmul]"}
    assert row["best_torch"] == min(("eager", "eager [matmul]"), key=lambda k: row["ms"][k])
    assert "eager [matmul]" in open(str(tmp_path / "mlp.md")).read()


def test_form_modes_limit_the_modes_timed_on_other_forms(tmp_path):
    result = run_benchmark(BenchConfig(
        model=tiny_mlp_with_a_form, batches=[2], modes=["eager"], form_modes=[], target="cpu",
        warmup=1, reps=3, out=str(tmp_path / "mlp"), progress=False))
    (row,) = result["rows"]
    assert set(row["ms"]) == {"kiln", "eager"}


def test_a_form_that_computes_something_else_is_refused():
    def factory(batch):
        model, inputs, forms = tiny_mlp_with_a_form(batch)
        torch.nn.init.zeros_(forms["matmul"].fc.bias)
        torch.nn.init.ones_(forms["matmul"].fc.weight)
        return model, inputs, forms

    from kiln.bench._models import build_model
    with pytest.raises(ValueError, match="form 'matmul' computes something else"):
        build_model(factory, 2)
