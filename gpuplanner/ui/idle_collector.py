"""Full garbage collections while the user is not working the window.

CPython's cycle collector runs its full pass (the oldest generation) after ten passes over the
middle one, wherever the allocation that triggers it happens: in the window that is the middle
of redrawing an answer or a table, and on this heap the full pass takes 25-60 ms (the younger
passes ~1-8 ms). The IdleCollector keeps the automatic young passes, takes the full pass out of
them, and runs it on the GUI thread once the window has been left alone for IDLE_MS after the
last thing the user did or the last answer that arrived (`poke()`), when it is due. Memory held
by cycles waits for those few seconds of quiet. The user's input reaches it through an event
filter on the top-level window (`watch`): it sees only that window's own events, a few per
input, not every widget's.
"""
from __future__ import annotations

import gc

from PySide6 import QtCore

IDLE_MS = 1500  # quiet time before a due full collection runs
FULL_AFTER = 10  # middle-generation passes since the last full one: CPython's own default threshold
OVERDUE = 10 * FULL_AFTER  # a user busy for that long gets the pass anyway, at the next poke
NEVER = 1 << 30  # the automatic collector's threshold for a full pass: never reached
INPUT = frozenset({QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseButtonRelease,
                   QtCore.QEvent.Type.MouseMove, QtCore.QEvent.Type.Wheel, QtCore.QEvent.Type.KeyPress,
                   QtCore.QEvent.Type.KeyRelease, QtCore.QEvent.Type.TouchBegin})


class IdleCollector(QtCore.QObject):
    """Install once (the app does, after the first paint); `poke()` on every user action and
    every answer that lands; `stop()` gives the collector back its own thresholds."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, NEVER)
        self.full_collections = 0
        self._quiet = QtCore.QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(IDLE_MS)
        self._quiet.timeout.connect(self._collect_if_due)
        self._quiet.start()

    def watch(self, window: QtCore.QObject) -> None:
        """Count the user's input to `window` (a top-level QWindow) as activity."""
        window.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() in INPUT:
            self.poke()
        return False

    def poke(self, *_) -> None:
        """Something happened: the full pass waits for IDLE_MS of quiet from now (unless it is
        long overdue: memory held by cycles must not grow without bound)."""
        if gc.get_count()[2] >= OVERDUE:
            self._collect()
        self._quiet.start()

    def due(self) -> bool:
        return gc.get_count()[2] >= FULL_AFTER

    def _collect_if_due(self) -> None:
        if self.due():
            self._collect()
        self._quiet.start()  # and look again after the next quiet spell

    def _collect(self) -> None:
        gc.collect()
        self.full_collections += 1

    def stop(self) -> None:
        self._quiet.stop()
        gc.set_threshold(*self._thresholds)
