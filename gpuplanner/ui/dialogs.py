"""The modal questions the window asks, behind one small interface.

The window never calls QFileDialog/QMessageBox directly: it calls these methods, so tests
pass a fake that answers at once (modal dialogs would block a test forever).
"""
from __future__ import annotations

from PySide6 import QtWidgets

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


class Dialogs:
    """Real dialogs. Each returns '' (or CANCEL) when the user backs out."""

    def ask_save_changes(self, parent: QtWidgets.QWidget, name: str) -> str:
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            parent, "Unsaved changes", f"Save the changes to {name}?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: SAVE, buttons.Discard: DISCARD}.get(answer, CANCEL)

    def open_path(self, parent: QtWidgets.QWidget, title: str, file_filter: str) -> str:
        return QtWidgets.QFileDialog.getOpenFileName(parent, title, "", file_filter)[0]

    def save_path(self, parent: QtWidgets.QWidget, title: str, file_filter: str, suggested: str) -> str:
        return QtWidgets.QFileDialog.getSaveFileName(parent, title, suggested, file_filter)[0]

    def error(self, parent: QtWidgets.QWidget, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(parent, title, text)

    def run(self, dialog: QtWidgets.QDialog) -> bool:
        """Show a dialog of the window's own (e.g. the benchmark Python); True if accepted."""
        return dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
