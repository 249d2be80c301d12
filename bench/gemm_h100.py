#!/usr/bin/env python3
"""kiln's cuda-sm90 gemm vs PyTorch (cuBLAS) on an H100, side by side in one process.

For each MxNxK shape (fp16 by default; --dtype bf16):
  1. writes two KIR graphs: a plain gemm  y = a[M,K] @ b[K,N]  and a fused one
     y = gelu(a @ b + bias)  (epilogue=[bias(%bias), gelu], erf gelu); with --trans-b, b is
     stored [N,K] as a transformer's nn.Linear weight (trans_b=true; torch.matmul(a, w.t()));
  2. compiles them with `kiln compile x.kir --target cuda-sm90 -o DIR` (--jobs compiles at once)
     and loads DIR/model.so through bench/kiln_ctypes.py;
  3. checks kiln's output against torch (fp32 math on the GPU: max |err| / max |ref|, --tolerance);
  4. times, on the same torch tensors and stream, with CUDA events: kiln's gemm vs torch.matmul,
     and kiln's fused gemm vs torch.matmul followed by + bias and gelu (what eager PyTorch runs).
     --warmup calls first, then --reps repetitions of --inner back-to-back calls each, every
     library of the shape and torch in turns (a clock that drifts under load shifts them alike);
     the median repetition gives the time per call.
Prints a table and writes <out>.md and <out>.json: time, TFLOP/s (2*M*N*K / time), the ratio
kiln / torch (throughput; > 1: kiln faster), % of the H100 SXM dense fp16/bf16 peak (989 TF/s),
and the geometric mean of the ratios. The kernel config kiln chose is read from the generated
source ("Hopper CUTLASS 3.x GEMM, config ...").

--tune (auto, cache, off) chooses the default builds' configs: auto first compiles one graph of
every shape's gemms with `kiln compile --tune auto` (kiln's tuner profiles the candidate configs on
this GPU; slow the first time, cached after) and builds each shape with `--tune cache`; off takes
the heuristic's config. --configs also compiles every candidate config of each shape
(KILN_GEMM_CONFIG=<name> with --tune off, see src/codegen/cuda/gemm_config.h) and reports each
one's time for the plain gemm, bias+ReLU and bias+GELU (which config hides which epilogue, and
what GELU's math costs beyond reading the bias; --config-epilogues picks fewer); expect many
minutes of compiling.

    python3 bench/gemm_h100.py                         # build/kiln, all shapes
    python3 bench/gemm_h100.py --shapes 4096x4096x4096 --configs --kiln build-gpu/kiln

Small shapes are dominated by launch overhead on both sides (kiln: a ctypes call, kiln's run
and CUTLASS's host-side argument setup; torch: its dispatcher); --cuda-graphs passes
`--cuda-graphs` to kiln compile. Exit code 1 when a kiln output disagrees with torch.
"""
import argparse
import concurrent.futures
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)

import kiln_ctypes  # noqa: E402
from cuda_timing import interleaved_medians_ms as time_ms  # noqa: E402

PEAK_TFLOPS = 989.0  # H100 SXM dense fp16/bf16 tensor-core peak
SHAPES = ["8192x8192x8192", "4096x4096x4096", "49152x3072x768", "49152x768x3072", "49152x768x768",
          "12608x2304x768", "384x768x768", "6272x2048x512", "100352x64x576"]
# Sm90GemmCandidates (src/codegen/cuda/gemm_config.cc), before its per-shape filtering.
CANDIDATES = ["128x128x64_1x1_coop", "128x128x64_2x1_coop", "128x256x64_1x1_coop",
              "128x256x64_2x1_coop", "256x128x64_1x1_coop", "256x128x64_1x2_coop",
              "64x128x64_1x1_pingpong", "128x128x64_1x1_pingpong", "128x128x64_2x1_pingpong",
              "128x64x64_1x1_pingpong"]


def parse_shape(text):
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"shape {text!r}: expected MxNxK, e.g. 4096x4096x4096")
    return tuple(int(g) for g in m.groups())


# Epilogue variants: the plain gemm, the fused bias+GELU of the table, and (--configs) bias+ReLU,
# whose math is one max: plain vs bias_relu vs bias_gelu separates the cost of reading the bias
# from the cost of GELU's math.
EPILOGUES = {"bias_gelu": "gelu", "bias_relu": "relu"}


def b_type(n, k, dtype, trans_b):
    """b's KIR type: [K, N] (N contiguous), or [N, K] with --trans-b (nn.Linear's weight layout)."""
    return f"{dtype}[{n},{k}]" if trans_b else f"{dtype}[{k},{n}]"


def gemm_attrs(trans_b, epilogue=None):
    """The gemm's attribute block: trans_b and the epilogue list, or "" when neither."""
    attrs = (["trans_b=true"] if trans_b else []) + ([f"epilogue=[{epilogue}]"] if epilogue else [])
    return f" {{{', '.join(attrs)}}}" if attrs else ""


def tuning_kir_text(shapes, dtype, trans_b=False):
    """One graph holding the plain and the bias+GELU gemm of every shape, each on its own inputs (so
    that no pass merges two of them): one `kiln compile --tune auto` of it profiles every shape's
    candidates once, sharing each signature's candidate libraries, one profile at a time on the GPU."""
    params, outs, body = [], [], []
    for i, (m, n, k) in enumerate(shapes):
        bt = b_type(n, k, dtype, trans_b)
        params += [f"%a{i}: {dtype}[{m},{k}]", f"%b{i}: {bt}", f"%c{i}: {dtype}[{m},{k}]",
                   f"%d{i}: {bt}", f"%bias{i}: {dtype}[{n}]"]
        outs += [f"%y{i}", f"%g{i}"]
        fused = gemm_attrs(trans_b, f"bias(%bias{i}), {EPILOGUES['bias_gelu']}")
        body += [f"  %y{i} = gemm(%a{i}, %b{i}){gemm_attrs(trans_b)} : {dtype}[{m},{n}]",
                 f"  %g{i} = gemm(%c{i}, %d{i}){fused} : {dtype}[{m},{n}]"]
    return (f"graph @gemm_tuning({', '.join(params)}) -> ({', '.join(outs)}) {{\n" + "\n".join(body) + "\n}\n")


def tune_all(args):
    """--tune auto: profiles every shape in one kiln compile (see tuning_kir_text); the default
    builds then take the winners from the cache. Running the per-shape compiles' tuners at once
    would start --jobs x cores nvcc processes and time candidates on a GPU shared with the others."""
    kir = os.path.join(args.workdir, "tuning.kir")
    with open(kir, "w") as f:
        f.write(tuning_kir_text(args.shapes, args.dtype, args.trans_b))
    out = os.path.join(args.workdir, "tuning")
    shutil.rmtree(out, ignore_errors=True)
    print(f"tuning {2 * len(args.shapes)} gemms in one kiln compile --tune auto ...", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([args.kiln, "compile", kir, "--target", "cuda-sm90", "-o", out, "--tune", "auto"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "tuning:" in ln and " us" in ln]
    print("\n".join(lines[-2 * len(args.shapes):]), flush=True)
    if proc.returncode != 0:
        print((proc.stdout + proc.stderr)[-3000:], flush=True)
        sys.exit("kiln compile --tune auto of the tuning graph failed")
    print(f"tuned in {seconds:.0f} s", flush=True)
    return seconds


def kir_text(m, n, k, dtype, epi, trans_b=False):
    bt = b_type(n, k, dtype, trans_b)
    if epi != "plain":
        return (f"graph @gemm_{epi}(%a: {dtype}[{m},{k}], %b: {bt}, %bias: {dtype}[{n}]) -> (%y) {{\n"
                f"  %y = gemm(%a, %b){gemm_attrs(trans_b, f'bias(%bias), {EPILOGUES[epi]}')} : "
                f"{dtype}[{m},{n}]\n}}\n")
    return (f"graph @gemm(%a: {dtype}[{m},{k}], %b: {bt}) -> (%y) {{\n"
            f"  %y = gemm(%a, %b){gemm_attrs(trans_b)} : {dtype}[{m},{n}]\n}}\n")


class Build:
    """One `kiln compile` of one KIR file (optionally with a forced config)."""

    def __init__(self, args, shape, epi, config=None):
        m, n, k = shape
        self.shape, self.epi, self.fused, self.config = shape, epi, epi != "plain", config
        tag = f"{m}x{n}x{k}_{epi}" + (f"_{config}" if config else "")
        self.dir = os.path.join(args.workdir, tag)
        self.kir = self.dir + ".kir"
        with open(self.kir, "w") as f:
            f.write(kir_text(m, n, k, args.dtype, epi, args.trans_b))
        tune = "cache" if args.tune == "auto" else args.tune  # auto: tune_all filled the cache
        self.cmd = [args.kiln, "compile", self.kir, "--target", "cuda-sm90", "-o", self.dir, "-j", "2",
                    "--tune", "off" if config else tune]
        if args.cuda_graphs:
            self.cmd.append("--cuda-graphs")
        self.env = dict(os.environ)
        self.env.pop("KILN_GEMM_CONFIG", None)
        if config:
            self.env["KILN_GEMM_CONFIG"] = config
        self.ok, self.log, self.compile_s, self.chosen = False, "", 0.0, None

    def run(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        t0 = time.perf_counter()
        proc = subprocess.run(self.cmd, capture_output=True, text=True, env=self.env)
        self.compile_s = time.perf_counter() - t0
        self.ok, self.log = proc.returncode == 0, proc.stdout + proc.stderr
        if self.ok:
            for root, _, files in os.walk(os.path.join(self.dir, "src")):
                for name in files:
                    with open(os.path.join(root, name)) as f:
                        hit = re.search(r"Hopper CUTLASS 3\.x GEMM, config (\S+)", f.read())
                    if hit:
                        self.chosen = hit.group(1)
            self.chosen = self.chosen or "CUTLASS 2.x path"
        return self


def tflops(shape, ms):
    m, n, k = shape
    return 2.0 * m * n * k / (ms * 1e-3) / 1e12


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"))
    ap.add_argument("--shapes", nargs="+", type=parse_shape, default=[parse_shape(s) for s in SHAPES])
    ap.add_argument("--dtype", choices=["f16", "bf16"], default="f16")
    ap.add_argument("--workdir", default="/tmp/kiln_gemm_h100")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 4, help="kiln compiles at once")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--inner", type=int, default=10, help="calls per timed repetition")
    ap.add_argument("--tolerance", type=float, default=2e-2, help="max |err| / max |ref|")
    ap.add_argument("--configs", action="store_true", help="also time every candidate config")
    ap.add_argument("--candidates", nargs="+", default=CANDIDATES, metavar="CONFIG",
                    help="the configs --configs builds (default: all candidates)")
    ap.add_argument("--config-epilogues", default="plain,bias_relu,bias_gelu",
                    help="the epilogues --configs builds each candidate with (comma-separated)")
    ap.add_argument("--cuda-graphs", action="store_true", help="kiln compile --cuda-graphs")
    ap.add_argument("--trans-b", action="store_true",
                    help="b stored [N, K] (nn.Linear's weight, what transformer gemms multiply: "
                    "kiln's trans_b=true, torch.matmul(a, w.t())) instead of [K, N]")
    ap.add_argument("--tune", choices=["auto", "cache", "off"], default="auto",
                    help="kiln compile --tune for the default builds (off: the heuristic config; "
                         "--configs builds always use off)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "gemm_h100"))
    args = ap.parse_args()

    import torch  # after argparse: --help works without a GPU stack
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        sys.exit("gemm_h100.py needs a CUDA GPU (torch.cuda.is_available() is False)")
    os.makedirs(args.workdir, exist_ok=True)
    tdtype = torch.float16 if args.dtype == "f16" else torch.bfloat16

    tune_s = tune_all(args) if args.tune == "auto" else None
    builds = []
    for shape in args.shapes:
        builds.append(Build(args, shape, "plain"))
        builds.append(Build(args, shape, "bias_gelu"))
        if args.configs:
            for epi in args.config_epilogues.split(","):
                builds += [Build(args, shape, epi, c) for c in args.candidates]
    print(f"compiling {len(builds)} kiln libraries, {args.jobs} at once ...", flush=True)
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for b in pool.map(Build.run, builds):
            status = f"{b.compile_s:.0f} s, {b.chosen}" if b.ok else "FAILED"
            print(f"  {os.path.basename(b.dir)}: {status}", flush=True)
            if not b.ok and not b.config:
                print(b.log[-3000:], flush=True)
    print(f"compiled in {time.perf_counter() - t0:.0f} s", flush=True)

    failures = []
    rows = []
    stream = torch.cuda.current_stream()
    for shape in args.shapes:
        m, n, k = shape
        torch.manual_seed(0)
        a = (torch.rand(m, k, device="cuda") * 2 - 1).to(tdtype)
        b = (torch.rand(k, n, device="cuda") * 2 - 1).to(tdtype) / math.sqrt(k)
        if args.trans_b:  # stored [N, K] (kiln's input), multiplied as its transpose (a view)
            b = b.t().contiguous().t()
        bias = (torch.rand(n, device="cuda") * 2 - 1).to(tdtype)
        y = torch.empty(m, n, device="cuda", dtype=tdtype)
        ref_plain = torch.matmul(a.float(), b.float())
        refs = {"plain": ref_plain, "bias_gelu": F.gelu(ref_plain + bias.float()),
                "bias_relu": F.relu(ref_plain + bias.float())}
        row = {"shape": f"{m}x{n}x{k}", "M": m, "N": n, "K": k, "dtype": args.dtype}

        def load(build):
            mod = kiln_ctypes.Module.load(os.path.join(build.dir, "model.so"))
            weights = os.path.join(build.dir, "model.safetensors")
            return mod, mod.create_instance(weights if os.path.exists(weights) else None)

        def check(build, inst, inputs, ref, what):
            y.zero_()
            inst.run_device(inputs, [y], stream.cuda_stream)
            torch.cuda.synchronize()
            err = ((y.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-6)).item()
            if not err <= args.tolerance:
                failures.append(f"{row['shape']} {what}: max |err| / max |ref| = {err:.3g}")
            return err

        def kiln_fn(inst, inputs):
            ins, outs, s = [t.data_ptr() for t in inputs], [y.data_ptr()], stream.cuda_stream
            return lambda: inst.run_raw(ins, outs, s)

        # Every library of the shape is loaded and checked, then all of them and torch are timed
        # in turns (interleaved_medians_ms), so that clock drift under load shifts them alike.
        fns, loaded = {}, []
        for i, build in enumerate(bb for bb in builds if bb.shape == shape):
            if not build.ok:
                if build.config:
                    row.setdefault("configs", {}).setdefault(build.epi, {})[build.config] = None
                else:
                    failures.append(f"{row['shape']}: kiln compile failed")
                continue
            mod, inst = load(build)
            inputs = [a, b, bias] if build.fused else [a, b]
            err = check(build, inst, inputs, refs[build.epi], f"{build.epi} {build.config or ''}")
            loaded.append((i, build, inst, err))
            fns[i] = kiln_fn(inst, inputs)
        fns["torch"] = lambda: torch.matmul(a, b, out=y)
        fns["torch_fused"] = lambda: F.gelu(torch.matmul(a, b) + bias)
        # cuBLASLt's own fused epilogue (GELU_BIAS, the tanh form) where PyTorch takes it: what a
        # vendor library's bias+GELU costs over its plain gemm, beside kiln's.
        fns["torch_lt_fused"] = lambda: torch._addmm_activation(bias, a, b, use_gelu=True)
        ms = time_ms(torch, fns, args.warmup, args.reps, args.inner)
        for i, build, inst, err in loaded:
            if build.config:
                row.setdefault("configs", {}).setdefault(build.epi, {})[build.config] = {
                    "ms": ms[i], "tflops": tflops(shape, ms[i]), "rel_err": err}
            elif build.fused:
                row.update(kiln_fused_ms=ms[i], kiln_fused_config=build.chosen, fused_rel_err=err)
            else:
                row.update(kiln_ms=ms[i], kiln_config=build.chosen, rel_err=err, compile_s=build.compile_s)
            inst.close()
        row["torch_ms"], row["torch_fused_ms"], row["torch_lt_fused_ms"] = ms["torch"], ms["torch_fused"], ms["torch_lt_fused"]
        row["lt_epilogue_cost_pct"] = 100 * (row["torch_lt_fused_ms"] / row["torch_ms"] - 1)
        for key in ("kiln", "torch", "kiln_fused", "torch_fused", "torch_lt_fused"):
            if f"{key}_ms" in row:
                row[f"{key}_tflops"] = tflops(shape, row[f"{key}_ms"])
        if "kiln_ms" in row:
            row["ratio"] = row["torch_ms"] / row["kiln_ms"]
            row["pct_peak"] = 100 * row["kiln_tflops"] / PEAK_TFLOPS
        if "kiln_fused_ms" in row:
            row["fused_ratio"] = row["torch_fused_ms"] / row["kiln_fused_ms"]
            if "kiln_ms" in row:  # the issue's goal: bias+GELU costs <= 10% over the plain gemm
                row["epilogue_cost_pct"] = 100 * (row["kiln_fused_ms"] / row["kiln_ms"] - 1)
        for epi, cfg in row.get("configs", {}).items():
            timed = {c: v for c, v in cfg.items() if v}
            if timed:
                row.setdefault("best_config", {})[epi] = min(timed, key=lambda c: timed[c]["ms"])
        rows.append(row)
        print(f"{row['shape']:>16}  kiln {row.get('kiln_tflops', float('nan')):6.1f} TF/s "
              f"({row.get('kiln_config')})  torch {row['torch_tflops']:6.1f} TF/s  "
              f"ratio {row.get('ratio', float('nan')):.2f}  | fused kiln {row.get('kiln_fused_tflops', float('nan')):6.1f}"
              f"  torch {row['torch_fused_tflops']:6.1f}  ratio {row.get('fused_ratio', float('nan')):.2f}", flush=True)

    def geomean(key):
        vals = [r[key] for r in rows if r.get(key)]
        return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None

    summary = {"geomean_ratio": geomean("ratio"), "geomean_fused_ratio": geomean("fused_ratio"),
               "geomean_pct_peak": geomean("pct_peak")}
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
        "kiln": args.kiln, "kiln_git": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                                      capture_output=True, text=True).stdout.strip(),
        "dtype": args.dtype, "warmup": args.warmup, "reps": args.reps, "inner": args.inner,
        "cuda_graphs": args.cuda_graphs, "trans_b": args.trans_b, "tune": args.tune, "tune_s": tune_s,
        "peak_tflops": PEAK_TFLOPS,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "summary": summary, "rows": rows, "failures": failures}, f, indent=2)

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    lines = [f"# kiln cuda-sm90 gemm vs torch.matmul ({args.dtype})", "",
             f"{meta['gpu']}, torch {meta['torch']} (CUDA {meta['cuda']}), kiln {meta['kiln_git']}, "
             f"{meta['date']}. Median of {args.reps} x {args.inner} calls after {args.warmup} warm-up calls, "
             f"CUDA events, each shape's kiln libraries and torch timed in turns. B is {'[N, K] (trans_b)' if args.trans_b else '[K, N]'}. Ratio = torch time / kiln time "
             f"(> 1: kiln faster); % peak of {PEAK_TFLOPS:.0f} TF/s. bias+GELU cost: kiln's fused gemm over its plain "
             "one; cuBLASLt bias+GELU cost: torch._addmm_activation(bias, a, b, use_gelu=True) (cuBLASLt's GELU_BIAS "
             "epilogue, tanh form) over torch.matmul.", "",
             "| M x N x K | kiln TF/s | config | torch TF/s | ratio | % peak | fused kiln TF/s | fused config | "
             "bias+GELU cost | fused torch TF/s | fused ratio | cuBLASLt bias+GELU cost |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['shape']} | {fmt(r.get('kiln_tflops'), '.1f')} | {r.get('kiln_config', '-')} | "
                     f"{fmt(r.get('torch_tflops'), '.1f')} | {fmt(r.get('ratio'), '.2f')} | {fmt(r.get('pct_peak'), '.1f')} | "
                     f"{fmt(r.get('kiln_fused_tflops'), '.1f')} | {r.get('kiln_fused_config', '-')} | "
                     f"{fmt(r.get('epilogue_cost_pct'), '+.0f')}% | {fmt(r.get('torch_fused_tflops'), '.1f')} | "
                     f"{fmt(r.get('fused_ratio'), '.2f')} | {fmt(r.get('lt_epilogue_cost_pct'), '+.0f')}% |")
    lines += ["", f"Geomean ratio {fmt(summary['geomean_ratio'], '.3f')}, fused {fmt(summary['geomean_fused_ratio'], '.3f')}; "
              f"geomean % of peak {fmt(summary['geomean_pct_peak'], '.1f')}."]
    if tune_s is not None:
        lines += ["", f"--tune auto: the {2 * len(args.shapes)} gemms were tuned in one kiln compile of {tune_s:.0f} s "
                  "(a warm tuning cache makes it a build with the cached winners)."]
    if args.configs:
        lines += ["", "## Candidate configs (TF/s of each config, --tune off, per epilogue)", "",
                  "| M x N x K | epilogue | default | best | " + " | ".join(args.candidates) + " |",
                  "| --- | --- | --- | --- | " + " | ".join("---:" for _ in args.candidates) + " |"]
        for r in rows:
            for epi, cfg in r.get("configs", {}).items():
                default = r.get("kiln_config" if epi == "plain" else "kiln_fused_config", "-") if epi != "bias_relu" else "-"
                cells = [fmt(cfg[c]["tflops"], ".1f") if cfg.get(c) else "-" for c in args.candidates]
                lines.append(f"| {r['shape']} | {epi} | {default} | {r.get('best_config', {}).get(epi, '-')} | "
                             + " | ".join(cells) + " |")
    if failures:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in failures]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[-4:]))
    print(f"wrote {args.out}.md and {args.out}.json")
    if failures:
        print("FAILURES:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
