"""The comparison's state: which sweep the Compare tab wants, the table that came back, and the
serving curves of the candidates it charts — all computed in a child process (SweepRunner).

It follows the PlannerState (a new answer asks for a new sweep, only while the tab is showing)
and says what changed through its own signals: ``sweep_changed`` when a table for the current
inputs arrives, ``curves_changed`` when curves do. It never emits ``result_changed``: the plan
does not depend on the comparison, so a sweep can never trigger a recompute.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore

from gpuplanner.core.inputs import MODES, PlanInputs
from gpuplanner.ui.compare.sweep_runner import SweepRunner
from gpuplanner.ui.plan.state import PlannerState

if TYPE_CHECKING:  # pandas loads with the first comparison, not at start-up
    import pandas as pd


def curve_key(row: dict) -> tuple[str, str]:
    """What a serving curve depends on besides the inputs: the instance type and precision."""
    return row["instance_type"], row["precision"]


class CompareState(QtCore.QObject):
    """The sweep of ``modes`` for the planner's inputs, and curves for rows asked about."""

    sweep_changed = QtCore.Signal()  # `table` (and `inputs`) are new; `curves` start empty
    curves_changed = QtCore.Signal()  # `curves` gained entries
    plan_mode_changed = QtCore.Signal(str)  # the plan switched mode: show that mode, cheapest first
    busy_changed = QtCore.Signal(bool, str)  # computing?, and a message ('' or why it failed)
    _curves_done = QtCore.Signal(object, object)  # inputs, {curve_key: curve}

    def __init__(self, planner: PlannerState, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.planner = planner
        self.runner = SweepRunner(self)
        self.active = False  # only a showing Compare tab asks for sweeps
        self.modes: tuple = (planner.inputs.mode,) if planner.inputs else ("train",)
        self.table: pd.DataFrame | None = None
        self.inputs: PlanInputs | None = None  # what `table` and `curves` were computed from
        self.curves: dict[tuple[str, str], tuple] = {}
        self._plan_mode = ""
        self._curves_pending: set = set()
        planner.result_changed.connect(self.refresh)
        self.runner.ready.connect(self._sweep_ready)
        self.runner.busy_changed.connect(lambda busy: self.busy_changed.emit(busy, ""))
        self.runner.failed.connect(lambda message: self.busy_changed.emit(False, f"comparison failed: {message}"))
        self._curves_done.connect(self._curves_ready, QtCore.Qt.ConnectionType.QueuedConnection)

    def prepare(self) -> None:
        """Get the comparison process ready (the window calls this once it is up and idle)."""
        self.runner.prepare()

    def set_active(self, active: bool) -> None:
        self.active = active
        self.refresh()

    def set_modes(self, modes: tuple) -> None:
        self.modes = tuple(modes)
        self.refresh()

    def refresh(self) -> None:
        """Ask for the sweep the tab shows (the newest request wins), if it is showing."""
        planner = self.planner
        if not self.active or planner.inputs is None or planner.result is None or planner.error is not None:
            return
        if planner.inputs.mode != self._plan_mode:  # a new plan mode: compare that mode
            self._plan_mode = planner.inputs.mode
            self.modes = (planner.inputs.mode,)
            self.plan_mode_changed.emit(planner.inputs.mode)
        self.runner.request(planner.inputs, planner.catalogs, self.modes)

    def table_for(self, inputs: PlanInputs, catalogs) -> pd.DataFrame:
        """Both modes' sweep for `inputs`, waited for if not cached (exports, on a worker thread)."""
        return self.runner.table_now(inputs, catalogs, MODES)

    def request_curves(self, rows: list[dict]) -> None:
        """Compute the serving curves of `rows` not known yet, beside the sweep (SweepRunner)."""
        inputs, catalogs = self.inputs, self.planner.catalogs
        wanted = [curve_key(r) for r in rows
                  if curve_key(r) not in self.curves and curve_key(r) not in self._curves_pending]
        if inputs is None or not wanted:
            return
        self._curves_pending.update(wanted)
        self.runner.request_curves(inputs, catalogs, wanted,
                                   lambda curves: self._curves_done.emit(inputs, curves))

    def stop(self) -> None:
        self.runner.stop()

    def _sweep_ready(self, inputs: PlanInputs, modes: tuple, table) -> None:
        if inputs != self.planner.inputs or modes != self.modes:
            return  # the form or the filter moved on; a newer request is on its way
        if table is self.table:
            return  # the one on show (from the cache, as the tab is shown again): nothing to redraw
        if inputs != self.inputs:
            self.curves, self._curves_pending = {}, set()
        self.table, self.inputs = table, inputs
        self.sweep_changed.emit()

    def _curves_ready(self, inputs: PlanInputs, curves: dict) -> None:
        self._curves_pending.difference_update(curves)
        if inputs == self.inputs:
            self.curves.update(curves)
            self.curves_changed.emit()
