"""The comparison sweep runs in a child process, and the newest request always wins."""
from __future__ import annotations

import os
import threading
import time

import pytest
from pandas.testing import assert_frame_equal
from slow_jobs import logged

from gpuplanner.core import PlanInputs
from gpuplanner.core.frontier import FRONTIER_ATTR
from gpuplanner.core.sweep import SweepCancelled, comparison, sweep
from gpuplanner.ui.compare.sweep_runner import SweepRunner
from gpuplanner.ui.job_process import JobProcess

SLOW = "slow_jobs:slow_comparison"


@pytest.fixture
def process():
    """A child of the test's own (the window's shared one may hold another environment)."""
    jobs = JobProcess("gpuplanner-test-jobs")
    yield jobs
    jobs.close()


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "blocks.log"
    monkeypatch.setenv("SLOW_JOBS_LOG", str(path))
    return path


def test_a_stale_sweep_never_overwrites_a_newer_one(qtbot, catalogs, process, log, monkeypatch):
    monkeypatch.setenv("SLOW_JOBS_DELAY_1000", "0.2")  # the old request is slow
    runner = SweepRunner(job=SLOW, process=process)
    shown = []
    runner.ready.connect(lambda inputs, modes, table: shown.append(inputs.seq_len))
    runner.request(PlanInputs(seq_len=1000), catalogs, ("train",))
    qtbot.waitUntil(lambda: bool(logged(log)), timeout=15_000)  # the child started on it
    runner.request(PlanInputs(seq_len=2000), catalogs, ("train",))
    qtbot.waitUntil(lambda: shown == [2000], timeout=15_000)
    qtbot.wait(500)  # the old one had time to finish, had it not been stopped
    assert shown == [2000]
    assert sum(1 for seq, _ in logged(log) if seq == 1000) < 4  # it stopped at a block boundary, not after all 4


def test_the_sweep_runs_in_a_child_process_and_is_cached(qtbot, catalogs, process, log):
    runner = SweepRunner(job=SLOW, process=process)
    tables = []
    runner.ready.connect(lambda inputs, modes, table: tables.append(table))
    runner.request(PlanInputs(), catalogs, ("infer",))
    qtbot.waitUntil(lambda: len(tables) == 1, timeout=15_000)
    blocks = logged(log)
    assert len(blocks) == 4 and all(pid != os.getpid() for _, pid in blocks)
    runner.request(PlanInputs(), catalogs, ("infer",))  # again: from the cache, at once
    assert len(tables) == 2 and tables[1] is tables[0] and logged(log) == blocks


def test_the_child_computes_the_same_table_as_core(qtbot, catalogs, process):
    inputs = PlanInputs(model="llama-2-7b", mode="infer")
    runner = SweepRunner(process=process)
    tables = []
    runner.ready.connect(lambda inputs, modes, table: tables.append(table))
    runner.request(inputs, catalogs, ("infer",))
    qtbot.waitUntil(lambda: bool(tables), timeout=60_000)
    here = comparison(inputs, ("infer",), catalogs=catalogs)
    assert_frame_equal(tables[0], here)
    assert tables[0].attrs[FRONTIER_ATTR] == here.attrs[FRONTIER_ATTR]


def test_core_sweep_stops_between_blocks_when_asked(catalogs):
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(SweepCancelled):
        sweep(PlanInputs(model="gpt2"), catalogs, stop=stop)
    assert len(asked) == 3


def test_stop_cancels_what_runs_and_frees_the_child(qtbot, catalogs, process, log, monkeypatch):
    monkeypatch.setenv("SLOW_JOBS_DELAY_4096", "0.3")
    closing = SweepRunner(job=SLOW, process=process)
    shown = []
    closing.ready.connect(lambda *args: shown.append(args))
    closing.request(PlanInputs(), catalogs, ("train",))
    qtbot.waitUntil(lambda: bool(logged(log)), timeout=15_000)
    closing.stop()  # as when the window closes
    other = SweepRunner(job=SLOW, process=process)
    answers = []
    other.ready.connect(lambda inputs, modes, table: answers.append(inputs.seq_len))
    started = time.perf_counter()
    other.request(PlanInputs(seq_len=8), catalogs, ("train",))
    qtbot.waitUntil(lambda: answers == [8], timeout=5_000)
    assert time.perf_counter() - started < 1.0  # not behind the rest of the cancelled sweep (0.9 s)
    assert not shown and sum(1 for seq, _ in logged(log) if seq == 4096) < 4


def test_a_child_that_dies_is_reported_and_replaced(qtbot, catalogs, process, log):
    crashing = SweepRunner(job="slow_jobs:crash", process=process)
    failures = []
    crashing.failed.connect(failures.append)
    crashing.request(PlanInputs(), catalogs, ("train",))
    qtbot.waitUntil(lambda: bool(failures), timeout=15_000)
    assert "comparison process ended unexpectedly (exit code 3)" in failures[0]
    runner = SweepRunner(job=SLOW, process=process)
    tables = []
    runner.ready.connect(lambda inputs, modes, table: tables.append(table))
    runner.request(PlanInputs(), catalogs, ("train",))  # a new child, sent the catalogs again
    qtbot.waitUntil(lambda: bool(tables), timeout=15_000)
    assert len(tables[0]) == 4


def test_the_child_never_outlives_a_crashed_window(tmp_path):
    """A window process that dies without cleaning up (os._exit) leaves a child that notices
    the closed pipe at its next block and ends."""
    import subprocess
    import sys

    script = f"""
import multiprocessing, os, sys, time
sys.path.insert(0, {os.path.dirname(__file__) + '/../helpers'!r})
os.environ["SLOW_JOBS_LOG"] = {str(tmp_path / 'blocks.log')!r}
os.environ["SLOW_JOBS_DELAY_4096"] = "0.5"
from gpuplanner.core import PlanInputs, load_catalogs
from gpuplanner.ui.job_process import JobProcess
jobs = JobProcess()
jobs.submit("slow_jobs:slow_comparison", (PlanInputs(), ("train",)), load_catalogs(), lambda *a: None, jobs.new_group())
while not os.path.exists(os.environ["SLOW_JOBS_LOG"]):
    time.sleep(0.05)
print(multiprocessing.active_children()[0].pid, flush=True)
os._exit(0)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)
    assert len(logged(tmp_path / "blocks.log")) < 4  # it stopped at a block boundary


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie has ended too
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_prepare_starts_the_child_and_its_imports_ahead_of_the_first_job(qtbot, catalogs, process):
    answers = []
    process.prepare("gpuplanner.core.sweep:comparison")
    process.submit("slow_jobs:loaded", ("gpuplanner.core.sweep",), catalogs, lambda value, error: answers.append(value))
    qtbot.waitUntil(lambda: bool(answers), timeout=15_000)
    assert answers == [True]
    fresh = JobProcess("gpuplanner-test-jobs")  # unprepared: the job finds it not imported
    try:
        fresh.submit("slow_jobs:loaded", ("gpuplanner.core.sweep",), catalogs, lambda value, error: answers.append(value))
        qtbot.waitUntil(lambda: len(answers) == 2, timeout=15_000)
    finally:
        fresh.close()
    assert answers == [True, False]


def test_the_window_prepares_the_comparison_process_once_it_is_up(make_window, qtbot, monkeypatch):
    from gpuplanner.ui import main_window

    monkeypatch.setattr(main_window, "COMPARE_PREPARE_AFTER_MS", 10)
    prepared = []
    monkeypatch.setattr(JobProcess, "prepare", lambda self, *functions: prepared.append(functions))
    make_window()
    qtbot.waitUntil(lambda: bool(prepared), timeout=5_000)
    assert prepared == [("gpuplanner.core.sweep:comparison", "gpuplanner.core.estimate:serving_curves")]


def test_submit_never_waits_for_a_busy_child_to_read(qtbot, catalogs, process, log, monkeypatch):
    """A catalog larger than the pipe's buffer, sent while the child runs a job (it reads only
    between blocks), is handed to a writer thread: the GUI thread returns at once."""
    import dataclasses

    monkeypatch.setenv("SLOW_JOBS_DELAY_4096", "0.5")
    big = dataclasses.replace(catalogs, instances={f"{name}-{copy}": spec for copy in range(30)
                                                   for name, spec in catalogs.instances.items()})
    answers = []
    process.submit(SLOW, (PlanInputs(), ("train",)), catalogs, lambda *a: answers.append(a), process.new_group())
    qtbot.waitUntil(lambda: bool(logged(log)), timeout=15_000)  # the child is inside its first block
    started = time.perf_counter()
    process.submit(SLOW, (PlanInputs(), ("infer",)), big, lambda *a: answers.append(a), process.new_group())
    assert time.perf_counter() - started < 0.05
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=15_000)
    assert [error for _, error in answers] == [None, None]


def test_a_job_that_cannot_be_sent_fails_alone(qtbot, catalogs, process, log):
    answers = []
    process.submit(SLOW, (PlanInputs(), ("train",), lambda: None), catalogs, lambda *a: answers.append(a))  # a lambda
    process.submit(SLOW, (PlanInputs(), ("train",)), catalogs, lambda *a: answers.append(a), process.new_group())
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=15_000)
    assert answers[0][0] is None and "pickle" in answers[0][1].lower()
    assert answers[1][1] is None and len(answers[1][0]) == 4


def test_the_child_yields_the_cores_to_the_window(qtbot, catalogs, process):
    from gpuplanner.ui.job_process import CHILD_NICENESS

    answers = []
    process.submit("slow_jobs:niceness", (), catalogs, lambda value, error: answers.append(value))
    qtbot.waitUntil(lambda: bool(answers), timeout=15_000)
    assert answers == [min(os.nice(0) + CHILD_NICENESS, 19)]  # 19: the lowest priority there is (POSIX)


def test_call_waits_for_the_value_and_raises_the_childs_error(catalogs, process, log):
    """JobProcess.call: what the export and the error bands use from a worker thread. A job
    without catalogs is called without them."""
    table = process.call(SLOW, (PlanInputs(seq_len=1024), ("train",)), catalogs)
    assert list(table["block"]) == [0, 1, 2, 3] and set(table["seq_len"]) == {1024}
    assert process.call("os:getpid", (), None, cancellable=False) != os.getpid()
    with pytest.raises(RuntimeError, match="TypeError: getenv"):
        process.call("os:getenv", (), None, cancellable=False)  # getenv() needs a key


def test_the_child_starts_off_the_callers_thread_and_a_failed_start_fails_its_jobs(qtbot, catalogs, log,
                                                                                   monkeypatch):
    import multiprocessing.context

    real = multiprocessing.context.SpawnProcess.start
    starts = []

    def start(self):
        starts.append(threading.get_ident())
        if len(starts) == 1:
            raise OSError("Resource temporarily unavailable")
        real(self)

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", start)
    jobs = JobProcess("gpuplanner-test-jobs")
    try:
        answers = []
        jobs.submit(SLOW, (PlanInputs(), ("train",)), catalogs, lambda *a: answers.append(a))
        qtbot.waitUntil(lambda: bool(answers), timeout=15_000)
        assert answers == [(None, "the comparison process could not start: OSError: Resource temporarily unavailable")]
        table = jobs.call(SLOW, (PlanInputs(), ("train",)), catalogs)  # the next one starts another
        assert len(table) == 4 and len(starts) == 2
        assert threading.get_ident() not in starts  # the spawn ran on the writer thread
    finally:
        jobs.close()
