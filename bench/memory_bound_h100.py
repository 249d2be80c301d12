#!/usr/bin/env python3
"""kiln's memory-bound CUDA kernels vs the GPU's copy bandwidth and PyTorch, in one process.

Each case is one op on fp16 tensors of >= 64 MB, compiled by `kiln compile --target cuda-sm90`
(text IR written here), loaded through bench/kiln_ctypes.py and run on torch CUDA tensors:

    layer_norm   x[16384, 4096] (+ weight, bias over the last axis)
    softmax      x[16384, 4096] over the last axis
    add_relu     relu(a + b), a, b [64M elements]
    transpose    x[8192, 8192] -> x^T (perm [1, 0])
    max_pool     ResNet-50's stem pool at batch 64: 3x3, stride 2, pad 1, nhwc x[64, 112, 112, 64]

Method: the output is checked against PyTorch (fp32 reference) first; then CUDA events around
--iters calls after --warmup, median of --reps such batches. Bandwidth = bytes that must move
(every input read once, every output written once) / time. The roofline is the measured
device-to-device copy bandwidth (torch `dst.copy_(src)` of 256 MB, read + write), so 100% means
"as fast as a copy". PyTorch's own op (eager) is timed the same way for context.
Results: bench/results/memory_bound_h100.{md,json}.

    python3 bench/memory_bound_h100.py [--kiln build/kiln] [--out bench/results/memory_bound_h100]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import torch

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import kiln_ctypes  # noqa: E402
from cuda_timing import median_ms  # noqa: E402

CASES = {
    "layer_norm": {
        "kir": """graph @ln(%x: f16[16384,4096], %w: f16[4096], %b: f16[4096]) -> (%y) {
  %y = layer_norm(%x, %w, %b) {eps=1e-05} : f16[16384,4096]
}
""",
        "inputs": lambda: [torch.randn(16384, 4096), torch.rand(4096) + 0.5, torch.randn(4096)],
        "torch": lambda x, w, b: torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, 1e-5),
        "out": [(16384, 4096)],
    },
    "softmax": {
        "kir": """graph @sm(%x: f16[16384,4096]) -> (%y) {
  %y = softmax(%x) {axis=-1} : f16[16384,4096]
}
""",
        "inputs": lambda: [torch.randn(16384, 4096) * 3],
        "torch": lambda x: torch.softmax(x, dim=-1),
        "out": [(16384, 4096)],
    },
    "add_relu": {
        "kir": """graph @ar(%a: f16[67108864], %b: f16[67108864]) -> (%y) {
  %s = add(%a, %b) : f16[67108864]
  %y = relu(%s) : f16[67108864]
}
""",
        "inputs": lambda: [torch.randn(1 << 26), torch.randn(1 << 26)],
        "torch": lambda a, b: torch.relu(a + b),
        "out": [(1 << 26,)],
    },
    "transpose": {
        "kir": """graph @tr(%x: f16[8192,8192]) -> (%y) {
  %y = transpose(%x) {perm=[1,0]} : f16[8192,8192]
}
""",
        "inputs": lambda: [torch.randn(8192, 8192)],
        "torch": lambda x: x.t().contiguous(),
        "out": [(8192, 8192)],
    },
    "max_pool": {
        "kir": """graph @mp(%x: f16[64,112,112,64]) -> (%y) {
  %y = max_pool2d(%x) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[64,56,56,64]
}
""",
        "inputs": lambda: [torch.randn(64, 112, 112, 64)],
        # PyTorch on the same nhwc memory: a channels_last view in, the channels_last result out.
        "torch": lambda x: torch.nn.functional.max_pool2d(x.permute(0, 3, 1, 2), 3, 2, 1).permute(0, 2, 3, 1),
        "out": [(64, 56, 56, 64)],
    },
}


def time_cuda(fn, warmup, iters, reps):
    """Median over `reps` batches of `iters` calls of fn, in ms per call (CUDA events)."""
    return median_ms(torch, fn, warmup, reps, iters)


def copy_bandwidth(args):
    src = torch.empty(128 << 20, dtype=torch.float16, device="cuda")  # 256 MB
    dst = torch.empty_like(src)
    ms = time_cuda(lambda: dst.copy_(src), args.warmup, args.iters, args.reps)
    return 2 * src.numel() * 2 / (ms * 1e-3) / 1e9


def compile_case(name, case, args, workdir):
    kir = os.path.join(workdir, name + ".kir")
    with open(kir, "w") as f:
        f.write(case["kir"])
    out = os.path.join(workdir, name)
    cmd = [args.kiln, "compile", kir, "-o", out, "--target", "cuda-sm90", "-q"]
    subprocess.run(cmd, check=True)
    module = kiln_ctypes.Module.load(os.path.join(out, "model.so"))
    weights = os.path.join(out, "model.safetensors")
    return module.create_instance(weights if os.path.exists(weights) else None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"))
    p.add_argument("--out", default=os.path.join(BENCH, "results", "memory_bound_h100"))
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()

    torch.manual_seed(0)
    gpu = torch.cuda.get_device_name()
    copy_gbs = copy_bandwidth(args)
    print(f"{gpu}: device-to-device copy {copy_gbs:.0f} GB/s (read + write)")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.cases.split(","):
            case = CASES[name]
            inputs32 = [t.cuda() for t in case["inputs"]()]
            inputs = [t.half() for t in inputs32]
            outputs = [torch.empty(s, dtype=torch.float16, device="cuda") for s in case["out"]]
            inst = compile_case(name, case, args, workdir)
            stream = torch.cuda.current_stream().cuda_stream
            run = lambda: inst.run_device(inputs, outputs, stream)  # noqa: E731
            run()
            torch.cuda.synchronize()
            ref = case["torch"](*[t.float() for t in inputs])
            err = (outputs[0].float() - ref).abs().max().item()
            scale = max(ref.abs().max().item(), 1e-30)
            nbytes = sum(t.numel() * 2 for t in inputs) + sum(t.numel() * 2 for t in outputs)
            ms = time_cuda(run, args.warmup, args.iters, args.reps)
            ms_torch = time_cuda(lambda: case["torch"](*inputs), args.warmup, args.iters, args.reps)
            gbs = nbytes / (ms * 1e-3) / 1e9
            row = {"case": name, "bytes": nbytes, "kiln_ms": ms, "kiln_gbs": gbs,
                   "pct_of_copy": 100 * gbs / copy_gbs, "torch_ms": ms_torch,
                   "torch_gbs": nbytes / (ms_torch * 1e-3) / 1e9, "speedup_vs_torch": ms_torch / ms,
                   "max_abs_err": err, "max_rel_err": err / scale}
            rows.append(row)
            print(f"{name:12s} kiln {ms:.3f} ms {gbs:7.0f} GB/s ({row['pct_of_copy']:.1f}% of copy)  "
                  f"torch {ms_torch:.3f} ms  x{row['speedup_vs_torch']:.2f}  max rel err {row['max_rel_err']:.2e}")
            inst.close()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    meta = {"gpu": gpu, "torch": torch.__version__, "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "copy_gbs": copy_gbs, "warmup": args.warmup, "iters": args.iters, "reps": args.reps}
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write(f"# Memory-bound kernels, fp16, {gpu}\n\n")
        f.write(f"{meta['date']}, PyTorch {torch.__version__}; roofline = measured device-to-device copy "
                f"bandwidth {copy_gbs:.0f} GB/s (read + write). Command: `python3 bench/memory_bound_h100.py`.\n\n")
        f.write("| case | MB moved | kiln ms | kiln GB/s | % of copy | PyTorch ms | kiln speed-up | max rel err |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|---:|\n")
        for r in rows:
            f.write(f"| {r['case']} | {r['bytes'] / 1e6:.0f} | {r['kiln_ms']:.3f} | {r['kiln_gbs']:.0f} | "
                    f"{r['pct_of_copy']:.1f}% | {r['torch_ms']:.3f} | {r['speedup_vs_torch']:.2f}x | "
                    f"{r['max_rel_err']:.1e} |\n")
    print("wrote", args.out + ".md")


if __name__ == "__main__":
    main()
