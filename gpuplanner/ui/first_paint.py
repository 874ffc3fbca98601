"""Startup timing for `--smoke-test`: after the window's first paint, report and quit; with
`--smoke-compare`, first run one comparison in the comparison child process (ui.job_process)
and print its row count, so that a frozen bundle shows its child starts and answers."""
from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets


class FirstPaintReporter(QtCore.QObject):
    """Watches `window` for its first Paint event, then (once that paint is done) calls
    `report()`, (with `compare`) waits for a comparison of the plan's mode, closes the window
    and quits the application (exit code 1 when the comparison failed)."""

    def __init__(self, window: QtWidgets.QWidget, report: Callable[[], None], compare: bool = False):
        super().__init__(window)
        self._window = window
        self._report = report
        self._compare = compare
        self._seen = False
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self._window and event.type() == QtCore.QEvent.Type.Paint and not self._seen:
            self._seen = True
            QtCore.QTimer.singleShot(0, self._painted)
        return False

    def _painted(self) -> None:
        self._report()
        if not self._compare:
            self._finish(0)
            return
        compare = self._window.compare
        compare.sweep_changed.connect(lambda: (print(f"comparison: {len(compare.table)} rows", flush=True),
                                               self._finish(0)))
        compare.busy_changed.connect(lambda busy, message: message and (print(message, file=sys.stderr, flush=True),
                                                                        self._finish(1)))
        compare.set_active(True)

    def _finish(self, code: int) -> None:
        self._window.close()
        QtWidgets.QApplication.exit(code)
