"""The planner's state: the catalogs in use, the last valid inputs, the answers for both modes,
and the one debounced recompute that produces them.

No widget estimates: the form asks for a recompute (``request`` after an edit, ``recompute`` when
an answer is needed now) and whatever shows an answer listens to the one ``result_changed``
signal and reads the state. The estimate runs on the GUI thread; it takes well under a
millisecond.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtCore

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import estimate
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.result import PlanResult

DEBOUNCE_MS = 150
MODES = ("train", "infer")


class PlannerState(QtCore.QObject):
    """Inputs in, results out; ``error`` says why the last recompute gave no new answer."""

    result_changed = QtCore.Signal()

    def __init__(self, catalogs: Catalogs, read_inputs: Callable[[], PlanInputs],
                 parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.catalogs = catalogs
        self._read_inputs = read_inputs  # raises InputError naming the field that is wrong
        self.inputs: PlanInputs | None = None  # the last valid inputs
        self.result: PlanResult | None = None  # the last good result of the chosen mode
        self.results: dict[str, PlanResult | InputError] = {}  # both modes, for the cards
        self.error: Exception | None = None  # an InputError (a field to fix) or an unexpected failure
        self.recompute_ms = 0.0
        self.recompute_timer = QtCore.QTimer(self)
        self.recompute_timer.setSingleShot(True)
        self.recompute_timer.setInterval(DEBOUNCE_MS)
        self.recompute_timer.timeout.connect(self.recompute)

    def request(self) -> None:
        """Recompute once the user pauses (every edit restarts the timer)."""
        self.recompute_timer.start()

    def set_catalogs(self, catalogs: Catalogs) -> None:
        self.catalogs = catalogs

    def recompute(self) -> None:
        """Estimate both modes from the form's inputs, then say so once through ``result_changed``."""
        started = time.perf_counter()
        try:
            inputs = self._read_inputs()
            primary = estimate(inputs, self.catalogs)
        except InputError as e:  # the last answer stays on show; there are no valid inputs
            self.inputs, self.error = None, e
            self.result_changed.emit()
            return
        except Exception as e:  # a bug or an input no check caught: keep the inputs saveable
            self._failed(inputs, e)
            return
        results: dict[str, PlanResult | InputError] = {}
        for mode in MODES:
            try:
                results[mode] = primary if mode == inputs.mode else estimate(inputs.with_(mode=mode), self.catalogs)
            except InputError as e:
                results[mode] = e
            except Exception as e:
                self._failed(inputs, e)
                return
        self.inputs, self.result, self.results, self.error = inputs, primary, results, None
        self.recompute_ms = (time.perf_counter() - started) * 1e3
        self.result_changed.emit()

    def _failed(self, inputs: PlanInputs, error: Exception) -> None:
        """No answer matches the inputs: the stale one is dropped, the inputs stay saveable."""
        self.inputs, self.result, self.error = inputs, None, error
        self.result_changed.emit()
