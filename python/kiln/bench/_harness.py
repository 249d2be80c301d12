"""The benchmark run: kiln vs PyTorch eager / torch.compile modes on one model, one process.

run_benchmark(config):
  1. builds the model (fp32, _models.build_model) once at the largest batch; the inputs of the
     other batches are its inputs' first rows (or rows repeated);
  2. compiles it with kiln.compile (torch.export) for config.target in config.dtype: one library
     with a dynamic batch dim 1..max(batches) when there are several batches (one library per
     batch when the export with a dynamic batch fails), and on a CUDA target a second one with
     CUDA graphs (config.cuda_graphs); prints the compile times;
  3. checks correctness first: kiln's outputs vs PyTorch fp32 eager (TF32 off) on the same
     inputs at every batch: max |err| / max |ref| per output <= tolerance, finite, and for a
     classifier the top-1 agreement over all checked rows >= min_top1. On a mismatch it writes
     the report without timings and returns ok=False;
  4. times kiln and the PyTorch modes in config.dtype at every batch: on a GPU with CUDA events
     (kiln on a side stream: kiln captures CUDA graphs only off the legacy default stream), on
     the CPU with time.perf_counter; medians of reps x inner calls after warmup calls;
  5. writes <out>.md, <out>.json and <out>.png (_report).
PyTorch modes: eager (NCHW), channels_last (conv nets only), compile, reduce-overhead,
max-autotune (torch.compile, dynamic=False, channels_last for conv nets), under inference_mode;
each also on the model's other PyTorch forms ("reduce-overhead [eager attention]" for BERT,
_models), and "best PyTorch" is the fastest of them all.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ._models import BenchModel, build_model, flatten_outputs, resize_batch
from ._timing import cpu_median_ms, cuda_median_ms

MODES = ("eager", "channels_last", "compile", "reduce-overhead", "max-autotune")
COMPILE_MODES = ("compile", "reduce-overhead", "max-autotune")
TOLERANCES = {"f32": 1e-3, "f16": 2e-2, "bf16": 5e-2}
TORCH_DTYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}


@dataclass
class BenchConfig:
    """What to benchmark; None fields take the defaults of the target."""

    model: Any = "resnet50"  # "resnet50" | "vit" | "bert" | "module:function" | a factory
    batches: Sequence[int] = (1, 8, 64)
    seq: Optional[int] = None  # sequence length of a model whose factory takes `seq` (bert)
    modes: Sequence[str] = MODES
    # PyTorch modes timed on the model's other forms (None: every mode of `modes`); e.g. only
    # eager and reduce-overhead, to spare the minutes of max-autotune on a slower form
    form_modes: Optional[Sequence[str]] = None
    compile_batches: Optional[Sequence[int]] = None  # where the torch.compile modes run (None: all)
    target: Optional[str] = None  # default: cuda-sm90 (sm80 below Hopper) with CUDA, else cpu
    dtype: Optional[str] = None  # default: f16 on a GPU, f32 on the CPU
    warmup: int = 10
    reps: int = 20
    inner: int = 1  # calls per timed repetition
    out: Optional[str] = None  # default: bench/results/<model>_<device>
    tolerance: Optional[float] = None  # max |err| / max |ref|; default TOLERANCES[dtype]
    min_top1: float = 0.98
    cuda_graphs: str = "both"  # CUDA targets: kiln without ("off"), with ("on") or both
    pdl: bool = False  # cuda-sm90: also kiln+graphs+pdl, compiled with programmatic dependent launch
    tune: str = "auto"
    cache_dir: Optional[str] = None
    progress: Optional[bool] = None
    command: str = ""  # the command line, for the report
    notes: List[str] = field(default_factory=list)


def _device_slug(torch: Any, target: str) -> str:
    if not target.startswith("cuda"):
        return "cpu"
    name = torch.cuda.get_device_name().lower()
    m = re.search(r"\b([a-z]+\d+[a-z]*)\b", name.replace("nvidia", ""))
    return m.group(1) if m else target


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} threads)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _default_target(torch: Any) -> str:
    if not torch.cuda.is_available():
        return "cpu"
    major, _ = torch.cuda.get_device_capability()
    return "cuda-sm90" if major >= 9 else "cuda-sm80"


def _cast_inputs(torch: Any, inputs: Sequence[Any], dtype: Any, device: str) -> tuple:
    return tuple(x.to(device=device, dtype=dtype if x.is_floating_point() else x.dtype)
                 for x in inputs)


def _channels_last(torch: Any, inputs: Sequence[Any]) -> tuple:
    return tuple(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
                 for x in inputs)


class _KilnVariant:
    """One kiln build (plain or CUDA graphs): a dynamic-batch library or one per batch."""

    def __init__(self, name: str, cuda_graphs: bool, pdl: bool = False) -> None:
        self.name = name
        self.cuda_graphs = cuda_graphs
        self.pdl = pdl
        self.modules: Dict[int, Any] = {}
        self.compile_s = 0.0
        self.dynamic = False
        self.infos: List[Dict[str, Any]] = []

    def module(self, batch: int) -> Any:
        return self.modules[batch] if batch in self.modules else self.modules[-1]

    def workspace_bytes(self, batch: int) -> int:
        """The workspace a run at `batch` takes (the library's at its largest shapes when it
        does not scale with the batch)."""
        info = self.module(batch).compile_info
        # A dynamic library's only symbol is the batch, so a scaling workspace scales with it.
        if info.get("workspace_scale_symbol") and self.dynamic:
            return int(info["workspace_unit_bytes"] * batch + info["workspace_fixed_bytes"]
                       + info["scratch_bytes"])
        return int(info["workspace_bytes"])

    def weights_bytes(self) -> int:
        path = self.infos[0].get("weights_path") or ""
        return os.path.getsize(path) if path and os.path.exists(path) else 0


def _compile_kiln(kiln: Any, torch: Any, cfg: BenchConfig, model: Any, bm: BenchModel,
                  batches: Sequence[int], run_dtype: Any, device: str,
                  variant: _KilnVariant) -> None:
    """Compiles `model` (already in the run dtype, on `device`) into variant.modules."""
    max_b = max(batches)
    common = dict(target=cfg.target, cuda_graphs=variant.cuda_graphs, pdl=variant.pdl, tune=cfg.tune,
                  cache_dir=cfg.cache_dir, progress=cfg.progress)
    if len(set(batches)) > 1 and max_b > 1:
        batch_dim = torch.export.Dim("batch", min=1, max=max_b)
        shapes = tuple({0: batch_dim} for _ in bm.inputs)
        example = _cast_inputs(torch, bm.inputs, run_dtype, device)
        t0 = time.perf_counter()
        try:
            module = kiln.compile(model, example, dynamic_shapes=shapes, **common)
        except Exception as e:  # noqa: BLE001  (any export failure: fall back to static)
            note = (f"{variant.name}: the export with a dynamic batch failed "
                    f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                    "compiling one library per batch")
            print(note, flush=True)
            cfg.notes.append(note)
        else:
            variant.compile_s = time.perf_counter() - t0
            variant.modules[-1] = module
            variant.dynamic = True
            variant.infos.append(module.compile_info)
            print(f"{variant.name}: compiled for batch 1..{max_b} in {variant.compile_s:.1f} s: "
                  f"{module.compile_info['summary']}", flush=True)
            return
    for b in sorted(set(batches)):
        example = _cast_inputs(torch, [resize_batch(x, b) for x in bm.inputs], run_dtype, device)
        t0 = time.perf_counter()
        module = kiln.compile(model, example, **common)
        seconds = time.perf_counter() - t0
        variant.compile_s += seconds
        variant.modules[b] = module
        variant.infos.append(module.compile_info)
        print(f"{variant.name}: compiled for batch {b} in {seconds:.1f} s: "
              f"{module.compile_info['summary']}", flush=True)


def _kiln_call(torch: Any, module: Any, inputs: tuple, outs: Any, cuda: bool,
               stream: Any) -> Any:
    if cuda:  # the inputs were made on the current stream: order the side stream after it
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            return module(*inputs, out=outs)
    return module(*inputs, out=outs)


def _check(torch: Any, cfg: BenchConfig, bm: BenchModel, variants: List[_KilnVariant],
           batches: Sequence[int], run_dtype: Any, device: str, stream: Any) -> Dict[str, Any]:
    """Correctness of every kiln variant at every batch vs PyTorch fp32 eager."""
    cuda = device == "cuda"
    ref_model = copy.deepcopy(bm.module).to(device)
    prev_precision = torch.get_float32_matmul_precision()
    prev_cudnn_tf32 = torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = False
    rows = []
    top1_hits = top1_total = 0
    try:
        for b in sorted(set(batches)):
            inputs32 = tuple(resize_batch(x, b).to(device) for x in bm.inputs)
            with torch.inference_mode():
                want = [w.float() for w in flatten_outputs(ref_model(*inputs32))]
            run_inputs = _cast_inputs(torch, inputs32, run_dtype, device)
            for v in variants:
                got = _kiln_call(torch, v.module(b), run_inputs, None, cuda, stream)
                if cuda:
                    torch.cuda.synchronize()
                got = [g.float() for g in (got if isinstance(got, tuple) else (got,))]
                if len(got) != len(want):
                    raise RuntimeError(f"kiln returned {len(got)} outputs, PyTorch {len(want)}")
                for i, (g, w) in enumerate(zip(got, want)):
                    if tuple(g.shape) != tuple(w.shape):
                        raise RuntimeError(f"output {i}: kiln shape {tuple(g.shape)}, PyTorch "
                                           f"{tuple(w.shape)}")
                    err = float((g.double() - w.double()).abs().max())
                    ref = float(w.double().abs().max())
                    rel = err / ref if ref > 0 else (0.0 if err == 0 else float("inf"))
                    row = {"variant": v.name, "batch": b, "output": i, "max_abs_err": err,
                           "max_abs_ref": ref, "rel_err": rel,
                           "finite": bool(torch.isfinite(g).all())}
                    if bm.classifier:
                        hits = int((g.argmax(-1) == w.argmax(-1)).sum())
                        row["top1_agreement"] = hits / b
                        top1_hits += hits
                        top1_total += b
                    rows.append(row)
                    top1 = (f", top-1 agreement {row['top1_agreement'] * 100:.1f}%"
                            if "top1_agreement" in row else "")
                    print(f"check {v.name} b{b} output {i}: max |err| {err:.3g} / max |ref| "
                          f"{ref:.3g} = {rel:.2e}{top1}", flush=True)
    finally:
        torch.set_float32_matmul_precision(prev_precision)
        torch.backends.cudnn.allow_tf32 = prev_cudnn_tf32
        del ref_model
        if cuda:
            torch.cuda.empty_cache()
    top1 = top1_hits / top1_total if top1_total else None
    bad = [r for r in rows if not r["finite"] or r["rel_err"] > cfg.tolerance]
    ok = not bad and (top1 is None or top1 >= cfg.min_top1)
    return {"ok": ok, "tolerance": cfg.tolerance, "min_top1": cfg.min_top1,
            "top1_agreement": top1, "rows": rows,
            "failures": [f"{r['variant']} b{r['batch']} output {r['output']}: rel err "
                         f"{r['rel_err']:.3g}{'' if r['finite'] else ' (non-finite values)'}"
                         for r in bad] +
                        ([f"top-1 agreement {top1 * 100:.1f}% < {cfg.min_top1 * 100:.1f}%"]
                         if top1 is not None and top1 < cfg.min_top1 else [])}


def _model_flops(torch: Any, model: Any, inputs: tuple) -> Optional[float]:
    """FLOPs of one forward of the PyTorch model (torch.utils.flop_counter: matmuls,
    convolutions and scaled-dot-product attention, 2 per multiply-add), None where it cannot
    count them (a PyTorch without flop_counter, or an op it fails on). nn.MultiheadAttention's
    inference fast path (one fused op the counter does not know: ViT's projections and
    attention) is switched off while counting."""
    mha = getattr(torch.backends, "mha", None)
    fastpath = mha.get_fastpath_enabled() if mha else None
    try:
        from torch.utils.flop_counter import FlopCounterMode

        if mha:
            mha.set_fastpath_enabled(False)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*inputs)
        return float(counter.get_total_flops()) or None
    except Exception as e:  # noqa: BLE001 (a figure for the report, never a reason to stop)
        print(f"flop count unavailable: {e}", flush=True)
        return None
    finally:
        if mha:
            mha.set_fastpath_enabled(fastpath)


def _matmul_peak_tflops(torch: Any, device: str, dtype: Any) -> float:
    """The roofline: TFLOP/s of a large square torch.matmul in the benchmark's dtype, measured
    here (8192^3 on a GPU, 1024^3 on the CPU)."""
    n = 8192 if device == "cuda" else 1024
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    median = cuda_median_ms if device == "cuda" else cpu_median_ms
    with torch.inference_mode():
        ms = median(lambda: torch.matmul(a, b), 3, 10, 1)
    return 2.0 * n ** 3 / (ms * 1e-3) / 1e12


def _torch_runner(torch: Any, models: Dict[str, Any], mode: str, inputs: tuple,
                  convolutional: bool) -> Any:
    use_cl = mode == "channels_last" or (mode in COMPILE_MODES and convolutional)
    m = models["channels_last" if use_cl else "eager"]
    x = _channels_last(torch, inputs) if use_cl else inputs
    if mode in COMPILE_MODES:
        m = torch.compile(m, mode=None if mode == "compile" else mode, dynamic=False)

    def run() -> Any:
        with torch.inference_mode():
            return m(*x)
    return run


def _time_batch(torch: Any, cfg: BenchConfig, bm: BenchModel, variants: List[_KilnVariant],
                models: Dict[str, Any], forms: Dict[str, Any], modes: Sequence[str], b: int,
                run_dtype: Any, device: str, stream: Any) -> Dict[str, Any]:
    cuda = device == "cuda"
    median = cuda_median_ms if cuda else cpu_median_ms
    inputs = _cast_inputs(torch, [resize_batch(x, b) for x in bm.inputs], run_dtype, device)
    row: Dict[str, Any] = {"batch": b, "ms": {}, "first_call_s": {}, "peak_mb": {}}
    for v in variants:
        module = v.module(b)
        outs = _kiln_call(torch, module, inputs, None, cuda, stream)
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        if cuda:
            torch.cuda.synchronize()
            with torch.cuda.stream(stream):
                row["ms"][v.name] = median(lambda: module(*inputs, out=outs), cfg.warmup,
                                           cfg.reps, cfg.inner)
        else:
            row["ms"][v.name] = median(lambda: module(*inputs, out=outs), cfg.warmup,
                                       cfg.reps, cfg.inner)
        row["peak_mb"][v.name] = v.workspace_bytes(b) / 2**20
        print(f"b{b} {v.name}: {row['ms'][v.name]:.3f} ms", flush=True)
    # PyTorch: every mode on the model, then on each of its other forms ("<mode> [<form>]").
    runs = [(mode, mode, models, bm.convolutional) for mode in modes]
    for form, module in forms.items():
        runs += [(f"{mode} [{form}]", mode, {"eager": module}, False) for mode in modes
                 if mode != "channels_last" and (cfg.form_modes is None or mode in cfg.form_modes)]
    for key, mode, run_models, convolutional in runs:
        torch._dynamo.reset()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        t0 = time.perf_counter()
        run = _torch_runner(torch, run_models, mode, inputs, convolutional)
        run()
        if cuda:
            torch.cuda.synchronize()
        row["first_call_s"][key] = time.perf_counter() - t0
        row["ms"][key] = median(run, cfg.warmup, cfg.reps, cfg.inner)
        if cuda:
            row["peak_mb"][key] = (torch.cuda.max_memory_allocated() - base) / 2**20
        print(f"b{b} {key}: {row['ms'][key]:.3f} ms (first call "
              f"{row['first_call_s'][key]:.1f} s)", flush=True)
    torch._dynamo.reset()
    torch_modes = [key for key, _, _, _ in runs]
    if torch_modes:
        best = min(torch_modes, key=lambda m: row["ms"][m])
        row["best_torch"] = best
        row["vs_best_torch"] = {k: row["ms"][best] / ms for k, ms in row["ms"].items()}
    row["items_per_s"] = {k: b / ms * 1e3 for k, ms in row["ms"].items()}
    row["flops"] = _model_flops(torch, models["eager"], inputs)
    if row["flops"]:
        row["tflops"] = {k: row["flops"] / (ms * 1e-3) / 1e12 for k, ms in row["ms"].items()}
    return row


def run_benchmark(cfg: BenchConfig) -> Dict[str, Any]:
    """Runs the benchmark of `cfg` (see the module doc), writes the reports and returns the
    result dict (also <out>.json); result["ok"] is False when the correctness check failed."""
    import torch

    import kiln

    from ._report import write_reports

    cfg = dataclasses.replace(cfg, notes=list(cfg.notes))
    cfg.target = cfg.target or _default_target(torch)
    device = "cuda" if cfg.target.startswith("cuda") else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"target {cfg.target} needs a CUDA device; PyTorch sees none")
    cfg.dtype = cfg.dtype or ("f16" if device == "cuda" else "f32")
    if cfg.dtype not in TORCH_DTYPES:
        raise ValueError(f"dtype {cfg.dtype!r}: expected one of {', '.join(TORCH_DTYPES)}")
    cfg.tolerance = cfg.tolerance if cfg.tolerance is not None else TOLERANCES[cfg.dtype]
    unknown = [m for m in list(cfg.modes) + list(cfg.form_modes or []) if m not in MODES]
    if unknown:
        raise ValueError(f"modes {unknown}: expected some of {', '.join(MODES)}")
    if cfg.cuda_graphs not in ("off", "on", "both"):
        raise ValueError(f"cuda_graphs {cfg.cuda_graphs!r}: expected off, on or both")
    if cfg.pdl and cfg.target != "cuda-sm90":
        raise ValueError(f"pdl: programmatic dependent launch needs the cuda-sm90 target, not {cfg.target}")
    batches = list(dict.fromkeys(int(b) for b in cfg.batches))
    if not batches or min(batches) < 1:
        raise ValueError(f"batches {cfg.batches}: expected positive integers")
    if cfg.compile_batches is not None:
        skipped = [b for b in batches if b not in cfg.compile_batches]
        if skipped and any(m in COMPILE_MODES for m in cfg.modes):
            cfg.notes.append(f"torch.compile modes not run at batch {', '.join(map(str, skipped))} "
                             "(--compile-batches)")
    run_dtype = getattr(torch, TORCH_DTYPES[cfg.dtype])

    bm = build_model(cfg.model, max(batches), seq=cfg.seq)
    slug = f"{bm.name}_s{cfg.seq}" if cfg.seq else bm.name
    cfg.out = cfg.out or os.path.join("bench", "results",
                                      f"{slug}_{_device_slug(torch, cfg.target)}")
    modes = list(cfg.modes)
    if "channels_last" in modes and not bm.convolutional:
        modes.remove("channels_last")
        cfg.notes.append("channels_last skipped: the model has no Conv2d layer")
    print(f"model {bm.name} ({sum(p.numel() for p in bm.module.parameters()) / 1e6:.2f} M "
          f"parameters), target {cfg.target}, {cfg.dtype}, batches {batches}", flush=True)

    model = copy.deepcopy(bm.module).to(device=device, dtype=run_dtype).eval()
    if device == "cuda" and cfg.cuda_graphs != "off":
        variants = ([] if cfg.cuda_graphs == "on" else [_KilnVariant("kiln", False)]) + \
            [_KilnVariant("kiln+graphs", True)]
    else:
        variants = [_KilnVariant("kiln", False)]
    if cfg.pdl:
        variants.append(_KilnVariant("kiln+graphs+pdl", True, pdl=True))
    for v in variants:
        _compile_kiln(kiln, torch, cfg, model, bm, batches, run_dtype, device, v)

    stream = torch.cuda.Stream() if device == "cuda" else None
    check = _check(torch, cfg, bm, variants, batches, run_dtype, device, stream)
    result: Dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "model": bm.name, "target": cfg.target, "dtype": cfg.dtype, "batches": batches,
        "modes": modes, "device": torch.cuda.get_device_name() if device == "cuda"
        else _cpu_name(),
        "host": platform.node(), "torch": torch.__version__, "kiln": kiln.__version__,
        "python": sys.version.split()[0], "warmup": cfg.warmup, "reps": cfg.reps,
        "inner": cfg.inner, "command": cfg.command,
        "kiln_builds": [{"name": v.name, "cuda_graphs": v.cuda_graphs, "pdl": v.pdl, "dynamic": v.dynamic,
                         "compile_s": v.compile_s, "weights_mb": v.weights_bytes() / 2**20,
                         "workspace_bytes": [int(i["workspace_bytes"]) for i in v.infos],
                         "workspace_unit_bytes": [int(i["workspace_unit_bytes"]) for i in v.infos],
                         "summaries": [i["summary"] for i in v.infos]} for v in variants],
        "check": check, "rows": [], "notes": cfg.notes, "ok": check["ok"],
    }
    if not check["ok"]:
        print("correctness check FAILED: " + "; ".join(check["failures"]), flush=True)
        result["notes"].append("timings skipped: the correctness check failed")
    else:
        models = {"eager": model}
        forms = {name: copy.deepcopy(m).to(device=device, dtype=run_dtype).eval()
                 for name, m in bm.torch_forms.items()}
        if bm.convolutional and any(m in modes for m in ("channels_last",) + COMPILE_MODES):
            models["channels_last"] = copy.deepcopy(model).to(memory_format=torch.channels_last)
        for b in batches:
            at_b = [m for m in modes if m not in COMPILE_MODES or cfg.compile_batches is None
                    or b in cfg.compile_batches]
            result["rows"].append(_time_batch(torch, cfg, bm, variants, models, forms, at_b, b,
                                              run_dtype, device, stream))
        result["peak_tflops"] = _matmul_peak_tflops(torch, device, run_dtype)
        print(f"roofline: torch.matmul peak {result['peak_tflops']:.1f} TFLOP/s", flush=True)
    result["files"] = write_reports(result, cfg.out)
    return result
