"""Help → Accuracy: how close the planner came on every published run of the ledger.

Per figure class: the summary line (n, median and 90th-percentile |error|, bias: the numbers of
`gpuplanner-cli validate`), the predicted-vs-measured chart, the filterable table with sources,
the rows without a prediction and why, and the selected row's inputs and assumptions with a
button that opens them as a plan. The evaluation runs on a pool thread (LedgerJob), started
the first time the view is shown; until it is done the view says so.
"""
from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.core.accuracy import summarize
from gpuplanner.core.fields import input_rows, percent_text
from gpuplanner.core.ledger import CLASSES
from gpuplanner.ui.accuracy.chart import AccuracyChart
from gpuplanner.ui.accuracy.job import LedgerJob
from gpuplanner.ui.accuracy.model import (
    CLASS_LABELS,
    COLUMN_INDEX,
    LedgerFilter,
    LedgerTableModel,
    error_text,
    value_text,
)

COMPUTING = "Computing… re-planning every published run of the ledger."


def summary_text(stats: dict | None, missing: int) -> str:
    """'n = 24 · median |error| 7.7 % · p90 23.4 % · bias -5.4 %', and the rows left out."""
    if not stats:
        line = "No row of this class has a prediction."
    else:
        line = (f"n = {stats['n']} · median |error| {percent_text(stats['median_abs_error'])} · "
                f"p90 |error| {percent_text(stats['p90_abs_error'])} · bias {error_text(stats['bias'])}")
    return line + (f" · {missing} row{'s' * (missing != 1)} without a prediction" if missing else "")


def details_html(outcome) -> str:
    """One row: the figures, the source, the assumptions, and the plan inputs behind it."""
    c = outcome.case
    figures = (f"predicted {value_text(outcome.predicted) or 'none'} · measured {value_text(c.measured)} "
               f"{c.unit} · error {error_text(outcome.error) or 'n/a'}")
    parts = [f"<b>{html.escape(c.dataset)} row {html.escape(str(c.row_id))}: {html.escape(c.figure)}</b>",
             html.escape(f"{c.model} on {c.gpu}" + (f", {c.engine}" if c.engine else "")),
             html.escape(figures), f"<i>Source: {html.escape(c.source)}</i>"]
    if outcome.reason:
        parts.append(f"Why no prediction: {html.escape(outcome.reason)}")
    if c.assumptions:
        parts.append(f"Assumptions: {html.escape(c.assumptions)}")
    rows = "".join(f"<tr><td>{html.escape(label)}</td><td>{html.escape(text)}</td></tr>"
                   for label, text in input_rows(c.inputs, c.inputs.mode))
    return "<p>" + "<br>".join(parts) + f"</p><table cellspacing='0' cellpadding='2'>{rows}</table>"


class AccuracyView(QtWidgets.QWidget):
    """A top-level window over a LedgerJob; `open_requested(PlanInputs)` asks for a plan."""

    open_requested = QtCore.Signal(object)

    def __init__(self, job: LedgerJob, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, QtCore.Qt.WindowType.Window)
        self.setWindowTitle("Accuracy on published runs — gpuplanner")
        self.job = job
        self.outcomes: tuple = ()
        self.current: int | None = None  # outcome index of the selected row
        self.summary_texts: dict[str, str] = {}

        self.class_combo = QtWidgets.QComboBox()
        for figure_class in CLASSES:
            self.class_combo.addItem(CLASS_LABELS[figure_class], figure_class)
        self.filter_edit = QtWidgets.QLineEdit()
        self.filter_edit.setPlaceholderText("Filter rows (model, GPU, engine, source…)")
        self.filter_edit.setClearButtonEnabled(True)
        self.status = QtWidgets.QLabel(COMPUTING)
        self.status.setWordWrap(True)
        self.chart = AccuracyChart()
        self.model = LedgerTableModel(self)
        self.proxy = LedgerFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, QtCore.Qt.SortOrder.AscendingOrder)  # the ledger's own order first
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.missing = QtWidgets.QPlainTextEdit()
        self.missing.setReadOnly(True)
        self.missing.setMaximumHeight(80)
        self.details = QtWidgets.QTextBrowser()
        self.open_button = QtWidgets.QPushButton("Open as plan")
        self.open_button.setToolTip("Load this row's inputs into the planner")
        self.open_button.setEnabled(False)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Figure:"))
        top.addWidget(self.class_combo)
        top.addWidget(self.filter_edit, 1)
        side = QtWidgets.QWidget()
        side_layout = QtWidgets.QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.details, 1)
        side_layout.addWidget(self.open_button)
        upper = QtWidgets.QSplitter()
        upper.addWidget(self.chart)
        upper.addWidget(side)
        upper.setSizes([700, 400])
        lower = QtWidgets.QWidget()
        lower_layout = QtWidgets.QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.table, 1)
        lower_layout.addWidget(QtWidgets.QLabel("Rows without a prediction:"))
        lower_layout.addWidget(self.missing)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self._set_busy(True)

        self.class_combo.currentIndexChanged.connect(self._show_class)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.chart.point_clicked.connect(self.select_outcome)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.open_button.clicked.connect(self._open)
        job.finished.connect(self.set_outcomes)
        job.failed.connect(self._failed)

    # ----- the evaluation ------------------------------------------------------------------
    def showEvent(self, event: QtGui.QShowEvent) -> None:
        """The first show starts the evaluation (or joins the running one, or uses its result)."""
        super().showEvent(event)
        if self.outcomes:
            return
        if self.job.request():
            self.set_outcomes(self.job.outcomes)
        elif self.job.error:
            self._failed(self.job.error)

    def set_outcomes(self, outcomes) -> None:
        if self.outcomes:
            return
        self.outcomes = tuple(outcomes)
        self.summary_texts = self._summaries()
        self.model.set_outcomes(self.outcomes)
        self._set_busy(False)
        self._show_class()

    def _summaries(self) -> dict[str, str]:
        stats = summarize(self.outcomes)
        return {c: summary_text(stats.get(c), sum(1 for o in self.outcomes if o.case.figure_class == c and not o.ok))
                for c in CLASSES}

    def _failed(self, message: str) -> None:
        self.status.setText(f"The ledger could not be evaluated: {message}")

    def _set_busy(self, busy: bool) -> None:
        for w in (self.class_combo, self.filter_edit, self.table, self.chart):
            w.setEnabled(not busy)
        if busy:
            self.status.setText(COMPUTING)

    # ----- one class -----------------------------------------------------------------------
    @property
    def figure_class(self) -> str:
        return self.class_combo.currentData()

    def set_class(self, figure_class: str) -> None:
        self.class_combo.setCurrentIndex(self.class_combo.findData(figure_class))

    def _show_class(self) -> None:
        figure_class = self.figure_class
        self.proxy.set_class(figure_class)
        rows = [i for i, o in enumerate(self.outcomes) if o.case.figure_class == figure_class]
        units = ", ".join(dict.fromkeys(self.outcomes[i].case.unit for i in rows))
        self.chart.show_outcomes(self.outcomes, rows, units)
        self.status.setText(f"<b>{html.escape(CLASS_LABELS[figure_class])}</b>: "
                            f"{html.escape(self.summary_texts.get(figure_class, ''))}")
        self.missing.setPlainText("\n".join(
            f"{o.case.dataset} row {o.case.row_id} ({o.case.model}, {o.case.gpu}): {o.reason}"
            for o in (self.outcomes[i] for i in rows) if not o.ok) or "none")
        self.select_outcome(None)

    # ----- selection -----------------------------------------------------------------------
    def select_outcome(self, index: int | None) -> None:
        """Select outcome `index` in the table and the chart and show its details (None: none)."""
        self.current = index
        self.chart.select(index)
        self.open_button.setEnabled(index is not None)
        if index is None:
            self.table.clearSelection()
            self.details.setHtml(html.escape("Click a point or a row to see its inputs and assumptions."))
            return
        if not self._proxy_row(index).isValid() and self.proxy.text:
            self.filter_edit.clear()  # a point hidden by the filter text: show its row
        proxy_index = self._proxy_row(index)
        if proxy_index.isValid() and self.table.currentIndex().row() != proxy_index.row():
            self.table.selectRow(proxy_index.row())
            self.table.scrollTo(proxy_index)
        self.details.setHtml(details_html(self.outcomes[index]))

    def _proxy_row(self, index: int) -> QtCore.QModelIndex:
        return self.proxy.mapFromSource(self.model.index(index, COLUMN_INDEX["Dataset"]))

    def _row_changed(self, current: QtCore.QModelIndex, _previous) -> None:
        if current.isValid():
            index = self.proxy.mapToSource(current).row()
            if index != self.current:
                self.select_outcome(index)

    def selected_row(self) -> int | None:
        """Outcome index of the table's selected row."""
        rows = self.table.selectionModel().selectedRows()
        return self.proxy.mapToSource(rows[0]).row() if rows else None

    def _open(self) -> None:
        if self.current is not None:
            self.open_requested.emit(self.outcomes[self.current].case.inputs)
