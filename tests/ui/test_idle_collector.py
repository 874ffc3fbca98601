"""Full garbage collections wait for a quiet moment (ui.idle_collector): a 25-60 ms pass must
not land in the middle of an edit's redraw. The quiet time is 1 s here, and the actions come
every 0.1-0.15 s: a loaded CI machine must not make a pause between actions look like quiet."""
from __future__ import annotations

import gc

import pytest

from gpuplanner.ui import idle_collector
from gpuplanner.ui.idle_collector import FULL_AFTER, NEVER, OVERDUE, IdleCollector

QUIET_MS = 1000


@pytest.fixture
def collector(qapp, monkeypatch):
    monkeypatch.setattr(idle_collector, "IDLE_MS", QUIET_MS)
    before = gc.get_threshold()
    made = IdleCollector()
    yield made
    made.stop()
    assert gc.get_threshold() == before  # the interpreter's own thresholds come back


def make_due(passes: int = FULL_AFTER) -> None:
    """As many middle-generation passes as the automatic collector would count."""
    gc.collect()  # start from no passes
    for _ in range(passes):
        gc.collect(1)


def test_young_passes_stay_automatic_and_the_full_pass_leaves_them(collector):
    young, middle, full = gc.get_threshold()
    assert full == NEVER and (young, middle) == collector._thresholds[:2]


def test_a_due_full_pass_waits_for_quiet(collector, qtbot):
    make_due()
    assert collector.due()
    for _ in range(12):  # the user keeps working for longer than the quiet time: nothing runs
        qtbot.wait(100)
        collector.poke()
    assert collector.full_collections == 0 and collector.due()
    qtbot.waitUntil(lambda: collector.full_collections == 1, timeout=5000)  # then it is quiet
    assert not collector.due()


def test_nothing_runs_when_nothing_is_due(collector, qtbot):
    gc.collect()
    qtbot.wait(QUIET_MS + 300)
    assert collector.full_collections == 0


def test_a_long_overdue_pass_runs_at_the_next_action(collector):
    make_due(OVERDUE)
    collector.poke()
    assert collector.full_collections == 1 and not collector.due()


def test_the_window_pokes_it_on_each_edit(make_window, qtbot, monkeypatch):
    monkeypatch.setattr(idle_collector, "IDLE_MS", QUIET_MS)
    window = make_window()
    window.collect_garbage_when_idle()
    try:
        make_due()
        for text in ("2048", "4096", "8192", "2048", "4096", "8192", "2048", "4096"):  # closer than the quiet time
            window.form.editor("seq_len").setText(text)
            qtbot.wait(150)
            assert window.collector.full_collections == 0
        qtbot.waitUntil(lambda: window.collector.full_collections == 1, timeout=5000)
    finally:
        window.collector.stop()


def test_input_to_the_window_counts_as_activity(make_window, qtbot, monkeypatch):
    from PySide6 import QtCore, QtGui

    monkeypatch.setattr(idle_collector, "IDLE_MS", QUIET_MS)
    window = make_window()
    window.show()  # the collector watches the window's own QWindow
    window.collect_garbage_when_idle()
    try:
        make_due()
        for _ in range(12):  # keys pressed in the window for longer than the quiet time (Shift: no edit)
            for kind in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease):
                QtCore.QCoreApplication.sendEvent(window.windowHandle(), QtGui.QKeyEvent(
                    kind, QtCore.Qt.Key.Key_Shift, QtCore.Qt.KeyboardModifier.NoModifier))
            qtbot.wait(100)
        assert window.collector.full_collections == 0
        qtbot.waitUntil(lambda: window.collector.full_collections == 1, timeout=5000)
    finally:
        window.collector.stop()
