"""View the catalogs the plan uses (GPUs, instances, models, with source and as-of) and add a
user catalog CSV (e.g. negotiated prices). A bad file is reported in the dialog, naming file,
row and column; the catalogs in use stay as they were.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.price_age import price_as_of
from gpuplanner.core.units import GIB, fmt_count
from gpuplanner.ui.plan.form import ERROR_STYLE


def _num(x: float, fmt: str = "{:,.4g}"):
    """A number cell: shown formatted, sorted by value; a gap is empty and sorts last."""
    return (fmt.format(x), x) if math.isfinite(x) else ("", math.inf)


def gpu_rows(catalogs: Catalogs) -> list[tuple]:
    return [(g.name, g.full_name, _num(g.capacity_bytes / GIB, "{:,.1f}"), _num(g.memory_gb_marketing),
             _num(g.bandwidth_bytes_per_s / 1e9), _num(g.peak("bf16") / 1e12), g.as_of, g.source)
            for g in catalogs.gpus.values()]


def instance_rows(catalogs: Catalogs) -> list[tuple]:
    return [(i.cloud, i.instance_type, i.gpu or "(no datasheet: see notes)", _num(i.gpu_count, "{:d}"),
             _num(i.price_usd_per_hour, "{:,.2f}"), _num(i.spot_price_usd_per_hour, "{:,.2f}"), i.region,
             _num(i.network_bytes_per_s * 8 / 1e9, "{:,.0f}"),
             _num(i.nvlink_domain_gpus, "{:d}") if i.nvlink_domain_gpus else ("", 0), i.as_of,
             i.source + (f" — {i.notes}" if i.notes else "")) for i in catalogs.instances.values()]


def model_rows(catalogs: Catalogs) -> list[tuple]:
    return [(m.name, (fmt_count(m.total_params()), m.total_params()), _num(m.n_layers, "{:d}"),
             _num(m.hidden, "{:d}"), _num(m.n_heads, "{:d}"), _num(m.n_kv_heads, "{:d}"),
             _num(m.n_experts, "{:d}") if m.n_experts else ("", 0), m.source) for m in catalogs.models.values()]


TABLES = (
    ("GPUs", ("Name", "Full name", "Memory (GiB)", "Marketing GB", "Bandwidth (GB/s)", "BF16 TFLOP/s",
              "As of", "Source"), gpu_rows),
    ("Instances", ("Cloud", "Instance", "GPU", "GPUs", "$/h", "Spot $/h", "Region", "Network (Gb/s)",
                   "NVLink domain", "As of", "Source"),
     instance_rows),
    ("Models", ("Model", "Parameters", "Layers", "Hidden", "Heads", "KV heads", "Experts", "Source"), model_rows),
)


class _Cell(QtWidgets.QTableWidgetItem):
    """A cell that sorts by its value (numbers as numbers), not by its text."""

    def __init__(self, text: str, key):
        super().__init__(text)
        self.key = key
        self.setToolTip(text)

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:
        other_key = getattr(other, "key", other.text())
        if isinstance(self.key, str) != isinstance(other_key, str):
            return isinstance(other_key, str)  # numbers before text
        return self.key < other_key


class CatalogDialog(QtWidgets.QDialog):
    """`load_user_file(path)` returns the new Catalogs or raises CatalogError."""

    def __init__(self, catalogs: Catalogs, load_user_file: Callable[[str], Catalogs],
                 choose_file: Callable[[], str], parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Catalogs")
        self.resize(1000, 560)
        self._load_user_file = load_user_file
        self._choose_file = choose_file
        self.tabs = QtWidgets.QTabWidget()
        self.tables = {}
        for title, headers, _ in TABLES:
            table = QtWidgets.QTableWidget(0, len(headers))
            table.setHorizontalHeaderLabels(headers)
            table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
            table.verticalHeader().setVisible(False)
            table.setSortingEnabled(True)
            self.tables[title] = table
            self.tabs.addTab(table, title)
        self.origins = QtWidgets.QLabel()
        self.origins.setWordWrap(True)
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        load = QtWidgets.QPushButton("Load user catalog CSV…")
        load.setToolTip("Add or override GPUs, instances (e.g. negotiated prices) or models from a CSV "
                        "with the same columns as the bundled catalog.")
        load.clicked.connect(self._on_load)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(load)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.origins)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.show_catalogs(catalogs)

    def show_catalogs(self, catalogs: Catalogs) -> None:
        for title, _, rows_of in TABLES:
            table = self.tables[title]
            table.setSortingEnabled(False)
            rows = rows_of(catalogs)
            table.setRowCount(len(rows))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    text, key = cell if isinstance(cell, tuple) else (cell, cell.lower())
                    table.setItem(r, c, _Cell(text, key))
            table.resizeColumnsToContents()
            for c in range(table.columnCount() - 1):
                table.setColumnWidth(c, min(table.columnWidth(c), 260))
            table.horizontalHeader().setStretchLastSection(True)  # the source gets the rest
            table.setSortingEnabled(True)
            table.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
        self.origins.setText("Files: " + ", ".join(catalogs.origins) + f"<br>Prices as of: {price_as_of(catalogs)}")

    def load(self, path: str) -> bool:
        """Add the user catalog at `path`; on error show it here and keep the catalogs."""
        try:
            catalogs = self._load_user_file(path)
        except CatalogError as e:
            self.error.setText(str(e))
            return False
        self.error.setText("")
        self.show_catalogs(catalogs)
        return True

    def _on_load(self) -> None:
        path = self._choose_file()
        if path:
            self.load(path)
