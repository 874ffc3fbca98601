"""The ledger's rows as a Qt table: every Outcome of `validate`, one row each, in its order.

Numbers sort by value through SORT_ROLE (rows without a prediction sort last); the proxy keeps
one figure class and the rows whose text matches the filter box.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore

from gpuplanner.core.accuracy import Outcome
from gpuplanner.core.fields import percent_text
from gpuplanner.core.units import fmt_sig
from gpuplanner.ui.compare.model import SORT_ROLE
from gpuplanner.ui.tables import column_header

CLASS_LABELS = {
    "training_throughput": "Training throughput / MFU", "training_memory": "Training peak memory",
    "weights_memory": "Weights memory", "serving_kv_pool": "Serving KV pool and concurrency",
    "serving_throughput": "Serving throughput", "ttft": "Time to first token (TTFT)",
    "tpot": "Time per output token (TPOT)",
}


def value_text(x: float) -> str:
    return fmt_sig(x, 4) if math.isfinite(x) else ""


def error_text(error: float) -> str:
    """Signed percentage: '+1.8 %', '-20.5 %'; '' for a row without a prediction."""
    if not math.isfinite(error):
        return ""
    return ("+" if error >= 0 else "") + percent_text(error)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Outcome], object]
    text: Callable[[object], str] = str
    numeric: bool = False
    tip: str = ""


COLUMNS = (
    Column("Dataset", lambda o: o.case.dataset),
    Column("Row", lambda o: int(o.case.row_id), numeric=True, tip="row_id in resources/validation/<dataset>.csv"),
    Column("Model", lambda o: o.case.model),
    Column("GPU", lambda o: o.case.gpu),
    Column("Engine", lambda o: o.case.engine),
    Column("Figure", lambda o: o.case.figure),
    Column("Predicted", lambda o: o.predicted, value_text, True, "the planner's figure, in the source's unit"),
    Column("Measured", lambda o: o.case.measured, value_text, True, "the published figure"),
    Column("Unit", lambda o: o.case.unit),
    Column("Error", lambda o: o.error, error_text, True, "predicted / measured − 1"),
    Column("Source", lambda o: o.case.source),
    Column("Why no prediction", lambda o: o.reason),
)
COLUMN_INDEX = {c.header: i for i, c in enumerate(COLUMNS)}


class LedgerTableModel(QtCore.QAbstractTableModel):
    """Read-only rows of the evaluated ledger; texts and sort keys computed once per load."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.outcomes: tuple = ()
        self._values: list[list] = []
        self._texts: list[list[str]] = []

    def set_outcomes(self, outcomes) -> None:
        self.beginResetModel()
        self.outcomes = tuple(outcomes)
        self._values = [[c.value(o) for c in COLUMNS] for o in self.outcomes]
        self._texts = [[c.text(v) for c, v in zip(COLUMNS, row)] for row in self._values]
        self.endResetModel()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.outcomes)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QtCore.QModelIndex, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self._texts[row][col]
        if role == SORT_ROLE:
            value = self._values[row][col]
            if COLUMNS[col].numeric:
                return value if math.isfinite(value) else math.inf  # gaps last
            return str(value).lower()
        if role == QtCore.Qt.ItemDataRole.ToolTipRole and col in (COLUMN_INDEX["Source"],
                                                                  COLUMN_INDEX["Why no prediction"]):
            return self._texts[row][col] or None
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole and COLUMNS[col].numeric:
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        return column_header(COLUMNS, section, orientation, role)


class LedgerFilter(QtCore.QSortFilterProxyModel):
    """One figure class, and rows any of whose texts contains the filter text (case-blind)."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.figure_class = ""
        self.text = ""

    def set_class(self, figure_class: str) -> None:
        self._change(figure_class=figure_class)

    def set_text(self, text: str) -> None:
        self._change(text=text.strip().lower())

    def _change(self, **values) -> None:
        if not hasattr(self, "endFilterChange"):  # Qt < 6.10; invalidateFilter is deprecated from 6.10
            self._assign(values)
            self.invalidateFilter()
            return
        self.beginFilterChange()
        self._assign(values)
        self.endFilterChange()

    def _assign(self, values: dict) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def filterAcceptsRow(self, source_row: int, source_parent: QtCore.QModelIndex) -> bool:
        model = self.sourceModel()
        if model.outcomes[source_row].case.figure_class != self.figure_class:
            return False
        return not self.text or any(self.text in t.lower() for t in model._texts[source_row])

    def shown_rows(self) -> list[int]:
        """Outcome indexes of the rows shown, top to bottom."""
        return [self.mapToSource(self.index(r, 0)).row() for r in range(self.rowCount())]
