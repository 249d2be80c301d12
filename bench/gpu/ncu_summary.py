#!/usr/bin/env python3
"""Summarises an `ncu --csv --page details` export (SpeedOfLight / Occupancy sections): one line per
kernel launch in launch order with its duration, share of the total, SM / memory / DRAM throughput
(% of peak), achieved occupancy, grid, block and kind (conv / gemm for CUTLASS kernels, else the
kernel's name).

    python3 bench/gpu/ncu_summary.py ncu.csv > summary.txt
"""
import collections
import csv
import sys


def main(path):
    rows = list(csv.reader(open(path, errors="replace")))
    header_at = [i for i, r in enumerate(rows) if r and r[0] == "ID"]
    if not header_at:
        sys.exit(f"{path}: no ncu CSV header (ncu failed? see its stderr)")
    header = rows[header_at[0]]
    col = {k: i for i, k in enumerate(header)}
    kernels = collections.OrderedDict()
    metrics = {"Compute (SM) Throughput": "sm", "Memory Throughput": "mem", "DRAM Throughput": "dram",
               "Achieved Occupancy": "occ"}
    for r in rows[header_at[0] + 1:]:
        if len(r) <= col["Metric Value"]:
            continue
        d = kernels.setdefault((int(r[col["ID"]]), r[col["Kernel Name"]]),
                               {"grid": r[col["Grid Size"]], "block": r[col["Block Size"]]})
        name, unit = r[col["Metric Name"]], r[col["Metric Unit"]]
        try:
            v = float(r[col["Metric Value"]].replace(",", ""))
        except ValueError:
            continue
        if name == "Duration":
            d["us"] = {"ns": v / 1000, "ms": v * 1000}.get(unit, v)
        elif name in metrics:
            d[metrics[name]] = v
    total = sum(d.get("us", 0) for d in kernels.values())
    print(f"{len(kernels)} kernels, total {total:.1f} us")
    for (i, name), d in kernels.items():
        kind = ("conv" if "ConvUniversal" in name else "gemm" if "GemmUniversal" in name
                else name.split("<")[0].split("(")[0].replace("void ", ""))
        print(f"{i:2d} {d.get('us', 0):7.1f} us {100 * d.get('us', 0) / max(total, 1e-9):5.1f}%  "
              f"sm {d.get('sm', 0):5.1f}  mem {d.get('mem', 0):5.1f} dram {d.get('dram', 0):5.1f} "
              f"occ {d.get('occ', 0):5.1f}  {d['grid']} {d['block']} {kind}")


if __name__ == "__main__":
    main(sys.argv[1])
