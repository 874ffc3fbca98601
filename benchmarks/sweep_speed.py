"""Time one estimate and the full sweep (every instance × precision × both modes) over the
bundled catalogs, in CPU time (the machine may be shared: wall time is noisier). A first sweep
starts with nothing in core.memo (serving searches, replica models, training layout searches: as
after a form edit that changes the load); a cold one also drops the per-configuration setups
(parallelism.training_setup/inference_setup, as after a model change); a repeat reuses everything.
Prints medians and minima; run: .venv/bin/python benchmarks/sweep_speed.py MODEL [REPEAT] [MODES]
(MODES: "train", "infer" or "train,infer", the default)."""
import statistics
import sys
import time

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.memo import forget
from gpuplanner.core.parallelism import inference_setup, training_setup
from gpuplanner.core.sweep import sweep


def cold() -> None:
    forget()
    training_setup.cache_clear()
    inference_setup.cache_clear()


def cpu_s(fn, repeat, first=None):
    """(median, min) CPU seconds of `repeat` calls; `first()`, if given, runs (untimed) before each."""
    times = []
    for _ in range(repeat):
        if first:
            first()
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times), min(times)


def main(model="llama-3.1-70b", repeat="7", modes="train,infer"):
    catalogs = load_catalogs()
    inputs = PlanInputs(model=model, training_tokens=2e12)
    modes = tuple(modes.split(","))
    for mode in modes:
        med, low = cpu_s(lambda mode=mode: estimate(inputs.with_(mode=mode), catalogs), 50, first=forget)
        print(f"estimate ({model}, {mode}, with explanations): median {med * 1e3:.2f} ms, min {low * 1e3:.2f} ms")
    frame = sweep(inputs, catalogs, modes)
    print(f"sweep ({len(frame)} rows: {len(catalogs.instances)} instances × precisions × {'/'.join(modes)}):")
    for label, first in (("cold", cold), ("first", forget), ("repeat", None)):
        med, low = cpu_s(lambda: sweep(inputs, catalogs, modes), int(repeat), first=first)
        print(f"  {label}: median {med * 1e3:.0f} ms, min {low * 1e3:.0f} ms")


if __name__ == "__main__":
    main(*sys.argv[1:])
