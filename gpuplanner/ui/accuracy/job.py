"""The ledger evaluation (every published run re-planned, ~0.6 s) on a pool thread.

One evaluation per process: the core caches it (bundled_outcomes), and this job makes sure the
window starts it at most once, never on the GUI thread, and tells every waiting view when it is
done. A request while it runs only waits for the running one.
"""
from __future__ import annotations

import atexit
import threading
from collections.abc import Callable

from PySide6 import QtCore

from gpuplanner.core.accuracy import bundled_outcomes

EXIT_WAIT_S = 30.0


class LedgerJob(QtCore.QObject):
    """`request()` starts the evaluation unless it runs or has run; `finished(outcomes)` or
    `failed(message)` follow on the GUI thread."""

    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    _done = QtCore.Signal(object, str)  # emitted on the pool thread, delivered on the job's thread

    def __init__(self, compute: Callable[[], tuple] = bundled_outcomes, parent: QtCore.QObject | None = None):
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


_SHARED: LedgerJob | None = None


def shared_ledger() -> LedgerJob:
    """The process's one job over the shipped ledger (created on the GUI thread at first use)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = LedgerJob()
        atexit.register(_SHARED.wait)
    return _SHARED
