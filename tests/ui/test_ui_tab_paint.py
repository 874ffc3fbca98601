"""A tab page just shown is painted once, laid out, in a turn of its own (ui.settled_paint):
each chart's scene used to paint the window's pending regions as it processed its changes, so
the page was painted two or three times, half laid out, in the one turn that showed it."""
from __future__ import annotations

from collections import Counter

from PySide6 import QtCore


class PaintCounter(QtCore.QObject):
    """Counts the paint events each watched widget receives, and the event-loop turn (a
    zero-interval timer's tick) of each widget's last paint."""

    def __init__(self, widgets):
        super().__init__()
        self.counts: Counter = Counter()
        self.turns: dict[str, int] = {}
        self.names = {id(w): name for name, w in widgets.items()}
        for w in widgets.values():
            w.installEventFilter(self)
        self.tick = 0
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._next_turn)
        self._timer.start(0)

    def _next_turn(self) -> None:
        self.tick += 1

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint:
            self.counts[self.names[id(watched)]] += 1
            self.turns[self.names[id(watched)]] = self.tick
        return False


def started(make_window, qtbot):
    """A shown window with its start-up done: the memory chart built (as the app does after the
    first paint) and the cards' error bands in (they arrive a second or more after the start, and
    would repaint the cards while a test counts)."""
    window = make_window()
    window.show()
    window.plan_tab.build_chart()
    qtbot.waitUntil(lambda: window.plan_tab.summary.band_rows is not None, timeout=60000)
    return window


def compare_showing(make_window, qtbot):
    """A started window on its Compare tab, its table and chart drawn and painted."""
    window = started(make_window, qtbot)
    tab = window.compare_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.model.rowCount() > 0 and len(tab.chart.listDataItems()) > 0, timeout=30000)
    qtbot.wait(300)
    return window, tab


def compare_painted(tab) -> PaintCounter:
    return PaintCounter({"table": tab.view.viewport(), "chart": tab.chart.viewport()})


def plan_painted(plan) -> PaintCounter:
    return PaintCounter({"chart": plan.chart.viewport(), "summary": plan.summary})


def test_showing_the_compare_tab_paints_its_table_and_chart_once(make_window, qtbot):
    window, tab = compare_showing(make_window, qtbot)
    window.tabs.setCurrentWidget(window.plan_tab)
    qtbot.wait(200)
    painted = compare_painted(tab)
    window.tabs.setCurrentWidget(tab)
    assert not tab.updatesEnabled()  # nothing of it is painted in the turn that shows it
    qtbot.waitUntil(tab.updatesEnabled)
    qtbot.wait(300)
    assert painted.counts == {"table": 1, "chart": 1}
    assert painted.turns["chart"] > painted.turns["table"]  # the chart in a turn of its own


def test_showing_the_plan_tab_paints_its_chart_and_cards_once(make_window, qtbot):
    window, _ = compare_showing(make_window, qtbot)
    plan = window.plan_tab
    painted = plan_painted(plan)
    window.tabs.setCurrentWidget(plan)
    assert not plan.updatesEnabled()
    qtbot.waitUntil(plan.updatesEnabled)
    qtbot.wait(300)
    assert painted.counts == {"chart": 1, "summary": 1}


def test_a_new_sweep_on_the_compare_tab_paints_its_table_and_chart_once(make_window, qtbot):
    window, tab = compare_showing(make_window, qtbot)
    painted = compare_painted(tab)
    window.form.editor("seq_len").setText("1024")  # a new sweep: new rows, new candidates
    qtbot.waitUntil(lambda: painted.counts["table"] > 0, timeout=10000)
    qtbot.wait(300)
    assert painted.counts == {"table": 1, "chart": 1}


def test_a_new_answer_on_the_plan_tab_paints_its_chart_and_cards_once(make_window, qtbot):
    """(The edit itself greys the last answer out at once: that paint is the edit's own.)"""
    window = started(make_window, qtbot)
    plan = window.plan_tab
    qtbot.waitUntil(lambda: plan.primary is not None)
    qtbot.wait(300)
    answered = plan.primary
    greyed = plan_painted(plan)
    window.form.editor("seq_len").setText("1024")
    qtbot.waitUntil(lambda: plan.stale and greyed.counts["chart"] and greyed.counts["summary"])  # greyed out, painted so
    qtbot.wait(50)
    assert plan.primary is answered  # the new answer comes after the debounce
    painted = plan_painted(plan)
    qtbot.waitUntil(lambda: plan.primary is not answered, timeout=10000)
    qtbot.wait(300)
    assert painted.counts == {"chart": 1, "summary": 1}


def test_a_filter_change_paints_the_table_and_chart_once(make_window, qtbot):
    _, tab = compare_showing(make_window, qtbot)
    painted = compare_painted(tab)
    tab.fits_only.setChecked(False)  # more rows shown; the cheapest candidates stay
    qtbot.wait(300)
    assert painted.counts == {"table": 1, "chart": 1}
    assert painted.turns["chart"] > painted.turns["table"]
