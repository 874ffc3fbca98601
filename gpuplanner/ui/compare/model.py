"""The compare table's Qt models: the sweep DataFrame as a table, and its filters.

Numbers sort by value through SORT_ROLE (never as text: $9.50 < $10.20 < $100); gaps sort
last. Cells are formatted when first shown; the filters are one vectorised mask per change.
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


def _number(value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x


class _Rows(Sequence):
    """The model's rows in the order shown, each a dict built when first read (a view reads a
    few dozen of ~1,600 rows; the chart and the cheapest highlight read the ones shown)."""

    def __init__(self, model: SweepTableModel):
        self._model = model

    def __len__(self) -> int:
        return len(self._model.order)

    def __getitem__(self, i):  # an index, not a slice: callers read single rows
        return self._model.record(self._model.order[i])


class SweepTableModel(QtCore.QAbstractTableModel):
    """Read-only rows of a sweep table; `cheapest` rows (positions shown) get a highlight.

    A new sweep is a batch of column lists (no per-row work); cells are formatted when first
    shown, and sorting reorders positions by one vectorised argsort of the column, so neither a
    new sweep nor a click on a header runs Python once per row."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.rows: Sequence[dict] = _Rows(self)
        self.order: list[int] = []  # shown position -> table row
        self._table: pd.DataFrame | None = None
        self._columns: dict[str, list] = {}  # the table's columns as Python lists, table order
        self._records: dict[int, dict] = {}
        self._cells: dict[tuple[int, int], str] = {}
        self._sorted_by: tuple | None = None  # (column, order) of the last sort, kept for new tables
        self.cheapest: set[int] = set()
        self.filters: tuple[str, str, bool] = ("", "", False)
        self.mask: list[bool] = []  # per table row: passes the filters
        self.price_kind = "on_demand"  # the price `cheapest` ranks by: the sweep's (PlanInputs.price_kind)

    def set_table(self, table: pd.DataFrame) -> None:
        """Show `table`, in the last sort order and through the last filters (one reset: the
        proxy filters each row once)."""
        self.beginResetModel()
        self.price_kind = table.attrs.get(PRICE_KIND_ATTR, "on_demand")
        self._table = table.reset_index(drop=True)
        self._table.attrs = {}  # pandas deep-copies attrs (the frontier) into every column read below
        self._columns = {key: self._table[key].tolist() for key in self._table.columns}
        self._records = {}
        self.order = list(range(len(self._table)))
        if self._sorted_by is not None and self.order:
            self.order = self._ranked(*self._sorted_by)
        self._cells = {}
        self.cheapest = set()
        self.set_filters(*self.filters)
        self.endResetModel()

    def record(self, table_row: int) -> dict:
        """Row `table_row` of the table (in the table's order) as a dict, built once."""
        row = self._records.get(table_row)
        if row is None:
            row = self._records[table_row] = {key: values[table_row] for key, values in self._columns.items()}
        return row

    def cheapest_first(self, positions: list[int]) -> dict[str, list[int]]:
        """Per mode, the `positions` (rows shown) of feasible rows, cheapest first at the sweep's
        price kind, by the core's one rule (the sweep's `cheapest` column when every row is shown). It reads small rows of
        the keys that rule needs, not whole records."""
        columns = {key: self._columns[key] for key in RANK_KEYS if key in self._columns}
        if "meets_slo" in columns:  # rows the rule would drop anyway are not built (a rule-free prefilter)
            order = np.asarray(self.order, dtype=int)
            kept = (np.asarray(columns["fits"], dtype=bool) & np.asarray(columns["meets_slo"], dtype=bool))[order]
            positions = [i for i in positions if kept[i]] if len(positions) else positions
        ranking = [{key: values[self.order[i]] for key, values in columns.items()} for i in positions]
        return {mode: [positions[i] for i in cheapest_first(ranking, mode, self.price_kind)] for mode in MODE_NAMES}

    def set_filters(self, cloud: str, mode: str, fits_only: bool) -> None:
        """Keep the rows of `cloud` and `mode` ('' = any) that fit (if `fits_only`): one
        vectorised mask over the table, kept in `mask` (table order) for the proxy to read."""
        self.filters = (cloud, mode, fits_only)
        mask = np.ones(len(self.order), dtype=bool)
        if self._columns:
            if cloud:
                mask &= np.asarray(self._columns["cloud"], dtype=object) == cloud
            if mode:
                mask &= np.asarray(self._columns["mode"], dtype=object) == mode
            if fits_only:
                mask &= np.asarray(self._columns["fits"], dtype=bool)
        self.mask = mask.tolist()

    def sort(self, column: int, order=QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """Numbers by value, text case-blind, gaps last in either order."""
        self._sorted_by = (column, order)
        if not self.order:
            return
        ranked = self._ranked(column, order)
        cheapest = {self.order[i] for i in self.cheapest}
        self.layoutAboutToBeChanged.emit()
        self.order = ranked
        self.cheapest = {i for i, row in enumerate(self.order) if row in cheapest}
        self._cells = {}
        self.layoutChanged.emit()

    def _ranked(self, column: int, order) -> list[int]:
        """Table rows in the order of `column` (one vectorised argsort), gaps last."""
        keys = self._sort_keys(COLUMNS[column])
        missing = np.isnan(keys) if keys.dtype != object else np.zeros(len(keys), dtype=bool)
        ranked = np.argsort(keys, kind="stable")
        if order == QtCore.Qt.SortOrder.DescendingOrder:
            ranked = ranked[::-1]
        return np.concatenate([ranked[~missing[ranked]], ranked[missing[ranked]]]).tolist()

    def _sort_keys(self, column: Column) -> np.ndarray:
        import pandas as pd  # loaded already: a table is shown

        if column.key not in self._columns:
            return np.array([""] * len(self.order), dtype=object)
        if column.key == "reason":
            return np.array([self._text(column, self.record(i)).lower() for i in range(len(self.order))], dtype=object)
        if column.fmt is None:
            texts = pd.Series(self._columns[column.key], dtype=object)
            if column.key == "mode":
                texts = texts.map(MODE_NAMES).fillna(texts)
            return texts.astype(str).str.lower().to_numpy(dtype=object)
        return pd.to_numeric(self._table[column.key], errors="coerce").to_numpy(dtype=float)

    @staticmethod
    def _text(column: Column, row: dict) -> str:
        value = row.get(column.key)
        if column.key == "reason":
            return (f"fits — {value}" if value else "fits") if row.get("fits") else (value or "does not fit")
        if column.fmt is None:
            return MODE_NAMES.get(value, value) if column.key == "mode" else str(value)
        x = _number(value)
        return column.fmt(x) if math.isfinite(x) else ""

    def widest_texts(self, c: int, positions: list[int]) -> list[str]:
        """Texts among which is the widest of column `c` over the rows at `positions`: every
        distinct text of a text column, the extremes of a numeric one (its text grows with the
        magnitude), without formatting every row."""
        column = COLUMNS[c]
        if column.key not in self._columns or not positions:
            return []
        rows = np.asarray(self.order, dtype=int)[positions]
        values = np.asarray(self._columns[column.key], dtype=object)[rows]
        if column.fmt is None:
            return [self._text(column, {column.key: v}) for v in set(values.tolist())]
        numbers = np.array([_number(v) for v in values], dtype=float)
        numbers = numbers[np.isfinite(numbers)]
        extremes = np.concatenate([np.sort(numbers)[:3], np.sort(numbers)[-3:]]) if len(numbers) else numbers
        return [column.fmt(float(x)) for x in extremes]

    def cell_text(self, r: int, c: int) -> str:
        """The text shown in row `r` (as shown), column `c`; formatted once."""
        text = self._cells.get((r, c))
        if text is None:
            text = self._cells[(r, c)] = self._text(COLUMNS[c], self.rows[r])
        return text

    def set_cheapest(self, rows: set[int]) -> None:
        """Highlight `rows`; only the rows whose highlight changes are repainted."""
        changed = self.cheapest ^ set(rows)
        self.cheapest = set(rows)
        for r in changed:
            self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1),
                                  [QtCore.Qt.ItemDataRole.BackgroundRole])

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QtCore.QModelIndex, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self.cell_text(r, c)
        if role == SORT_ROLE:
            x = _number(self.rows[r].get(COLUMNS[c].key))
            return self.cell_text(r, c).lower() if COLUMNS[c].fmt is None or COLUMNS[c].key == "reason" else \
                (x if math.isfinite(x) else math.inf)
        if role == ROW_ROLE:
            return self.rows[r]
        if role == QtCore.Qt.ItemDataRole.ToolTipRole and COLUMNS[c].key == "reason":
            return self.cell_text(r, c)
        if role == QtCore.Qt.ItemDataRole.BackgroundRole and r in self.cheapest:
            return QtGui.QBrush(HIGHLIGHT)
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole and COLUMNS[c].fmt is not None:
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        return column_header(COLUMNS, section, orientation, role)


class SweepFilter(QtCore.QSortFilterProxyModel):
    """Shows the source's rows that pass its filters (cloud, mode, fits-only), in its order."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def set_filters(self, cloud: str, mode: str, fits_only: bool) -> None:
        if (cloud, mode, fits_only) == self.sourceModel().filters:
            return  # the model filtered its table with these already
        if not hasattr(self, "endFilterChange"):  # Qt < 6.10; invalidateFilter is deprecated from 6.10
            self.sourceModel().set_filters(cloud, mode, fits_only)
            self.invalidateFilter()
            return
        self.beginFilterChange()
        self.sourceModel().set_filters(cloud, mode, fits_only)
        self.endFilterChange()

    def sort(self, column: int, order=QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """Sorting happens in the source model (one argsort); this proxy keeps its order."""
        self.sourceModel().sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: QtCore.QModelIndex) -> bool:
        model = self.sourceModel()
        return model.mask[model.order[source_row]]

    def accepted_source_rows(self) -> list[int]:
        """Positions in the source of the rows shown (this proxy never reorders them)."""
        model = self.sourceModel()
        return np.flatnonzero(np.asarray(model.mask, dtype=bool)[model.order]).tolist() if model.order else []
