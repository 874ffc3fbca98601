"""The plan's estimate runs on a worker thread: a stale answer never overwrites a newer one, errors
found there still reach the form, the window keeps ticking while it runs, and saving and
exporting use the answer for the inputs as they are now."""
from __future__ import annotations

import importlib
import threading

import pytest
from PySide6 import QtCore
from ui_support import settle

from gpuplanner.core import PlanInputs, estimate
from gpuplanner.ui.main_window import Services
from gpuplanner.ui.plan import state as state_module

ESTIMATE = importlib.import_module("gpuplanner.core.estimate")  # the module: its both_modes() calls its estimate()
from gpuplanner.ui.plan.summary import link_color

HELD_SEQ_LEN = 3072  # the estimate of these inputs waits until the test lets it go


@pytest.fixture
def hold(monkeypatch):
    """An Event that holds every estimate of seq_len HELD_SEQ_LEN on the worker until set."""
    release = threading.Event()
    started = threading.Event()
    real = ESTIMATE.estimate

    def held(inputs, catalogs):
        if inputs.seq_len == HELD_SEQ_LEN:
            started.set()
            assert release.wait(10), "the test never released the held estimate"
        return real(inputs, catalogs)

    monkeypatch.setattr(ESTIMATE, "estimate", held)
    release.started = started  # type: ignore[attr-defined]
    yield release
    release.set()  # never leave the worker blocked


def set_seq_len(window, value: int) -> None:
    """Edit the field and ask for the answer now, as the debounce timer would."""
    window.form.editor("seq_len").setText(str(value))
    window.state.recompute()


def test_a_stale_answer_never_overwrites_a_newer_one(make_window, qtbot, hold):
    window = make_window()
    shown = []
    window.state.result_changed.connect(
        lambda: shown.append(window.state.result.inputs.seq_len if window.state.result else None))
    set_seq_len(window, HELD_SEQ_LEN)
    assert hold.started.wait(5)  # the older request is running on the worker
    set_seq_len(window, 8192)  # a newer one is queued behind it
    with qtbot.waitSignal(window.state.result_changed, timeout=10000):
        hold.set()  # the older answer arrives first, and is dropped
    assert shown == [8192]
    assert window.state.result.to_dict() == estimate(PlanInputs(seq_len=8192), window.state.catalogs).to_dict()
    assert window.plan_tab.summary.isEnabled() and not window.state.stale


def test_an_older_answer_does_not_clear_a_field_error_typed_meanwhile(make_window, qtbot, hold):
    window = make_window()
    before = window.state.result
    set_seq_len(window, HELD_SEQ_LEN)
    assert hold.started.wait(5)
    window.form.editor("seq_len").setText("abc")
    window.state.recompute()  # read on the GUI thread: the field is marked at once
    assert window.form.error_text("seq_len") == "'abc' is not a whole number"
    assert window.state.result is before and not window.plan_tab.summary.isEnabled()
    shown = []
    window.state.result_changed.connect(lambda: shown.append(
        (window.form.error_text("seq_len"), window.state.result.inputs.seq_len)))
    hold.set()  # the held answer comes back while the field is wrong
    set_seq_len(window, 8192)  # then a good value: its answer is queued behind the held one
    with qtbot.waitSignal(window.state.result_changed, timeout=10000):
        pass
    assert shown == [("", 8192)]  # the held answer was never shown


def test_an_input_error_found_on_the_worker_names_its_field(make_window, qtbot):
    window = make_window()
    window.form.editor("mfu").setText("250")  # the form reads it; the core rejects it
    with qtbot.waitSignal(window.state.result_changed, timeout=10000):
        window.state.recompute()  # the answer comes back by the queued signal (no wait())
    assert "must be a number from 0.0001 to 1" in window.form.error_text("mfu")
    assert "Fix the marked field" in window.plan_tab.error.text() and window.plan_tab.error.isVisibleTo(window)


def test_an_unexpected_failure_on_the_worker_is_reported(make_window, qtbot, dialogs, monkeypatch):
    window = make_window()
    monkeypatch.setattr(ESTIMATE, "estimate", lambda inputs, catalogs: 1 / 0)
    with qtbot.waitSignal(window.state.result_changed, timeout=10000):
        window.state.recompute()
    assert window.state.result is None and window.state.inputs is not None  # still saveable
    assert "ZeroDivisionError" in window.plan_tab.error.text()
    assert [t for t, _ in dialogs.errors] == ["Unexpected error"]


def test_the_window_ticks_and_greys_the_old_answer_while_a_slow_estimate_runs(make_window, qtbot, hold):
    window = make_window()
    window.show()
    card = window.plan_tab.summary.train_card
    before = dict(card.values)
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    set_seq_len(window, HELD_SEQ_LEN)
    assert hold.started.wait(5)
    qtbot.waitUntil(lambda: len(ticks) >= 20, timeout=5000)  # the event loop runs meanwhile
    assert window.state.stale and not window.plan_tab.summary.isEnabled()
    assert card.values == before  # the previous answer, greyed, links included
    disabled = link_color(card)
    assert disabled and f"color:{disabled}" in card.body.text()
    assert "computing the plan" in window.statusBar().currentMessage()
    assert window.plan_tab.chart.getPlotItem().opacity() < 1  # the bars fade too
    assert not window.plan_tab.explain.isEnabled()  # and the previous answer's assumptions
    with qtbot.waitSignal(window.state.result_changed, timeout=10000):
        hold.set()
    timer.stop()
    assert window.state.result.inputs.seq_len == HELD_SEQ_LEN and not window.state.stale
    assert window.plan_tab.summary.isEnabled() and "color:#" not in card.body.text()
    assert window.plan_tab.chart.getPlotItem().opacity() == 1
    assert window.statusBar().currentMessage().startswith("recomputed in")


def test_export_uses_the_answer_for_the_inputs_as_they_are_now(make_window, qtbot, dialogs, tmp_path):
    written = []
    window = make_window(Services(write_report=lambda result, table, path, memory_unit: written.append(result)))
    window.form.editor("seq_len").setText("8192")  # still in its debounce when Export is chosen
    assert window.state.recompute_timer.isActive()
    dialogs.paths.append(str(tmp_path / "plan.csv"))
    assert window.exporter.export(".csv")
    assert [r.inputs.seq_len for r in written] == [8192]


def test_save_and_export_that_cannot_wait_for_the_answer_say_so(make_window, qtbot, dialogs, hold, monkeypatch,
                                                               tmp_path):
    written = []
    window = make_window(Services(write_report=lambda *args, memory_unit: written.append(args)))
    monkeypatch.setattr(state_module, "WAIT_S", 0.05)
    set_seq_len(window, HELD_SEQ_LEN)
    assert hold.started.wait(5)
    messages = []
    window.exporter.message.connect(lambda text, ms: messages.append(text))
    assert not window.exporter.export(".csv") and written == []
    assert messages == ["the plan is still being computed; export again in a moment"]
    dialogs.paths.append(str(tmp_path / "p.gpuplan"))
    assert not window.document.save_as() and not (tmp_path / "p.gpuplan").exists()
    assert dialogs.errors[-1] == ("Cannot save plan", "The plan is still being computed; save again in a moment.")
    hold.set()
    settle(qtbot, window)
    dialogs.paths.append(str(tmp_path / "p.gpuplan"))
    assert window.document.save_as() and (tmp_path / "p.gpuplan").exists()


def test_bands_that_arrive_while_an_answer_computes_are_worked_out_on_the_worker(make_window, qtbot, hold,
                                                                               monkeypatch):
    """The ledger's rows can land while an estimate runs: that answer's bands are worked out on
    the worker too, so the cards never compute them on the GUI thread."""
    from gpuplanner.core import accuracy

    window = make_window()
    combo = window.form.model_combo
    combo.setCurrentIndex(combo.findData("qwen2.5-7b"))  # bands are per model: not those on show
    set_seq_len(window, HELD_SEQ_LEN)
    assert hold.started.wait(5)
    rows = accuracy.bundled_band_rows()
    gui_thread = threading.get_ident()
    real = accuracy.error_band
    on_gui = []
    monkeypatch.setattr(accuracy, "error_band", lambda *a, **k: on_gui.append(threading.get_ident() == gui_thread)
                        or real(*a, **k))
    window.state.set_band_rows(rows)  # while the held estimate runs
    with qtbot.waitSignal(window.state.bands_ready, timeout=20000):
        hold.set()
    assert window.state.result.inputs.seq_len == HELD_SEQ_LEN and window.state.result.model_name == "qwen2.5-7b"
    assert on_gui and not any(on_gui)
    assert window.plan_tab.summary.train_card.bands  # shown, from the worker's cache


def test_bands_or_edits_that_arrive_after_the_window_closed_start_nothing(make_window, qtbot):
    """The shared bands job can finish after a window closed: its state must not start its
    worker again (a job on a worker whose window is gone emitted on a deleted object)."""
    from gpuplanner.core import accuracy

    window = make_window()
    window.state.stop()
    window.state.set_band_rows(accuracy.bundled_band_rows())
    window.state.recompute()
    assert window.state.worker._thread is None and window.state.band_rows is None


@pytest.fixture
def plan_process():
    """A process of the plans' own, ended after the test."""
    from gpuplanner.ui.job_process import JobProcess

    process = JobProcess("test-plans")
    yield process
    process.close()


def test_once_the_window_is_up_plans_are_estimated_in_a_process_of_their_own(make_window, qtbot, monkeypatch,
                                                                            plan_process):
    """On a thread of the window's process a long estimate held the interpreter lock while the
    window painted. Here this process's estimate fails: the answers come from the child."""
    window = make_window()
    window.state.use_process(plan_process)
    monkeypatch.setattr(ESTIMATE, "estimate", lambda inputs, catalogs: 1 / 0)
    set_seq_len(window, 8192)
    assert window.state.wait()
    assert window.state.error is None
    assert window.state.result.to_dict() == estimate(PlanInputs(seq_len=8192), window.state.catalogs).to_dict()
    assert set(window.state.results) == {"train", "infer"}
    window.form.editor("mfu").setText("250")  # the child's InputError still names its field
    window.state.recompute()
    assert window.state.wait()
    assert "must be a number from 0.0001 to 1" in window.form.error_text("mfu")


def test_a_plan_process_that_died_leaves_the_estimate_to_this_one(make_window, qtbot, plan_process):
    window = make_window()
    window.state.use_process(plan_process)
    set_seq_len(window, 8192)
    assert window.state.wait() and window.state.result.inputs.seq_len == 8192
    plan_process._process.process.kill()
    plan_process._process.process.join(5)
    set_seq_len(window, 2048)
    assert window.state.wait()
    assert window.state.error is None and window.state.result.inputs.seq_len == 2048
