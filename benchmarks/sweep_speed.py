"""Time one estimate and the full sweep (every instance × precision × both modes) over the
bundled catalogs. Prints medians; run: .venv/bin/python benchmarks/sweep_speed.py"""
import statistics
import sys
import time

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.sweep import sweep


def median_s(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(model="llama-3.1-70b"):
    catalogs = load_catalogs()
    inputs = PlanInputs(model=model, training_tokens=2e12)
    for mode in ("train", "infer"):
        one = median_s(lambda mode=mode: estimate(inputs.with_(mode=mode), catalogs), 200)
        print(f"estimate ({model}, {mode}, with explanations): median {one * 1e3:.3f} ms")
    frame = sweep(inputs, catalogs)
    full = median_s(lambda: sweep(inputs, catalogs), 15)
    print(f"sweep ({len(frame)} rows: {len(catalogs.instances)} instances × precisions × 2 modes): "
          f"median {full * 1e3:.1f} ms")


if __name__ == "__main__":
    main(*sys.argv[1:])
