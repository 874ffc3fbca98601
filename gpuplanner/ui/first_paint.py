"""The window's first paint: what waits for it (the smoke test's report, the garbage collector,
the memory chart and the tabs it does not show)."""
from __future__ import annotations

import sys
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


def chart_then_quit(window, report: Callable[[], None]) -> None:
    """`--smoke-test` after the first paint: build the memory chart as the app does (once
    pyqtgraph is loaded on a thread), call `report()` when it has been painted, and quit."""
    from gpuplanner.ui import chart_library

    def finish() -> None:
        report()
        window.close()
        QtWidgets.QApplication.quit()

    def build() -> None:
        window.plan_tab.build_chart()
        if window.plan_tab.isVisible():
            AfterFirstPaint(window.plan_tab.chart.viewport(), finish)
        else:  # another tab is current: the chart is not painted
            finish()

    chart_library.load_then(window, build)


def compare_then_quit(window) -> None:
    """`--smoke-compare`: run one comparison of the plan's mode in the comparison process
    (ui.job_process), print its row count and quit (exit code 1 when it failed), so that a
    frozen bundle shows its child starts and answers."""
    compare = window.compare

    def finish(code: int) -> None:
        window.close()
        QtWidgets.QApplication.exit(code)

    compare.sweep_changed.connect(lambda: (print(f"comparison: {len(compare.table)} rows", flush=True), finish(0)))
    compare.busy_changed.connect(lambda busy, message: message and (print(message, file=sys.stderr, flush=True),
                                                                    finish(1)))
    compare.set_active(True)
