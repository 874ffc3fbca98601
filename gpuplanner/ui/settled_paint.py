"""Paint a tab page once, a moment after it is shown or given new content.

Showing a page (or drawing a new answer on it) lays it out and resizes its charts, and a
chart's QGraphicsScene, when it processes its changes, paints the window's pending regions
at once. So a page with charts was painted two or three times, half laid out, in the one long
turn that showed it. The page is kept from painting until that turn is over (a timer never
interrupts a turn), then painted once, laid out, in a turn of its own.
"""
from __future__ import annotations

import weakref

from PySide6 import QtCore, QtWidgets

SETTLE_MS = 30  # longer than the posted work of showing a page usually takes
_DUE: weakref.WeakSet = weakref.WeakSet()  # the pages whose paint is due


def paint_when_settled(page: QtWidgets.QWidget) -> None:
    """Call before `page` is shown (in its setVisible(True)) or changed: afterwards is too
    late, the regions the change makes dirty are painted with the next scene's flush."""
    if page in _DUE:  # its paint shows this change too
        return
    _DUE.add(page)
    page.setUpdatesEnabled(False)
    QtCore.QTimer.singleShot(SETTLE_MS, page, lambda: _paint(page))


def _paint(page: QtWidgets.QWidget) -> None:
    """Let the page paint; its charts first settle what pyqtgraph leaves to the paint itself
    (the view's auto range, resized with the page), which would otherwise paint them again."""
    import pyqtgraph as pg  # loaded already: the pages have charts

    _DUE.discard(page)
    for view in page.findChildren(pg.GraphicsView):
        view.scene().prepareForPaint()
    page.setUpdatesEnabled(True)
