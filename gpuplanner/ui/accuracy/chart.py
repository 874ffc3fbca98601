"""Predicted against measured on log–log axes: the y = x line, the ±10 % and ±25 % bands, and
one colour per source. A click on a point reports the outcome index it stands for."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.ui.compare.tab import PALETTE
from gpuplanner.ui.theme import ThemedPlot

BANDS = ((0.25, 40), (0.10, 70))  # (relative error, fill alpha): the wider band drawn first
MARGIN = 1.5  # the axes reach this factor beyond the outermost points


class LogAxis(pg.AxisItem):
    """Log-axis labels as plain numbers at 1, 2 and 5 of each decade ('200', '1,000', '0.5');
    the other ticks stay unlabelled so neighbouring labels never overlap."""

    def tickStrings(self, values, scale, spacing):
        labels = []
        for v in values:
            x = 10 ** v
            decimals = max(0, -math.floor(v + 1e-9))
            mantissa = round(x / 10 ** math.floor(v + 1e-9), 6)
            labels.append(f"{x:,.{decimals}f}" if mantissa in (1, 2, 5) else "")
        return labels


class AccuracyChart(ThemedPlot):
    point_clicked = QtCore.Signal(int)  # outcome index

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, enableMenu=False, axisItems={"bottom": LogAxis("bottom"), "left": LogAxis("left")})
        self.setLogMode(x=True, y=True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.addLegend(offset=(5, 5))
        self.setMinimumHeight(240)
        self.points: dict[int, tuple[float, float]] = {}  # outcome index -> (measured, predicted)
        self.selected = pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=16, symbolBrush=None,
                                        symbolPen=pg.mkPen("#d32f2f", width=2))

    def show_outcomes(self, outcomes, indexes: list[int], unit_label: str) -> None:
        """Plot outcomes[i] for i in `indexes` (rows with a prediction), coloured by dataset."""
        self.clear()
        self.legend.clear()
        self.setLabel("bottom", f"measured ({unit_label})")
        self.setLabel("left", f"predicted ({unit_label})")
        self.points = {i: (outcomes[i].case.measured, outcomes[i].predicted) for i in indexes
                       if outcomes[i].ok and outcomes[i].predicted > 0 and outcomes[i].case.measured > 0}
        if not self.points:
            return
        values = [v for pair in self.points.values() for v in pair]
        lo, hi = min(values) / MARGIN, max(values) * MARGIN
        self._reference(lo, hi)
        by_dataset: dict[str, list[int]] = {}
        for i in self.points:
            by_dataset.setdefault(outcomes[i].case.dataset, []).append(i)
        for color, (dataset, rows) in zip(PALETTE * 2, sorted(by_dataset.items())):
            item = pg.PlotDataItem([self.points[i][0] for i in rows], [self.points[i][1] for i in rows],
                                   pen=None, symbol="o", symbolSize=7, symbolBrush=color,
                                   symbolPen=pg.mkPen(QtGui.QColor(color).darker(130)), data=rows, name=dataset)
            item.sigPointsClicked.connect(self._clicked)
            self.addItem(item)
        self.addItem(self.selected)
        self.setXRange(math.log10(lo), math.log10(hi), padding=0)
        self.setYRange(math.log10(lo), math.log10(hi), padding=0)

    def _reference(self, lo: float, hi: float) -> None:
        """y = x and its bands. The bands are drawn in the view's own log10 coordinates
        (PlotCurveItem has no log mode of its own), the line as data like the points."""
        xs = [math.log10(lo), math.log10(hi)]
        for band, alpha in BANDS:
            under, over = (pg.PlotCurveItem(xs, [x + math.log10(1 + sign * band) for x in xs])
                           for sign in (-1, 1))
            self.addItem(pg.FillBetweenItem(under, over, brush=pg.mkBrush(120, 144, 156, alpha)))
        self.addItem(pg.PlotDataItem([lo, hi], [lo, hi], pen=pg.mkPen("#607d8b", width=1.5)))
        self.legend.addItem(pg.PlotDataItem([], [], pen=pg.mkPen("#607d8b")), "y = x (bands ±10 %, ±25 %)")

    def select(self, index: int | None) -> None:
        """Ring the point of outcome `index` (None or a row without a point: no ring)."""
        point = self.points.get(index) if index is not None else None
        self.selected.setData([point[0]] if point else [], [point[1]] if point else [])

    def _clicked(self, item, points, event) -> None:
        if len(points):
            self.point_clicked.emit(int(points[0].data()))
