"""The first paint shows the Plan tab's form and cards and builds nothing else: its memory chart
comes in the next turns, the Compare and Live tabs (and their modules) when first shown, and
then work as if they had always been there."""
from __future__ import annotations

import threading

import pyqtgraph as pg
import pytest
import shiboken6
from import_probe import loaded_at_first_paint
from PySide6 import QtCore, QtWidgets

from gpuplanner.ui import chart_library
from gpuplanner.ui.accuracy.job import shared_bands
from gpuplanner.ui.compare.tab import CompareTab
from gpuplanner.ui.first_paint import AfterFirstPaint
from gpuplanner.ui.lazy_tab import LazyTab
from gpuplanner.ui.main_window import Services


def test_the_first_paint_builds_the_plan_tab_only_and_the_others_come_when_shown(make_window, qtbot):
    window = make_window()
    at_paint = {}
    AfterFirstPaint(window, lambda: at_paint.update(
        compare=window.compare_page.is_built(), live=window.live_page.is_built(),
        plots=window.findChildren(pg.PlotWidget), cards=dict(window.plan_tab.summary.train_card.values)))
    window.show()
    qtbot.waitUntil(lambda: bool(at_paint))
    assert not at_paint["compare"] and not at_paint["live"]
    assert at_paint["plots"] == []  # no chart yet: not the memory chart, nor the Compare tab's two
    assert at_paint["cards"] == window.plan_tab.summary.train_card.values and at_paint["cards"]  # the plan is on show

    window.tabs.setCurrentIndex(1)  # the user clicks "Compare"
    assert window.compare_page.is_built() and isinstance(window.tabs.currentWidget(), CompareTab)
    assert window.tabs.currentWidget() is window.compare_tab and window.compare_tab.isVisible()
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Plan", "Compare", "Live"]
    qtbot.waitUntil(lambda: window.compare_tab.model.rowCount() > 0, timeout=30000)  # its sweep arrives
    assert window.compare_tab.cheapest_label.text().startswith("cheapest")
    assert not window.live_page.is_built()

    window.tabs.setCurrentIndex(2)
    assert window.live_page.is_built() and window.tabs.currentWidget() is window.live_tab
    assert "not available" in window.live_tab.findChild(QtWidgets.QLabel).text()
    assert window.collectives is not None and window.collectives.parent() is not None  # its results tab
    bands = shared_bands()  # the window starts the bands' evaluation after 1 s: let it end here, not mid-teardown
    bands.request()
    qtbot.waitUntil(lambda: bands.outcomes is not None or bool(bands.error), timeout=60000)


def test_a_lazy_tab_asked_for_is_built_without_being_shown(qtbot):
    tabs = QtWidgets.QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QtWidgets.QLabel("first"), "First")
    built = []
    lazy = LazyTab(tabs, "Second", lambda: built.append(QtWidgets.QLabel("second")) or built[-1])
    switches = []
    tabs.currentChanged.connect(switches.append)
    tabs.show()
    assert not built and not lazy.is_current()

    page = lazy.widget()  # e.g. a menu action reaching into the tab
    assert built == [page] and tabs.widget(1) is page and tabs.count() == 2 and tabs.tabText(1) == "Second"
    assert tabs.currentIndex() == 0 and not switches and page.isHidden()  # still on the first tab
    assert lazy.widget() is page and len(built) == 1  # built once

    tabs.setCurrentIndex(1)
    assert lazy.is_current() and page.isVisible() and switches == [1]


def test_a_lazy_tab_shown_is_built_before_the_window_hears_of_it(qtbot):
    tabs = QtWidgets.QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QtWidgets.QLabel("first"), "First")
    lazy = LazyTab(tabs, "Second", lambda: QtWidgets.QLabel("second"))
    seen = []
    tabs.currentChanged.connect(lambda index: seen.append((index, tabs.currentWidget())))
    tabs.show()
    tabs.setCurrentIndex(1)
    assert seen == [(1, lazy.widget())] and isinstance(seen[0][1], QtWidgets.QLabel)
    assert lazy.widget().text() == "second" and lazy.widget().isVisible()


def test_the_window_starts_without_the_other_tabs_modules():
    """The composed window (real services) reaches its first paint without importing the Compare
    tab, the accuracy ledger, the about box, the benchmark's results, the Hub fetcher, the price
    downloader, pandas or pyqtgraph (loaded on a thread after the first paint: ui.chart_library)."""
    assert loaded_at_first_paint(("gpuplanner.ui.compare.tab", "gpuplanner.core.accuracy", "gpuplanner.ui.about",
                                  "gpuplanner.bench.run", "gpuplanner.core.hub", "gpuplanner.core.price_update",
                                  "pandas", "pyqtgraph")) == []


def test_the_live_tab_built_by_a_benchmark_run_shows_the_curves(make_window):
    """Run benchmark shows the Live tab: a lazy tab reached through an action, not a click."""
    from test_ui_services import FakeLive, FakeRunner

    live, runner = FakeLive("live"), FakeRunner()
    window = make_window(Services(make_live_panel=lambda dialogs: live, bench_runner=runner,
                                  start_benchmark=lambda r: setattr(r, "running", True)))
    assert not window.live_page.is_built()
    window.bench.action.trigger()
    assert window.live_page.is_built() and window.tabs.currentWidget() is window.live_tab
    assert live.parent() is window.live_tab and window.live_results.parent() is window.live_tab
    assert window.live_results.indexOf(window.bench.results) == 0  # the results under the curves


def test_the_hidden_tabs_built_after_the_first_paint_stay_hidden_and_idle(make_window, qtbot):
    """What the app does once the window is on screen: the Compare and Live tabs are built (so
    their first opening does not wait), a piece per turn of the event loop, with the charts
    built ahead used by the tab; the Plan tab stays current and no sweep runs."""
    window = make_window()
    window.show()
    assert window.state.wait()
    window.build_hidden_tabs()
    assert not window.plan_tab.findChildren(pg.PlotWidget) and not window.compare_page.is_built()  # not in this turn
    qtbot.waitUntil(lambda: bool(window.plan_tab.findChildren(pg.PlotWidget)), timeout=5000)
    chart = window.plan_tab.findChild(pg.PlotWidget)  # the memory chart, in its place, drawing the plan on show
    qtbot.waitUntil(chart.isVisible)
    assert chart.height() >= 150 and chart.usable_line.value() == pytest.approx(window.state.result.usable_bytes / 2**30)
    assert window.plan_tab.layout().indexOf(chart) == window.plan_tab.layout().indexOf(window.plan_tab.chart_title) + 1
    qtbot.waitUntil(lambda: window.compare_page.is_built() and window.live_page.is_built(), timeout=5000)
    assert not window._charts  # both prebuilt charts went into the tab
    assert window.compare_tab.chart.isVisibleTo(window.compare_tab)
    assert window.tabs.currentWidget() is window.plan_tab and window.compare_tab.isHidden()
    assert not window.compare.active and window.compare.table is None and window.live_panel is None


def test_a_chart_waits_for_its_library_in_a_turn_of_its_own_unless_its_owner_is_gone(qtbot):
    """ui.chart_library: what waits for pyqtgraph runs on the GUI thread, never in the turn
    that asked, and not at all once its receiver is deleted."""
    calls = []
    kept, dropped = QtCore.QObject(), QtCore.QObject()
    chart_library.load_then(kept, lambda: calls.append(threading.current_thread()))
    chart_library.load_then(dropped, lambda: calls.append("dropped"))
    shiboken6.delete(dropped)
    assert calls == []
    qtbot.waitUntil(lambda: bool(calls))
    qtbot.wait(50)
    assert calls == [threading.main_thread()]
