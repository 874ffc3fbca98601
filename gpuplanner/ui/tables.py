"""What the window's read-only tables share: column headers with their tooltips."""
from __future__ import annotations

from PySide6 import QtCore


def column_header(columns, section: int, orientation, role):
    """headerData for a table whose columns have `header` and `tip` (horizontal headers only)."""
    if orientation != QtCore.Qt.Orientation.Horizontal:
        return None
    if role == QtCore.Qt.ItemDataRole.DisplayRole:
        return columns[section].header
    if role == QtCore.Qt.ItemDataRole.ToolTipRole:
        return columns[section].tip or None
    return None
