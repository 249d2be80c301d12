#!/usr/bin/env python3
"""ResNet-50 fp16 on the GPU: kiln (cuda-sm90, one library for batch 1..256) vs PyTorch, one process.

1. Builds torchvision's resnet50 with seeded random weights (bench/model_export.py: no download,
   constant-initialised parameters re-randomised) and saves its state_dict as safetensors.
2. Compiles `kiln compile zoo:resnet50 --dtype f16 --target cuda-sm90 --dynamic batch=1..<max>
   --weights ...` twice into fresh object/tuning caches (cold) and once more with them warm, plus
   a --cuda-graphs library (and with --pdl one built with --cuda-graphs --pdl: programmatic
   dependent launch); reports the compile times.
3. Correctness on --check-batch random images: kiln's fp16 logits vs PyTorch fp32 eager on the same
   input (max |err| / (max logit - min logit), --tolerance) and top-1 agreement; also at batch 3
   and 77 (sizes no bucket was tuned for).
4. Times, for each batch: kiln (plain, CUDA graphs, with --pdl also graphs + PDL) and the PyTorch modes in --modes (fp16):
   eager NCHW, eager channels_last, torch.compile default, reduce-overhead (CUDA graphs) and
   max-autotune, each on channels_last input where that is the mode's layout. CUDA events,
   --warmup calls, median of --reps repetitions of --inner calls (bench/cuda_timing.py).
   torch.compile modes compile per batch size (minutes for max-autotune): --compile-batches limits
   them to some batches.
Reports ms, images/s, the ratio to the best PyTorch mode measured at that batch (> 1: kiln
faster), % of the fp16 roofline (8.2 GFLOP/image at --peak-tflops, the measured cuBLAS 8192^3
rate by default) and activation memory beside the weights: PyTorch's max_memory_allocated above
what was allocated before the mode ran; kiln's workspace as `kiln compile` planned it for the
largest batch (one allocation that serves every batch: an upper bound for the smaller ones). Writes <out>.md and <out>.json.

    python3 bench/resnet50_h100.py --kiln build/kiln [--batches 1 8 64 256]
"""
import argparse
import copy
import datetime
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import kiln_ctypes  # noqa: E402
import model_export  # noqa: E402
from cuda_timing import interleaved_medians_ms, median_ms  # noqa: E402

GFLOP_PER_IMAGE = 8.2
MODES = ["eager", "channels_last", "compile", "reduce-overhead", "max-autotune"]


def compile_kiln(args, out_dir, weights, cache_dir, tuning_cache, cuda_graphs, pdl=False, kiln=None, home=None):
    cmd = [kiln or args.kiln, "compile", "zoo:resnet50", "--dtype", "f16", "--target", "cuda-sm90",
           "--dynamic", f"batch=1..{args.max_batch}", "--weights", weights, "-o", out_dir,
           "--cache-dir", cache_dir, "--tuning-cache", tuning_cache, "--tune", args.tune]
    if cuda_graphs:
        cmd.append("--cuda-graphs")
    if pdl:
        cmd.append("--pdl")
    t0 = time.perf_counter()
    env = dict(os.environ, KILN_HOME=home) if home else None  # home: its runtime sources
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"kiln compile failed ({' '.join(cmd)}):\n{r.stdout}\n{r.stderr}")
    summary = [line for line in r.stdout.splitlines() if line.startswith("compiled ") or "tuning:" in line]
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)

    def workspace_mb(batch):
        """MB of workspace a run at `batch` allocates (it scales with a dynamic batch)."""
        if not manifest.get("workspace_scale_symbol"):
            return manifest["workspace_bytes"] / 2**20
        return (manifest["workspace_unit_bytes"] * batch + manifest["workspace_fixed_bytes"] +
                manifest["scratch_bytes"]) / 2**20
    print(f"  {seconds:.1f} s: {' '.join(summary)}", flush=True)
    return seconds, workspace_mb


def kiln_runner(instance, batch):
    """Runs on the current stream at call time (the caller times kiln on a side stream, as a
    serving loop would; kilns before 2026-12-05 captured CUDA graphs only off the legacy default
    stream)."""
    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.float16)
    out = torch.empty(batch, 1000, device="cuda", dtype=torch.float16)

    def run():
        instance.run_device([x], [out], torch.cuda.current_stream().cuda_stream)
    return run


def torch_runner(models, mode, batch):
    """models: {"nchw": fp16 module, "channels_last": the same in channels_last memory format}."""
    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.float16)
    m = models["nchw"]
    if mode != "eager":
        m = models["channels_last"]
        x = x.to(memory_format=torch.channels_last)
    if mode in ("compile", "reduce-overhead", "max-autotune"):
        m = torch.compile(m, mode=None if mode == "compile" else mode, dynamic=False)

    def run():
        with torch.inference_mode():
            return m(x)
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"))
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64, 256])
    ap.add_argument("--max-batch", type=int, default=256)
    ap.add_argument("--modes", nargs="+", default=MODES, choices=MODES)
    ap.add_argument("--compile-batches", type=int, nargs="*", default=None,
                    help="batches at which the torch.compile modes run (default: all)")
    ap.add_argument("--tune", choices=["auto", "full", "cache", "off"], default="auto")
    ap.add_argument("--pdl", action="store_true",
                    help="also build and time kiln+graphs+pdl (kiln compile --cuda-graphs --pdl)")
    ap.add_argument("--baseline-kiln", metavar="KILN",
                    help="also build kiln+graphs with this kiln binary (e.g. the main branch's) as "
                         "'baseline+graphs', checked and timed in turns with the others (an A/B of a change)")
    ap.add_argument("--baseline-home", metavar="DIR",
                    help="KILN_HOME of the baseline build (the tree whose runtime sources its generated "
                         "code includes; default: this one's)")
    ap.add_argument("--check-batch", type=int, default=64)
    ap.add_argument("--tolerance", type=float, default=2e-2, help="max |err| / logit range")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--peak-tflops", type=float, default=720.0)
    ap.add_argument("--workdir", default="/tmp/kiln_resnet50_h100")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "resnet50_h100"))
    args = ap.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    print("exporting torchvision resnet50 (seeded random weights) ...", flush=True)
    exported = model_export.export_model("resnet50", args.workdir, batch=1, onnx=False)
    model32 = exported.torch_module.cuda().eval()

    cache = os.path.join(args.workdir, "objects")
    tuning = os.path.join(args.workdir, "tuning.sqlite")
    lib = os.path.join(args.workdir, "kiln")
    lib_graphs = os.path.join(args.workdir, "kiln_graphs")
    print("kiln compile (cold caches) ...", flush=True)
    cold_s, workspace_mb = compile_kiln(args, lib, exported.weights_path, cache, tuning, False)
    print("kiln compile (warm caches) ...", flush=True)
    warm_s, _ = compile_kiln(args, lib, exported.weights_path, cache, tuning, False)
    compile_kiln(args, lib_graphs, exported.weights_path, cache, tuning, True)
    libs = {"kiln": lib, "kiln+graphs": lib_graphs}
    if args.pdl:
        libs["kiln+graphs+pdl"] = os.path.join(args.workdir, "kiln_graphs_pdl")
        compile_kiln(args, libs["kiln+graphs+pdl"], exported.weights_path, cache, tuning, True, pdl=True)
    if args.baseline_kiln:
        libs["baseline+graphs"] = os.path.join(args.workdir, "baseline_graphs")
        compile_kiln(args, libs["baseline+graphs"], exported.weights_path, cache, tuning, True,
                     kiln=args.baseline_kiln, home=args.baseline_home)
    instances = {name: kiln_ctypes.Module.load(os.path.join(d, "model.so")).create_instance(
        os.path.join(d, "model.safetensors")) for name, d in libs.items()}

    # Correctness: fp16 kiln vs fp32 PyTorch on the same images.
    checks = []
    for batch in sorted({args.check_batch, 3, 77}):
        torch.manual_seed(batch)
        x32 = torch.randn(batch, 3, 224, 224, device="cuda")
        with torch.inference_mode():
            want = model32(x32).float()
        for name, inst in instances.items():
            if name == "kiln+graphs":
                continue  # the same kernels as kiln's library, replayed
            got = torch.empty(batch, 1000, device="cuda", dtype=torch.float16)
            inst.run_device([x32.half()], [got], torch.cuda.current_stream().cuda_stream)
            torch.cuda.synchronize()
            got = got.float()
            err = (got - want).abs().max().item()
            span = (want.max() - want.min()).item()
            top1 = (got.argmax(1) == want.argmax(1)).float().mean().item()
            checks.append({"build": name, "batch": batch, "max_abs_err": err, "logit_range": span,
                           "rel_err": err / span, "top1_agreement": top1})
            print(f"  check {name} b{batch}: max |err| {err:.4f} over a logit range {span:.2f} "
                  f"({err / span:.2e}), top-1 agreement {top1 * 100:.1f}%", flush=True)
    failed = [c for c in checks if c["rel_err"] > args.tolerance or c["top1_agreement"] < 0.98]

    model16 = copy.deepcopy(model32).half().eval()
    models = {"nchw": model16,
              "channels_last": copy.deepcopy(model16).to(memory_format=torch.channels_last)}
    rows = []
    for batch in args.batches:
        row = {"batch": batch, "ms": {}, "peak_mb": {}}
        side = torch.cuda.Stream()
        with torch.cuda.stream(side):  # kiln's builds in turns: clock drift shifts them alike
            row["ms"].update(interleaved_medians_ms(
                torch, {name: kiln_runner(inst, batch) for name, inst in instances.items()},
                args.warmup, args.reps, args.inner))
        row["peak_mb"]["kiln"] = workspace_mb(batch)
        for mode in args.modes:
            if mode in ("compile", "reduce-overhead", "max-autotune") and \
                    args.compile_batches is not None and batch not in args.compile_batches:
                continue
            torch._dynamo.reset()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            t0 = time.perf_counter()
            run = torch_runner(models, mode, batch)
            run()
            torch.cuda.synchronize()
            setup_s = time.perf_counter() - t0
            row["ms"][mode] = median_ms(torch, run, args.warmup, args.reps, args.inner)
            row["peak_mb"][mode] = (torch.cuda.max_memory_allocated() - base) / 2**20
            print(f"  b{batch} {mode}: {row['ms'][mode]:.3f} ms (first call {setup_s:.1f} s)", flush=True)
        best_mode = min((m for m in row["ms"] if m not in instances), key=lambda m: row["ms"][m])
        row["best_torch"] = best_mode
        for name in instances:
            ms = row["ms"][name]
            row[f"{name} speedup"] = row["ms"][best_mode] / ms
            row[f"{name} img/s"] = batch / ms * 1e3
            row[f"{name} roofline%"] = 100 * batch * GFLOP_PER_IMAGE / (ms * 1e-3) / (args.peak_tflops * 1e3)
        print(f"b{batch}: kiln {row['ms']['kiln']:.3f} ms, kiln+graphs {row['ms']['kiln+graphs']:.3f} ms, "
              f"best PyTorch ({best_mode}) {row['ms'][best_mode]:.3f} ms", flush=True)
        if "baseline+graphs" in row["ms"]:
            row["vs baseline"] = row["ms"]["baseline+graphs"] / row["ms"]["kiln+graphs"]
            print(f"  kiln+graphs vs baseline+graphs: {row['vs baseline']:.3f}x "
                  f"({row['ms']['baseline+graphs']:.3f} -> {row['ms']['kiln+graphs']:.3f} ms)", flush=True)
        rows.append(row)

    result = {"workspace_mb_max_batch": workspace_mb(args.max_batch), "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
              "compile_cold_s": cold_s, "compile_warm_s": warm_s, "checks": checks, "rows": rows,
              "peak_tflops": args.peak_tflops, "tune": args.tune, "max_batch": args.max_batch, "pdl": args.pdl}
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    lines = [f"# ResNet-50 fp16, kiln vs PyTorch ({result['gpu']}, torch {result['torch']}, {result['date']})", "",
             f"`python3 bench/resnet50_h100.py {' '.join(sys.argv[1:])}`; one kiln library for batch "
             f"1..{args.max_batch} (`--tune {args.tune}`); compile {cold_s:.1f} s cold, {warm_s:.1f} s warm. "
             f"Activation memory: the workspace kiln allocates for the batch (it scales with the batch), "
             f"PyTorch's peak allocation above the weights.", "",
             "| batch | " + " | ".join(f"{m} ms" for m in list(instances) + args.modes) +
             " | best PyTorch | kiln+graphs speedup | " + ("kiln+graphs+pdl speedup | " if args.pdl else "") +
             "img/s | % of roofline | activation MB kiln / eager |",
             "|" + " --- |" * (len(instances) + len(args.modes) + 6 + args.pdl)]
    def eager_mb(r):  # "-" where eager was not among the modes run
        return f"{r['peak_mb']['eager']:.0f}" if "eager" in r["peak_mb"] else "-"

    for r in rows:
        cells = [f"{r['ms'][m]:.3f}" if m in r["ms"] else "-" for m in list(instances) + args.modes]
        pdl = f"{r['kiln+graphs+pdl speedup']:.2f}x | " if args.pdl else ""
        lines.append(f"| {r['batch']} | " + " | ".join(cells) + f" | {r['best_torch']} | "
                     f"{r['kiln+graphs speedup']:.2f}x | {pdl}{r['kiln+graphs img/s']:.0f} | "
                     f"{r['kiln+graphs roofline%']:.1f} | {r['peak_mb']['kiln']:.0f} / "
                     f"{eager_mb(r)} |")
    lines += ["", "Correctness (fp16 kiln vs fp32 PyTorch, same images):", ""]
    for c in checks:
        lines.append(f"- {c['build']}, batch {c['batch']}: max |err| {c['max_abs_err']:.4f} / logit range "
                     f"{c['logit_range']:.2f} = {c['rel_err']:.2e}; top-1 agreement {c['top1_agreement'] * 100:.1f}%")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
