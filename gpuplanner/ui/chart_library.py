"""pyqtgraph, the charts' library, and the window's chart modules, imported on a thread once
the window is on screen.

Importing pyqtgraph is ~0.4-0.6 s of Python work, most of a bare `import PySide6.QtWidgets, pyqtgraph`.
Before the first paint it kept the window from appearing that long; after it, on the GUI
thread, it would freeze the window as long. On a thread the window keeps answering (the thread
hands the interpreter lock over every millisecond: app.hand_over_the_lock_often) while the
modules load; the charts are then built on the GUI thread. A chart wanted sooner (a tab
opened meanwhile) imports its module at once: Python's import lock makes it wait for the
thread's import, never run a second one. (Importing defines classes and functions only: no
Qt object is made on the thread.)
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from PySide6 import QtCore

# the library, then the modules of the charts built after the first paint (ui.main_window.build_hidden_tabs)
MODULES = ("pyqtgraph", "gpuplanner.ui.plan.breakdown_chart", "gpuplanner.ui.compare.tab")


class _Loader(QtCore.QObject):
    """Lives on the GUI thread; the import thread's `loaded` signal reaches it there (queued)."""

    loaded = QtCore.Signal()

    def __init__(self):
        super().__init__()
        self.done = False
        self.waiting: list[tuple[QtCore.QObject, Callable[[], None]]] = []
        self.loaded.connect(self._deliver)
        threading.Thread(target=self._import, name="chart-library", daemon=True).start()

    def _import(self) -> None:
        try:
            for name in MODULES:
                importlib.import_module(name)
        finally:  # a failed import shows where a chart is built, on the GUI thread
            self.loaded.emit()

    def _deliver(self) -> None:
        self.done = True
        for receiver, then in self.waiting:
            QtCore.QTimer.singleShot(0, receiver, then)  # not called once `receiver` is deleted
        self.waiting.clear()


_LOADER: _Loader | None = None


def load_then(receiver: QtCore.QObject, then: Callable[[], None]) -> None:
    """Call `then()` on the GUI thread, in a turn of its own, once MODULES are imported
    (starting their import on a thread the first time), unless `receiver` is deleted first."""
    global _LOADER
    if _LOADER is None:
        _LOADER = _Loader()
    if _LOADER.done:
        QtCore.QTimer.singleShot(0, receiver, then)
    else:
        _LOADER.waiting.append((receiver, then))
