#!/usr/bin/env python3
"""Which kernel cuBLAS runs for each gemm shape (torch.matmul, fp16, A row-major times B^T as
kiln's trans_b gemms), its average time and TFLOP/s, from torch.profiler: the tile, cluster and
schedule in the kernel's name (e.g. nvjet_sm90_hsh_192x192_64x4_1x2_h_bz_coopB) are what kiln's
configs compete with. bench/results/vit_b64_ncu_h100.txt quotes its output for ViT's shapes.

    python3 bench/cublas_kernels.py [MxNxK ...]      # default: ViT-B/16 b64 and the gemm bench's
"""
import argparse

import torch
from torch.profiler import ProfilerActivity, profile

DEFAULT = ["49152x3072x768", "12608x3072x768", "12608x2304x768", "12608x768x3072",
           "12608x768x768", "6272x2048x512"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shapes", nargs="*", default=DEFAULT, help="MxNxK (default: %(default)s)")
    ap.add_argument("--calls", type=int, default=10, help="profiled calls per shape")
    args = ap.parse_args()
    for shape in args.shapes:
        m, n, k = (int(x) for x in shape.split("x"))
        a = torch.randn(m, k, device="cuda", dtype=torch.half)
        b = torch.randn(n, k, device="cuda", dtype=torch.half)
        for _ in range(5):
            torch.matmul(a, b.t())
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as p:
            for _ in range(args.calls):
                torch.matmul(a, b.t())
            torch.cuda.synchronize()
        for e in p.key_averages():
            if e.device_type.name != "CUDA" or e.key.startswith("Memset"):
                continue
            us = e.device_time_total / max(e.count, 1)
            print(f"{shape}: {e.key[:120]} x{e.count}, {us:.1f} us, {2 * m * n * k / us / 1e6:.1f} TFLOP/s")


if __name__ == "__main__":
    main()
