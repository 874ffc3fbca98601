"""Ties a benchmark run to what the user watches: the child's memory readings and phases go
onto the live panel's time axis, its PID is singled out in the process table, and its results
go to the results view when it ends.

The child stamps its metrics from its own start; they are placed on the panel's wall-clock
axis at arrival instead (lines are read as they come, so the lag is a few milliseconds).
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from PySide6 import QtCore

from gpuplanner.bench import protocol

log = logging.getLogger(__name__)


class BenchmarkLink(QtCore.QObject):
    """Connects a BenchRunner to a live panel (attached when it exists) and a results view."""

    def __init__(self, runner, results_view, clock: Callable[[], float] = time.time,
                 parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.results_view = results_view
        self.panel = None
        self._clock = clock
        self._phase: tuple[str, float] | None = None  # (name, start_s) of the open marker
        runner.hello.connect(self._on_hello)
        runner.progress.connect(self._on_progress)
        runner.metrics.connect(self._on_metrics)
        runner.finished.connect(self._on_finished)

    def attach_panel(self, panel) -> None:
        self.panel = panel
        if self.runner.is_running():
            panel.set_watched_pid(self.runner.process_id() or None)

    def _on_hello(self, _hello: dict) -> None:
        if self.panel is not None:
            self.panel.set_watched_pid(self.runner.process_id() or None)

    def _on_progress(self, phase: str, _step: int, _total: int) -> None:
        if self._phase and self._phase[0] == phase:
            return
        now = self._clock()
        self._close_phase(now)
        self._phase = (phase, now)
        if self.panel is not None:
            self.panel.add_phase_marker(phase, now)

    def _on_metrics(self, metrics: dict) -> None:
        if self.panel is not None:
            self.panel.add_benchmark_metrics(self._clock(), float(metrics.get("allocated_bytes", math.nan)),
                                             float(metrics.get("reserved_bytes", math.nan)))

    def _on_finished(self, _ok: bool) -> None:
        self._close_phase(self._clock())
        if self.panel is not None:
            self.panel.set_watched_pid(None)
        if self.runner.results:
            from gpuplanner.bench.run import BenchRun  # imported when a run ends: it costs start-up time

            try:
                run = BenchRun.from_messages(self.runner.hello_info or {}, self.runner.results)
            except protocol.ProtocolError as exc:  # e.g. results without a hello saying what was measured
                log.warning("benchmark results not shown: %s", exc)
                self.results_view.show_unreadable(str(exc))
                return
            self.results_view.set_run(run)

    def _close_phase(self, now: float) -> None:
        if self._phase and self.panel is not None:
            self.panel.add_phase_marker(self._phase[0], self._phase[1], now)
        self._phase = None
