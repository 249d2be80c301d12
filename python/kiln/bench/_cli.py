"""The command line of the benchmark harness: `python -m kiln.bench` and bench/compare.py.

    python -m kiln.bench --model resnet50 --batches 1 8 64 [--modes eager compile]
    python -m kiln.bench --model mypkg.models:make_model --target cpu --batches 4

Exit status: 0 when kiln's outputs match PyTorch's, 1 on a mismatch (nothing is timed then).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from typing import List, Optional

from ._harness import MODES, TORCH_DTYPES, BenchConfig, run_benchmark


def parse_args(argv: Optional[List[str]] = None) -> BenchConfig:
    ap = argparse.ArgumentParser(
        prog="python -m kiln.bench",
        description="kiln vs PyTorch eager / torch.compile on one model, in one process: a "
        "correctness check first, then timings; writes <out>.md, <out>.json and <out>.png.")
    ap.add_argument("--model", default="resnet50",
                    help="resnet50, vit, bert, or module:function returning (model, "
                    "example_inputs); the function may take the batch size (default resnet50)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--seq", type=int,
                    help="sequence length for models that take one (bert: default 128)")
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                    help="PyTorch modes to time (default: all; channels_last only for conv nets)")
    ap.add_argument("--form-modes", nargs="*", choices=MODES,
                    help="modes of --modes also timed on the model's other PyTorch forms (BERT: "
                    "eager attention); default: all of them")
    ap.add_argument("--compile-batches", type=int, nargs="*",
                    help="batches at which the torch.compile modes (compile, reduce-overhead, "
                    "max-autotune) run, each compiling per batch (minutes for max-autotune); "
                    "default: every batch")
    ap.add_argument("--target", choices=["cpu", "cuda-sm90", "cuda-sm80"],
                    help="kiln target (default: cuda-sm90 with a CUDA device (cuda-sm80 below "
                    "Hopper), else cpu)")
    ap.add_argument("--dtype", choices=sorted(TORCH_DTYPES),
                    help="precision of kiln and the timed PyTorch modes (default: f16 on a GPU, "
                    "f32 on the CPU)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    ap.add_argument("--reps", type=int, default=20, help="timed repetitions; the median counts")
    ap.add_argument("--inner", type=int, default=1, help="calls per timed repetition")
    ap.add_argument("--tolerance", type=float,
                    help="max |err| / max |ref| per output (default: f32 1e-3, f16 2e-2, "
                    "bf16 5e-2)")
    ap.add_argument("--min-top1", type=float, default=0.98,
                    help="classifiers: minimum top-1 agreement with PyTorch fp32 (default 0.98)")
    ap.add_argument("--cuda-graphs", choices=["off", "on", "both"], default="both",
                    help="CUDA targets: time kiln without / with CUDA graphs (default both)")
    ap.add_argument("--pdl", action="store_true",
                    help="cuda-sm90: also time kiln+graphs+pdl, a library compiled with programmatic "
                         "dependent launch (kiln compile --pdl)")
    ap.add_argument("--tune", choices=["auto", "full", "cache", "off"], default="auto")
    ap.add_argument("--cache-dir", help="kiln's object cache (default ~/.cache/kiln/objects)")
    ap.add_argument("--out", help="output prefix (default bench/results/<model>_<device>)")
    args = ap.parse_args(argv)
    command = "python -m kiln.bench " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    return BenchConfig(model=args.model, batches=args.batches, seq=args.seq, modes=args.modes,
                       form_modes=args.form_modes,
                       compile_batches=args.compile_batches,
                       target=args.target, dtype=args.dtype, warmup=args.warmup,
                       reps=args.reps, inner=args.inner, out=args.out, tolerance=args.tolerance,
                       min_top1=args.min_top1, cuda_graphs=args.cuda_graphs, pdl=args.pdl, tune=args.tune,
                       cache_dir=args.cache_dir, command=command.strip())


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the benchmark of the command line; returns the exit status."""
    cfg = parse_args(argv)
    if ":" in str(cfg.model) and "" not in sys.path:
        sys.path.insert(0, "")  # module:function from the working directory, like python -m
    result = run_benchmark(cfg)
    return 0 if result["ok"] else 1
