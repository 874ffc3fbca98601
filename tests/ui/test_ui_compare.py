"""The Compare tab: numeric sorting, filters, the cheapest row, the candidates chart."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from PySide6 import QtCore, QtWidgets

from gpuplanner.core import PlanInputs, estimate
from gpuplanner.core.frontier import FRONTIER_ATTR
from gpuplanner.core.pricing import cost_key
from gpuplanner.core.sweep import COLUMNS, sweep
from gpuplanner.report import write_csv
from gpuplanner.report.content import candidate_cells
from gpuplanner.ui.compare.model import COLUMN_INDEX, SORT_ROLE, SweepTableModel
from gpuplanner.ui.compare.tab import CompareTab

ASC = QtCore.Qt.SortOrder.AscendingOrder



def table(costs, clouds=None, fits=None, mode="train") -> pd.DataFrame:
    rows = []
    for i, cost in enumerate(costs):
        row = dict.fromkeys(COLUMNS, math.nan)
        row.update(mode=mode, precision="bf16", cloud=(clouds or ["aws"] * len(costs))[i],
                   instance_type=f"inst-{i}", gpu="H100", fits=(fits or [True] * len(costs))[i],
                   meets_slo=(fits or [True] * len(costs))[i], training_cost_usd=cost, reason="")
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def column_values(model, key, role=QtCore.Qt.ItemDataRole.DisplayRole):
    """Column `key` of the rows the view shows, in the order shown."""
    return [model.index(r, COLUMN_INDEX[key]).data(role) for r in range(model.rowCount())]


def test_a_new_sweep_does_not_copy_its_frontier_per_column(qtbot):
    """pandas deep-copies DataFrame.attrs (where the serving frontier rides) into every column it
    hands out: reading the ~30 columns of a sweep once copied the frontier ~30 times on the GUI
    thread (a second of a sort or a mode switch)."""
    copies = []

    class Frontier:
        def __deepcopy__(self, memo):
            copies.append(1)
            return self

    frame = table([3.0, 1.0, 2.0])
    frame.attrs[FRONTIER_ATTR] = Frontier()
    model = SweepTableModel()
    model.set_table(frame)
    assert len(copies) <= 1  # the one copy the model keeps of the table
    assert model.rows[0]["training_cost_usd"] == 3.0


def test_cost_sorts_numerically_not_as_text(qtbot):
    model = SweepTableModel()
    model.set_table(table([100.0, 9.5, 10.2, math.nan]))
    model.sort(COLUMN_INDEX["training_cost_usd"], ASC)
    assert column_values(model, "training_cost_usd") == ["$9.50", "$10.20", "$100", ""]
    assert column_values(model, "training_cost_usd", SORT_ROLE)[:3] == [9.5, 10.2, 100.0]
    model.sort(COLUMN_INDEX["training_cost_usd"], QtCore.Qt.SortOrder.DescendingOrder)
    assert column_values(model, "training_cost_usd") == ["$100", "$10.20", "$9.50", ""]  # gaps stay last


def test_filters_and_cheapest_highlight(qtbot):
    tab = CompareTab()
    qtbot.addWidget(tab)
    data = table([30.0, 20.0, 10.0, 5.0], clouds=["aws", "gcp", "gcp", "aws"], fits=[True, True, True, False])
    tab.set_table(data)
    tab.set_mode("train")
    assert tab.model.rowCount() == 3  # fits only by default
    assert [tab.model.rows[i]["instance_type"] for i in tab.model.cheapest] == ["inst-2"]
    tab.cloud_filter.setCurrentIndex(tab.cloud_filter.findData("aws"))
    assert column_values(tab.model, "instance_type") == ["inst-0"]
    assert [tab.model.rows[i]["instance_type"] for i in tab.model.cheapest] == ["inst-0"]  # among those shown
    tab.fits_only.setChecked(False)
    assert sorted(column_values(tab.model, "instance_type")) == ["inst-0", "inst-3"]
    background = QtCore.Qt.ItemDataRole.BackgroundRole
    shown = {tab.model.rows[r]["instance_type"]: tab.model.index(r, 0).data(background)
             for r in range(tab.model.rowCount())}  # the model holds the rows shown (no proxy)
    assert shown["inst-0"] is not None and shown["inst-3"] is None
    tab.mode_filter.setCurrentIndex(tab.mode_filter.findData("infer"))
    assert tab.model.rowCount() == 0


def test_window_compare_tab_matches_the_core_sweep(make_window, qtbot, catalogs):
    window = make_window()
    window.tabs.setCurrentWidget(window.compare_tab)
    qtbot.waitUntil(lambda: window.compare.table is not None)
    expected = sweep(PlanInputs(), catalogs, modes=("train",))  # only the mode shown is computed
    pd.testing.assert_frame_equal(window.compare.table, expected)
    tab = window.compare_tab
    fitting = expected[(expected["mode"] == "train") & expected["fits"]]
    assert tab.model.rowCount() == len(fitting)
    costs = column_values(tab.model, "training_cost_usd", SORT_ROLE)
    assert costs == sorted(costs)  # cheapest first
    assert costs[0] == fitting["training_cost_usd"].min()
    assert tab.model.rows[next(iter(tab.model.cheapest))]["training_cost_usd"] == costs[0]
    # the chart follows the table in the event loop's next turn
    qtbot.waitUntil(lambda: len(tab.chart.listDataItems()) == min(5, len(fitting)))


def test_a_sweep_that_lands_on_a_hidden_tab_is_shown_when_the_tab_is(make_window, qtbot):
    """The user left the tab before its sweep arrived: the table and charts are drawn when it
    is shown again, not for no one to see."""
    window = make_window()
    window.show()
    window.tabs.setCurrentWidget(window.compare_tab)
    qtbot.waitUntil(lambda: window.compare.table is not None)
    tab = window.compare_tab
    window.tabs.setCurrentWidget(window.plan_tab)
    drawn = []
    real = tab.set_table
    tab.set_table = lambda t: drawn.append(t) or real(t)
    late = window.compare.table = table([5.0, 7.0], fits=[True, True])  # as a late sweep would leave it
    window.compare.sweep_changed.emit()
    assert drawn == [] and tab.model.rowCount() != 2
    window.tabs.setCurrentWidget(tab)
    assert drawn and drawn[0] is late  # drawn as the tab is shown (then the state's own refresh)


def test_opening_the_tab_again_does_not_redraw_the_table_on_show(make_window, qtbot):
    window = make_window()
    window.tabs.setCurrentWidget(window.compare_tab)
    qtbot.waitUntil(lambda: window.compare.table is not None)
    tab, drawn = window.compare_tab, []
    real = tab.set_table
    tab.set_table = lambda t: drawn.append(t) or real(t)
    window.tabs.setCurrentWidget(window.plan_tab)
    window.tabs.setCurrentWidget(tab)  # the sweep comes from the runner's cache: the same table
    qtbot.wait(50)
    assert drawn == []


def test_serving_chart_draws_one_curve_per_selected_candidate(make_window, qtbot):
    window = make_window()
    window.tabs.setCurrentWidget(window.compare_tab)
    tab = window.compare_tab
    tab.mode_filter.setCurrentIndex(tab.mode_filter.findData("infer"))
    qtbot.waitUntil(lambda: window.compare.table is not None and set(window.compare.table["mode"]) == {"infer"})
    tab.view.selectRow(0)  # its curve is computed on a worker thread
    qtbot.waitUntil(lambda: len(tab.chart.listDataItems()) == 1)
    curves = tab.chart.listDataItems()
    assert len(curves) == 1
    x, y = curves[0].getData()
    assert len(x) > 1 and (y > 0).all()


@pytest.mark.parametrize("kind", ["on_demand", "spot"])
def test_window_pdf_and_csv_agree_on_the_cheapest_row(qtbot, catalogs, tmp_path, kind):
    """Issue 9: the Compare highlight, the PDF's first best candidate and the CSV's `cheapest`
    column name the same row, per mode (the window once ranked by $/1M tokens, the PDF by $/month),
    at the price the plan headlines (spot: spot costs, shown beside the on-demand ones)."""
    inputs = PlanInputs(model="llama-3.1-70b", mode="infer", instance="p5.48xlarge", price_kind=kind)
    table = sweep(inputs, catalogs)
    tab = CompareTab()
    qtbot.addWidget(tab)
    tab.set_table(table)
    comparison = pd.read_csv(write_csv(estimate(inputs, catalogs), table, tmp_path / "plan.csv")[1])
    for mode in ("train", "infer"):
        tab.set_mode(mode)
        (window_row,) = [tab.model.rows[i] for i in tab.model.cheapest]
        _, cells, _ = candidate_cells(estimate(inputs.with_(mode=mode), catalogs), table)
        (csv_row,) = comparison[(comparison["mode"] == mode) & comparison["cheapest"]].to_dict("records")
        picked = {(r["instance_type"], r["precision"]) for r in (window_row, csv_row)}
        assert picked == {(cells[0][0], cells[0][2])}
        # the rule itself: no feasible row of the mode bills less
        cost = cost_key(mode, kind)
        feasible = table[(table["mode"] == mode) & table["fits"] & table["meets_slo"] & table[cost].notna()]
        assert csv_row[cost] == pytest.approx(feasible[cost].min())
        assert not tab.view.isColumnHidden(COLUMN_INDEX[cost]) and not tab.view.isColumnHidden(
            COLUMN_INDEX[cost_key(mode)])  # the ranking cost beside the on-demand one
        assert tab.view.isColumnHidden(COLUMN_INDEX[cost_key(mode, "reserved_1y")])


def test_sweep_marks_exactly_one_cheapest_row_per_mode(catalogs):
    table = sweep(PlanInputs(model="mixtral-8x7b-v0.1"), catalogs)
    assert table.groupby("mode")["cheapest"].sum().to_dict() == {"infer": 1, "train": 1}
    assert table[table["cheapest"]][["fits", "meets_slo"]].all().all()


def test_the_frontier_arrives_with_the_serving_sweep_and_marks_the_plan(qtbot, catalogs):
    """Seed 001's chart: tokens/s per GPU against tokens/s per user on the plan's hardware,
    computed on the sweep's worker (it rides on the table) and drawn beside the candidates."""
    from gpuplanner.core.frontier import FRONTIER_ATTR
    from gpuplanner.ui.compare.sweep_runner import SweepRunner

    inputs = PlanInputs(model="llama-3.1-70b", mode="infer", instance="p5.48xlarge")
    runner = SweepRunner()
    with qtbot.waitSignal(runner.ready, timeout=60000) as got:
        runner.request(inputs, catalogs, ("infer",))
    table = got.args[2]
    frontier = table.attrs[FRONTIER_ATTR]
    plan = estimate(inputs, catalogs)
    assert frontier.hardware == "p5.48xlarge" and (frontier.chosen.tp, frontier.chosen.pp) == (plan.layout.tp,
                                                                                                 plan.layout.pp)
    tab = CompareTab()
    qtbot.addWidget(tab)
    tab.set_table(table)
    curves = tab.frontier_chart.listDataItems()
    assert len(curves) == 3  # every layout × batch, the Pareto line, this plan
    x, y = curves[1].getData()
    assert list(x) == [q.tokens_per_s_per_user for q in frontier.pareto] and (y > 0).all()
    tab.set_mode("infer")
    assert tab.frontier_chart.isVisibleTo(tab)
    tab.set_mode("train")  # a serving chart: hidden beside training rows
    assert not tab.frontier_chart.isVisibleTo(tab)
    runner.stop()


def test_no_column_is_clipped_after_a_mode_switch(make_window, qtbot):
    """Issue 12: columns sized for the first table clipped the serving figures at 1280×800."""
    window = make_window()
    window.show()
    window.tabs.setCurrentWidget(window.compare_tab)
    tab = window.compare_tab
    qtbot.waitUntil(lambda: window.compare.table is not None)
    tab.mode_filter.setCurrentIndex(tab.mode_filter.findData("infer"))
    qtbot.waitUntil(lambda: window.compare.table is not None and set(window.compare.table["mode"]) == {"infer"})
    header = tab.view.horizontalHeader()
    shown = [c for c in range(tab.model.columnCount()) if not tab.view.isColumnHidden(c)][:-1]  # the last stretches
    assert "$/1M tok" in [tab.model.headerData(c, QtCore.Qt.Orientation.Horizontal) for c in shown]
    for c in shown:
        assert tab.view.columnWidth(c) >= max(tab.view.sizeHintForColumn(c), header.sectionSizeHint(c)), c


def test_legend_sits_outside_the_plot_and_merges_coincident_candidates(qtbot):
    """Issue 12: the legend covered the points and listed candidates hidden under one another."""
    tab = CompareTab()
    qtbot.addWidget(tab)
    rows = [{"instance_type": name, "precision": "bf16", "training_days": days, "training_cost_usd": cost}
            for name, days, cost in (("a", 10.0, 5e5), ("b", 10.0, 5e5), ("c", 20.0, 3e5))]
    tab.chart.show_training(rows)
    assert tab.chart.plotItem.legend is None  # nothing drawn over the data
    text = tab.chart.legend.text()
    assert "a bf16 = b bf16 (same values)" in text and text.count("●") == 2
    brushes = [item.opts["symbolBrush"] for item in tab.chart.listDataItems()]
    assert brushes[0] == brushes[1] != brushes[2]
    tab.chart.show_training(rows[2:])  # fewer candidates: items are reused, the extra ones removed
    assert len(tab.chart.listDataItems()) == 1 and "same values" not in tab.chart.legend.text()


def test_sorting_and_filtering_move_the_selection_and_highlight_with_their_rows(qtbot):
    """Issue 12: the model sorts and filters itself (no proxy); the view's selection and the
    cheapest highlight follow their rows, and a row filtered out leaves the selection."""
    tab = CompareTab()
    qtbot.addWidget(tab)
    tab.set_table(table([30.0, 20.0, 10.0, 40.0], clouds=["aws", "gcp", "gcp", "aws"]))
    tab.set_mode("train")
    tab.view.selectRow(column_values(tab.model, "instance_type").index("inst-0"))

    def selected():
        return [tab.model.rows[i.row()]["instance_type"] for i in tab.view.selectionModel().selectedRows()]

    assert selected() == ["inst-0"]
    tab.sort_by("training_cost_usd", QtCore.Qt.SortOrder.DescendingOrder)
    assert column_values(tab.model, "instance_type") == ["inst-3", "inst-0", "inst-1", "inst-2"]
    assert selected() == ["inst-0"]
    assert [tab.model.rows[i]["instance_type"] for i in tab.model.cheapest] == ["inst-2"]
    tab.cloud_filter.setCurrentIndex(tab.cloud_filter.findData("aws"))
    assert column_values(tab.model, "instance_type") == ["inst-3", "inst-0"]
    assert selected() == ["inst-0"] and tab.view.verticalHeader().count() == 2
    tab.cloud_filter.setCurrentIndex(tab.cloud_filter.findData("gcp"))
    assert selected() == [] and column_values(tab.model, "instance_type") == ["inst-1", "inst-2"]


def test_a_sort_keeps_the_charted_candidates(qtbot):
    """The chart's default candidates are rows, not positions: sorting the table once pointed
    them at whichever rows then sat in the cheapest rows' places."""
    tab = CompareTab()
    qtbot.addWidget(tab)
    tab.set_table(table([float(c) for c in range(10, 0, -1)]))
    tab.set_mode("train")
    cheapest = [r["instance_type"] for r in tab.chosen_rows()]
    assert cheapest == ["inst-9", "inst-8", "inst-7", "inst-6", "inst-5"]
    tab.sort_by("training_cost_usd", QtCore.Qt.SortOrder.DescendingOrder)
    assert [r["instance_type"] for r in tab.chosen_rows()] == cheapest


def test_sorting_and_filtering_a_large_table_build_no_rows(qtbot, monkeypatch):
    """Sorts and filters are numpy over whole columns: no row is turned into a dict (nor any
    Python run per row), and text sorts by the text shown, case-blind."""
    n = 20_000
    frame = table([float((i * 7919) % n) for i in range(n)], clouds=[("aws", "gcp", "Azure")[i % 3] for i in range(n)],
                  fits=[i % 5 != 0 for i in range(n)])
    frame.loc[frame["fits"] == False, "reason"] = "needs more memory"  # noqa: E712
    model = SweepTableModel()
    model.set_table(frame)
    built = []
    monkeypatch.setattr(model, "record", lambda row: built.append(row) or {})
    model.sort(COLUMN_INDEX["training_cost_usd"], ASC)
    model.set_filters("gcp", "train", True)
    model.sort(COLUMN_INDEX["cloud"], ASC)
    model.sort(COLUMN_INDEX["reason"], QtCore.Qt.SortOrder.DescendingOrder)
    model.set_filters("", "", False)
    assert built == []
    monkeypatch.undo()
    expected = frame.assign(text=frame["reason"].where(~frame["fits"], "fits"))
    shown = column_values(model, "reason")
    assert shown == sorted(expected["text"], key=str.lower, reverse=True)
    model.sort(COLUMN_INDEX["cloud"], ASC)
    assert column_values(model, "cloud")[:1] + column_values(model, "cloud")[-1:] == ["aws", "gcp"]  # Azure sorts as azure


def test_the_frontier_chart_is_updated_in_place(qtbot):
    """A new sweep gives the frontier's items new data; none is rebuilt."""
    from types import SimpleNamespace as Point

    def frontier(scale, chosen=True):
        points = [Point(tokens_per_s_per_user=u, tokens_per_s_per_gpu=scale * 100 / u) for u in (1.0, 2.0, 4.0)]
        return Point(hardware="p5.48xlarge", points=points, pareto=points[:2],
                     chosen=Point(tokens_per_s_per_user=2.0, tokens_per_s_per_gpu=scale * 50, describe=lambda: "tp 8")
                     if chosen else None)

    tab = CompareTab()
    qtbot.addWidget(tab)
    chart = tab.frontier_chart
    chart.show_frontier(frontier(1.0))
    items = chart.listDataItems()
    chart.show_frontier(frontier(3.0, chosen=False))
    assert chart.listDataItems() == items
    x, y = chart.pareto.getData()
    assert list(x) == [1.0, 2.0] and list(y) == [300.0, 150.0]
    def empty(item):
        x, _ = item.getData()
        return x is None or len(x) == 0

    assert empty(chart.chosen) and not any(label.text.startswith("this plan") for _, label in chart.legend.items)
    chart.show_frontier(frontier(2.0))
    assert [label.text for _, label in chart.legend.items][-1] == "this plan: tp 8"
    chart.show_frontier(None)
    assert empty(chart.points) and "nothing fits" in chart.plotItem.titleLabel.text


def test_painted_cells_show_what_data_says(qtbot):
    """A painted cell's text, alignment and highlight come from one multiData() call per cell
    (Qt's delegate asks for seven roles); they are what data() answers role by role."""
    tab = CompareTab()
    qtbot.addWidget(tab)
    tab.set_table(table([30.0, 20.0, 10.0], clouds=["aws", "gcp", "gcp"]))
    tab.set_mode("train")
    delegate, roles = tab.view.itemDelegate(), QtCore.Qt.ItemDataRole
    calls = []
    model_data = tab.model.data
    tab.model.data = lambda index, role=roles.DisplayRole: calls.append(role) or model_data(index, role)
    painted = set()
    for r in range(tab.model.rowCount()):
        for c in range(tab.model.columnCount()):
            index = tab.model.index(r, c)
            option = QtWidgets.QStyleOptionViewItem()
            delegate.initStyleOption(option, index)
            assert option.text == model_data(index, roles.DisplayRole)
            alignment = model_data(index, roles.TextAlignmentRole)
            if alignment is not None:
                assert option.displayAlignment == QtCore.Qt.AlignmentFlag(alignment)
            highlighted = option.backgroundBrush.style() != QtCore.Qt.BrushStyle.NoBrush
            assert highlighted == (model_data(index, roles.BackgroundRole) is not None)
            painted.add((tab.model.rows[r]["instance_type"], highlighted))
    assert calls == []  # every role in the one call
    assert ("inst-2", True) in painted and ("inst-0", False) in painted and ("inst-0", True) not in painted
