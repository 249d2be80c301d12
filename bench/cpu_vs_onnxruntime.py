#!/usr/bin/env python3
"""kiln's CPU code vs ONNX Runtime's CPU execution provider, side by side in one process.

For each model (default: ResNet-50 batch 1 and BERT-base seq 128 batch 1, fp32):
  1. bench/model_export.py builds the PyTorch model (torch.manual_seed(0) random init, no
     downloads), saves its state_dict as safetensors and exports ONNX with kiln's input/output
     names (resnet50: x -> logits; bert: input_ids, attention_mask -> last_hidden_state,
     pooler_output);
  2. `kiln compile zoo:<model> --batch B [--seq S] --weights W -o DIR --target cpu` writes
     DIR/model.so + DIR/model.safetensors, loaded through bench/kiln_ctypes.py;
  3. an onnxruntime InferenceSession (CPUExecutionProvider, intra_op_num_threads = cpu count,
     all graph optimisations) runs the ONNX file through IOBinding on preallocated buffers;
  4. the outputs of kiln, ORT and PyTorch are compared pairwise: max abs error and max relative
     error (max |a - b| / max |b|, b the reference), within --tolerance;
  5. both engines are timed in the same process: --warmup runs each, then --reps interleaved
     repetitions (alternating which goes first, --gap-ms idle between calls so that one engine's
     spinning worker threads do not steal the other's cores); median, p90 in ms, and the ratio
     kiln / ORT. PyTorch eager is timed afterwards for context (not interleaved).
Results go to <out>.md and <out>.json (machine: CPU model, core count; all versions).

    .venv-bench/bin/python bench/cpu_vs_onnxruntime.py                  # full run, build/kiln
    .venv-bench/bin/python bench/cpu_vs_onnxruntime.py --skip-kiln --out /tmp/ort_only

Exit code 1 when kiln fails or any output disagrees beyond the tolerance (and, with --strict,
when a ratio exceeds --max-ratio).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)

import kiln_ctypes  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Engines: each has run() for the correctness check and a zero-allocation timed call.


class KilnEngine:
    """A kiln module compiled by `kiln compile` and loaded through kiln_ctypes."""

    def __init__(self, exp, args):
        self.out_dir = os.path.join(args.workdir, f"{exp.name}.kiln")
        self.cmd = kiln_compile_command(args.kiln, exp, self.out_dir)
        shutil.rmtree(self.out_dir, ignore_errors=True)
        print("+", " ".join(self.cmd), flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(self.cmd, capture_output=True, text=True)
        self.compile_s = time.perf_counter() - t0
        if proc.returncode != 0:
            text = (proc.stderr + proc.stdout).strip()
            raise RuntimeError(f"kiln compile exited {proc.returncode}: {text[-2000:]}")
        lib = os.path.join(self.out_dir, "model.so")
        weights = os.path.join(self.out_dir, "model.safetensors")
        for path in (lib, weights):
            if not os.path.exists(path):
                raise RuntimeError(f"kiln compile succeeded but wrote no {path} "
                                   f"(has {sorted(os.listdir(self.out_dir))})")
        self.module = kiln_ctypes.Module.load(lib)
        if self.module.target != "cpu":
            raise RuntimeError(f"{lib} targets {self.module.target}, expected cpu")
        check_interface(self.module, exp)
        t0 = time.perf_counter()
        self.instance = self.module.create_instance(weights)
        self.create_s = time.perf_counter() - t0
        self.inputs = [exp.inputs[i.name] for i in self.module.inputs]
        self.outputs = None

    def run(self):
        """Runs once with full checks; returns output name -> array (fresh copies)."""
        outs = self.instance.run(self.inputs)
        self.outputs = outs  # reused by timed() from now on: shapes are fixed
        self._in_ptrs = [a.ctypes.data for a in self.inputs]
        self._out_ptrs = [o.ctypes.data for o in outs]
        return {info.name: o.copy() for info, o in zip(self.module.outputs, outs)}

    def timed(self):
        self.instance.run_raw(self._in_ptrs, self._out_ptrs)

    def close(self):
        self.instance.close()


class OrtEngine:
    """An onnxruntime CPU session on the exported ONNX file, bound to preallocated buffers."""

    def __init__(self, exp, args):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        t0 = time.perf_counter()
        self.session = ort.InferenceSession(exp.onnx_path, so, providers=["CPUExecutionProvider"])
        self.create_s = time.perf_counter() - t0
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(exp.input_names):
            raise RuntimeError(f"ONNX inputs {names} != kiln's {exp.input_names}")
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.binding = self.session.io_binding()
        for name in names:
            self.binding.bind_cpu_input(name, exp.inputs[name])
        self.outputs = {}
        for name in self.output_names:
            buf = np.empty(exp.torch_outputs[name].shape, dtype=np.float32)
            self.binding.bind_output(name, "cpu", 0, np.float32, list(buf.shape),
                                     buf.ctypes.data)
            self.outputs[name] = buf

    def run(self):
        self.timed()
        return {k: v.copy() for k, v in self.outputs.items()}

    def timed(self):
        self.session.run_with_iobinding(self.binding)


class TorchEngine:
    """PyTorch eager fp32 (the reference; timed only for context)."""

    def __init__(self, exp, args):
        import torch

        self.torch = torch
        self.model = exp.torch_module
        self.run_fn = exp.torch_run
        self.inputs = {k: torch.from_numpy(v) for k, v in exp.inputs.items()}

    def timed(self):
        with self.torch.inference_mode():
            self.run_fn(self.model, self.inputs)


def kiln_compile_command(kiln, exp, out_dir):
    """The `kiln compile` command line for exported model `exp`."""
    cmd = [kiln, "compile", f"zoo:{exp.name}", "--batch", str(exp.batch)]
    if exp.name == "bert":
        cmd += ["--seq", str(exp.seq)]
    return cmd + ["--weights", exp.weights_path, "-o", out_dir, "--target", "cpu"]


def check_interface(module, exp):
    """Checks the module declares the exported model's inputs (names, dtypes, shapes; static or
    symbolic) and outputs (names); RuntimeError naming the difference."""
    got = [i.name for i in module.inputs]
    if sorted(got) != sorted(exp.input_names):
        raise RuntimeError(f"module inputs {got} != expected {exp.input_names}")
    for info in module.inputs:
        a = exp.inputs[info.name]
        if info.np_dtype != a.dtype or info.rank != a.ndim or any(
                d >= 0 and d != s for d, s in zip(info.static_dims, a.shape)):
            raise RuntimeError(f"module input {info.name} is {info.type_string()}, the benchmark "
                               f"feeds {a.dtype}{list(a.shape)}")
    got = [o.name for o in module.outputs]
    if sorted(got) != sorted(exp.output_names):
        raise RuntimeError(f"module outputs {got} != expected {exp.output_names}")


# ---------------------------------------------------------------------------------------------
# Agreement and timing.


def compare(name_a, outs_a, name_b, outs_b, tolerance, classifier):
    """Rows comparing every output of `a` against reference `b`."""
    rows = []
    for out, ref in outs_b.items():
        row = dict(a=name_a, b=name_b, output=out, shape=list(ref.shape))
        got = outs_a.get(out)
        if got is None or got.shape != ref.shape:
            row.update(ok=False, error=f"{name_a} output {out} missing or shaped "
                                       f"{None if got is None else list(got.shape)}")
            rows.append(row)
            continue
        diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        max_abs = float(diff.max())
        max_ref = float(np.abs(ref).max())
        row.update(max_abs=max_abs, max_ref=max_ref,
                   max_rel=max_abs / max_ref if max_ref > 0 else float("inf"),
                   finite=bool(np.isfinite(got).all()))
        if classifier:
            row["top1_agree"] = float((got.argmax(-1) == ref.argmax(-1)).mean())
        row["ok"] = row["finite"] and row["max_rel"] <= tolerance
        rows.append(row)
    return rows


def stats_ms(samples_s):
    a = np.asarray(samples_s) * 1e3
    return dict(median=float(np.median(a)), p90=float(np.percentile(a, 90)),
                mean=float(a.mean()), min=float(a.min()), max=float(a.max()),
                std=float(a.std()), n=int(a.size))


def time_interleaved(engines, warmup, reps, gap_s):
    """engines: name -> zero-arg callable. Warm-up each, then `reps` rounds calling every engine
    once per round (order rotated each round), sleeping `gap_s` before each timed call."""
    for fn in engines.values():
        for _ in range(warmup):
            fn()
    names = list(engines)
    samples = {n: [] for n in names}
    for r in range(reps):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            time.sleep(gap_s)
            t0 = time.perf_counter()
            engines[n]()
            samples[n].append(time.perf_counter() - t0)
    return {n: stats_ms(s) for n, s in samples.items()}


# ---------------------------------------------------------------------------------------------
# Environment.


def machine_info():
    info = dict(hostname=platform.node(), os=platform.platform(), cpu_count=os.cpu_count(),
                usable_cpus=len(os.sched_getaffinity(0)))
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        fields = {}
        for line in text.splitlines():
            if ":" in line:
                k, v = (s.strip() for s in line.split(":", 1))
                fields.setdefault(k, v)
        info["cpu_model"] = fields.get("model name", platform.processor())
        info["cpu_family_model"] = f"family {fields.get('cpu family')} model {fields.get('model')}"
        flags = set(fields.get("flags", "").split())
        info["isa"] = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
                                   "amx_tile", "amx_bf16") if f in flags]
        info["hypervisor"] = "hypervisor" in flags
    except OSError:
        info["cpu_model"] = platform.processor()
    try:
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


def versions():
    import importlib.metadata as md

    v = {"python": platform.python_version()}
    for pkg in ("numpy", "torch", "torchvision", "transformers", "onnx", "onnxruntime",
                "safetensors"):
        try:
            v[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            v[pkg] = None
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        v["kiln_git"] = head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        v["kiln_git"] = None
    return v


# ---------------------------------------------------------------------------------------------
# One model.


def bench_model(name, args):
    from model_export import export_model

    print(f"== {name}: exporting", flush=True)
    exp = export_model(name, args.workdir, batch=args.batch, seq=args.seq)
    res = dict(model=name, batch=args.batch, seq=args.seq if name == "bert" else None,
               inputs={k: f"{v.dtype}{list(v.shape)}" for k, v in exp.inputs.items()},
               onnx_exporter=exp.onnx_exporter, export_s=round(exp.export_s, 2),
               target_ratio=args.max_ratio, agreement=[], ms={}, ok=True)
    classifier = name in ("resnet50", "vit")
    outputs = {"torch": exp.torch_outputs}
    engines = {}

    ort_engine = OrtEngine(exp, args)
    res["ort_session_s"] = round(ort_engine.create_s, 2)
    outputs["onnxruntime"] = ort_engine.run()
    engines["onnxruntime"] = ort_engine.timed

    kiln_engine = None
    res["kiln_compile_cmd"] = kiln_compile_command(
        args.kiln, exp, os.path.join(args.workdir, f"{name}.kiln"))
    if args.skip_kiln:
        res["kiln"] = "skipped (--skip-kiln)"
    else:
        try:
            kiln_engine = KilnEngine(exp, args)
            res["kiln_compile_s"] = round(kiln_engine.compile_s, 2)
            res["kiln_instance_s"] = round(kiln_engine.create_s, 2)
            outputs["kiln"] = kiln_engine.run()
            engines = {"kiln": kiln_engine.timed, **engines}
        except (RuntimeError, OSError, ValueError, kiln_ctypes.KilnError) as e:
            print(f"kiln FAILED on {name}: {e}", file=sys.stderr, flush=True)
            res["kiln"] = f"error: {e}"
            res["ok"] = False

    pairs = [("onnxruntime", "torch")]
    if "kiln" in outputs:
        pairs = [("kiln", "torch"), ("kiln", "onnxruntime")] + pairs
    for a, b in pairs:
        res["agreement"] += compare(a, outputs[a], b, outputs[b], args.tolerance, classifier)
    res["ok"] = res["ok"] and all(r["ok"] for r in res["agreement"])

    print(f"== {name}: timing {list(engines)} (warm-up {args.warmup}, {args.reps} interleaved "
          f"reps)", flush=True)
    res["loadavg_before"] = os.getloadavg()
    res["ms"] = time_interleaved(engines, args.warmup, args.reps, args.gap_ms / 1e3)
    res["loadavg_after"] = os.getloadavg()
    if not args.skip_torch_timing:
        res["ms"].update(time_interleaved({"torch": TorchEngine(exp, args).timed},
                                          args.warmup, args.reps, args.gap_ms / 1e3))
    if "kiln" in res["ms"]:
        k, o = res["ms"]["kiln"], res["ms"]["onnxruntime"]
        res["ratio_kiln_over_ort"] = dict(median=k["median"] / o["median"],
                                          p90=k["p90"] / o["p90"])
        # A fast wrong answer meets nothing.
        res["meets_target"] = res["ok"] and res["ratio_kiln_over_ort"]["median"] <= args.max_ratio
    if kiln_engine is not None:
        kiln_engine.close()
    for engine, s in res["ms"].items():
        print(f"   {engine:12s} median {s['median']:8.2f} ms  p90 {s['p90']:8.2f} ms", flush=True)
    if "ratio_kiln_over_ort" in res:
        print(f"   kiln / ORT median ratio {res['ratio_kiln_over_ort']['median']:.2f}", flush=True)
    return res


# ---------------------------------------------------------------------------------------------
# Report.


def _short(path):
    """`path` relative to the repo when inside it (for readable commands)."""
    if os.path.isabs(path) and path.startswith(REPO + os.sep):
        return os.path.relpath(path, REPO)
    return path


def _load(avg):
    return "/".join(f"{x:.2f}" for x in avg)


def markdown(report):
    m, v, s = report["machine"], report["versions"], report["settings"]
    lines = [
        "# kiln vs ONNX Runtime, CPU, fp32",
        "",
        f"Machine: {m.get('cpu_model')} ({m.get('cpu_family_model', '?')}), "
        f"{m['cpu_count']} cores ({m['usable_cpus']} usable), "
        f"ISA {', '.join(m.get('isa', []))}{', VM' if m.get('hypervisor') else ''}; "
        f"{report['date']}. Target: kiln <= {s['max_ratio']:g}x ORT (median).",
        "",
        "| model | input | kiln median ms | kiln p90 ms | ORT median ms | ORT p90 ms | "
        "kiln/ORT (median) | kiln/ORT (p90) | meets target | torch median ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    fmt = lambda x: f"{x:.2f}"  # noqa: E731
    for r in report["models"]:
        ms = r["ms"]
        k, o, t = ms.get("kiln"), ms.get("onnxruntime"), ms.get("torch")
        ratio = r.get("ratio_kiln_over_ort")
        kiln_note = r.get("kiln", "-")
        if isinstance(kiln_note, str) and kiln_note.startswith("error"):
            kiln_note = "error"
        lines.append(
            f"| {r['model']} b{r['batch']}{' s' + str(r['seq']) if r['seq'] else ''} | "
            f"{', '.join(f'{n} {d}' for n, d in r['inputs'].items())} | "
            f"{fmt(k['median']) if k else kiln_note} | {fmt(k['p90']) if k else '-'} | "
            f"{fmt(o['median'])} | {fmt(o['p90'])} | "
            f"{fmt(ratio['median']) if ratio else '-'} | {fmt(ratio['p90']) if ratio else '-'} | "
            f"{('yes' if r['meets_target'] else 'NO') if ratio else '-'} | "
            f"{fmt(t['median']) if t else '-'} |")
    lines += [
        "",
        f"Agreement (max rel err = max |a - b| / max |b|; tolerance {s['tolerance']:g}):",
        "",
        "| model | a vs b | output | max abs err | max rel err | top-1 agree | ok |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in report["models"]:
        for a in r["agreement"]:
            if "error" in a:
                lines.append(f"| {r['model']} | {a['a']} vs {a['b']} | {a['output']} | | | | "
                             f"FAIL: {a['error']} |")
                continue
            top1 = f"{a['top1_agree'] * 100:.0f}%" if "top1_agree" in a else "-"
            lines.append(f"| {r['model']} | {a['a']} vs {a['b']} | {a['output']} | "
                         f"{a['max_abs']:.3g} | {a['max_rel']:.3g} | {top1} | "
                         f"{'yes' if a['ok'] else 'NO'} |")
    notes = [f"- {r['model']}: kiln {r['kiln']}" for r in report["models"]
             if isinstance(r.get("kiln"), str)]
    notes += [f"- {r['model']}: load average (1, 5, 15 min) {_load(r['loadavg_before'])} before "
              f"timing, {_load(r['loadavg_after'])} after" for r in report["models"]]
    lines += ["", *notes]
    lines += [
        "",
        f"Timing: {s['warmup']} warm-up runs each, then {s['reps']} interleaved repetitions "
        f"(order alternating, {s['gap_ms']:g} ms idle before each call) in one process; kiln "
        "through kiln_instance_run on preallocated buffers, ORT through IOBinding on preallocated "
        f"buffers (CPUExecutionProvider, intra_op_num_threads={s['threads']}, "
        "inter_op_num_threads=1, ORT_ENABLE_ALL). PyTorch eager timed afterwards for context. "
        "Weights: torch.manual_seed(0) random init, constant-initialised parameters "
        "re-randomised (bench/zoo_check); BERT's attention_mask pads the last quarter.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val) + ".",
        "",
        "kiln compile commands:",
        "",
        *[f"    {' '.join(_short(c) for c in r['kiln_compile_cmd'])}" for r in report["models"]],
        "",
        "Benchmark command:",
        "",
        f"    {report['command']}",
    ]
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"), help="kiln CLI binary")
    p.add_argument("--models", default="resnet50,bert", help="comma-separated zoo models")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=128, help="BERT sequence length")
    p.add_argument("--workdir", default="/tmp/kiln_cpu_bench",
                   help="weights, ONNX files and kiln outputs")
    p.add_argument("--out", default=os.path.join(BENCH, "results", "cpu_vs_onnxruntime"),
                   help="writes OUT.md and OUT.json")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="ORT intra-op threads and torch threads")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--gap-ms", type=float, default=20.0,
                   help="idle time before each timed call")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max relative error")
    p.add_argument("--max-ratio", type=float, default=2.0, help="target kiln/ORT median ratio")
    p.add_argument("--strict", action="store_true", help="exit 1 when a ratio misses the target")
    p.add_argument("--skip-kiln", action="store_true",
                   help="export, ORT and torch only (no kiln compile)")
    p.add_argument("--skip-torch-timing", action="store_true")
    args = p.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    if not args.skip_kiln and not os.path.exists(args.kiln):
        p.error(f"{args.kiln} not found: build it (ninja -C build kiln), pass --kiln, or use "
                "--skip-kiln")

    import torch

    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("highest")
    os.makedirs(args.workdir, exist_ok=True)

    report = dict(
        benchmark="cpu_vs_onnxruntime",
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        command=" ".join([os.path.relpath(sys.executable, REPO), os.path.relpath(__file__, REPO)]
                         + sys.argv[1:]),
        machine=machine_info(), versions=versions(),
        settings=dict(threads=args.threads, warmup=args.warmup, reps=args.reps,
                      gap_ms=args.gap_ms, tolerance=args.tolerance, max_ratio=args.max_ratio,
                      skip_kiln=args.skip_kiln),
        models=[])
    for name in args.models.split(","):
        report["models"].append(bench_model(name, args))
    report["ok"] = all(r["ok"] for r in report["models"])

    text = markdown(report)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".md", "w") as f:
        f.write(text)
    with open(args.out + ".json", "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {args.out}.md and {args.out}.json")
    if not report["ok"]:
        return 1
    if args.strict and not all(r.get("meets_target", False) for r in report["models"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
