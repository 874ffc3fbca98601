"""The compare table's Qt model: the sweep DataFrame's rows that pass the filters, sorted.

Numbers sort by value (never as text: $9.50 < $10.20 < $100); gaps sort last. Sorting and
filtering are numpy over whole columns (an argsort, a mask), so neither a click on a header nor
a filter change runs Python once per row; cells are formatted when first shown. The view reads
this model directly: a QSortFilterProxyModel in between asked Python for each row on every
filter change and tripled the Python calls behind each painted cell.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui

from gpuplanner.core.pricing import COST_KEYS, PRICE_KIND_ATTR, cheapest_first
from gpuplanner.core.units import fmt_usd
from gpuplanner.ui.plan.formatting import fmt_int
from gpuplanner.ui.tables import column_header

if TYPE_CHECKING:  # pandas loads with the first comparison, not at start-up
    import pandas as pd

SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
ROW_ROLE = QtCore.Qt.ItemDataRole.UserRole + 2  # the source row's dict
MODE_NAMES = {"train": "training", "infer": "serving"}
RANK_KEYS = ("mode", "fits", "meets_slo", *COST_KEYS.values(), "gpus", "serving_gpus",
             "training_days")  # what core.pricing's cheapest-first rule reads of a row
HIGHLIGHT = QtGui.QColor(76, 175, 80, 90)
_HIGHLIGHT_BRUSH = QtGui.QBrush(HIGHLIGHT)
# data() runs for every role of every painted cell: roles compared as plain ints
_DISPLAY, _TOOLTIP, _ALIGNMENT, _BACKGROUND = (int(r) for r in (
    QtCore.Qt.ItemDataRole.DisplayRole, QtCore.Qt.ItemDataRole.ToolTipRole,
    QtCore.Qt.ItemDataRole.TextAlignmentRole, QtCore.Qt.ItemDataRole.BackgroundRole))
_SORT, _ROW = int(SORT_ROLE), int(ROW_ROLE)
_OWN_ROLES = (_SORT, _ROW, _TOOLTIP)  # the other roles data() answers (a delegate asks none of them)
_RIGHT = int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)


def _days(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.3g}"


def _money(x: float) -> str:
    return fmt_usd(x) if math.isfinite(x) else ""


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    fmt: Callable | None = None  # None: a text column
    tip: str = ""


COLUMNS = (
    Column("Mode", "mode", tip="training or serving"),
    Column("Precision", "precision"),
    Column("Cloud", "cloud"),
    Column("Instance", "instance_type"),
    Column("GPU", "gpu"),
    Column("GPUs", "gpus", fmt_int, "GPUs of the plan (one serving replica)"),
    Column("Instances", "instances", fmt_int),
    Column("$/h", "price_usd_per_hour", _money, "on-demand price of the plan's instances per hour"),
    Column("Spot $/h", "spot_price_usd_per_hour", _money),
    Column("Days", "training_days", _days, "training time in days"),
    Column("Training $", "training_cost_usd", _money, "on-demand cost of the whole training run"),
    Column("Spot training $", "training_spot_cost_usd", _money, "the run at spot prices, without interruptions"),
    Column("Reserved training $", "training_reserved_cost_usd", _money,
           "the run on 1-year reserved capacity: the commitment bills a whole year"),
    Column("$/1M tok", "usd_per_million_tokens", _money,
           "the monthly bill over the output tokens served per month at the request rate, per million"),
    Column("$/month", "monthly_cost_usd", _money,
           "whole instances that carry the request rate within the per-user speed floor × 730 h"),
    Column("Spot $/month", "spot_monthly_cost_usd", _money, "the same instances at spot prices × 730 h"),
    Column("Reserved $/month", "reserved_monthly_cost_usd", _money,
           "the busiest hour's instances on 1-year reserved capacity, all month"),
    Column("Fits / reason", "reason", tip="why a configuration does not fit"),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
_RIGHT_ALIGNED = tuple(c.fmt is not None for c in COLUMNS)


def _number(value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x


def _reason_text(fits, reason) -> str:
    """The "Fits / reason" cell: why a row does not fit, or that it fits (with any note)."""
    return (f"fits — {reason}" if reason else "fits") if fits else (reason or "does not fit")


class _Rows(Sequence):
    """The rows shown, in the order shown, each a dict built when first read (a view reads a
    few dozen of ~1,000 rows; the chart and the cheapest highlight read the ones they show)."""

    def __init__(self, model: SweepTableModel):
        self._model = model

    def __len__(self) -> int:
        return len(self._model.order)

    def __getitem__(self, i):  # an index, not a slice: callers read single rows
        return self._model.record(self._model.order[i])


class SweepTableModel(QtCore.QAbstractTableModel):
    """The rows of a sweep table that pass `filters`, in the last sort order; `cheapest` rows
    (positions shown) get a highlight.

    A new sweep is a batch of column lists (no per-row work); a sort or a filter change
    computes the rows shown with numpy and moves the view's selection along with them."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.rows: Sequence[dict] = _Rows(self)
        self.order: list[int] = []  # shown position -> table row
        self._table: pd.DataFrame | None = None
        self._columns: dict[str, list] = {}  # the table's columns as Python lists, table order
        self._numbers: dict[str, np.ndarray] = {}  # numeric columns as floats (NaN: a gap), when first needed
        self._arrays: dict[tuple, np.ndarray] = {}  # (column, dtype) -> the column as an array, when first needed
        self._records: dict[int, dict] = {}
        self._cells: dict[tuple[int, int], str] = {}  # (table row, column) -> text
        self._ranked: np.ndarray = np.zeros(0, dtype=int)  # every table row in the sort order
        self._mask: np.ndarray = np.zeros(0, dtype=bool)  # per table row: passes the filters
        self._sorted_by: tuple | None = None  # (column, order) of the last sort, kept for new tables
        self.cheapest: set[int] = set()
        self.filters: tuple[str, str, bool] = ("", "", False)
        self.price_kind = "on_demand"  # the price `cheapest` ranks by: the sweep's (PlanInputs.price_kind)

    # ----- the table, the filters and the order --------------------------------------------
    def set_table(self, table: pd.DataFrame) -> None:
        """Show `table`, in the last sort order and through the last filters (one reset)."""
        import pandas as pd  # loaded already: the table is one

        self.beginResetModel()
        self.price_kind = table.attrs.get(PRICE_KIND_ATTR, "on_demand")
        # a frame without attrs: pandas deep-copies attrs (the serving frontier) into every
        # column read or copy made, which once cost a second of GUI-thread time per sweep
        self._table = pd.DataFrame(table, copy=False)
        self._columns = {key: self._table[key].tolist() for key in self._table.columns}
        self._numbers, self._arrays, self._records, self._cells = {}, {}, {}, {}
        self._ranked = self._sorted(*self._sorted_by) if self._sorted_by else np.arange(len(self._table))
        self._mask = self._filtered(*self.filters)
        self.order = self._shown().tolist()
        self.cheapest = set()
        self.endResetModel()

    def column(self, key: str) -> list:
        """Column `key` of the table (all rows, table order); empty before the first table."""
        return self._columns.get(key, [])

    def set_filters(self, cloud: str, mode: str, fits_only: bool) -> None:
        """Show the rows of `cloud` and `mode` ('' = any) that fit (if `fits_only`)."""
        if (cloud, mode, fits_only) == self.filters:
            return
        self.filters = (cloud, mode, fits_only)
        self._mask = self._filtered(cloud, mode, fits_only)
        self._relayout()

    def sort(self, column: int, order=QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """Numbers by value, text case-blind, gaps last in either order (column < 0: table order)."""
        self._sorted_by = (column, order) if column >= 0 else None
        self._ranked = self._sorted(column, order) if column >= 0 else np.arange(len(self._mask))
        self._relayout()

    def _shown(self) -> np.ndarray:
        return self._ranked[self._mask[self._ranked]] if len(self._ranked) else self._ranked

    def _relayout(self) -> None:
        """Show the rows of the current sort and filters; the selection and the highlight
        follow their rows (a row filtered out drops out of the selection)."""
        order = self._shown().tolist()
        if order == self.order:
            return
        self.layoutAboutToBeChanged.emit()
        cheapest = [self.order[i] for i in self.cheapest]
        persistent = self.persistentIndexList()
        moved = [(self.order[i.row()], i.column()) for i in persistent]
        self.order = order
        position = np.full(len(self._mask), -1)  # table row -> position shown (-1: filtered out)
        position[order] = np.arange(len(order))
        self.cheapest = {int(position[row]) for row in cheapest if position[row] >= 0}
        self.changePersistentIndexList(persistent, [
            self.createIndex(int(position[row]), c) if position[row] >= 0 else QtCore.QModelIndex()
            for row, c in moved])
        self.layoutChanged.emit()

    def _filtered(self, cloud: str, mode: str, fits_only: bool) -> np.ndarray:
        """Per table row: passes the filters (one vectorised mask)."""
        mask = np.ones(len(self._table) if self._table is not None else 0, dtype=bool)
        if self._columns:
            if cloud:
                mask &= self.array("cloud", object) == cloud
            if mode:
                mask &= self.array("mode", object) == mode
            if fits_only:
                mask &= self.array("fits", bool)
        return mask

    def _sorted(self, column: int, order) -> np.ndarray:
        """Every table row in the order of `column` (one vectorised argsort), gaps last."""
        keys = self._sort_keys(COLUMNS[column])
        missing = np.isnan(keys) if keys.dtype.kind == "f" else np.zeros(len(keys), dtype=bool)
        ranked = np.argsort(keys, kind="stable")
        if order == QtCore.Qt.SortOrder.DescendingOrder:
            ranked = ranked[::-1]
        return np.concatenate([ranked[~missing[ranked]], ranked[missing[ranked]]])

    def _sort_keys(self, column: Column) -> np.ndarray:
        """The values `column` sorts by: floats for numbers, lower-case texts (as shown) for text."""
        if self._table is None or column.key not in self._columns:
            return np.zeros(len(self._mask))
        if column.fmt is not None:
            return self.numbers(column.key)
        values = self._table[column.key].astype(object)
        if column.key == "mode":
            texts = values.map(MODE_NAMES).fillna(values).astype(str)
        elif column.key == "reason":
            reason = values.fillna("").astype(str)
            fits = self._table["fits"].astype(bool)  # as the cell reads it
            texts = ("fits — " + reason).where(reason != "", "fits").where(fits, reason.where(reason != "",
                                                                                             "does not fit"))
        else:
            texts = values.astype(str)
        return np.asarray(texts.str.lower().tolist(), dtype=str)

    def array(self, key: str, dtype) -> np.ndarray:
        """Column `key` as a numpy array of `dtype`, converted once per table."""
        values = self._arrays.get((key, dtype))
        if values is None:
            values = self._arrays[(key, dtype)] = np.asarray(self._columns[key], dtype=dtype)
        return values

    def numbers(self, key: str) -> np.ndarray:
        """Numeric column `key` as floats (NaN for gaps and text), converted once per table."""
        values = self._numbers.get(key)
        if values is None:
            import pandas as pd  # loaded already: a table is shown

            values = self._numbers[key] = pd.to_numeric(self._table[key], errors="coerce").to_numpy(dtype=float)
        return values

    # ----- the rows shown --------------------------------------------------------------------
    def record(self, table_row: int) -> dict:
        """Row `table_row` of the table (in the table's order) as a dict, built once."""
        row = self._records.get(table_row)
        if row is None:
            row = self._records[table_row] = {key: values[table_row] for key, values in self._columns.items()}
        return row

    def cheapest_first(self, limit: int) -> dict[str, list[int]]:
        """Per mode, the positions (rows shown) of the `limit` cheapest feasible rows at the
        sweep's price kind, by the core's one rule. The rule reads small rows of the rows
        shown whose cost is among the `limit` lowest (its first key), not every record."""
        if not self.order:
            return {mode: [] for mode in MODE_NAMES}
        shown = np.asarray(self.order, dtype=int)
        modes = self.array("mode", object)[shown]
        fits = self.array("fits", bool)[shown]
        if "meets_slo" in self._columns:
            fits &= self.array("meets_slo", bool)[shown]
        columns = {key: self._columns[key] for key in RANK_KEYS if key in self._columns}
        ranked = {}
        for mode in MODE_NAMES:
            key = COST_KEYS[(mode, self.price_kind)]
            cost = self.numbers(key)[shown] if key in self._columns else np.full(len(shown), np.nan)
            candidates = np.flatnonzero((modes == mode) & fits & np.isfinite(cost))
            for kept in (candidates[cost[candidates] <= np.sort(cost[candidates])[limit - 1]]
                         if len(candidates) > limit else candidates, candidates):
                rows = [{key: values[self.order[i]] for key, values in columns.items()} for i in kept]
                first = [int(kept[i]) for i in cheapest_first(rows, mode, self.price_kind)][:limit]
                if len(first) == min(limit, len(candidates)):  # else a rule-only refusal: rank them all
                    break
            ranked[mode] = first
        return ranked

    def widest_texts(self, c: int) -> list[str]:
        """Texts among which is the widest of column `c` over the rows shown: every distinct
        text of a text column, the extremes of a numeric one (its text grows with the
        magnitude), without formatting every row."""
        column = COLUMNS[c]
        if column.key not in self._columns or not self.order:
            return []
        shown = np.asarray(self.order, dtype=int)
        if column.fmt is None:
            if column.key == "reason":
                pairs = zip(self.array("fits", object)[shown].tolist(),
                            self.array("reason", object)[shown].tolist())
                return [_reason_text(fits, reason) for fits, reason in set(pairs)]
            values = self.array(column.key, object)[shown]
            return [self._text(column, {column.key: v}) for v in set(values.tolist())]
        numbers = self.numbers(column.key)[shown]
        numbers = np.sort(numbers[np.isfinite(numbers)])
        return [column.fmt(float(x)) for x in np.concatenate([numbers[:3], numbers[-3:]])]

    @staticmethod
    def _text(column: Column, row: dict) -> str:
        value = row.get(column.key)
        if column.key == "reason":
            return _reason_text(row.get("fits"), value)
        if column.fmt is None:
            return MODE_NAMES.get(value, value) if column.key == "mode" else str(value)
        x = _number(value)
        return column.fmt(x) if math.isfinite(x) else ""

    def cell_text(self, r: int, c: int) -> str:
        """The text shown in row `r` (as shown), column `c`; formatted once per table."""
        key = (self.order[r], c)
        text = self._cells.get(key)
        if text is None:
            text = self._cells[key] = self._text(COLUMNS[c], self.rows[r])
        return text

    def set_cheapest(self, rows: set[int]) -> None:
        """Highlight `rows`; only the rows whose highlight changes are repainted."""
        changed = self.cheapest ^ set(rows)
        self.cheapest = set(rows)
        for r in changed:
            self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1),
                                  [QtCore.Qt.ItemDataRole.BackgroundRole])

    # ----- QAbstractTableModel -----------------------------------------------------------------
    def index(self, row: int, column: int, parent=QtCore.QModelIndex()) -> QtCore.QModelIndex:
        """One Python call per cell (the base class asks rowCount and columnCount each time)."""
        if 0 <= row < len(self.order) and 0 <= column < len(COLUMNS) and not parent.isValid():
            return self.createIndex(row, column)
        return QtCore.QModelIndex()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QtCore.QModelIndex, role=_DISPLAY):
        if role == _DISPLAY:
            return self.cell_text(index.row(), index.column()) if index.isValid() else None
        if role == _ALIGNMENT:
            return _RIGHT if _RIGHT_ALIGNED[index.column()] else None
        if role == _BACKGROUND:
            return _HIGHLIGHT_BRUSH if index.row() in self.cheapest else None
        if not index.isValid() or role not in (_SORT, _ROW, _TOOLTIP):
            return None
        r, c = index.row(), index.column()
        if role == _SORT:
            column = COLUMNS[c]
            if column.fmt is None or column.key == "reason":
                return self.cell_text(r, c).lower()
            x = _number(self.rows[r].get(column.key))
            return x if math.isfinite(x) else math.inf
        if role == _ROW:
            return self.rows[r]
        return self.cell_text(r, c) if COLUMNS[c].key == "reason" else None

    def multiData(self, index: QtCore.QModelIndex, roles: QtCore.QModelRoleDataSpan) -> None:
        """Every role a painted cell asks for, in one Python call: Qt's item delegate asks for
        seven roles per cell, and seven calls from C++ into Python cost more than drawing it.
        The delegate reuses its span from cell to cell, so a role without a value is cleared."""
        if not index.isValid():
            return
        r, c = index.row(), index.column()
        for role_data in roles:
            role = role_data.role()
            if role == _DISPLAY:
                role_data.setData(self.cell_text(r, c))
            elif role == _ALIGNMENT and _RIGHT_ALIGNED[c]:
                role_data.setData(_RIGHT)
            elif role == _BACKGROUND and r in self.cheapest:
                role_data.setData(_HIGHLIGHT_BRUSH)
            elif role in _OWN_ROLES:
                role_data.setData(self.data(index, role))
            else:
                role_data.clearData()

    def headerData(self, section: int, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        return column_header(COLUMNS, section, orientation, role)
