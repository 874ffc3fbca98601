"""The benchmark's results: achieved TFLOP/s and GB/s beside the device's datasheet peak,
the training step's measured against predicted peak memory, saved with the date, and
"Use for planning", which turns the measurements into a "This machine" GPU for the planner.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from gpuplanner.core.units import MIB
from gpuplanner.ui.dialogs import Dialogs

if TYPE_CHECKING:  # the benchmark's modules are imported when a run is shown: they cost start-up time
    from gpuplanner.bench.run import BenchRun

HEADERS = ("Measurement", "Achieved", "Datasheet peak", "% of peak")
# How the table shows each canonical unit: (divisor, unit shown)
_SHOWN_UNITS = {"FLOP/s": (1e12, "TFLOP/s"), "B/s": (1e9, "GB/s"), "%": (1.0, "%")}
# How the benchmark measured the training step's peak memory (bench/kernels.py), in plain words
PEAK_MEMORY_METHODS = {
    "cuda_max_memory_allocated": "torch's peak GPU allocation",
    "rss_high_water_delta": "growth of the process's peak memory use",
    "rss_delta_at_end": "growth of the process's memory use by the end of the step",
}


def _fmt(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    divisor, shown = _SHOWN_UNITS[unit]
    return f"{value / divisor:,.3g} {shown}"


class BenchResultsView(QtWidgets.QWidget):
    """Shows one benchmark run; `gpus` is the GPU catalog used to find the datasheet peaks."""

    use_for_planning = QtCore.Signal(object)  # GpuSpec named "This machine"

    def __init__(self, gpus: dict, results_folder: Path, parent: QtWidgets.QWidget | None = None,
                 dialogs: Dialogs | None = None):
        super().__init__(parent)
        self.dialogs = dialogs or Dialogs()
        self._gpus = gpus
        self._folder = Path(results_folder)
        self.run: BenchRun | None = None
        self.device_label = QtWidgets.QLabel("No benchmark run yet: press “Run benchmark ▶”.")
        self.device_label.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        # compact rows (one line of text each): every row shows and the curves above keep their room
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # every row shows
        self.memory_label = QtWidgets.QLabel()
        self.memory_label.setWordWrap(True)
        self.save_button = QtWidgets.QPushButton("Save results")
        self.load_button = QtWidgets.QPushButton("Open results…")
        self.plan_button = QtWidgets.QPushButton("Use for planning")
        self.plan_button.setToolTip("Add a “This machine” GPU whose peaks are the measured figures")
        self.save_button.clicked.connect(self.save)
        self.load_button.clicked.connect(self._choose_and_load)
        self.plan_button.clicked.connect(self._emit_machine_gpu)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.save_button, self.load_button, self.plan_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.device_label)
        layout.addWidget(self.table)
        layout.addWidget(self.memory_label)
        layout.addLayout(buttons)
        self._update_buttons()

    # ---- data ------------------------------------------------------------------------------
    def set_run(self, run: BenchRun) -> None:
        """Show a run next to the datasheet of the catalog GPU its device is (if any)."""
        from gpuplanner.bench.calibration import match_gpu
        from gpuplanner.bench.results import achieved_vs_peak

        self.run = run
        device = run.device
        spec = match_gpu(device.name, float(device.total_memory_bytes or 0), self._gpus)
        rows = achieved_vs_peak(run, spec)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            cells = (row.label, _fmt(row.achieved, row.unit), _fmt(row.peak, row.unit), _fmt(row.pct_of_peak, "%"))
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        compared = f"compared with the {spec.full_name} datasheet" if spec else "no datasheet peak for this device"
        self.device_label.setText(
            f"{device.name} · torch {device.torch_version or '?'} · {device.threads} threads · "
            f"measured {run.measured_at.date().isoformat()} · {compared}")
        self.memory_label.setText(self._memory_text())
        self._fit_rows()
        self._update_buttons()

    def _fit_rows(self) -> None:
        """Ask for the height of every row, so a splitter above gives the table room for all."""
        table = self.table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setMinimumHeight(table.horizontalHeader().sizeHint().height() + rows + 2 * table.frameWidth())

    def show_unreadable(self, reason: str) -> None:
        """Say that the last run's results could not be read (the shown run, if any, stays)."""
        self.device_label.setText(f"The benchmark's results cannot be shown ({reason}); "
                                  "is the benchmark Python running another gpuplanner version?")

    def _memory_text(self) -> str:
        train = self.run.train if self.run else None
        if train is None:
            return ""
        from gpuplanner.bench.calibration import predict_train_step

        try:
            predicted = predict_train_step(train.config).total_bytes
        except (KeyError, TypeError, ValueError, ArithmeticError) as e:  # another version's config
            return f"Training step: its configuration cannot be read ({type(e).__name__}: {e})."
        measured = train.peak_memory_bytes
        method = PEAK_MEMORY_METHODS.get(train.peak_memory_method, "method not recorded")
        return (f"Training step ({train.param_count:,} parameters): measured peak {measured / MIB:,.0f} MiB "
                f"({method}), planner predicts {predicted / MIB:,.0f} MiB "
                f"(measured/predicted = {measured / predicted:.2f}).")

    def machine_gpu(self):
        """The "This machine" GPU built from the shown run (None before a run that can plan)."""
        if self.run is None:
            return None
        from gpuplanner.bench.calibration import can_plan_with, machine_gpu

        return machine_gpu(self.run) if can_plan_with(self.run) else None

    # ---- actions -----------------------------------------------------------------------------
    def save(self) -> Path | None:
        if self.run is None:
            return None
        from gpuplanner.bench.results import save_results

        try:
            path = save_results(self._folder, self.run)
        except OSError as e:  # core.atomic's WriteError names the file and the reason
            self.dialogs.error(self, "Cannot save results", str(e))
            return None
        self.device_label.setText(self.device_label.text() + f" · saved to {path}")
        return path

    def load(self, path: Path) -> None:
        """Show a saved run; ValueError (with the path) for a file that is not one."""
        from gpuplanner.bench.results import load_results

        self.set_run(load_results(path))

    def _choose_and_load(self) -> None:
        path = self.dialogs.open_path(self, "Open benchmark results", "Benchmark results (*.json)")
        if path:
            try:
                self.load(Path(path))
            except ValueError as e:
                self.dialogs.error(self, "Cannot open results", str(e))

    def _emit_machine_gpu(self) -> None:
        gpu = self.machine_gpu()
        if gpu is not None:
            self.use_for_planning.emit(gpu)

    def _update_buttons(self) -> None:
        self.save_button.setEnabled(self.run is not None)
        self.plan_button.setEnabled(self.machine_gpu() is not None)
