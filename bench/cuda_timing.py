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


def interleaved_medians_ms(torch, fns, warmup, reps, inner):
    """median_ms of each of `fns` (a dict name -> callable), measured in turns: every repetition
    times each function once, the order rotating, so that a clock that drifts during the run
    (power or thermal throttling under a long run of large gemms) shifts all of them alike and
    their ratios stay fair. Returns a dict name -> ms per call."""
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    torch.cuda.synchronize()
    times = {name: [] for name in names}
    for rep in range(reps):
        for i in range(len(names)):
            name = names[(rep + i) % len(names)]
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(inner):
                fns[name]()
            end.record()
            end.synchronize()
            times[name].append(start.elapsed_time(end) / inner)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}
