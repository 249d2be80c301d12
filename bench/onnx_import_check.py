#!/usr/bin/env python3
"""kiln's ONNX importer on real PyTorch exports, checked against onnxruntime (CPU, fp32).

For each model (default: resnet50, bert, vit): bench/model_export.py builds the PyTorch model
(random init, no downloads) and exports ONNX (torch.onnx.export, opset 18, static shapes); then
`kiln compile <model>.onnx --target T` (the importer, not the zoo graph; default cpu; the
model's fp32), and the library and an onnxruntime session run the same inputs (a CUDA library on
torch CUDA tensors). Reported per output: max abs error and max relative error
(max |kiln - ort| / max |ort|), top-1 agreement for classifiers; tolerance relative, by default
1e-4 on the CPU and 1e-3 on a CUDA target (fp32 kernels that sum in other orders).
Results: <out>.md and <out>.json.

    .venv-bench/bin/python bench/onnx_import_check.py [--models resnet50,bert] [--out PATH]
    python3 bench/onnx_import_check.py --target cuda-sm90 --kiln build-gpu/kiln

Exit code 1 when a model fails to import/compile or disagrees beyond the tolerance.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import kiln_ctypes  # noqa: E402
import model_export  # noqa: E402


def run_on_device(module, inst, feeds):
    """Runs a CUDA-target library on torch CUDA tensors; returns the outputs as numpy arrays."""
    import torch
    dt = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32,
          "i64": torch.int64, "i32": torch.int32, "bool": torch.bool}
    ins = [torch.from_numpy(feeds[i.name]).to("cuda", dt[i.dtype_name]) for i in module.inputs]
    if module.symbols:
        raise ValueError("the exports have static shapes; a symbolic dim here is unexpected")
    outs = [torch.empty(inst.output_shape(k), dtype=dt[o.dtype_name], device="cuda")
            for k, o in enumerate(module.outputs)]
    inst.run_device(ins, outs)
    torch.cuda.synchronize()
    return [o.float().cpu().numpy() if o.is_floating_point() else o.cpu().numpy() for o in outs]


def check(name, args):
    exp = model_export.export_model(name, args.workdir, batch=args.batch, seq=args.seq)
    out_dir = os.path.join(args.workdir, name + ".onnx.kiln")
    cmd = [args.kiln, "compile", exp.onnx_path, "-o", out_dir, "--target", args.target, "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return [{"model": name, "output": "-", "ok": False, "error": (r.stderr or r.stdout).strip()}]
    sess = ort.InferenceSession(exp.onnx_path, providers=["CPUExecutionProvider"])
    feeds = {k: exp.inputs[k] for k in exp.input_names}
    ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    module = kiln_ctypes.Module.load(os.path.join(out_dir, "model.so"))
    with module.create_instance(os.path.join(out_dir, "model.safetensors")) as inst:
        if module.target == "cpu":
            got = inst.run([feeds[i.name] for i in module.inputs])
        else:
            got = run_on_device(module, inst, feeds)
    rows = []
    for info, g in zip(module.outputs, got):
        want = ref[info.name]
        err = float(np.abs(g.astype(np.float64) - want).max())
        rel = err / max(float(np.abs(want).max()), 1e-30)
        row = {"model": name, "output": info.name, "shape": list(g.shape), "max_abs_err": err,
               "max_rel_err": rel, "ok": rel <= args.tolerance}
        if g.ndim == 2 and g.shape[1] == 1000:
            row["top1_agree"] = float((g.argmax(1) == want.argmax(1)).mean())
        rows.append(row)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"))
    p.add_argument("--models", default="resnet50,bert,vit")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--workdir", default="/tmp/kiln-onnx-check")
    p.add_argument("--target", default="cpu", help="kiln target (cpu, cuda-sm90, cuda-sm80)")
    p.add_argument("--tolerance", type=float, help="max rel err (default 1e-4 on cpu, 1e-3 on cuda)")
    p.add_argument("--out", default=os.path.join(BENCH, "results", "onnx_import_check"))
    args = p.parse_args()
    if args.tolerance is None:
        args.tolerance = 1e-4 if args.target == "cpu" else 1e-3
    rows = []
    for name in args.models.split(","):
        rows += check(name, args)
        for r in rows:
            if r["model"] == name:
                print(json.dumps(r))
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "onnxruntime": ort.__version__,
            "batch": args.batch, "seq": args.seq, "tolerance": args.tolerance, "target": args.target,
            "command": "bench/onnx_import_check.py " + " ".join(sys.argv[1:])}
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write("# kiln's ONNX importer on torch.onnx.export models vs onnxruntime (CPU, fp32)\n\n")
        f.write(f"{meta['date']}, onnxruntime {ort.__version__}, batch {args.batch}, BERT seq {args.seq}; "
                f"kiln compiles the exported .onnx for {args.target} (fp32). Tolerance: max rel err <= "
                f"{args.tolerance}. Command: `python3 {meta['command']}`.\n\n")
        f.write("| model | output | shape | max abs err | max rel err | top-1 agree | ok |\n|---|---|---|---:|---:|---:|---|\n")
        for r in rows:
            if "error" in r:
                f.write(f"| {r['model']} | - | - | - | - | - | import failed: {r['error'][:200]} |\n")
                continue
            top1 = f"{100 * r['top1_agree']:.0f}%" if "top1_agree" in r else "-"
            f.write(f"| {r['model']} | {r['output']} | {r['shape']} | {r['max_abs_err']:.3g} | "
                    f"{r['max_rel_err']:.3g} | {top1} | {'yes' if r['ok'] else 'NO'} |\n")
    print("wrote", args.out + ".md")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
