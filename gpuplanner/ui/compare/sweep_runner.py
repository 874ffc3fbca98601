"""The comparison sweep, off the GUI thread.

A sweep takes tens of milliseconds with the bundled catalogs and seconds with a large user
catalog, so the window asks for one and gets it back by signal; a serving sweep brings the plan
hardware's serving frontier with it (the table's attrs). The newest request wins: an older one
still running stops at its next (mode, precision) block (core.sweep's `stop`). Sweeps run one
after another on one worker thread (ui.worker), which other comparison jobs (the serving curves)
share.
Recent sweeps are kept, so switching back to an earlier plan or tab costs nothing.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from PySide6 import QtCore

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import SweepCancelled
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.ui.worker import Worker

if TYPE_CHECKING:  # pandas loads with the first comparison, not at start-up
    import pandas as pd

CACHE_SIZE = 8


def _frontier(table, inputs: PlanInputs, catalogs: Catalogs, modes: tuple):
    """Serving comparisons carry the plan hardware's serving frontier (core.estimate.attach_frontier),
    computed here on the worker with the table."""
    if "infer" in modes:
        from gpuplanner.core.estimate import attach_frontier
        attach_frontier(table, inputs, catalogs)
    return table


class SweepRunner(QtCore.QObject):
    """`request()` a sweep; `ready(inputs, modes, table)` arrives on the GUI thread, newest only."""

    ready = QtCore.Signal(object, object, object)  # inputs, modes, DataFrame
    failed = QtCore.Signal(str)
    busy_changed = QtCore.Signal(bool)
    _done = QtCore.Signal(int, object, object, object)  # generation, key, (catalogs, table), error

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._cache: OrderedDict = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        self.worker = Worker("gpuplanner-sweep")
        self._done.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def _key(inputs: PlanInputs, catalogs: Catalogs, modes: tuple) -> tuple:
        return inputs, id(catalogs), tuple(modes)

    def _lookup(self, key, catalogs: Catalogs) -> pd.DataFrame | None:
        """The cached table, if it was computed from these very catalogs (the entry keeps them
        alive, so their id in the key cannot be reused by another object meanwhile)."""
        entry = self._cache.get(key)
        if entry is None or entry[0] is not catalogs:
            return None
        self._cache.move_to_end(key)
        return entry[1]

    def request(self, inputs: PlanInputs, catalogs: Catalogs, modes: tuple) -> None:
        """Start a sweep in the background (or answer at once from the cache)."""
        key = self._key(inputs, catalogs, modes)
        with self._lock:
            self._generation += 1
            generation = self._generation
        table = self._lookup(key, catalogs)
        if table is not None:
            self.ready.emit(inputs, tuple(modes), table)
            return
        self.busy_changed.emit(True)

        def work():
            try:
                from gpuplanner.core.sweep import sweep  # pandas: imported with the first comparison
                table = sweep(inputs, catalogs, tuple(modes), stop=lambda: generation != self._generation)
                _frontier(table, inputs, catalogs, modes)
                self._done.emit(generation, key, (catalogs, table), None)
            except SweepCancelled:
                pass
            except Exception as e:  # reported on the GUI thread; the worker never dies silently
                self._done.emit(generation, key, None, e)

        self.worker.submit(work)

    def table_now(self, inputs: PlanInputs, catalogs: Catalogs, modes: tuple) -> pd.DataFrame:
        """The sweep, computed here if it is not cached (for exports, which need it whole)."""
        key = self._key(inputs, catalogs, modes)
        table = self._lookup(key, catalogs)
        if table is None:
            from gpuplanner.core.sweep import sweep
            table = _frontier(sweep(inputs, catalogs, tuple(modes)), inputs, catalogs, modes)
            self._store(key, (catalogs, table))
        return table

    def stop(self, timeout_s: float = 2.0) -> None:
        """Cancel what runs and wait for it (the window calls this when it closes)."""
        with self._lock:
            self._generation += 1
        self.worker.stop(timeout_s)

    def _store(self, key, entry) -> None:
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _deliver(self, generation: int, key, entry, error) -> None:
        if entry is not None:
            self._store(key, entry)  # worth keeping even if superseded: the user may come back
        if generation != self._generation:
            return
        self.busy_changed.emit(False)
        if error is not None:
            self.failed.emit(f"{type(error).__name__}: {error}")
        else:
            inputs, _, modes = key
            self.ready.emit(inputs, modes, entry[1])
