"""kiln.bench: the benchmark harness. kiln vs PyTorch eager / torch.compile (default,
reduce-overhead, max-autotune) on one model in one process, a correctness check first, reports
in Markdown, JSON and a PNG bar chart. Needs PyTorch (and torchvision / transformers for the
built-in models, matplotlib for the chart).

    python -m kiln.bench --model resnet50 --batches 1 8 64        # or bench/compare.py
    from kiln.bench import BenchConfig, run_benchmark
    result = run_benchmark(BenchConfig(model=factory, batches=[4], target="cpu", out="r/x"))

See docs/python.md ("Benchmark harness").
"""
from ._cli import main, parse_args
from ._harness import MODES, BenchConfig, run_benchmark

__all__ = ["BenchConfig", "MODES", "main", "parse_args", "run_benchmark"]
