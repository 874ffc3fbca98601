"""Benchmark results from another version and processes the child starts (issue 14, defect 9)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from test_bench_runner import CONFIG, fake
from ui_support import FakeDialogs

from gpuplanner.bench import protocol
from gpuplanner.bench.results import load_results
from gpuplanner.bench.run import BenchRun
from gpuplanner.core import load_catalogs
from gpuplanner.ui.bench.results import BenchResultsView
from gpuplanner.ui.bench.runner import BenchRunner

V = protocol.PROTOCOL_VERSION
OLD_RESULT = {"type": "result", "v": V, "phase": "matmul", "dtype": "fp32", "n": 64, "flops_per_s": 1e11}
GOOD_RESULT = {"type": "result", "v": V, "phase": "bandwidth", "tensor_bytes": 2**20, "bytes_per_s": 3e9}
HELLO = {"device_name": "cpu", "device_type": "cpu", "threads": 2}


def test_a_result_missing_a_field_is_rejected_by_name():
    with pytest.raises(protocol.ProtocolError, match="result matmul.size missing"):
        protocol.check_result(protocol.decode(json.dumps(OLD_RESULT)))
    protocol.check_result(GOOD_RESULT)
    protocol.check_result({"type": "result", "v": V, "phase": "from_the_future", "x": 1})  # newer phases pass


def test_a_run_from_another_version_keeps_its_good_results_and_says_what_was_skipped(qtbot):
    runner = BenchRunner(command=fake("old_version"))
    with qtbot.waitSignal(runner.finished, timeout=15_000) as blocker:
        runner.start(CONFIG)
    assert blocker.args == [True]
    assert [r["phase"] for r in runner.results] == ["bandwidth"]
    note = runner.unreadable_note()
    assert "1 unreadable" in note and "result matmul.size missing" in note and "another gpuplanner version" in note


def _results_file(path: Path, results) -> Path:
    path.write_text(json.dumps({"format": 2, "measured_at": "2026-05-17T14:03:09+00:00",
                                "hello": HELLO, "results": results}))
    return path


def test_open_results_on_a_file_missing_a_field_is_a_clear_message(qtbot, tmp_path):
    dialogs = FakeDialogs()
    view = BenchResultsView(load_catalogs().gpus, tmp_path, dialogs=dialogs)
    qtbot.addWidget(view)
    view.load(_results_file(tmp_path / "good.json", [GOOD_RESULT]))
    assert view.table.rowCount() == 1
    dialogs.paths.append(str(_results_file(tmp_path / "old.json", [GOOD_RESULT, OLD_RESULT])))
    view.load_button.click()
    title, text = dialogs.errors[-1]
    assert title == "Cannot open results" and "old.json" in text and "matmul.size missing" in text
    assert view.table.rowCount() == 1  # the shown run stays
    with pytest.raises(ValueError, match="matmul.size"):
        load_results(tmp_path / "old.json")


def test_a_train_result_with_an_unreadable_config_still_shows_the_table(qtbot, tmp_path):
    view = BenchResultsView(load_catalogs().gpus, tmp_path, dialogs=FakeDialogs())
    qtbot.addWidget(view)
    train = {"type": "result", "phase": "train", "config": {"layers": 2}, "param_count": 10,
             "peak_memory_bytes": 2**20}
    view.set_run(BenchRun.from_messages(HELLO, [GOOD_RESULT, train]))
    assert view.table.rowCount() == 1 and "cannot be read" in view.memory_label.text()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stop_also_ends_the_processes_the_child_started(qtbot):
    runner = BenchRunner(command=fake("spawn"), stop_grace_s=0.3)
    phases = []
    runner.progress.connect(lambda phase, *_: phases.append(phase))
    with qtbot.waitSignal(runner.finished, timeout=15_000):
        runner.start(CONFIG)
        qtbot.waitUntil(lambda: bool(phases), timeout=10_000)
        worker = int(phases[0].split()[1])
        assert _alive(worker)
        runner.stop()
    deadline = time.monotonic() + 3
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(worker):
        os.kill(worker, 9)  # do not leave it behind, but fail
        pytest.fail("the child's own worker survived Stop")
