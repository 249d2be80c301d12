#!/usr/bin/env python3
"""Where a model's GPU time goes, kiln next to PyTorch, in one process: every CUDA kernel of a
few calls recorded with torch.profiler (CUPTI sees kiln's launches too), summed per call and
grouped into gemm, attention, norm, softmax, elementwise/copy and other by the kernel's name.
Answers "which part of the model makes kiln slower or faster than PyTorch" without ncu's
serialisation; the sum of kernel times next to the CUDA-event time of a call shows the launch
gaps.

    python3 bench/kernel_breakdown.py --model bert --seq 384 --batch 64 \\
        [--modes eager compile] [--out bench/results/bert_s384_b64_kernels_h100]

kiln compiles as kiln.bench does (dynamic batch 1..batch, --tune auto) and runs without CUDA
graphs (the same kernels as with them); PyTorch runs in each mode of
--modes (torch.compile modes compile first: a minute or more), on the model's default form
(BERT: SDPA attention). Writes <out>.md when --out is given, always prints the tables.
"""
import argparse
import collections
import re
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import kiln  # noqa: E402
from kiln.bench._models import build_model  # noqa: E402
from kiln.bench._timing import cuda_median_ms  # noqa: E402

# First match wins: attention before gemm (flash kernels hold "gemm"-like words).
CATEGORIES = [
    ("attention", re.compile(r"flash|fmha|attn|attention|sdpa|mha", re.I)),
    ("gemm", re.compile(r"gemm|nvjet|xmma|cutlass|matmul|triton_tem|sm90_|s16816|wgmma", re.I)),
    ("norm", re.compile(r"norm|triton_(red|per)_", re.I)),
    ("softmax", re.compile(r"softmax", re.I)),
    ("elementwise/copy", re.compile(r"elementwise|copy|strided|cat|gather|index|triton_poi_|"
                                    r"fill|reduce|transpose", re.I)),
]


def category(name: str) -> str:
    for cat, pattern in CATEGORIES:
        if pattern.search(name):
            return cat
    return "other"


def kernel_times(fn, calls: int) -> tuple:
    """(kernel name -> (microseconds per call, launches per call) over `calls` calls of fn,
    [(name, microseconds)] of the last call's kernels in launch order)."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as p:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    def kernel(key: str) -> bool:
        return not (key.startswith("Memset") or key.startswith("Memcpy"))

    out = {}
    for e in p.key_averages():
        if e.device_type.name == "CUDA" and kernel(e.key):
            out[e.key] = (e.device_time_total / calls, e.count / calls)
    launches = sorted((e for e in p.events() if e.device_type.name == "CUDA" and kernel(e.name)),
                      key=lambda e: e.time_range.start)
    per_call = len(launches) // calls
    last = [(e.name, e.time_range.elapsed_us()) for e in launches[len(launches) - per_call:]]
    return out, last


def short(name: str, width: int = 90) -> str:
    name = re.sub(r"\s+", " ", name)
    return name if len(name) <= width else name[: width - 3] + "..."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bert", help="bert, vit, resnet50 (kiln.bench's models)")
    ap.add_argument("--seq", type=int, help="sequence length (bert)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--modes", nargs="+", default=["eager"],
                    choices=["eager", "compile", "reduce-overhead", "max-autotune"],
                    help="PyTorch modes to profile (default: eager)")
    ap.add_argument("--calls", type=int, default=5, help="profiled calls per build")
    ap.add_argument("--top", type=int, default=12, help="kernels listed per build")
    ap.add_argument("--sequence", type=int, default=30,
                    help="the first kernels of one call listed in launch order per build (a "
                    "transformer's first layers: where each layer's time goes; 0: none)")
    ap.add_argument("--pdl", action="store_true", help="compile kiln with --pdl")
    ap.add_argument("--tune", default="auto", choices=["auto", "full", "cache", "off"],
                    help="kiln's tuning (default auto, as kiln.bench)")
    ap.add_argument("--out", help="write <out>.md")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("kernel_breakdown: needs a CUDA device", file=sys.stderr)
        return 2

    bm = build_model(args.model, args.batch, args.seq)
    model = bm.module.to(device="cuda", dtype=torch.half)
    inputs = tuple(x.cuda().half() if x.is_floating_point() else x.cuda() for x in bm.inputs)
    print(f"kiln: compiling {bm.name} at batch {args.batch} ...", flush=True)
    # As kiln.bench compiles it: one library with a dynamic batch 1..batch (same kernels, same
    # configs as the bench's timed library).
    dynamic = None
    if args.batch > 1:
        dim = torch.export.Dim("batch", min=1, max=args.batch)
        dynamic = tuple({0: dim} for _ in inputs)
    module = kiln.compile(model, inputs, dynamic_shapes=dynamic, target="cuda-sm90",
                          pdl=args.pdl, tune=args.tune)
    outs = module(*inputs)
    outs = list(outs) if isinstance(outs, tuple) else [outs]

    builds = {"kiln": lambda: module(*inputs, out=outs)}
    for mode in args.modes:
        m = model if mode == "eager" else torch.compile(
            model, mode=None if mode == "compile" else mode, dynamic=False)

        def run(m=m):
            with torch.inference_mode():
                return m(*inputs)
        print(f"PyTorch {mode}: first call ...", flush=True)
        run()
        builds[mode] = run

    profiles, sequences, wall = {}, {}, {}
    for name, fn in builds.items():
        wall[name] = cuda_median_ms(fn, 5, 10, 1) * 1e3
        profiles[name], sequences[name] = kernel_times(fn, args.calls)

    names = list(builds)
    title = (f"{bm.name}" + (f" s{args.seq}" if args.seq else "") + f" batch {args.batch}, f16, "
             f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    lines = [f"# Kernel time per call: {title}", "",
             "`python3 " + " ".join(sys.argv) + "`", "",
             f"torch.profiler over {args.calls} calls after 3 warm-up calls; us per call. "
             "Wall: median CUDA-event time of one call (kiln without CUDA graphs; PyTorch in the "
             "mode named), so wall - kernels = launch gaps.", "",
             "| category | " + " | ".join(f"{n} us" for n in names) + " | " +
             " | ".join(f"{n} / kiln" for n in names[1:]) + " |",
             "| --- |" + " ---: |" * (2 * len(names) - 1)]
    cats = [c for c, _ in CATEGORIES] + ["other"]
    sums = {n: collections.Counter() for n in names}
    for n in names:
        for k, (us, _) in profiles[n].items():
            sums[n][category(k)] += us
    for c in cats + ["kernels", "wall"]:
        vals = {n: (sum(sums[n].values()) if c == "kernels" else wall[n] if c == "wall"
                    else sums[n][c]) for n in names}
        ratio = [f"{vals[n] / vals['kiln']:.2f}" if vals["kiln"] else "-" for n in names[1:]]
        lines.append(f"| {c} | " + " | ".join(f"{vals[n]:.1f}" for n in names) + " | " +
                     " | ".join(ratio) + " |")
    for n in names:
        lines += ["", f"## {n}: top {args.top} kernels", "",
                  "| us/call | launches/call | category | kernel |", "| ---: | ---: | --- | --- |"]
        for k, (us, count) in sorted(profiles[n].items(), key=lambda kv: -kv[1][0])[: args.top]:
            lines.append(f"| {us:.1f} | {count:g} | {category(k)} | `{short(k)}` |")
        if args.sequence > 0:
            lines += ["", f"## {n}: the first {args.sequence} kernels of one call, in launch order",
                      "", "| # | us | category | kernel |", "| ---: | ---: | --- | --- |"]
            for i, (k, us) in enumerate(sequences[n][: args.sequence]):
                lines.append(f"| {i} | {us:.1f} | {category(k)} | `{short(k, 70)}` |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out + ".md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
