"""Startup timing for `--smoke-test`: after the window's first paint, report and quit."""
from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets


class FirstPaintReporter(QtCore.QObject):
    """Watches `window` for its first Paint event, then (once that paint is done) calls
    `report()`, closes the window and quits the application."""

    def __init__(self, window: QtWidgets.QWidget, report: Callable[[], None]):
        super().__init__(window)
        self._window = window
        self._report = report
        self._seen = False
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self._window and event.type() == QtCore.QEvent.Type.Paint and not self._seen:
            self._seen = True
            QtCore.QTimer.singleShot(0, self._finish)
        return False

    def _finish(self) -> None:
        self._report()
        self._window.close()
        QtWidgets.QApplication.quit()
