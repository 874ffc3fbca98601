"""Light and dark: follow the system colour scheme, and make the charts follow the palette.

Qt 6.5+ switches the widget palette itself when the system scheme changes; pyqtgraph does
not, so each chart restyles itself from its palette when that changes.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets


def style_plot_item(item: pg.PlotItem, palette: QtGui.QPalette) -> None:
    """Axes, axis text and legend of one plot from `palette` (the background is the view's)."""
    text = palette.color(QtGui.QPalette.ColorRole.Text)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
    if item.legend is not None:
        item.legend.setLabelTextColor(text)


def style_plot(plot: pg.PlotWidget, palette: QtGui.QPalette) -> None:
    """Background, axes and text of one chart from `palette`."""
    plot.setBackground(palette.color(QtGui.QPalette.ColorRole.Base))
    style_plot_item(plot.plotItem, palette)


class ThemedPlot(pg.PlotWidget):
    """A PlotWidget that restyles itself when its palette changes (system light/dark switch).
    Charts without pyqtgraph's context menus say so with enableMenu=False when they are made:
    building the menus and dropping them again costs about 15 ms of the GUI thread per chart."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, **kwargs):
        self._built = False  # PlotWidget's own constructor changes the palette before the axes exist
        super().__init__(parent, **kwargs)
        self._built = True
        style_plot(self, self.palette())

    def addLegend(self, *args, **kwargs) -> pg.LegendItem:
        legend = self.plotItem.addLegend(*args, **kwargs)
        style_plot(self, self.palette())
        return legend

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() == QtCore.QEvent.Type.PaletteChange and self._built:
            style_plot(self, self.palette())
        super().changeEvent(event)


class ThemedGraphicsLayout(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget of stacked plots (the live and cluster curves) that follows the
    palette like ThemedPlot: background, axes and legends restyled on a light/dark switch."""

    def restyle(self) -> None:
        """Style the plots added so far (call once after adding them)."""
        self.setBackground(self.palette().color(QtGui.QPalette.ColorRole.Base))
        for item in self.ci.items:
            if isinstance(item, pg.PlotItem):
                style_plot_item(item, self.palette())

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() == QtCore.QEvent.Type.PaletteChange and hasattr(self, "ci"):
            self.restyle()
        super().changeEvent(event)
