"""Choose the Python the benchmark runs under.

A bundled app has no torch of its own, so the benchmark needs a Python with
`gpuplanner[bench]`; "Detect" probes the usual candidates on a worker thread (importing
torch takes seconds per candidate) and never blocks the window.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from gpuplanner.bench.launcher import find_python_with_torch
from gpuplanner.ui.dialogs import Dialogs


class BenchPythonDialog(QtWidgets.QDialog):
    """An empty path means "this app's own interpreter" (or the bundle's hidden child)."""

    detected = QtCore.Signal(str)  # '' when no candidate works; emitted from the worker thread

    def __init__(self, current: str, detect: Callable[[], str | None] = find_python_with_torch,
                 parent: QtWidgets.QWidget | None = None, dialogs: Dialogs | None = None):
        super().__init__(parent)
        self.setWindowTitle("Benchmark Python")
        self._dialogs = dialogs or Dialogs()
        self._detect = detect
        self.path_edit = QtWidgets.QLineEdit(current)
        self.path_edit.setPlaceholderText("this app's own Python")
        self.path_edit.setToolTip("A Python with gpuplanner[bench] installed (gpuplanner and torch)")
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.detect_button = QtWidgets.QPushButton("Detect")
        self.detect_button.clicked.connect(self.start_detection)
        self.status = QtWidgets.QLabel("The benchmark needs PyTorch: pip install 'gpuplanner[bench]'.")
        self.status.setWordWrap(True)
        self.detected.connect(self._on_detected)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        row.addWidget(self.detect_button)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def chosen(self) -> str:
        return self.path_edit.text().strip()

    def start_detection(self) -> threading.Thread:
        """Probe candidates on a daemon thread (each probe is bounded by a timeout)."""
        self.detect_button.setEnabled(False)
        self.status.setText("Looking for a Python with torch and gpuplanner…")
        worker = threading.Thread(target=lambda: self.detected.emit(self._detect() or ""),
                                  name="bench-python-detect", daemon=True)
        worker.start()
        return worker

    def _on_detected(self, python: str) -> None:
        self.detect_button.setEnabled(True)
        if python:
            self.path_edit.setText(python)
            self.status.setText(f"Found {python}.")
        else:
            self.status.setText("No Python with torch and gpuplanner was found: install "
                                "gpuplanner[bench] into one and choose it with Browse.")

    def _browse(self) -> None:
        path = self._dialogs.open_path(self, "Choose a Python interpreter", "", start=self.chosen())
        if path:
            self.path_edit.setText(path)
