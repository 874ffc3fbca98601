"""The comparison sweep, off the GUI thread and out of its process.

A sweep takes a second or more, so the window asks for one and gets it back by signal; it runs
in a child process (ui.job_process: on a thread it would hold the GIL the GUI thread needs to
paint). A serving sweep brings the plan hardware's serving frontier with it (the table's
attrs: core.sweep.comparison). The newest request wins: an older one still running stops at its
next (mode, precision) block. The serving curves the chart asks for run in the same child, after
the sweep they belong to.
Recent sweeps are kept, so switching back to an earlier plan or tab costs nothing.
"""
from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from PySide6 import QtCore

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.ui import job_process

if TYPE_CHECKING:  # pandas loads with the first comparison, not at start-up
    import pandas as pd

CACHE_SIZE = 8
COMPARISON = "gpuplanner.core.sweep:comparison"
CURVES = "gpuplanner.core.estimate:serving_curves"


class SweepRunner(QtCore.QObject):
    """`request()` a sweep; `ready(inputs, modes, table)` arrives on the GUI thread, newest only.
    `job` names the sweep function (core.sweep.comparison; tests name a slower one)."""

    ready = QtCore.Signal(object, object, object)  # inputs, modes, DataFrame
    failed = QtCore.Signal(str)
    busy_changed = QtCore.Signal(bool)
    _done = QtCore.Signal(int, object, object, object)  # generation, key, (catalogs, table), error

    def __init__(self, parent: QtCore.QObject | None = None, job: str = COMPARISON,
                 process: job_process.JobProcess | None = None):
        super().__init__(parent)
        self._cache: OrderedDict = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        self._job = job
        self.process = process or job_process.shared()
        self.group = self.process.new_group()
        self._done.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def _key(inputs: PlanInputs, catalogs: Catalogs, modes: tuple) -> tuple:
        return inputs, id(catalogs), tuple(modes)

    def _lookup(self, key, catalogs: Catalogs) -> pd.DataFrame | None:
        """The cached table, if it was computed from these very catalogs (the entry keeps them
        alive, so their id in the key cannot be reused by another object meanwhile)."""
        with self._lock:  # exports read and fill the cache from a worker thread
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

        def done(table, error):  # on the process's reader thread
            self._done.emit(generation, key, None if error else (catalogs, table), error)

        self.process.submit(self._job, (inputs, tuple(modes)), catalogs, done, self.group)

    def prepare(self) -> None:
        """Start the comparison process and its imports ahead of the first request, and import
        pandas here on a thread of its own: the tables arrive as DataFrames, and importing it
        while the first one was unpickled held the interpreter lock ~0.4 s while the window
        painted (the window calls this a moment after it is up, before the user is busy)."""
        self.process.prepare(self._job, CURVES)
        threading.Thread(target=importlib.import_module, args=("pandas",), name="gpuplanner-import-pandas",
                         daemon=True).start()

    def request_curves(self, inputs: PlanInputs, catalogs: Catalogs, wanted: list, done) -> None:
        """The serving curves of `wanted` (core.estimate.serving_curves), after any sweep
        requested before; `done(curves)` is called on a worker thread (never cancelled: each
        request asks for other rows; failed ones come back empty)."""
        self.process.submit(CURVES, (inputs, wanted), catalogs,
                            lambda curves, error: done(curves or {key: () for key in wanted}), cancellable=False)

    def table_now(self, inputs: PlanInputs, catalogs: Catalogs, modes: tuple) -> pd.DataFrame:
        """The sweep, from the cache or the child, waiting for it (exports need it whole: call
        this from a worker thread, ui.background). Raises RuntimeError when the child fails."""
        key = self._key(inputs, catalogs, modes)
        table = self._lookup(key, catalogs)
        if table is not None:
            return table
        try:
            table = self.process.call(self._job, (inputs, tuple(modes)), catalogs)
        except RuntimeError as e:
            raise RuntimeError(f"the comparison failed: {e}") from None
        self._store(key, (catalogs, table))
        return table

    def stop(self) -> None:
        """Cancel what runs (the window calls this when it closes): nothing more is delivered."""
        with self._lock:
            self._generation += 1
        self.process.cancel(self.group)

    def _store(self, key, entry) -> None:
        with self._lock:
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
            self.failed.emit(error)
        else:
            inputs, _, modes = key
            self.ready.emit(inputs, modes, entry[1])
