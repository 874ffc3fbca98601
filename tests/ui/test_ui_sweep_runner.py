"""The comparison sweep runs off the GUI thread, and the newest request always wins."""
from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from gpuplanner.core import PlanInputs
from gpuplanner.core.sweep import SweepCancelled, sweep
from gpuplanner.ui.compare.sweep_runner import SweepRunner


@pytest.fixture
def slow_sweep(monkeypatch):
    """core.sweep that records its thread and takes `delay[seq_len]` seconds per block."""
    calls = []
    delay = {}

    def fake(inputs, catalogs, modes, stop=lambda: False):
        rows = []
        for block in range(4):  # four (mode, precision) blocks, like the real sweep
            if stop():
                raise SweepCancelled
            calls.append((inputs.seq_len, threading.current_thread()))
            time.sleep(delay.get(inputs.seq_len, 0.0))
            rows.append({"mode": modes[0], "block": block, "seq_len": inputs.seq_len})
        return pd.DataFrame(rows)

    monkeypatch.setattr("gpuplanner.core.sweep.sweep", fake)  # the runner imports it when it runs
    return calls, delay


def test_a_stale_sweep_never_overwrites_a_newer_one(qtbot, catalogs, slow_sweep):
    calls, delay = slow_sweep
    delay[1000] = 0.2  # the old request is slow
    runner = SweepRunner()
    shown = []
    runner.ready.connect(lambda inputs, modes, table: shown.append(inputs.seq_len))
    runner.request(PlanInputs(seq_len=1000), catalogs, ("train",))
    runner.request(PlanInputs(seq_len=2000), catalogs, ("train",))
    qtbot.waitUntil(lambda: shown == [2000])
    qtbot.wait(500)  # the old one had time to finish, had it not been stopped
    assert shown == [2000]
    assert sum(1 for seq, _ in calls if seq == 1000) < 4  # it stopped at a block boundary, not after all 4
    runner.stop()


def test_the_sweep_runs_on_a_worker_thread_and_is_cached(qtbot, catalogs, slow_sweep):
    calls, _ = slow_sweep
    runner = SweepRunner()
    tables = []
    runner.ready.connect(lambda inputs, modes, table: tables.append(table))
    runner.request(PlanInputs(), catalogs, ("infer",))
    qtbot.waitUntil(lambda: len(tables) == 1)
    assert calls and all(thread is not threading.main_thread() for _, thread in calls)
    blocks = len(calls)
    runner.request(PlanInputs(), catalogs, ("infer",))  # again: from the cache, at once
    assert len(tables) == 2 and tables[1] is tables[0] and len(calls) == blocks
    runner.stop()


def test_core_sweep_stops_between_blocks_when_asked(catalogs):
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(SweepCancelled):
        sweep(PlanInputs(model="gpt2"), catalogs, stop=stop)
    assert len(asked) == 3


def test_stop_cancels_and_joins(qtbot, catalogs, slow_sweep):
    _, delay = slow_sweep
    delay[4096] = 0.3
    runner = SweepRunner()
    runner.request(PlanInputs(), catalogs, ("train",))
    started = time.perf_counter()
    runner.stop()
    assert time.perf_counter() - started < 1.0
    assert not any(t.is_alive() for t in threading.enumerate() if t.name == "gpuplanner-sweep")
