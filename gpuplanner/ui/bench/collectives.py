"""The collective benchmark's results in the Live tab: per operation, message size → bus bandwidth
(a table and a log-log chart), inside a node and, from a multi-node run, across nodes; "Use for
planning" hands the measured link bandwidths to the planner.

The benchmark runs under torchrun on the cluster (README, "Measuring the interconnect"); this view
reads the JSON file its rank 0 writes.
"""
from __future__ import annotations

import math
from pathlib import Path

import pyqtgraph as pg
import PySide6  # noqa: F401  (imported before pyqtgraph so it binds to PySide6)
from PySide6 import QtCore, QtWidgets

from gpuplanner.bench.collectives import OPS, CollectivesRun, load_collectives
from gpuplanner.core.errors import InputError
from gpuplanner.ui.dialogs import Dialogs
from gpuplanner.ui.theme import ThemedPlot

SCOPE_LABELS = {"intra_node": "inside a node", "inter_node": "across nodes"}
OP_COLORS = {"all_reduce": "#1f77b4", "all_gather": "#ff7f0e", "reduce_scatter": "#2ca02c", "all_to_all": "#d62728"}
HINT = ("No collective results yet: run torchrun --nproc-per-node N -m gpuplanner.bench --collectives "
        "on the machines to measure, then open the file it writes.")


def size_text(size_bytes: int) -> str:
    """Binary units as the benchmark's --sizes takes them: 4096 → '4 KiB'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:g} {unit}"
    return f"{size_bytes} B"


class CollectivesView(QtWidgets.QWidget):
    """Shows one collective run; emits use_for_planning(MeasuredLinks)."""

    use_for_planning = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None, dialogs: Dialogs | None = None):
        super().__init__(parent)
        self.dialogs = dialogs or Dialogs()
        self.run: CollectivesRun | None = None
        self.summary = QtWidgets.QLabel(HINT)
        self.summary.setWordWrap(True)
        self.scope_combo = QtWidgets.QComboBox()
        self.scope_combo.currentIndexChanged.connect(self._show_scope)
        self.table = QtWidgets.QTableWidget(0, 1 + len(OPS))
        self.table.setHorizontalHeaderLabels(["Message size", *(f"{op.replace('_', '-')} busbw" for op in OPS)])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.chart = ThemedPlot()
        self.chart.addLegend()
        item = self.chart.getPlotItem()
        item.setLogMode(x=True, y=True)
        item.setLabel("bottom", "message size", units="B")
        item.setLabel("left", "bus bandwidth", units="B/s")
        self.curves = {op: item.plot([], [], name=op.replace("_", "-"), pen=pg.mkPen(OP_COLORS[op], width=2),
                                     symbol="o", symbolSize=5, symbolBrush=OP_COLORS[op]) for op in OPS}
        self.open_button = QtWidgets.QPushButton("Open collective results…")
        self.plan_button = QtWidgets.QPushButton("Use for planning")
        self.plan_button.setToolTip("Plan with the measured all-reduce bus bandwidth as the link bandwidth "
                                    "(inside a node, and across nodes when measured)")
        self.open_button.clicked.connect(self._choose_and_load)
        self.plan_button.clicked.connect(self._emit_links)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Ranks:"))
        row.addWidget(self.scope_combo)
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addWidget(self.plan_button)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(self.table, 3)
        body.addWidget(self.chart, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        layout.addLayout(body)
        self._update_buttons()

    # ---- data ------------------------------------------------------------------------------
    def set_run(self, run: CollectivesRun) -> None:
        self.run = run
        with QtCore.QSignalBlocker(self.scope_combo):
            self.scope_combo.clear()
            for scope in run.scopes():
                self.scope_combo.addItem(SCOPE_LABELS[scope], scope)
        self.summary.setText(f"{run.backend} on {run.device_name} · {run.world_size} ranks, {run.nodes} node(s) "
                             f"of {run.local_world_size} · torch {run.torch_version} · measured "
                             f"{run.measured_at.date().isoformat()} · bus bandwidth as nccl-tests defines it")
        self._show_scope()
        self._update_buttons()

    def load(self, path: Path) -> None:
        """Show a results file; ValueError (with the path) for a file that is not one."""
        self.set_run(load_collectives(path))

    def links(self):
        """The MeasuredLinks of the shown run (None before a run, or when it measured no all-reduce)."""
        if self.run is None:
            return None
        try:
            return self.run.measured_links()
        except InputError:
            return None

    def _show_scope(self) -> None:
        run, scope = self.run, self.scope_combo.currentData()
        if run is None or scope is None:
            return
        sizes = sorted({r.size_bytes for r in run.results if r.scope == scope})
        refused = {u.op: u.reason for u in run.unsupported if u.scope == scope}
        busbw = {(r.op, r.size_bytes): r.busbw_bytes_per_s for r in run.results if r.scope == scope}
        self.table.setRowCount(len(sizes))
        for i, size in enumerate(sizes):
            self._cell(i, 0, size_text(size))
            for j, op in enumerate(OPS, start=1):
                value = busbw.get((op, size), math.nan)
                self._cell(i, j, refused.get(op) or (f"{value / 1e9:,.3g} GB/s" if math.isfinite(value) else "n/a"))
        for op, curve in self.curves.items():
            series = run.series(op, scope)
            curve.setData([r.size_bytes for r in series], [r.busbw_bytes_per_s for r in series])

    def _cell(self, row: int, column: int, text: str) -> None:
        item = QtWidgets.QTableWidgetItem(text)
        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, column, item)

    # ---- actions -----------------------------------------------------------------------------
    def _choose_and_load(self) -> None:
        path = self.dialogs.open_path(self, "Open collective results", "Collective results (*.json)")
        if path:
            try:
                self.load(Path(path))
            except ValueError as e:
                self.dialogs.error(self, "Cannot open collective results", str(e))

    def _emit_links(self) -> None:
        links = self.links()
        if links is not None:
            self.use_for_planning.emit(links)

    def _update_buttons(self) -> None:
        self.plan_button.setEnabled(self.links() is not None)
