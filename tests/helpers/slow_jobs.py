"""Comparison jobs for the child process (ui.job_process) that tests can hold and watch.

`slow_comparison` stands for core.sweep.comparison: each of its four (mode, precision) blocks
appends "seq_len pid" to the file named by $SLOW_JOBS_LOG, then sleeps $SLOW_JOBS_DELAY_<seq_len>
seconds (0 when unset). The child reads the environment it was spawned with: set it first."""
from __future__ import annotations

import os
import time

import pandas as pd

from gpuplanner.core.errors import SweepCancelled


def slow_comparison(inputs, modes, *, catalogs, stop):
    rows = []
    for block in range(4):
        if stop():
            raise SweepCancelled
        with open(os.environ["SLOW_JOBS_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{inputs.seq_len} {os.getpid()}\n")
        time.sleep(float(os.environ.get(f"SLOW_JOBS_DELAY_{inputs.seq_len}", "0")))
        rows.append({"mode": modes[0], "block": block, "seq_len": inputs.seq_len})
    return pd.DataFrame(rows)


def crash(inputs, modes, *, catalogs, stop):
    """The child dies mid-job, as on a segfault or an out-of-memory kill."""
    os._exit(3)


def logged(path) -> list[tuple[int, int]]:
    """(seq_len, pid) of every block the child ran so far."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as log:
        return [tuple(int(v) for v in line.split()) for line in log]


def loaded(module: str, *, catalogs, stop) -> bool:
    """Whether the child has imported `module`."""
    import sys

    return module in sys.modules


def niceness(*, catalogs, stop) -> int:
    """The child's scheduling niceness."""
    return os.nice(0)
