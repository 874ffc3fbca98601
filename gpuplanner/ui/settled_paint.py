"""Paint a tab page once, a moment after it is shown or given new content, and its charts a
turn after the rest of it.

Showing a page (or drawing a new answer on it) lays it out and resizes its charts, and a
chart's QGraphicsScene, when it processes its changes, paints the window's pending regions
at once. So a page with charts was painted two or three times, half laid out, in the one long
turn that showed it. The page is kept from painting until that turn is over (a timer never
interrupts a turn), then painted once, laid out, in a turn of its own; its charts (pyqtgraph
views, ~5-15 ms each) in the turn after, so that no turn holds the whole page. Until then a
chart of a page just shown shows its empty background, a chart with new content its old one.
"""
from __future__ import annotations

import weakref

from PySide6 import QtCore, QtGui, QtWidgets

SETTLE_MS = 30  # longer than the posted work of showing a page usually takes
_DUE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # page whose paint is due -> shown since


def paint_when_settled(page: QtWidgets.QWidget, shown: bool = False) -> None:
    """Call before `page` is shown (in its setVisible(True), with `shown`) or changed:
    afterwards is too late, the regions the change makes dirty are painted with the next
    scene's flush."""
    if page in _DUE:  # its paint shows this change too
        _DUE[page] |= shown
        return
    _DUE[page] = shown
    page.setUpdatesEnabled(False)
    QtCore.QTimer.singleShot(SETTLE_MS, page, lambda: _paint(page))


def _paint(page: QtWidgets.QWidget) -> None:
    """Let the page paint, its charts a turn later. The charts first settle what pyqtgraph
    leaves to the paint itself (the view's auto range, resized with the page), which would
    otherwise paint them again."""
    shown = _DUE.pop(page, False)
    # the charts (pyqtgraph's GraphicsView, the window's only graphics views; not imported here:
    # pyqtgraph loads after the first paint, ui.chart_library)
    views = [view for view in page.findChildren(QtWidgets.QGraphicsView) if view.isVisibleTo(page)]
    for view in views:
        view.scene().prepareForPaint()
        if shown:  # what the window held there is another page's: an empty chart until its turn
            view.viewport().installEventFilter(_BLANK_ONCE)
        else:  # its old picture stays until its turn
            view.setUpdatesEnabled(False)
    page.setUpdatesEnabled(True)
    if not shown:
        QtCore.QTimer.singleShot(1, page, lambda: [view.setUpdatesEnabled(True) for view in views])


class _BlankOnce(QtCore.QObject):
    """Paints a chart's viewport with its background once, and asks for its real paint in the
    next turn."""

    def eventFilter(self, viewport: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() != QtCore.QEvent.Type.Paint:
            return False
        viewport.removeEventFilter(self)
        painter = QtGui.QPainter(viewport)
        painter.fillRect(viewport.rect(), viewport.parent().backgroundBrush())
        painter.end()
        QtCore.QTimer.singleShot(1, viewport, viewport.update)
        return True


_BLANK_ONCE = _BlankOnce()
