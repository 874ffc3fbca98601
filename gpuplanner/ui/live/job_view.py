"""Measured vs planned for the GPUs of a running job (monitor/job_check.py computes it)."""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from gpuplanner.monitor.job_check import CheckRow, JobCheck

HEADERS = ("Figure", "Measured", "Plan", "Measured / plan")
_GIB = 2**30


def format_value(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if unit == "bytes":
        return f"{value / _GIB:,.1f} GiB"
    if unit == "pct":
        return f"{value:,.0f} %"
    return f"{value:,.0f}"


class JobCheckView(QtWidgets.QWidget):
    """A table of `CheckRow`s and a line naming the job's GPUs beside the plan's."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.show_message("Job vs plan: select the job's GPUs in the overview (filter by Slurm job or pod, "
                          "then Select all).")

    def show_message(self, text: str) -> None:
        self.summary.setText(text)
        self.table.setRowCount(0)

    def show_check(self, check: JobCheck, gpu_count: int) -> None:
        models = ", ".join(check.gpu_models) or "unknown GPUs"
        self.summary.setText(f"Job vs plan: {gpu_count} GPU(s) picked, running on {models}; "
                             f"the plan is for {check.plan_gpu}.")
        self.table.setRowCount(len(check.rows))
        for i, row in enumerate(check.rows):
            self._set_row(i, row)

    def _set_row(self, i: int, row: CheckRow) -> None:
        ratio = f"{row.ratio:.2f}" if math.isfinite(row.ratio) else "n/a"
        cells = (row.label, format_value(row.measured, row.unit), format_value(row.predicted, row.unit), ratio)
        for j, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(text)
            item.setToolTip(row.source)  # what is measured and which plan figure it is held against
            if j:
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(i, j, item)

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""
