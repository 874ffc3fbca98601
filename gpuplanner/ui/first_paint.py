"""The window's first paint: what waits for it (the smoke test's report, the garbage collector,
the tabs it does not show)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets


class AfterFirstPaint(QtCore.QObject):
    """Calls `callback()` once, on the event loop's next turn after `window`'s first Paint
    event (so that paint, children included, is on screen first)."""

    def __init__(self, window: QtWidgets.QWidget, callback: Callable[[], None]):
        super().__init__(window)
        self._window = window
        self._callback = callback
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self._window and event.type() == QtCore.QEvent.Type.Paint:
            self._window.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self._callback)
        return False
