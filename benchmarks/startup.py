"""Start-up budgets of the window issue, each against its bare baseline on the same machine:
first paint ≤ 1.25 × a bare `import PySide6.QtWidgets, pyqtgraph` (both timed inside the
interpreter, from its first line; when the Plan tab's memory chart, built after the first
paint, is on screen too is printed beside it), and `gpuplanner-cli plan` ≤ 1.5 × `python -c
"import numpy"` (both whole processes, wall clock). Runs are interleaved so that a busy
machine slows both sides alike; prints medians, and judges each budget by the median of the
rounds' own ratios (each round's app run over the bare run just before it): this machine's
speed drifts by half within minutes, which a ratio of two medians over the whole run does not
cancel. The app's bytecode is compiled first, as scripts/setup.sh does (with
PYTHONDONTWRITEBYTECODE set, as on this machine, every changed module would otherwise be
compiled from source at each start).

    .venv/bin/python benchmarks/startup.py [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BARE_QT = ("import time; t = time.perf_counter(); import PySide6.QtWidgets, pyqtgraph; "
           "print(f'{(time.perf_counter() - t) * 1e3:.1f}')")


def _output_ms(args: list[str], prefixes: tuple[str, ...] = ("",)) -> tuple[float, ...]:
    """The milliseconds a child prints after each of `prefixes` (the last line with each)."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    out = subprocess.run(args, capture_output=True, text=True, check=True, env=env, timeout=120).stdout
    lines = out.splitlines()
    return tuple(float([raw for raw in lines if raw.startswith(p)][-1][len(p):].split()[0]) for p in prefixes)


def _wall_ms(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, capture_output=True, check=True, timeout=120)
    return (time.perf_counter() - started) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    py = sys.executable
    import gpuplanner

    subprocess.run([py, "-m", "compileall", "-q", os.path.dirname(gpuplanner.__file__)], check=True,
                   stdout=subprocess.DEVNULL)
    cli = [py, "-m", "gpuplanner.cli", "plan", "--model", "llama-3.1-70b", "--instance", "p5.48xlarge"]
    runs: dict[str, list[float]] = {"bare Qt + pyqtgraph import": [], "first paint": [], "memory chart on screen": [],
                                    "python -c 'import numpy'": [], "gpuplanner-cli plan": []}
    for _ in range(rounds):
        runs["bare Qt + pyqtgraph import"].append(*_output_ms([py, "-c", BARE_QT]))
        paint, chart = _output_ms([py, "-m", "gpuplanner", "--smoke-test"], ("first paint: ", "memory chart: "))
        runs["first paint"].append(paint)
        runs["memory chart on screen"].append(chart)
        runs["python -c 'import numpy'"].append(_wall_ms([py, "-c", "import numpy"]))
        runs["gpuplanner-cli plan"].append(_wall_ms(cli))
    median = {name: statistics.median(values) for name, values in runs.items()}
    for name, value in median.items():
        print(f"{name:28} median {value:7.0f} ms  (min {min(runs[name]):.0f}, {rounds} runs)")
    for what, base, budget in (("first paint", "bare Qt + pyqtgraph import", 1.25),
                               ("gpuplanner-cli plan", "python -c 'import numpy'", 1.5)):
        ratios = sorted(a / b for a, b in zip(runs[what], runs[base]))
        ratio = statistics.median(ratios)
        print(f"{what} / {base}: {ratio:.2f} median of the rounds' ratios (quartiles {ratios[len(ratios) // 4]:.2f}-"
              f"{ratios[3 * len(ratios) // 4]:.2f}; ratio of medians {median[what] / median[base]:.2f}) "
              f"(budget ≤ {budget}: {'met' if ratio <= budget else 'NOT met'})")


if __name__ == "__main__":
    main()
