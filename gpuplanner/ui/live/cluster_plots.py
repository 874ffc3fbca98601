"""One cluster GPU's curves from a range query, with the plan's per-GPU memory as a line.

Curves are created once and fed with ``setData``; NaN (a step with no sample, a field the
exporter lacks) is a gap, never a zero.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import PySide6  # noqa: F401  (imported before pyqtgraph so it binds to PySide6)
from PySide6 import QtCore, QtWidgets

from gpuplanner.monitor.dcgm import BYTES_PER_MIB, GpuHistory
from gpuplanner.ui.theme import ThemedGraphicsLayout

_MIB_PER_GIB = 2**30 / BYTES_PER_MIB

# (plot title, ((legend, column or "fb_total_mib", colour, dashed), ...), divisor, fixed y range)
_PLOTS = (
    ("Utilization (%)", (("busy", "gpu_util_pct", "#e15759", False),
                         ("tensor active", "tensor_active_pct", "#59a14f", False),
                         ("DRAM active", "dram_active_pct", "#76b7b2", False)), 1.0, (0.0, 100.0)),
    ("Memory (GiB)", (("used", "fb_used_mib", "#4e79a7", False),
                      ("total", "fb_total_mib", "#9c9c9c", True)), _MIB_PER_GIB, None),
    ("Power (W)", (("power", "power_w", "#f28e2b", False),), 1.0, None),
    ("Temperature (°C)", (("GPU", "temperature_c", "#ff9da7", False),), 1.0, None),
)


class GpuCurves(QtWidgets.QWidget):
    """Stacked plots on one time axis for the GPU picked in the overview."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel("Select a GPU in the overview to see its history.")
        self.graphics = ThemedGraphicsLayout()
        self.plots: list[pg.PlotItem] = []
        self.curves: list[tuple[str, float, pg.PlotDataItem]] = []
        for row, (title, curves, divisor, fixed_y) in enumerate(_PLOTS):
            plot = self.graphics.addPlot(row=row, col=0, enableMenu=False, axisItems={"bottom": pg.DateAxisItem()})
            plot.setLabel("left", title)
            plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            if fixed_y is not None:
                plot.setYRange(*fixed_y, padding=0.02)
                plot.enableAutoRange(y=False)
            if self.plots:
                plot.setXLink(self.plots[0])
            for name, column, colour, dashed in curves:
                style = QtCore.Qt.PenStyle.DashLine if dashed else QtCore.Qt.PenStyle.SolidLine
                item = plot.plot(name=name, pen=pg.mkPen(colour, width=1, style=style), connect="finite")
                self.curves.append((column, divisor, item))
            self.plots.append(plot)
        for plot in self.plots[:-1]:
            plot.hideAxis("bottom")
        self.plan_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#b07aa1", width=1, style=QtCore.Qt.PenStyle.DotLine),
                                         label="plan", labelOpts={"position": 0.97})
        self.plan_line.setVisible(False)
        self.plots[1].addItem(self.plan_line)
        self.graphics.restyle()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)

    def show_history(self, history: GpuHistory | None, window_s: float) -> None:
        """Draw ``history`` (None clears the curves)."""
        for column, divisor, item in self.curves:
            if history is None:
                item.setData([], [])
                continue
            values = history.fb_total_mib if column == "fb_total_mib" else history.column(column)
            item.setData(history.times_s, values / divisor)
        if history is None:
            self.title.setText("Select a GPU in the overview to see its history.")
            return
        gpu = history.gpu
        self.title.setText(f"{gpu.label} · {gpu.model_name or 'unknown model'} · {gpu.uuid or 'no UUID'}"
                           f" · last {window_s / 60:g} min from a range query")
        end_s = float(history.times_s[-1]) if len(history.times_s) else 0.0
        self.plots[0].setXRange(end_s - window_s, end_s, padding=0)

    def set_plan_memory(self, bytes_per_gpu: float) -> None:
        """The plan's per-GPU memory as a line on the memory plot (NaN hides it)."""
        shown = math.isfinite(bytes_per_gpu)
        self.plan_line.setVisible(shown)
        if shown:
            self.plan_line.setValue(bytes_per_gpu / 2**30)

    def curve_data(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """What a curve shows (for tests and checks)."""
        item = next(item for name, _, item in self.curves if name == column)
        x, y = item.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))
