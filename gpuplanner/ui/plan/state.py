"""The planner's state: the catalogs in use, the form's last valid inputs, the answers for both
modes, and the one debounced recompute that produces them — estimated off the GUI thread.

No widget estimates: the form asks for a recompute (``request`` after an edit, ``recompute``
when the inputs changed under it) and whatever shows an answer listens to the one
``result_changed`` signal and reads the state. The inputs are read on the GUI thread (widgets
live there); the estimate runs off it, because a cold estimate after a model change takes tens
to hundreds of milliseconds: on a worker thread (ui.worker) until the window is up, then, from
that thread, in a process of its own (ui.job_process; ``use_process``). On a thread of the
window's process a long estimate held the interpreter lock while the window painted, and every
call the paint made into Python waited for it: a model change stalled the window ~0.1 s. Each
request carries a generation: the
newest request wins, an older answer is dropped on arrival and an older job still queued is
skipped. Callers that need the answer now (saving, exporting, tests) call ``flush``/``wait``:
a bounded wait on the GUI thread.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from PySide6 import QtCore

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import both_modes
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.result import PlanResult
from gpuplanner.ui.job_process import JobProcess
from gpuplanner.ui.worker import Worker

DEBOUNCE_MS = 150
PLAN_JOB = "gpuplanner.core.estimate:both_modes"
WAIT_S = 10.0  # the longest a save or an export waits for the answer in flight


def _work_out_bands(results, band_rows) -> None:
    """Fill core.accuracy's cache of the error bands of `results` (on the worker). The module
    is imported with the ledger's first evaluation, not for the first paint."""
    from gpuplanner.core.accuracy import headline_bands

    for result in results:
        if isinstance(result, PlanResult):
            headline_bands(result, band_rows)


class _Job:
    """One request: estimate both modes of `inputs` off the GUI thread; `done` is set when it
    ran. With the evaluated ledger's rows (`band_rows`: core.accuracy.BandRow) it also works out
    the results' error bands, which the cards then read from core.accuracy's cache instead of
    computing them on the GUI thread."""

    def __init__(self, inputs: PlanInputs, catalogs: Catalogs, band_rows=None):
        self.inputs, self.catalogs, self.band_rows = inputs, catalogs, band_rows
        self.done = threading.Event()
        # {mode: result or InputError}; an InputError of the chosen mode; or an unexpected failure
        self.outcome: dict[str, PlanResult | InputError] | Exception | None = None
        self.ms = 0.0

    def run(self, process: JobProcess | None = None) -> None:
        """Estimate in `process` (a process that fails answers here instead), else here."""
        started = time.perf_counter()
        try:
            outcome = None
            if process is not None:
                try:
                    outcome = process.call(PLAN_JOB, (self.inputs,), self.catalogs, cancellable=False)
                except RuntimeError:  # it died, or the job failed there: here, with the real traceback
                    pass
            self.outcome = both_modes(self.inputs, self.catalogs) if outcome is None else outcome
            if self.band_rows is not None and isinstance(self.outcome, dict):
                _work_out_bands(self.outcome.values(), self.band_rows)
        except Exception as e:  # a bug: told on the GUI thread
            self.outcome = e
        self.ms = (time.perf_counter() - started) * 1e3
        self.done.set()


class PlannerState(QtCore.QObject):
    """Inputs in, results out; ``error`` says why the last recompute gave no new answer.

    ``inputs`` are the form's as read by the last recompute (None: a field is wrong); ``result``
    and ``results`` are the newest answer that arrived. While ``stale`` (an edit waits for its
    debounce or its answer is computing) they belong to earlier inputs.
    """

    result_changed = QtCore.Signal()
    stale_changed = QtCore.Signal(bool)  # the answer on show is behind the form (True) or caught up
    bands_ready = QtCore.Signal(object)  # the ledger's band rows, the bands of the answer on show worked out
    _done = QtCore.Signal(object)  # a finished _Job, from the worker to the GUI thread
    _bands_done = QtCore.Signal(object)  # the band rows, from the worker to the GUI thread

    def __init__(self, catalogs: Catalogs, read_inputs: Callable[[], PlanInputs],
                 parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.catalogs = catalogs
        self._read_inputs = read_inputs  # raises InputError naming the field that is wrong
        self.inputs: PlanInputs | None = None  # the form's last valid inputs
        self.result: PlanResult | None = None  # the last good result of the chosen mode
        self.results: dict[str, PlanResult | InputError] = {}  # both modes, for the cards
        self.error: Exception | None = None  # an InputError (a field to fix) or an unexpected failure
        self.recompute_ms = 0.0  # the last answer's estimate time on the worker
        self.band_rows = None  # the evaluated accuracy ledger's BandRows, once they are there
        self.stale = False
        self.stopped = False  # the window closed: nothing more runs on the worker (stop)
        self._pending: _Job | None = None  # the newest request, until its answer is shown
        self.process: JobProcess | None = None  # where estimates run once the window is up (use_process)
        self.worker = Worker("gpuplanner-plan")
        self._done.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)
        self._bands_done.connect(self.bands_ready, QtCore.Qt.ConnectionType.QueuedConnection)
        self.recompute_timer = QtCore.QTimer(self)
        self.recompute_timer.setSingleShot(True)
        self.recompute_timer.setInterval(DEBOUNCE_MS)
        self.recompute_timer.timeout.connect(self.recompute)

    def request(self) -> None:
        """Recompute once the user pauses (every edit restarts the timer)."""
        self.recompute_timer.start()
        self._set_stale()

    def use_process(self, process: JobProcess) -> None:
        """Estimate in `process` from now on (started now, so the next edit need not wait for it)."""
        process.prepare(PLAN_JOB)
        self.process = process

    def set_catalogs(self, catalogs: Catalogs) -> None:
        self.catalogs = catalogs

    def set_band_rows(self, band_rows) -> None:
        """The evaluated accuracy ledger's rows: work out the error bands of the answer on show
        on the worker, then say so through ``bands_ready``; every later answer brings its own."""
        if self.stopped:  # the shared evaluation ended after this window closed
            return
        self.band_rows = band_rows
        shown, pending = list(self.results.values()), self._pending

        def work() -> None:  # after the pending job (one worker, in order): its answer needs bands too
            done = pending.outcome if pending is not None and isinstance(pending.outcome, dict) else {}
            _work_out_bands(shown + list(done.values()), band_rows)
            if not self.stopped:
                self._bands_done.emit(band_rows)

        self.worker.submit(work)

    def recompute(self) -> None:
        """Read the form now and estimate both modes on the worker; ``result_changed`` says when
        the answer is in (at once for a field the form cannot read)."""
        self.recompute_timer.stop()
        if self.stopped:  # a late edit after the window closed: no worker to start again
            return
        try:
            inputs = self._read_inputs()
        except InputError as e:  # the last answer stays on show; there are no valid inputs
            self._pending = None  # an answer still computing is for older inputs
            self.inputs, self.error = None, e
            self._set_stale()
            self.result_changed.emit()
            return
        job = self._pending = _Job(inputs, self.catalogs, self.band_rows)
        self.inputs = inputs
        self._set_stale()

        process = self.process

        def work() -> None:
            if job is self._pending:  # a newer request is queued behind it: skip this one
                job.run(process)
                self._done.emit(job)

        self.worker.submit(work)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the answer in flight is shown (False: it took longer than `timeout_s`,
        default WAIT_S)."""
        job = self._pending
        if job is None:
            return True
        if not job.done.wait(WAIT_S if timeout_s is None else timeout_s):
            return False
        self._deliver(job)  # its queued signal arrives later and finds it shown
        return True

    def flush(self, timeout_s: float | None = None) -> bool:
        """The answer for the form as it is now: an edit still in its debounce is computed at once,
        then `wait`. Saving and exporting call this, so they never use a stale answer."""
        if self.recompute_timer.isActive():
            self.recompute()
        return self.wait(timeout_s)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Drop the answer in flight and end the worker (the window calls this when it closes)."""
        self.stopped = True
        self.recompute_timer.stop()
        self._pending = None
        self.worker.stop(timeout_s)

    def _deliver(self, job: _Job) -> None:
        if job is not self._pending:
            return  # superseded by a newer request, or already shown by `wait`
        self._pending = None
        outcome = job.outcome
        if isinstance(outcome, InputError):  # the core found a field wrong: no valid inputs
            self.inputs, self.error = None, outcome
        elif isinstance(outcome, Exception):  # a bug or an input no check caught: keep the inputs saveable
            self.result, self.error = None, outcome
        else:
            assert outcome is not None
            self.result, self.results, self.error = outcome[job.inputs.mode], outcome, None
            self.recompute_ms = job.ms
        self._set_stale()
        self.result_changed.emit()

    def _set_stale(self) -> None:
        stale = self.recompute_timer.isActive() or self._pending is not None
        if stale != self.stale:
            self.stale = stale
            self.stale_changed.emit(stale)
