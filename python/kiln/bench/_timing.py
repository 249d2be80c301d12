"""Timing for the benchmark harness: median milliseconds per call.

GPU: CUDA events on the current stream around `inner` back-to-back calls (the caller picks the
stream), median over `reps` repetitions, after `warmup` calls. CPU: time.perf_counter around
`inner` calls, median over `reps`. Both return ms per call.
"""
from __future__ import annotations

import time
from typing import Any, Callable


def cuda_median_ms(fn: Callable[[], Any], warmup: int, reps: int, inner: int) -> float:
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / inner)
    return sorted(times)[len(times) // 2]


def cpu_median_ms(fn: Callable[[], Any], warmup: int, reps: int, inner: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) * 1e3 / inner)
    return sorted(times)[len(times) // 2]
