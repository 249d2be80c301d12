#!/usr/bin/env python3
"""Checks kiln's zoo models against PyTorch (fp32, CPU) on the same weights and inputs.

For each model (resnet50, bert, vit):
  1. build the PyTorch model (torchvision / transformers) with torch.manual_seed(0) random init
     in fp32 eval mode, then re-randomise every parameter PyTorch initialises to a constant
     (BatchNorm/LayerNorm affine, biases, ViT's zero class token and head, BN running stats) so
     that a wrongly wired or wrongly named weight cannot hide behind an identity;
  2. save its parameters (and BN running stats; no num_batches_tracked / position_ids buffers)
     to <workdir>/<model>.weights.safetensors;
  3. make random inputs keyed by the kiln graph input names and save them (BERT: batch rows with
     a padded attention mask in the last row);
  4. run PyTorch in exact fp32 on the CPU (no TF32) and save its outputs;
  5. run `kiln eval zoo:<model> --weights W --inputs I --save O` and compare every output:
     max abs error, max relative error (max abs error / max |ref|) and, for classifiers, top-1
     agreement.
A Markdown table goes to stdout and to --out; the exit code is 1 when any output exceeds the
tolerance (max relative error 1e-4) or kiln fails.

    python bench/zoo_check/export_and_compare.py --kiln build/kiln --out bench/results/zoo_check.md
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file, save_file

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCE = 1e-4


def randomize_constant_params(model):
    """Replaces every constant parameter/BN statistic with PyTorch-like random values."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if not p.is_floating_point() or p.numel() == 0:
                continue
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)  # [0.5, 1.5)
            elif name.endswith("running_mean"):
                p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 0.2)
            elif bool((p == p.flatten()[0]).all()):
                if p.dim() >= 2:  # e.g. ViT's zero-initialised head: nn.Linear-like scale
                    bound = 1.0 / (p[0].numel() ** 0.5)
                    p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
                elif float(p.flatten()[0]) == 1.0:  # norm weight
                    p.copy_(torch.rand(p.shape, generator=gen) * 0.4 + 0.8)
                else:  # zero bias, class token
                    p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 0.2)


def kiln_state_dict(model):
    """Parameters plus BatchNorm running statistics: exactly the weights kiln's graph declares."""
    keep = {n for n, _ in model.named_parameters()}
    keep |= {n for n, _ in model.named_buffers() if n.endswith(("running_mean", "running_var"))}
    return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items() if k in keep}


def make_resnet50(args):
    import torchvision

    model = torchvision.models.resnet50(weights=None).eval()
    x = torch.randn(args.batch, 3, 224, 224)
    return model, {"x": x}, lambda m, i: {"logits": m(i["x"])}


def make_vit(args):
    import torchvision

    model = torchvision.models.vit_b_16(weights=None).eval()
    x = torch.randn(args.batch, 3, 224, 224)
    return model, {"x": x}, lambda m, i: {"logits": m(i["x"])}


def make_bert(args):
    from transformers import BertConfig, BertModel

    config = BertConfig()
    try:  # the eager path computes exactly (1 - mask) * finfo.min + softmax, as kiln does
        model = BertModel._from_config(config, attn_implementation="eager")
    except (AttributeError, TypeError, ValueError):
        model = BertModel(config)
    model = model.eval()
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq), dtype=torch.int64)
    mask = torch.ones(args.batch, args.seq, dtype=torch.int64)
    mask[-1, (3 * args.seq) // 4:] = 0  # the last row is padded
    def run(m, i):
        out = m(input_ids=i["input_ids"], attention_mask=i["attention_mask"])
        return {"last_hidden_state": out.last_hidden_state, "pooler_output": out.pooler_output}
    return model, {"input_ids": ids, "attention_mask": mask}, run


MODELS = {"resnet50": make_resnet50, "bert": make_bert, "vit": make_vit}
CLASSIFIERS = {"resnet50", "vit"}


def check_model(name, args):
    torch.manual_seed(0)
    model, inputs, run = MODELS[name](args)
    randomize_constant_params(model)
    d = args.workdir
    paths = {k: os.path.join(d, f"{name}.{k}.safetensors")
             for k in ("weights", "inputs", "ref", "kiln")}
    save_file(kiln_state_dict(model), paths["weights"])
    save_file({k: v.contiguous() for k, v in inputs.items()}, paths["inputs"])

    t0 = time.perf_counter()
    with torch.no_grad():
        ref = {k: v.float().contiguous() for k, v in run(model, inputs).items()}
    torch_s = time.perf_counter() - t0
    save_file(ref, paths["ref"])

    cmd = [args.kiln, "eval", f"zoo:{name}", "--weights", paths["weights"], "--inputs",
           paths["inputs"], "--batch", str(args.batch), "--save", paths["kiln"]]
    if name == "bert":
        cmd += ["--seq", str(args.seq)]
    print("+", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    kiln_s = time.perf_counter() - t0
    rows = []
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        print(proc.stdout, proc.stderr, file=sys.stderr)
        for out_name, r in ref.items():
            rows.append(dict(model=name, output=out_name, shape=list(r.shape), ok=False,
                             error=f"kiln eval exited {proc.returncode}: {msg[-1] if msg else ''}",
                             torch_s=torch_s, kiln_s=kiln_s))
        return rows
    got = load_file(paths["kiln"])
    for out_name, r in ref.items():
        row = dict(model=name, output=out_name, shape=list(r.shape), torch_s=torch_s,
                   kiln_s=kiln_s)
        if out_name not in got:
            row.update(ok=False, error=f"kiln saved no '{out_name}' (has {sorted(got)})")
            rows.append(row)
            continue
        k = got[out_name].float()
        if list(k.shape) != list(r.shape):
            row.update(ok=False, error=f"shape {list(k.shape)} != reference {list(r.shape)}")
            rows.append(row)
            continue
        diff = (k.double() - r.double()).abs()
        max_abs = float(diff.max())
        max_ref = float(r.double().abs().max())
        rel = max_abs / max_ref if max_ref > 0 else float("inf")
        row.update(max_abs=max_abs, max_ref=max_ref, max_rel=rel,
                   finite=bool(torch.isfinite(k).all()))
        if name in CLASSIFIERS:
            row["top1"] = float((k.argmax(-1) == r.argmax(-1)).float().mean())
        row["ok"] = row["finite"] and rel <= TOLERANCE
        rows.append(row)
    return rows


def markdown(rows, args):
    lines = [
        "# kiln zoo vs PyTorch (fp32, CPU reference interpreter)",
        "",
        f"torch {torch.__version__}, host {platform.node()}, batch {args.batch}, BERT seq "
        f"{args.seq} (last row padded to 3/4), tolerance: max relative error <= {TOLERANCE:g}",
        "",
        "| model | output | shape | max abs err | max abs ref | max rel err | top-1 agree | "
        "torch s | kiln s | ok |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['output']} | {r['shape']} | | | | | "
                         f"{r['torch_s']:.2f} | {r['kiln_s']:.2f} | FAIL: {r['error']} |")
            continue
        top1 = f"{r['top1'] * 100:.1f}%" if "top1" in r else "-"
        lines.append(
            f"| {r['model']} | {r['output']} | {r['shape']} | {r['max_abs']:.3g} | "
            f"{r['max_ref']:.3g} | {r['max_rel']:.3g} | {top1} | {r['torch_s']:.2f} | "
            f"{r['kiln_s']:.2f} | {'yes' if r['ok'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"), help="kiln CLI binary")
    p.add_argument("--models", default="resnet50,bert,vit", help="comma-separated zoo models")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=128, help="BERT sequence length")
    p.add_argument("--workdir", default="/tmp/kiln_zoo_check", help="weights/inputs/outputs")
    p.add_argument("--out", help="write the Markdown table here (and JSON beside it)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("highest")  # exact fp32 (no TF32) everywhere
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.makedirs(args.workdir, exist_ok=True)

    rows = []
    for name in args.models.split(","):
        if name not in MODELS:
            p.error(f"unknown model {name!r} (choose from {sorted(MODELS)})")
        rows += check_model(name, args)
    table = markdown(rows, args)
    print(table)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(table)
        with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
