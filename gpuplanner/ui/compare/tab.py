"""The Compare tab: every instance type × precision, filterable and sortable, over a chart.

The chart shows the chosen candidates (selected rows, else the five cheapest fitting rows
shown): cost against days for training, total against per-user tokens/s for serving (the
serving curve comes from one estimate per candidate, a fraction of a millisecond each). Beside
it, the serving frontier of the plan's hardware, which arrives with the sweep.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import estimate
from gpuplanner.core.frontier import FRONTIER_ATTR
from gpuplanner.core.inputs import MODES, PlanInputs
from gpuplanner.core.pricing import COST_KEY, cheapest_first

if TYPE_CHECKING:  # pandas loads with the first comparison, not at start-up
    import pandas as pd

from gpuplanner.ui.compare.model import (
    COLUMN_INDEX,
    ROW_ROLE,
    SweepFilter,
    SweepTableModel,
    cheapest_rows,
)
from gpuplanner.ui.theme import ThemedPlot

MAX_DEFAULT_CANDIDATES = 5
MODE_ONLY_COLUMNS = {"mode": "", "training_days": "train", "training_cost_usd": "train",
                     "usd_per_million_tokens": "infer", "monthly_cost_usd": "infer"}  # hidden for the other mode
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")


def candidate_name(row: dict) -> str:
    return f"{row['instance_type']} {row['precision']}"


class CompareChart(ThemedPlot):
    """Cost vs days (training) or throughput vs interactivity (serving)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.legend = self.addLegend(offset=(-5, 5))
        self.setMinimumHeight(180)
        for name in ("left", "bottom"):
            self.getAxis(name).enableAutoSIPrefix(False)

    def show_training(self, rows: list[dict]) -> None:
        largest = max((row["training_cost_usd"] for row in rows), default=0.0)
        scale, unit = next(((s, u) for s, u in ((1e6, "M USD"), (1e3, "k USD")) if largest >= s), (1.0, "USD"))
        self._reset("training days", f"training cost ({unit}, on-demand)")
        for color, row in zip(PALETTE, rows):
            self.plot([row["training_days"]], [row["training_cost_usd"] / scale], pen=None, symbol="o",
                      symbolSize=10, symbolBrush=color, name=candidate_name(row))

    def show_serving(self, curves: list[tuple[str, tuple]]) -> None:
        self._reset("tokens/s per user", "tokens/s total (one replica)")
        for color, (name, curve) in zip(PALETTE, curves):
            self.plot([p.tokens_per_s_per_user for p in curve], [p.tokens_per_s_total for p in curve],
                      pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5, symbolBrush=color, name=name)

    def _reset(self, x_label: str, y_label: str) -> None:
        self.clear()
        self.legend.clear()
        self.setLabel("bottom", x_label)
        self.setLabel("left", y_label)


class FrontierChart(ThemedPlot):
    """Serving: tokens/s per GPU against tokens/s per user on the plan's hardware, every replica
    layout and batch (core.frontier, computed with the sweep on its worker), this plan marked."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.legend = self.addLegend(offset=(-5, 5))
        self.setMinimumHeight(180)
        for name in ("left", "bottom"):
            self.getAxis(name).enableAutoSIPrefix(False)
        self.frontier = None

    def show_frontier(self, frontier) -> None:
        self.frontier = frontier
        self.clear()
        self.legend.clear()
        self.setLabel("bottom", "tokens/s per user")
        self.setLabel("left", "tokens/s per GPU")
        if frontier is None or not frontier.pareto:
            self.setTitle("frontier: nothing fits on the plan's hardware")
            return
        self.setTitle(f"frontier on {frontier.hardware}")
        self.plot([q.tokens_per_s_per_user for q in frontier.points], [q.tokens_per_s_per_gpu for q in frontier.points],
                  pen=None, symbol="o", symbolSize=3, symbolPen=None, symbolBrush="#9a9a9a", name="layout × batch")
        self.plot([q.tokens_per_s_per_user for q in frontier.pareto], [q.tokens_per_s_per_gpu for q in frontier.pareto],
                  pen=pg.mkPen(PALETTE[0], width=2), name="Pareto frontier")
        if frontier.chosen is not None:
            c = frontier.chosen
            self.plot([c.tokens_per_s_per_user], [c.tokens_per_s_per_gpu], pen=None, symbol="s", symbolSize=11,
                      symbolBrush=PALETTE[2], name=f"this plan: {c.describe()}")


class CompareTab(QtWidgets.QWidget):
    """Filters, the sortable table and the candidates chart. `modes_changed` asks the owner for
    the sweep of `wanted_modes()` (only the modes shown are computed)."""

    modes_changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.inputs: PlanInputs | None = None
        self.catalogs: Catalogs | None = None
        self.model = SweepTableModel(self)
        self.proxy = SweepFilter(self)
        self.proxy.setSourceModel(self.model)
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
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 6)
        self.view.setWordWrap(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.selectionModel().selectionChanged.connect(self._update_chart)
        self.chart = CompareChart()
        self.frontier_chart = FrontierChart()
        bar = QtWidgets.QHBoxLayout()
        for label, w in (("Mode", self.mode_filter), ("Cloud", self.cloud_filter)):
            bar.addWidget(QtWidgets.QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.fits_only)
        bar.addWidget(self.cheapest_label, 1)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        charts = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        charts.addWidget(self.chart)
        charts.addWidget(self.frontier_chart)
        splitter.addWidget(self.view)
        splitter.addWidget(charts)
        splitter.setSizes([420, 260])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self._frontier_shown()

    def set_table(self, table: pd.DataFrame, inputs: PlanInputs, catalogs: Catalogs) -> None:
        """Show a new sweep; `inputs`/`catalogs` are what it was computed from (for curves)."""
        self.inputs, self.catalogs = inputs, catalogs
        clouds = sorted(set(table["cloud"]))
        current = self.cloud_filter.currentData() or ""
        with QtCore.QSignalBlocker(self.cloud_filter):
            self.cloud_filter.clear()
            self.cloud_filter.addItem("All", "")
            for cloud in clouds:
                self.cloud_filter.addItem(cloud, cloud)
            self.cloud_filter.setCurrentIndex(max(0, self.cloud_filter.findData(current)))
        first = not self.model.rows
        self.model.set_table(table)
        self.frontier_chart.show_frontier(table.attrs.get(FRONTIER_ATTR))
        self._filters_changed()
        if first:
            self.view.resizeColumnsToContents()

    def _frontier_shown(self) -> None:
        """The frontier is a serving chart: hidden while only training rows are shown."""
        self.frontier_chart.setVisible(self.mode_filter.currentData() != "train")

    def wanted_modes(self) -> tuple:
        mode = self.mode_filter.currentData()
        return (mode,) if mode else ("train", "infer")

    def set_busy(self, busy: bool, message: str = "") -> None:
        """Say that a newer comparison is being computed (the rows shown stay until it arrives)."""
        if busy or message:  # when done, the new table's set_table() rewrites the label
            self.cheapest_label.setText(message or "computing the comparison…")

    def set_mode(self, mode: str) -> None:
        """Show `mode`'s rows, cheapest first."""
        self.mode_filter.setCurrentIndex(self.mode_filter.findData(mode))
        self.sort_by(COST_KEY[mode])

    def sort_by(self, key: str, order=QtCore.Qt.SortOrder.AscendingOrder) -> None:
        self.view.sortByColumn(COLUMN_INDEX[key], order)

    def _filters_changed(self) -> None:
        mode = self.mode_filter.currentData() or ""
        for key, column in COLUMN_INDEX.items():
            only = MODE_ONLY_COLUMNS.get(key)
            self.view.setColumnHidden(column, bool(mode) and only is not None and only != mode)
        self.proxy.set_filters(self.cloud_filter.currentData() or "", self.mode_filter.currentData() or "",
                               self.fits_only.isChecked())
        self.model.set_cheapest(cheapest_rows(self.model.rows, self.proxy.accepted_source_rows()))
        texts = [f"cheapest {('training' if self.model.rows[i]['mode'] == 'train' else 'serving')}: "
                 f"{candidate_name(self.model.rows[i])}" for i in sorted(self.model.cheapest)]
        self.cheapest_label.setText(" · ".join(texts) or "nothing fits with these filters")
        self._update_chart()

    def chosen_rows(self) -> list[dict]:
        """Selected rows, else the cheapest fitting rows shown (at most five)."""
        selected = self.view.selectionModel().selectedRows()
        if selected:
            return [index.data(ROW_ROLE) for index in selected]
        rows = [self.model.rows[i] for i in self.proxy.accepted_source_rows()]
        return [rows[i] for mode in MODES for i in cheapest_first(rows, mode)][:MAX_DEFAULT_CANDIDATES]

    def _update_chart(self) -> None:
        rows = [r for r in self.chosen_rows() if r["fits"]]
        if self.mode_filter.currentData() == "infer" or (rows and all(r["mode"] == "infer" for r in rows)):
            self.chart.show_serving([(candidate_name(r), self._curve(r)) for r in rows if r["mode"] == "infer"])
        else:
            self.chart.show_training([r for r in rows if r["mode"] == "train"])

    def _curve(self, row: dict) -> tuple:
        try:
            r = estimate(self.inputs.with_(mode="infer", precision=row["precision"],
                                           instance=row["instance_type"], gpu=""), self.catalogs)
        except InputError:
            return ()
        return r.curve
