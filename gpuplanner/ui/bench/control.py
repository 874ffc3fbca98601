"""The benchmark's controls in the window: Run/Stop, the Python it runs under, the status-bar
progress, the results view and the link that puts a run on the live panel.

The window only places these widgets and actions; what happens when a run starts, moves on
and ends is here, next to the runner it drives.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.ui.bench.link import BenchmarkLink
from gpuplanner.ui.bench.python_dialog import BenchPythonDialog
from gpuplanner.ui.bench.results import BenchResultsView
from gpuplanner.ui.dialogs import Dialogs
from gpuplanner.ui.settings import AppSettings

RUN_TEXT, STOP_TEXT = "Run benchmark ▶", "Stop benchmark ■"


def finished_message(phases: list[str], note: str = "") -> str:
    """'benchmark finished: matmul, memory bandwidth' — each phase named once, in run order."""
    names = list(dict.fromkeys(p for p in phases if p))
    return f"benchmark finished: {', '.join(names) or 'no results'}" + (f"; {note}" if note else "")


class BenchControl(QtCore.QObject):
    """`started` asks the window to show the Live tab; `message` is a status-bar line."""

    started = QtCore.Signal()
    message = QtCore.Signal(str)

    def __init__(self, services, settings: AppSettings, dialogs: Dialogs, gpus: dict,
                 parent: QtWidgets.QWidget):
        super().__init__(parent)
        self.services, self.settings, self.dialogs = services, settings, dialogs
        self.runner = services.bench_runner
        self.action = QtGui.QAction(RUN_TEXT, self)
        self.action.setToolTip("Measure this machine's matmul FLOP/s and memory bandwidth")
        self.action.setStatusTip(self.action.toolTip())
        self.action.triggered.connect(self.toggle)
        self.action.setEnabled(self.runner is not None)
        self.python_action = QtGui.QAction("Benchmark Python…", self)
        self.python_action.setToolTip("Choose the Python (with torch) the benchmark runs under")
        self.python_action.setStatusTip(self.python_action.toolTip())
        self.python_action.triggered.connect(self.choose_python)
        self.python_action.setEnabled(services.set_bench_python is not None)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.results: BenchResultsView | None = None
        self.link: BenchmarkLink | None = None
        if self.runner is None:
            return
        self.results = BenchResultsView(gpus, services.bench_results_folder
                                        or Path.home() / ".gpuplanner" / "benchmarks", dialogs=dialogs)
        self.link = BenchmarkLink(self.runner, self.results, parent=self)
        self.runner.progress.connect(self._progress)
        self.runner.failed.connect(lambda text: self.message.emit(f"benchmark failed: {text}"))
        self.runner.finished.connect(self._finished)

    def toggle(self) -> None:
        if self.runner.is_running():
            self.runner.stop()
            return
        self.started.emit()  # watch memory climb and fall as it runs
        self.services.start_benchmark(self.runner)
        self.action.setText(STOP_TEXT)
        self.message.emit("benchmark starting…")

    def _progress(self, phase: str, step: int, total: int) -> None:
        self.message.emit(f"benchmark: {phase} {step}/{total}")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(step)
        self.progress.setFormat(f"{phase} %v/%m")
        self.progress.show()

    def _finished(self, ok: bool) -> None:
        self.action.setText(RUN_TEXT)
        self.progress.hide()
        if ok:
            self.message.emit(finished_message([str(r.get("phase") or "") for r in self.runner.results],
                                               self.runner.unreadable_note()))

    def choose_python(self) -> bool:
        dialog = BenchPythonDialog(self.settings.bench_python(), parent=self.parent(), dialogs=self.dialogs)
        if not self.dialogs.run(dialog):
            return False
        self.settings.set_bench_python(dialog.chosen())
        self.services.set_bench_python(dialog.chosen())
        return True

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop(grace_s=0.5)
