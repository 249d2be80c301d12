"""The benchmark harness's reports: <out>.json (everything), <out>.md (tables) and <out>.png
(matplotlib: one bar chart of ms per mode for each batch; skipped, with a note in the
Markdown, when matplotlib is not installed).
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

MEMORY_NOTE = (
    "Peak MB: PyTorch modes: torch.cuda.max_memory_allocated during the mode's first call and "
    "timed runs, above what was allocated before (weights excluded; outputs, workspace and "
    "CUDA-graph pools included); not measured on the CPU. kiln: the workspace a run at that "
    "batch allocates (a dynamic-batch library's workspace scales with the batch: "
    "compile_info['workspace_unit_bytes'] per item plus the fixed part and kernel scratch), "
    "without weights and outputs: the runtime allocates outside PyTorch's allocator, so "
    "max_memory_allocated cannot see it.")


ROOFLINE_NOTE = (
    "TFLOP/s: the model's FLOPs per call (torch.utils.flop_counter on the PyTorch model: "
    "matmuls, convolutions and attention, 2 per multiply-add; {gflops} GFLOP per item at the "
    "first batch) over the median ms, the same count for every mode. % of roofline: of the "
    "{dtype} torch.matmul peak measured in this process, {peak} TFLOP/s.")


def _fmt(value: Optional[float], spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown(result: Dict[str, Any]) -> str:
    lines = [f"# {result['model']}: kiln vs PyTorch ({result['target']}, {result['dtype']})", "",
             f"{result['device']}, torch {result['torch']}, kiln {result['kiln']}, "
             f"{result['date']}.", ""]
    if result["command"]:
        lines += [f"`{result['command']}`", ""]
    for build in result["kiln_builds"]:
        scope = "one library, dynamic batch" if build["dynamic"] else "one library per batch"
        lines.append(f"- {build['name']}: compiled in {build['compile_s']:.1f} s ({scope}; "
                     f"weights {build['weights_mb']:.1f} MB)")
    check = result["check"]
    top1 = check["top1_agreement"]
    lines += ["", f"## Correctness: {'passed' if check['ok'] else 'FAILED'}", "",
              f"kiln ({result['dtype']}) vs PyTorch fp32 eager (TF32 off) on the same inputs; "
              f"tolerance: max |err| / max |ref| <= {check['tolerance']:g} per output"
              + (f", top-1 agreement >= {check['min_top1'] * 100:.0f}% (got "
                 f"{top1 * 100:.1f}%)" if top1 is not None else "") + ".", "",
              "| build | batch | output | max abs err | max abs ref | rel err | top-1 |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in check["rows"]:
        t1 = f"{r['top1_agreement'] * 100:.1f}%" if "top1_agreement" in r else "-"
        lines.append(f"| {r['variant']} | {r['batch']} | {r['output']} | {r['max_abs_err']:.3g} "
                     f"| {r['max_abs_ref']:.3g} | {r['rel_err']:.2e} | {t1} |")
    for failure in check["failures"]:
        lines.append(f"\nFAILED: {failure}")
    if result["rows"]:
        lines += ["", "## Timings", "",
                  f"Median of {result['reps']} x {result['inner']} calls after "
                  f"{result['warmup']} warm-up calls. vs best PyTorch: the best PyTorch mode's "
                  "ms / this ms (> 1: faster). First call: setup + first run (torch.compile "
                  "compiles there).", "",
                  "| batch | mode | ms | vs best PyTorch | items/s | TFLOP/s | % of roofline "
                  "| peak MB | first call s |",
                  "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        peak = result.get("peak_tflops")
        for row in result["rows"]:
            for mode, ms in row["ms"].items():
                best = " (best)" if row.get("best_torch") == mode else ""
                tflops = row.get("tflops", {}).get(mode)
                lines.append(
                    f"| {row['batch']} | {mode}{best} | {ms:.3f} | "
                    f"{_fmt(row.get('vs_best_torch', {}).get(mode), '.2f')} | "
                    f"{row['items_per_s'][mode]:.1f} | {_fmt(tflops, '.3g')} | "
                    f"{_fmt(100 * tflops / peak if tflops and peak else None, '.1f')} | "
                    f"{_fmt(row['peak_mb'].get(mode), '.3g')} "
                    f"| {_fmt(row['first_call_s'].get(mode), '.1f')} |")
        flops = [r["flops"] for r in result["rows"] if r.get("flops")]
        lines += ["", MEMORY_NOTE, "",
                  ROOFLINE_NOTE.format(gflops=f"{flops[0] / result['rows'][0]['batch'] / 1e9:.3g}"
                                       if flops else "-",
                                       peak=_fmt(peak, ".1f"), dtype=result["dtype"])]
    if result["notes"]:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in result["notes"]]
    return "\n".join(lines) + "\n"


def write_png(result: Dict[str, Any], path: str) -> str:
    """Writes the bar chart; returns "" or why it was not written."""
    if not result["rows"]:
        return "no chart: nothing was timed"
    try:
        import matplotlib
    except ImportError:
        return "no chart: matplotlib is not installed (pip install matplotlib)"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    fig, axes = plt.subplots(1, len(rows), figsize=(3.2 + 2.6 * len(rows), 4.2), squeeze=False)
    for ax, row in zip(axes[0], rows):
        names = list(row["ms"])
        values = [row["ms"][n] for n in names]
        colors = ["tab:orange" if n.startswith("kiln") else "tab:blue" for n in names]
        bars = ax.bar(range(len(names)), values, color=colors)
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], fontsize=7)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"batch {row['batch']}")
        ax.set_ylabel("ms per call (lower is better)")
    fig.suptitle(f"{result['model']} {result['dtype']} on {result['device']}: kiln vs PyTorch")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return ""


def write_reports(result: Dict[str, Any], out: str) -> List[str]:
    """Writes <out>.json, <out>.md and (with matplotlib) <out>.png; returns the paths written."""
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    written = []
    png_note = write_png(result, out + ".png")
    if not png_note:
        written.append(out + ".png")
    else:
        result["notes"].append(png_note)
        print(png_note, flush=True)
    with open(out + ".md", "w") as f:
        f.write(markdown(result))
    written.insert(0, out + ".md")
    result["files"] = [out + ".json"] + written
    with open(out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    print("wrote " + ", ".join(result["files"]), flush=True)
    return result["files"]
