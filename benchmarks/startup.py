"""Start-up budgets of the window issue, each against its bare baseline on the same machine:
first paint ≤ 1.25 × a bare `import PySide6.QtWidgets, pyqtgraph` (both timed inside the
interpreter, from its first line), and `gpuplanner-cli plan` ≤ 1.5 × `python -c "import numpy"`
(both whole processes, wall clock). Runs are interleaved so that a busy machine slows both
sides alike; prints medians and the ratios. The app's bytecode is compiled first, as
scripts/setup.sh does (with PYTHONDONTWRITEBYTECODE set, as on this machine, every changed
module would otherwise be compiled from source at each start).

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


def _output_ms(args: list[str], prefix: str = "") -> float:
    """The milliseconds a child prints (the last line, after `prefix`)."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    out = subprocess.run(args, capture_output=True, text=True, check=True, env=env, timeout=120).stdout
    line = [raw for raw in out.splitlines() if raw.startswith(prefix)][-1]
    return float(line[len(prefix):].split()[0])


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
    runs: dict[str, list[float]] = {"bare Qt + pyqtgraph import": [], "first paint": [],
                                    "python -c 'import numpy'": [], "gpuplanner-cli plan": []}
    for _ in range(rounds):
        runs["bare Qt + pyqtgraph import"].append(_output_ms([py, "-c", BARE_QT]))
        runs["first paint"].append(_output_ms([py, "-m", "gpuplanner", "--smoke-test"], "first paint: "))
        runs["python -c 'import numpy'"].append(_wall_ms([py, "-c", "import numpy"]))
        runs["gpuplanner-cli plan"].append(_wall_ms(cli))
    median = {name: statistics.median(values) for name, values in runs.items()}
    for name, value in median.items():
        print(f"{name:28} median {value:7.0f} ms  (min {min(runs[name]):.0f}, {rounds} runs)")
    for what, base, budget in (("first paint", "bare Qt + pyqtgraph import", 1.25),
                               ("gpuplanner-cli plan", "python -c 'import numpy'", 1.5)):
        ratio = median[what] / median[base]
        print(f"{what} / {base}: {ratio:.2f} (budget ≤ {budget}: {'met' if ratio <= budget else 'NOT met'})")


if __name__ == "__main__":
    main()
