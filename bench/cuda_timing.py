"""GPU timing shared by the bench scripts: CUDA events around back-to-back calls."""


def median_ms(torch, fn, warmup, reps, inner):
    """Median over `reps` of the GPU time of `inner` back-to-back calls of fn, per call (ms),
    after `warmup` calls. `torch` is the imported module (callers import it lazily)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / inner)
    times.sort()
    return times[len(times) // 2]
