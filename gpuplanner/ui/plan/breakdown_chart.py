"""Memory per GPU as one stacked horizontal bar against the usable capacity.

One BarGraphItem per component (so each has a legend entry and can be clicked), created once
and moved on each result; clicking a segment emits `segment_clicked(key)` for the Explain area.
A legend is built once per set of components (training's, serving's) and swapped in when the
mode changes: rebuilding one costs tens of milliseconds of the GUI thread.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.core.result import BREAKDOWN_KEYS, PlanResult
from gpuplanner.core.units import MEMORY_UNITS
from gpuplanner.ui.plan.formatting import breakdown_rows
from gpuplanner.ui.theme import ThemedPlot

COLORS = {
    "weights": "#4e79a7", "master_weights": "#76b7b2", "gradients": "#f28e2b", "optimizer": "#e15759",
    "activations": "#59a14f", "kv_cache": "#edc948", "buffers": "#b07aa1",
    "overhead": "#9c755f",
}
BAR_HEIGHT = 0.6
GREYED_OPACITY = 0.35


class _Segment(pg.BarGraphItem):
    """A bar segment that reports left clicks to its chart."""

    def __init__(self, key: str, on_click, **opts):
        super().__init__(**opts)
        self.key = key
        self._on_click = on_click

    def mouseClickEvent(self, event) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            event.accept()
            self._on_click(self.key)


class BreakdownChart(ThemedPlot):
    segment_clicked = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.hideAxis("left")
        self.unit = "GiB"
        self.setLabel("bottom", "memory per GPU (GiB)")
        self.legend = self.addLegend(offset=(5, 5), colCount=4)  # the one shown (empty until a result)
        self.legends: dict[tuple[str, ...], pg.LegendItem] = {}  # by the components listed
        self.segments = {key: _Segment(key, self._clicked, x0=[0.0], width=[0.0], y=[0.0], height=BAR_HEIGHT,
                                       brush=COLORS[key], pen=pg.mkPen(None)) for key in BREAKDOWN_KEYS}
        for segment in self.segments.values():
            self.addItem(segment)
        self.usable_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d32f2f", width=2,
                                                                  style=QtCore.Qt.PenStyle.DashLine),
                                           label="usable {value:.1f} GiB",
                                           labelOpts={"position": 0.9, "color": "#d32f2f"})
        self.addItem(self.usable_line)
        self.setToolTip("Memory of the busiest GPU by component; click a segment to see its formula.")

    def set_greyed(self, greyed: bool) -> None:
        """Fade the bars, axis and legend while they show an earlier answer (a disabled chart
        would look the same as an enabled one)."""
        self.getPlotItem().setOpacity(GREYED_OPACITY if greyed else 1.0)

    def set_unit(self, unit: str) -> None:
        """GiB (2^30 bytes) or GB (10^9 bytes); the next show_result uses it."""
        self.unit = unit
        self.setLabel("bottom", f"memory per GPU ({unit})")
        self.usable_line.label.setFormat(f"usable {{value:.1f}} {unit}")

    def show_result(self, result: PlanResult) -> None:
        """Move the segments (created once) and relabel the legend; rebuilding them on every
        keystroke would cost more than the estimate itself."""
        rows = breakdown_rows(result, self.unit)
        keys = [key for key, _, _ in rows]
        self._show_legend(rows)
        start = 0.0
        for (key, label, size), (_, legend_label) in zip(rows, self.legend.items, strict=True):
            self.segments[key].setOpts(x0=[start], width=[size])
            text = f"{label} {size:,.1f}"
            if legend_label.text != text:  # each relabel lays the legend out again
                legend_label.setText(text)
            start += size
        for key, segment in self.segments.items():
            segment.setVisible(key in keys)
        usable = result.usable_bytes / MEMORY_UNITS[self.unit]
        self.usable_line.setValue(usable)
        self.setXRange(0, max(start, usable) * 1.08, padding=0)
        self.setYRange(-0.5, 1.5, padding=0)

    def _show_legend(self, rows: list) -> None:
        """Show the legend of these rows' components, built the first time they are shown."""
        keys = tuple(key for key, _, _ in rows)
        legend = self.legends.get(keys)
        if legend is None:
            legend = self.legends[keys] = pg.LegendItem(offset=(5, 5), colCount=4)
            legend.setParentItem(self.getPlotItem().vb)
            for key, label, _ in rows:
                legend.addItem(self.segments[key], label)
            legend.setLabelTextColor(self.palette().color(QtGui.QPalette.ColorRole.Text))
        if legend is not self.legend:
            self.legend.setVisible(False)
            legend.setVisible(True)
            self.legend = self.getPlotItem().legend = legend  # the one the theme restyles

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)  # restyles the legend shown
        if event.type() == QtCore.QEvent.Type.PaletteChange and hasattr(self, "legends"):
            for legend in self.legends.values():
                legend.setLabelTextColor(self.palette().color(QtGui.QPalette.ColorRole.Text))

    def _clicked(self, key: str) -> None:
        self.segment_clicked.emit(key)

