#!/usr/bin/env python3
"""kiln's ONNX importer on real PyTorch exports, checked against onnxruntime (CPU).

For each model (default: resnet50, bert, vit): bench/model_export.py builds the PyTorch model
(random init, no downloads) and exports ONNX (torch.onnx.export, opset 18, static shapes); then
`kiln compile <model>.onnx --target cpu` (the importer, not the zoo graph), and the library and
an onnxruntime session run the same inputs. Reported per output: max abs error and max relative
error (max |kiln - ort| / max |ort|), top-1 agreement for classifiers; tolerance 1e-4 relative.
Results: <out>.md and <out>.json.

    .venv-bench/bin/python bench/onnx_import_check.py [--models resnet50,bert] [--out PATH]

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


def check(name, args):
    exp = model_export.export_model(name, args.workdir, batch=args.batch, seq=args.seq)
    out_dir = os.path.join(args.workdir, name + ".onnx.kiln")
    cmd = [args.kiln, "compile", exp.onnx_path, "-o", out_dir, "--target", "cpu", "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return [{"model": name, "output": "-", "ok": False, "error": (r.stderr or r.stdout).strip()}]
    sess = ort.InferenceSession(exp.onnx_path, providers=["CPUExecutionProvider"])
    feeds = {k: exp.inputs[k] for k in exp.input_names}
    ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    module = kiln_ctypes.Module.load(os.path.join(out_dir, "model.so"))
    with module.create_instance(os.path.join(out_dir, "model.safetensors")) as inst:
        got = inst.run([feeds[i.name] for i in module.inputs])
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
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--out", default=os.path.join(BENCH, "results", "onnx_import_check"))
    args = p.parse_args()
    rows = []
    for name in args.models.split(","):
        rows += check(name, args)
        for r in rows:
            if r["model"] == name:
                print(json.dumps(r))
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "onnxruntime": ort.__version__,
            "batch": args.batch, "seq": args.seq, "tolerance": args.tolerance,
            "command": "bench/onnx_import_check.py --models " + args.models}
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write("# kiln's ONNX importer on torch.onnx.export models vs onnxruntime (CPU, fp32)\n\n")
        f.write(f"{meta['date']}, onnxruntime {ort.__version__}, batch {args.batch}, BERT seq {args.seq}; "
                f"kiln compiles the exported .onnx for the cpu target. Tolerance: max rel err <= "
                f"{args.tolerance}. Command: `.venv-bench/bin/python {meta['command']}`.\n\n")
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
