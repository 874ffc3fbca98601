"""BenchRunner against a misbehaving fake child and, once, the real one (pytest-qt)."""
import sys
import time
from pathlib import Path

import pytest

from gpuplanner.bench import protocol
from gpuplanner.bench.config import BenchConfig
from gpuplanner.ui.bench.runner import BenchRunner

FAKE_CHILD = str(Path(__file__).parents[1] / "helpers" / "fake_bench_child.py")
CONFIG = BenchConfig(device="cpu", quick=True)


def fake(mode):
    return lambda bench_args: (sys.executable, [FAKE_CHILD, mode, *bench_args])


class Recorder:
    """Collects what a runner emits."""

    def __init__(self, runner):
        self.failures, self.hellos, self.progress, self.metrics, self.results = [], [], [], [], []
        runner.failed.connect(self.failures.append)
        runner.hello.connect(self.hellos.append)
        runner.progress.connect(lambda *args: self.progress.append(args))
        runner.metrics.connect(self.metrics.append)
        runner.result.connect(self.results.append)


def run(qtbot, runner, timeout_ms=15_000):
    """Start the runner and wait for finished; returns (ok, recorder)."""
    recorder = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=timeout_ms) as blocker:
        runner.start(CONFIG)
    assert not runner.is_running()
    return blocker.args[0], recorder


def test_good_run_tolerates_garbage_and_unknown_types(qtbot):
    runner = BenchRunner(command=fake("ok"))
    ok, seen = run(qtbot, runner)
    assert ok and seen.failures == []
    assert seen.hellos[0]["device_name"] == "fake"
    assert seen.progress == [("matmul", 1, 1)]
    assert seen.metrics[0]["allocated_bytes"] == 2**33  # large ints survive the signal
    assert [r["flops_per_s"] for r in seen.results] == [1e11] and runner.results == seen.results
    assert runner.rejected_line_count == 1 and runner.unknown_message_count == 1


@pytest.mark.parametrize("mode, expected", [
    ("crash", "The benchmark crashed."),
    ("exit3", "The benchmark exited with code 3. Its last words: fake child: something went badly wrong"),
    ("no_torch", protocol.NO_TORCH_MESSAGE),
    ("oom", "The benchmark ran out of memory; try a smaller memory fraction or model. "
            "(CUDA out of memory. Tried to allocate 2.00 GiB)"),
])
def test_failures_end_in_one_human_message(qtbot, mode, expected):
    ok, seen = run(qtbot, BenchRunner(command=fake(mode)))
    assert not ok
    assert seen.failures == [expected]


def test_garbage_only_output_is_reported(qtbot):
    ok, seen = run(qtbot, BenchRunner(command=fake("garbage")))
    assert not ok
    [message] = seen.failures
    assert message.startswith("The benchmark produced no readable output (3 unreadable lines; garbage:")
    assert "Is " + sys.executable in message


def test_silent_child_is_killed_after_the_timeout(qtbot):
    start_s = time.monotonic()
    ok, seen = run(qtbot, BenchRunner(command=fake("hang"), silence_timeout_s=0.5))
    assert not ok
    assert seen.failures == ["The benchmark showed no sign of life for 0.5 s and was stopped."]
    assert time.monotonic() - start_s < 10


def test_program_not_found(qtbot):
    runner = BenchRunner(command=lambda args: ("/nonexistent/python3", ["-m", "gpuplanner.bench", *args]))
    ok, seen = run(qtbot, runner)
    assert not ok
    [message] = seen.failures
    assert message.startswith("Could not start the benchmark (/nonexistent/python3):")


def start_and_stop_after_hello(qtbot, runner):
    """Start, wait for hello, stop(); returns (ok, recorder, seconds from stop to finished)."""
    recorder = Recorder(runner)
    with qtbot.waitSignal(runner.hello, timeout=15_000):
        runner.start(CONFIG)
    with qtbot.waitSignal(runner.finished, timeout=15_000) as blocker:
        stop_s = time.monotonic()
        runner.stop()
        runner.stop()  # a second request changes nothing
    return blocker.args[0], recorder, time.monotonic() - stop_s


def test_cancel_is_honoured_by_the_child(qtbot):
    ok, seen, stop_to_end_s = start_and_stop_after_hello(qtbot, BenchRunner(command=fake("cancel"), stop_grace_s=10))
    assert not ok
    assert seen.failures == ["The benchmark was cancelled."]
    assert stop_to_end_s < 5, "the child should stop on its own, long before the kill timer"


def test_child_ignoring_cancel_is_killed_after_the_grace_period(qtbot):
    runner = BenchRunner(command=fake("ignore_cancel"), stop_grace_s=0.3)
    ok, seen, stop_to_end_s = start_and_stop_after_hello(qtbot, runner)
    assert not ok
    assert seen.failures == ["The benchmark was cancelled."]
    assert stop_to_end_s < 5


def test_one_run_at_a_time(qtbot):
    runner = BenchRunner(command=fake("cancel"))
    with qtbot.waitSignal(runner.finished, timeout=15_000):
        runner.start(CONFIG)
        with pytest.raises(RuntimeError):
            runner.start(CONFIG)
        runner.stop()


def test_stop_when_idle_does_nothing(qtbot):
    runner = BenchRunner(command=fake("ok"))
    with qtbot.assertNotEmitted(runner.finished, wait=100):
        runner.stop()


@pytest.mark.slow
@pytest.mark.usefixtures("needs_torch")
def test_real_child_memory_ramp_through_the_runner(qtbot):
    runner = BenchRunner()
    recorder = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=60_000) as blocker:
        runner.start(BenchConfig(device="cpu", quick=True, phases=("memory",)))
    assert blocker.args == [True], recorder.failures
    assert recorder.hellos[0]["device_type"] == "cpu"
    allocated = [m["allocated_bytes"] for m in recorder.metrics]
    assert max(allocated) > 0 and allocated[-1] == 0
    assert [r["phase"] for r in recorder.results] == ["memory"]
    assert recorder.progress[-1][0] == "memory" and recorder.progress[-1][1] == recorder.progress[-1][2]
