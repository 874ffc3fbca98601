"""The Compare tab: every instance type × precision, filterable and sortable, over a chart.

The chart shows the chosen candidates (selected rows, else the five cheapest fitting rows
shown): cost against days for training, total against per-user tokens/s for serving. The
table and the serving curves come from the CompareState's workers; the tab computes nothing.
Beside the chart, the serving frontier of the plan's hardware, which arrives with the sweep.
Its legend sits under the plot (never over the points), and candidates that coincide share
one colour and one legend entry, so no entry names a curve hidden under another. After a
new table or a filter change the chart is updated in the event loop's next turn, so the
table's paint and the chart's do not share one stall.
"""
from __future__ import annotations

import html
import itertools
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from gpuplanner.core.frontier import FRONTIER_ATTR
from gpuplanner.core.inputs import MODES
from gpuplanner.core.pricing import COST_KEYS, cost_key

if TYPE_CHECKING:  # pandas loads with the first comparison, not at start-up
    import pandas as pd

    from gpuplanner.ui.compare.state import CompareState

from gpuplanner.ui.compare.model import COLUMN_INDEX, ROW_ROLE, SweepTableModel
from gpuplanner.ui.compare.state import curve_key
from gpuplanner.ui.settled_paint import paint_when_settled
from gpuplanner.ui.theme import ThemedPlot

MAX_DEFAULT_CANDIDATES = 5
CELL_PADDING_PX = 16  # around a cell's text, beyond what the style draws
MODE_ONLY_COLUMNS = {"mode": "", "training_days": "train", "usd_per_million_tokens": "infer"} | {
    key: mode for (mode, _), key in COST_KEYS.items()}  # hidden for the other mode
# the spot and reserved costs show when the plan headlines that price (on-demand always shows)
PRICE_KIND_COLUMNS = {key: kind for (_, kind), key in COST_KEYS.items() if kind != "on_demand"}
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")


def candidate_name(row: dict) -> str:
    return f"{row['instance_type']} {row['precision']}"


def coincident_groups(series: list[tuple]) -> list[int]:
    """For each series (its points, rounded as drawn), the index of the first identical one:
    series drawn on top of each other get one colour and one legend entry."""
    first: dict[tuple, int] = {}
    return [first.setdefault(tuple(f"{v:.3g}" for v in points), i) for i, points in enumerate(series)]


class CompareChart(ThemedPlot):
    """Cost vs days (training) or throughput vs interactivity (serving). The data items are
    kept and updated in place; `legend` is a label for the owner to place under the plot."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, enableMenu=False)
        self.setMinimumHeight(180)
        self.legend = QtWidgets.QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self._items: list[pg.PlotDataItem] = []
        self._drawn: list[tuple] = []  # per item, the (axes, x, y, colour) it shows
        self._axes = ("", "")
        for name in ("left", "bottom"):
            self.getAxis(name).enableAutoSIPrefix(False)

    def show_training(self, rows: list[dict]) -> None:
        largest = max((row["training_cost_usd"] for row in rows), default=0.0)
        scale, unit = next(((s, u) for s, u in ((1e6, "M USD"), (1e3, "k USD")) if largest >= s), (1.0, "USD"))
        self._draw("training days", f"training cost ({unit}, on-demand)",
                   [(candidate_name(r), [r["training_days"]], [r["training_cost_usd"] / scale]) for r in rows],
                   lambda color: {"pen": None, "symbol": "o", "symbolSize": 10, "symbolBrush": color})

    def show_serving(self, curves: list[tuple[str, tuple]]) -> None:
        self._draw("tokens/s per user", "tokens/s total (one replica)",
                   [(name, [p.tokens_per_s_per_user for p in curve], [p.tokens_per_s_total for p in curve])
                    for name, curve in curves],
                   lambda color: {"pen": pg.mkPen(color, width=2), "symbol": "o", "symbolSize": 5,
                                  "symbolBrush": color})

    def _draw(self, x_label: str, y_label: str, series: list[tuple[str, list, list]], style) -> None:
        """One data item per series, reusing the items already on the plot; an item whose
        series and colour are unchanged is left alone (each pyqtgraph update costs milliseconds)."""
        axes = (x_label, y_label)
        if self._axes != axes:
            self._axes = axes
            self.setLabel("bottom", x_label)
            self.setLabel("left", y_label)
        while len(self._items) > len(series):
            self.removeItem(self._items.pop())
            self._drawn.pop()
        while len(self._items) < len(series):
            # no dynamic range limit: it re-processes every item on each change of the view's range
            self._items.append(self.plot([], [], dynamicRangeLimit=None))
            self._drawn.append(())
        groups = coincident_groups([(*x, *y) for _, x, y in series])
        colors = [PALETTE[sorted(set(groups)).index(g) % len(PALETTE)] for g in groups]
        for i, (item, (_, x, y), color) in enumerate(zip(self._items, series, colors)):
            drawn = (axes, list(x), list(y), color)
            if drawn == self._drawn[i]:
                continue
            if drawn[0::3] == self._drawn[i][0::3]:  # the same style: only the data moves
                item.setData(x, y)
            else:
                item.setData(x, y, **style(color))
            self._drawn[i] = drawn
        entries: dict[int, list[str]] = {}
        for (name, _, _), group in zip(series, groups):
            entries.setdefault(group, []).append(name)
        legend = " &nbsp; ".join(
            f'<span style="color:{colors[g]}">●</span>&nbsp;{html.escape(" = ".join(names))}'
            + (" (same values)" if len(names) > 1 else "") for g, names in entries.items())
        if legend != self.legend.text():
            self.legend.setText(legend)


class FrontierChart(ThemedPlot):
    """Serving: tokens/s per GPU against tokens/s per user on the plan's hardware, every replica
    layout and batch (core.frontier, computed with the sweep on its worker), this plan marked."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, enableMenu=False)
        self.legend = self.addLegend(offset=(-5, 5))
        self.setMinimumHeight(180)
        for name in ("left", "bottom"):
            self.getAxis(name).enableAutoSIPrefix(False)
        self.setLabel("bottom", "tokens/s per user")
        self.setLabel("left", "tokens/s per GPU")
        self.frontier = None
        # three items, created once and given new data (no dynamic range limit: it re-processes
        # every item on each change of the view's range)
        self.points = self.plot([], [], pen=None, symbol="o", symbolSize=3, symbolPen=None, symbolBrush="#9a9a9a",
                                name="layout × batch", dynamicRangeLimit=None)
        self.pareto = self.plot([], [], pen=pg.mkPen(PALETTE[0], width=2), name="Pareto frontier",
                                dynamicRangeLimit=None)
        self.chosen = self.plot([], [], pen=None, symbol="s", symbolSize=11, symbolBrush=PALETTE[2],
                                dynamicRangeLimit=None)

    def show_frontier(self, frontier) -> None:
        if frontier is self.frontier and frontier is not None:
            return
        self.frontier = frontier
        shown = frontier is not None and bool(frontier.pareto)
        title = f"frontier on {frontier.hardware}" if shown else "frontier: nothing fits on the plan's hardware"
        if title != self.plotItem.titleLabel.text:
            self.setTitle(title)
        points, pareto = (frontier.points, frontier.pareto) if shown else ((), ())
        self.points.setData([q.tokens_per_s_per_user for q in points], [q.tokens_per_s_per_gpu for q in points])
        self.pareto.setData([q.tokens_per_s_per_user for q in pareto], [q.tokens_per_s_per_gpu for q in pareto])
        chosen = frontier.chosen if shown else None
        self.chosen.setData([chosen.tokens_per_s_per_user] if chosen else [],
                            [chosen.tokens_per_s_per_gpu] if chosen else [])
        self.legend.removeItem(self.chosen)
        if chosen is not None:
            self.legend.addItem(self.chosen, f"this plan: {chosen.describe()}")


class CompareTab(QtWidgets.QWidget):
    """Filters, the sortable table and the candidates chart, showing a CompareState (None: the
    owner calls `set_table` itself and serving curves are not drawn)."""

    modes_changed = QtCore.Signal()

    def __init__(self, state: CompareState | None = None, parent: QtWidgets.QWidget | None = None,
                 chart: CompareChart | None = None, frontier_chart: FrontierChart | None = None):
        """`chart` and `frontier_chart`: built ahead (ui.main_window.build_hidden_tabs), or here."""
        super().__init__(parent)
        self.state = state
        self.model = SweepTableModel(self)
        self.mode_filter = QtWidgets.QComboBox()
        for label, value in (("Training", "train"), ("Serving", "infer"), ("Both", "")):
            self.mode_filter.addItem(label, value)
        self.cloud_filter = QtWidgets.QComboBox()
        self.fits_only = QtWidgets.QCheckBox("Fits only")
        self.fits_only.setChecked(True)
        self.cheapest_label = QtWidgets.QLabel()
        for w, tip in ((self.mode_filter, "Show training or serving configurations"),
                       (self.cloud_filter, "Show one cloud's instances"),
                       (self.fits_only, "Hide configurations that do not fit")):
            w.setToolTip(tip)
        self.mode_filter.currentIndexChanged.connect(self._filters_changed)
        self.mode_filter.currentIndexChanged.connect(self.modes_changed)
        self.mode_filter.currentIndexChanged.connect(self._frontier_shown)
        self.cloud_filter.currentIndexChanged.connect(self._filters_changed)
        self.fits_only.toggled.connect(self._filters_changed)
        self.view = QtWidgets.QTableView()
        self.view.setModel(self.model)
        for changed in (self.model.modelReset, self.model.layoutChanged):  # lay the rows out now, in this
            changed.connect(self.view.doItemsLayout)  # paint: the view's own delayed layout paints them twice
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 6)
        self.ranked: dict[str, list[dict]] = {mode: [] for mode in MODES}  # the cheapest rows shown, first first
        self._header_widths: dict[int, int] = {}  # per column, its header's size hint
        self._text_widths: dict[str, int] = {}  # per cell text, its width (instance names recur in every sweep)
        self.view.setWordWrap(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.selectionModel().selectionChanged.connect(self._update_chart)
        self._table_waiting = False  # a sweep landed while the tab was hidden (_sweep_changed)
        self._chart_later = QtCore.QTimer(self)  # after a new table or filter: the chart in the next turn
        self._chart_later.setSingleShot(True)
        self._chart_later.setInterval(0)
        self._chart_later.timeout.connect(self._update_chart)
        self.chart = chart or CompareChart()
        self.frontier_chart = frontier_chart or FrontierChart()
        bar = QtWidgets.QHBoxLayout()
        for label, w in (("Mode", self.mode_filter), ("Cloud", self.cloud_filter)):
            bar.addWidget(QtWidgets.QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.fits_only)
        bar.addWidget(self.cheapest_label, 1)
        chart_box = QtWidgets.QWidget()
        chart_layout = QtWidgets.QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.chart, 1)
        chart_layout.addWidget(self.chart.legend)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        charts = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        charts.addWidget(chart_box)
        charts.addWidget(self.frontier_chart)
        splitter.addWidget(self.view)
        splitter.addWidget(charts)
        splitter.setSizes([420, 260])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self._frontier_shown()
        if state is not None:
            state.sweep_changed.connect(self._sweep_changed)
            state.curves_changed.connect(self._update_chart)
            state.busy_changed.connect(self.set_busy)
            state.plan_mode_changed.connect(self._follow_plan_mode)
            self.modes_changed.connect(lambda: state.set_modes(self.wanted_modes()))

    def _sweep_changed(self) -> None:
        """A new sweep: shown now, or (the tab hidden: it landed after the user left it) when the
        tab is shown again; drawing a table and charts no one sees costs the window ~40 ms."""
        if self.isHidden():  # another tab is current
            self._table_waiting = True
        else:
            self.set_table(self.state.table)

    def setVisible(self, visible: bool) -> None:
        if visible and self.isHidden() and self.window().isVisible():  # another tab was current
            paint_when_settled(self, shown=True)
        if visible and self._table_waiting:
            self._table_waiting = False
            self.set_table(self.state.table)  # before showing: the first paint shows it
        super().setVisible(visible)

    def set_table(self, table: pd.DataFrame) -> None:
        """Show a new sweep, keeping the filters, the sort and the column widths' fit."""
        if self.isVisible():  # before the model's reset marks the table for painting
            paint_when_settled(self)
        kind = self.model.price_kind
        self.model.set_table(table)
        clouds = sorted(set(self.model.column("cloud")))
        if clouds != [self.cloud_filter.itemData(i) for i in range(1, self.cloud_filter.count())]:
            current = self.cloud_filter.currentData() or ""
            with QtCore.QSignalBlocker(self.cloud_filter):
                self.cloud_filter.clear()
                self.cloud_filter.addItem("All", "")
                for cloud in clouds:
                    self.cloud_filter.addItem(cloud, cloud)
                self.cloud_filter.setCurrentIndex(max(0, self.cloud_filter.findData(current)))
        self.frontier_chart.show_frontier(table.attrs.get(FRONTIER_ATTR))
        self._filters_changed()
        mode = self.mode_filter.currentData()
        if mode and self.model.price_kind != kind:  # a new headline price: rank the rows shown by it
            self.sort_by(cost_key(mode, self.model.price_kind))

    def _frontier_shown(self) -> None:
        """The frontier is a serving chart: hidden while only training rows are shown."""
        self.frontier_chart.setVisible(self.mode_filter.currentData() != "train")

    def wanted_modes(self) -> tuple:
        mode = self.mode_filter.currentData()
        return (mode,) if mode else MODES

    def set_busy(self, busy: bool, message: str = "") -> None:
        """Say that a newer comparison is being computed (the rows shown stay until it arrives)."""
        if busy or message:  # when done, the new table's set_table() rewrites the label
            self.cheapest_label.setText(message or "computing the comparison…")

    def set_mode(self, mode: str) -> None:
        """Show `mode`'s rows, cheapest first."""
        self.mode_filter.setCurrentIndex(self.mode_filter.findData(mode))
        self.sort_by(cost_key(mode, self.model.price_kind))

    def _follow_plan_mode(self, mode: str) -> None:
        with QtCore.QSignalBlocker(self):  # the state already asks for this mode's sweep
            self.set_mode(mode)

    def sort_by(self, key: str, order=QtCore.Qt.SortOrder.AscendingOrder) -> None:
        self.view.sortByColumn(COLUMN_INDEX[key], order)

    def _filters_changed(self) -> None:
        """Show the rows the filters pass (a new table, a filter or the price kind changed);
        the tab is painted once, laid out, with the chart that follows (ui.settled_paint)."""
        if self.isVisible():
            paint_when_settled(self)
        mode = self.mode_filter.currentData() or ""
        for key, column in COLUMN_INDEX.items():
            only, kind = MODE_ONLY_COLUMNS.get(key), PRICE_KIND_COLUMNS.get(key, self.model.price_kind)
            hidden = (bool(mode) and only is not None and only != mode) or kind != self.model.price_kind
            if hidden != self.view.isColumnHidden(column):
                self.view.setColumnHidden(column, hidden)
        self.model.set_filters(self.cloud_filter.currentData() or "", mode, self.fits_only.isChecked())
        ranked = self.model.cheapest_first(MAX_DEFAULT_CANDIDATES)  # positions: a sort moves them
        self.ranked = {mode: [self.model.rows[i] for i in positions] for mode, positions in ranked.items()}
        self.model.set_cheapest({positions[0] for positions in ranked.values() if positions})
        texts = [f"cheapest {('training' if self.model.rows[i]['mode'] == 'train' else 'serving')}: "
                 f"{candidate_name(self.model.rows[i])}" for i in sorted(self.model.cheapest)]
        self.cheapest_label.setText(" · ".join(texts) or "nothing fits with these filters")
        self._fit_columns()
        self._chart_later.start()  # the table is painted first; the chart's update and paint follow

    def _fit_columns(self) -> None:
        """Widen the columns to their header and the widest text of the rows shown (never
        narrower, so nothing jumps): no figure is clipped. Qt's resizeColumnsToContents asks the
        model for ~6 roles of each of up to 1,000 rows per column, a stall of its own."""
        metrics, header = self.view.fontMetrics(), self.view.horizontalHeader()
        widths = self._text_widths
        for column in range(self.model.columnCount() - 1):  # the last column stretches
            if self.view.isColumnHidden(column):
                continue
            texts = self.model.widest_texts(column)
            for text in texts:
                if text not in widths:
                    widths[text] = metrics.horizontalAdvance(text)
            width = max((widths[text] for text in texts), default=0) + CELL_PADDING_PX
            if column not in self._header_widths:  # the header's text and sort arrow: fixed
                self._header_widths[column] = header.sectionSizeHint(column)
            width = max(width, self._header_widths[column])
            if width > self.view.columnWidth(column):
                self.view.setColumnWidth(column, width)

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.StyleChange):
            self._header_widths, self._text_widths = {}, {}  # measured in the old font
        super().changeEvent(event)

    def chosen_rows(self) -> list[dict]:
        """Selected rows, else the cheapest fitting rows shown (at most five)."""
        selected = self.view.selectionModel().selectedRows()
        if selected:
            return [index.data(ROW_ROLE) for index in selected]
        ranked = itertools.chain.from_iterable(self.ranked[mode] for mode in MODES)
        return list(itertools.islice(ranked, MAX_DEFAULT_CANDIDATES))

    def _update_chart(self) -> None:
        self._chart_later.stop()
        if self.isVisible():  # its legend's new height lays the charts out again: painted once, after
            paint_when_settled(self)
        rows = [r for r in self.chosen_rows() if r["fits"]]
        if self.mode_filter.currentData() == "infer" or (rows and all(r["mode"] == "infer" for r in rows)):
            serving = [r for r in rows if r["mode"] == "infer"]
            curves = self.state.curves if self.state is not None else {}
            self.chart.show_serving([(candidate_name(r), curves[curve_key(r)]) for r in serving
                                     if curve_key(r) in curves])
            if self.state is not None:
                self.state.request_curves(serving)  # those missing arrive through curves_changed
        else:
            self.chart.show_training([r for r in rows if r["mode"] == "train"])
