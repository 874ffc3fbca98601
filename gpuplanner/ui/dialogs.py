"""The modal questions the window asks, behind one small interface.

No window or panel calls QFileDialog/QMessageBox directly: it calls these methods, so tests
pass a fake that answers at once (modal dialogs would block a test forever).
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


class Dialogs:
    """Real dialogs. Each returns '' (or CANCEL) when the user backs out. File dialogs start in
    the folder last used (remembered across sessions by the window's settings)."""

    def __init__(self, folder: str = ""):
        self.folder = folder if folder and Path(folder).is_dir() else str(Path.home())

    def ask_save_changes(self, parent: QtWidgets.QWidget, name: str) -> str:
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            parent, "Unsaved changes", f"Save the changes to {name}?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: SAVE, buttons.Discard: DISCARD}.get(answer, CANCEL)

    def open_path(self, parent: QtWidgets.QWidget, title: str, file_filter: str, start: str = "") -> str:
        """``start``: where the dialog opens (e.g. the file chosen before); the last folder if empty."""
        return self._remember(QtWidgets.QFileDialog.getOpenFileName(parent, title, start or self.folder,
                                                                    file_filter)[0])

    def save_path(self, parent: QtWidgets.QWidget, title: str, file_filter: str, suggested: str) -> str:
        """`suggested` is a file name (proposed in the last folder) or a whole path."""
        start = suggested if Path(suggested).is_absolute() else str(Path(self.folder) / suggested)
        return self._remember(QtWidgets.QFileDialog.getSaveFileName(parent, title, start, file_filter)[0])

    def _remember(self, path: str) -> str:
        if path:
            self.folder = str(Path(path).parent)
        return path

    def error(self, parent: QtWidgets.QWidget, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(parent, title, text)

    def run(self, dialog: QtWidgets.QDialog) -> bool:
        """Show a dialog of the window's own (e.g. the benchmark Python); True if accepted."""
        return dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
