"""Light and dark: follow the system colour scheme, and make the charts follow the palette.

Qt 6.5+ switches the widget palette itself when the system scheme changes; pyqtgraph does
not, so each chart restyles itself from its palette when that changes.
"""
from __future__ import annotations

import ctypes
import sys

import PySide6
from PySide6 import QtCore, QtGui, QtWidgets

import pyqtgraph as pg

_TRUE_RESERVE = 2**40
_guarded = False


def guard_true_refcount() -> None:
    """Work around PySide6 6.12.0's Signal.emit() returning True without a reference.

    On CPython < 3.12 every Python-side emit (pyqtgraph emits on each redraw) drops a reference
    to True and the interpreter aborts ("bool_dealloc") after a few hundred redraws. A large
    reserve does what 3.12 does anyway (immortal True). Idempotent; a no-op elsewhere.
    """
    global _guarded
    if _guarded or sys.version_info >= (3, 12) or not PySide6.__version__.startswith("6.12."):
        return
    ctypes.c_ssize_t.from_address(id(True)).value += _TRUE_RESERVE
    _guarded = True


def is_dark(palette: QtGui.QPalette) -> bool:
    return palette.color(QtGui.QPalette.ColorRole.Window).lightness() < 128


def style_plot(plot: pg.PlotWidget, palette: QtGui.QPalette) -> None:
    """Background, axes and text of one chart from `palette`."""
    background = palette.color(QtGui.QPalette.ColorRole.Base)
    text = palette.color(QtGui.QPalette.ColorRole.Text)
    plot.setBackground(background)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
    if plot.plotItem.legend is not None:
        plot.plotItem.legend.setLabelTextColor(text)


class ThemedPlot(pg.PlotWidget):
    """A PlotWidget that restyles itself when its palette changes (system light/dark switch)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, **kwargs):
        guard_true_refcount()
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
