"""The window never loses work silently (issue 14, defects 2 and 3): unexpected errors are shown and
logged while the app keeps running, failed saves are shown and stop a quit, and a remembered plan
that cannot be restored is skipped and forgotten."""
from __future__ import annotations

import importlib
import json
import sys

import pytest
from PySide6 import QtCore
from test_ui_plan import type_into

from gpuplanner.core import PlanInputs
from gpuplanner.core.planfile import plan_to_dict, save_plan
from gpuplanner.ui.dialogs import SAVE
from gpuplanner.ui.main_window import Services
from gpuplanner.ui.plan import document

ESTIMATE = importlib.import_module("gpuplanner.core.estimate")  # the module (its name is also a function's)
BROKEN_SEQ_LEN = 1234  # the fake estimate fails for this input, as a bug would


@pytest.fixture
def broken_estimate(monkeypatch):
    """The window's estimate raises OverflowError for seq_len 1234 (a stand-in for any core bug)."""
    real = ESTIMATE.estimate

    def estimate(inputs, catalogs):
        if inputs.seq_len == BROKEN_SEQ_LEN:
            raise OverflowError("int too large to convert to float")
        return real(inputs, catalogs)
    monkeypatch.setattr(ESTIMATE, "estimate", estimate)  # what the plan's both_modes() calls
    monkeypatch.setattr(document, "estimate", estimate)  # the check before a remembered plan is restored


def test_an_exception_in_a_slot_is_shown_and_logged_and_the_app_goes_on(make_window, qtbot, tmp_path, dialogs):
    log = tmp_path / "data" / "gpuplanner-errors.log"
    window = make_window(Services(error_log=log))

    def faulty_slot():
        raise KeyError("missing_field")
    with window.errors.installed():
        assert sys.excepthook == window.errors.excepthook
        QtCore.QTimer.singleShot(0, faulty_slot)
        qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=3000)
    title, text = dialogs.errors[-1]
    assert title == "Unexpected error" and "missing_field" in text and str(log) in text
    assert "Traceback" in log.read_text() and "faulty_slot" in log.read_text()
    type_into(qtbot, window, "seq_len", "2048")  # still answering
    assert window.state.result is not None and window.state.result.inputs.seq_len == 2048


def test_a_failing_estimate_is_shown_once_and_the_stale_answer_dropped(make_window, qtbot, dialogs, broken_estimate):
    window = make_window()
    type_into(qtbot, window, "seq_len", str(BROKEN_SEQ_LEN))
    assert window.state.result is None  # no answer that belongs to other inputs
    assert "cannot be computed" in window.plan_tab.error.text()
    assert [t for t, _ in dialogs.errors] == ["Unexpected error"]
    assert "Computing the plan failed: OverflowError" in dialogs.errors[0][1]
    window.state.recompute()  # the same failure again: no second dialog
    assert window.state.wait()
    assert len(dialogs.errors) == 1


def test_edits_that_cannot_be_computed_are_still_saved_on_quit(make_window, qtbot, tmp_path, dialogs,
                                                               broken_estimate):
    window = make_window()
    type_into(qtbot, window, "seq_len", str(BROKEN_SEQ_LEN))
    dialogs.save_answers.append(SAVE)
    dialogs.paths.append(str(tmp_path / "kept.gpuplan"))
    assert window.close()
    assert json.loads((tmp_path / "kept.gpuplan").read_text())["inputs"]["seq_len"] == BROKEN_SEQ_LEN


def test_a_failed_save_is_shown_and_quitting_with_save_does_not_close(make_window, qtbot, tmp_path, dialogs,
                                                                       monkeypatch):
    window = make_window()
    window.show()
    type_into(qtbot, window, "seq_len", "3000")

    def broken_save(path, inputs, gpus=None):
        raise ValueError("Out of range float values are not JSON compliant")
    monkeypatch.setattr(document, "save_plan", broken_save)
    dialogs.paths.append(str(tmp_path / "lost.gpuplan"))
    assert not window.document.save()
    assert "Saving lost.gpuplan failed" in dialogs.errors[-1][1]

    dialogs.save_answers.append(SAVE)
    dialogs.paths.append(str(tmp_path / "lost.gpuplan"))
    assert not window.close()  # the edits are still only in the window: it stays open
    assert window.isVisible() and window.document.is_dirty() and len(dialogs.errors) == 2
    assert not (tmp_path / "lost.gpuplan").exists()


def test_a_remembered_plan_that_cannot_be_read_is_skipped_and_forgotten(make_window, tmp_path, settings):
    bad = tmp_path / "deep.gpuplan"
    bad.write_text('{"inputs": ' * 3000 + "1" + "}" * 3000)
    settings.set_last_plan(str(bad))
    window = make_window()
    window.restore_session()
    assert "deep.gpuplan not restored and forgotten" in window.statusBar().currentMessage()
    assert settings.last_plan() == "" and window.document.path is None
    assert window.state.result is not None  # a working window with a new plan


def test_a_remembered_plan_that_cannot_be_computed_is_skipped_and_forgotten(make_window, tmp_path, settings,
                                                                           broken_estimate):
    plan = tmp_path / "crash.gpuplan"
    save_plan(plan, PlanInputs(seq_len=BROKEN_SEQ_LEN))
    settings.set_last_plan(str(plan))
    window = make_window()
    window.restore_session()
    assert "crash.gpuplan not restored and forgotten" in window.statusBar().currentMessage()
    assert settings.last_plan() == "" and window.document.path is None
    assert window.form.inputs() == PlanInputs() and window.document.saved_doc == plan_to_dict(PlanInputs())


def _cancel_progress_after(ms: int, parent) -> None:
    from PySide6 import QtWidgets

    def cancel():
        dialog = parent.findChild(QtWidgets.QProgressDialog)
        assert dialog is not None and dialog.isVisible(), "no progress dialog for a slow load"
        dialog.findChild(QtWidgets.QPushButton).click()  # the user presses Cancel
    QtCore.QTimer.singleShot(ms, cancel)


def test_a_slow_load_keeps_the_window_answering_and_returns_its_result(make_window, qtbot):
    import time

    from gpuplanner.ui.background import run_in_background
    window = make_window()
    ticks = []
    timer = QtCore.QTimer(window)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    assert run_in_background(window, "Loading", lambda: time.sleep(0.6) or 42) == 42
    timer.stop()
    assert len(ticks) >= 10  # the event loop ran during the load


def test_a_slow_load_can_be_cancelled(make_window, qtbot):
    import threading
    import time

    from gpuplanner.ui.background import Cancelled, run_in_background
    window = make_window()
    window.show()
    release = threading.Event()
    _cancel_progress_after(700, window)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_in_background(window, "Loading big.csv", lambda: release.wait(10))
    assert time.monotonic() - started < 3
    release.set()


def test_a_cancelled_catalog_load_changes_nothing(make_window, qtbot, monkeypatch, tmp_path):
    import time

    from gpuplanner.core.catalogs import Catalogs
    from gpuplanner.core.errors import CatalogError
    window = make_window()
    window.show()
    before = window.state.catalogs
    monkeypatch.setattr(Catalogs, "with_user_file", lambda self, path: time.sleep(2) or self)
    _cancel_progress_after(700, window)
    with pytest.raises(CatalogError, match="cancelled"):
        window.sources.load_user_catalog(str(tmp_path / "big.csv"))
    assert window.state.catalogs is before


def test_a_plan_with_zero_heads_never_bricks_the_start(make_window, tmp_path, settings, dialogs):
    """The reported case: an embedded architecture with n_heads 0, opened, then remembered."""
    from dataclasses import asdict

    from gpuplanner.core.model import synthesize
    arch = {**asdict(synthesize(7e9, name="broken")), "n_heads": 0}
    plan = tmp_path / "zero-heads.gpuplan"
    plan.write_text(json.dumps({"format": "gpuplanner-plan", "version": 1,
                                "inputs": {"model": {"arch": {k: v for k, v in arch.items()
                                                              if not (isinstance(v, float) and v != v)}}}}))
    window = make_window()
    window.document.open_plan(str(plan))  # refused, or opened with the failure shown: either way a dialog
    assert dialogs.errors and dialogs.errors[-1][0] in ("Cannot open plan", "Unexpected error")
    settings.set_last_plan(str(plan))
    again = make_window()
    again.restore_session()  # must not raise
    assert settings.last_plan() == "" and again.state.result is not None
