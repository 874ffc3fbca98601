"""The ledger evaluation (every published run re-planned, ~1.3 s of Python) off the GUI thread.

Two jobs, each run at most once per process and never on the GUI thread, each telling every
waiting view when it is done (a request while one runs only waits for it):
- shared_ledger(): every outcome, for the ledger view the user opens; evaluated on a pool
  thread of this process (core.accuracy.bundled_outcomes).
- shared_bands(): the cards' error bands need only core.accuracy.BandRows. They are evaluated in
  the comparison process (ui.job_process) and only the rows come back (a few kB): on a thread
  of the window's process the evaluation held the interpreter lock the GUI thread needs, and
  typing stalled for 90-125 ms. They become this process's bundled_band_rows, which the report's
  bands read too.
"""
from __future__ import annotations

import atexit
import threading
from collections.abc import Callable

from PySide6 import QtCore

from gpuplanner.ui import job_process

EXIT_WAIT_S = 30.0
BAND_ROWS = "gpuplanner.core.accuracy:bundled_band_rows"


def band_rows_from_the_comparison_process() -> tuple:
    """bundled_band_rows(): this process's if it has them, else evaluated in the comparison
    process (call it from a worker thread)."""
    from gpuplanner.core.accuracy import adopt_bundled_band_rows, held_band_rows  # here: not on the GUI thread

    held = held_band_rows()
    if held is not None:
        return held
    return adopt_bundled_band_rows(job_process.shared().call(BAND_ROWS, (), None, cancellable=False))


def _bundled_outcomes() -> tuple:
    """core.accuracy.bundled_outcomes(), the module imported by the worker that asks (~30 ms)."""
    from gpuplanner.core.accuracy import bundled_outcomes as outcomes

    return outcomes()


class LedgerJob(QtCore.QObject):
    """`request()` starts the evaluation unless it runs or has run; `finished(outcomes)` or
    `failed(message)` follow on the GUI thread."""

    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    _done = QtCore.Signal(object, str)  # emitted on the pool thread, delivered on the job's thread

    def __init__(self, compute: Callable[[], tuple] = _bundled_outcomes, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.compute = compute
        self.outcomes: tuple | None = None
        self.error = ""
        self.runs = 0  # evaluations started
        self.worker_thread_id: int | None = None  # the thread the last evaluation ran on
        self.running = False  # GUI-thread state: from request() until the result is delivered
        self._idle = threading.Event()  # pool-thread state: no evaluation is executing
        self._idle.set()
        self._done.connect(self._finish)

    def request(self) -> bool:
        """Start the evaluation if needed; True when the outcomes are already there."""
        if self.outcomes is not None:
            return True
        if not self.running and not self.error:
            self.running = True
            self._idle.clear()
            self.runs += 1
            QtCore.QThreadPool.globalInstance().start(self._run)
        return False

    def when_ready(self, slot: Callable[[tuple], None]) -> None:
        """Call `slot(outcomes)` now if they are there, else once they are (starting the job)."""
        if self.outcomes is not None:
            slot(self.outcomes)
            return
        self.finished.connect(slot)
        self.request()

    def wait(self, timeout_s: float = EXIT_WAIT_S) -> bool:
        """Block until no evaluation runs (tests, and process exit: no Python left mid-run)."""
        return self._idle.wait(timeout_s)

    def _run(self) -> None:
        self.worker_thread_id = threading.get_ident()
        try:
            outcomes, error = tuple(self.compute()), ""
        except Exception as e:  # a broken resource file: say so in the view, keep the window
            outcomes, error = None, f"{type(e).__name__}: {e}"
        try:
            self._done.emit(outcomes, error)
        finally:
            self._idle.set()

    def _finish(self, outcomes, error: str) -> None:
        self.outcomes, self.error, self.running = outcomes, error, False
        if error:
            self.failed.emit(error)
        else:
            self.finished.emit(outcomes)


_SHARED: dict[str, LedgerJob] = {}


def _shared(name: str, compute: Callable[[], tuple]) -> LedgerJob:
    """The process's one job of that name (created on the GUI thread at first use)."""
    if name not in _SHARED:
        _SHARED[name] = LedgerJob(compute)
        atexit.register(_SHARED[name].wait)
    return _SHARED[name]


def shared_ledger() -> LedgerJob:
    """Every outcome of the shipped ledger (the ledger view)."""
    return _shared("ledger", _bundled_outcomes)


def shared_bands() -> LedgerJob:
    """The shipped ledger's BandRows, from the comparison process (the cards' error bands)."""
    return _shared("bands", band_rows_from_the_comparison_process)
