"""A tab page built the first time it is shown or asked for.

The window's first paint shows only the Plan tab; building the others (their tables, charts
and imports) before it would make every start pay for pages most sessions never open.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets


class LazyTab(QtCore.QObject):
    """A blank stand-in page in `tabs` under `label` until the tab is shown or `widget()` is
    called; then `build()` runs once and its page takes the stand-in's place (and stays
    current if the stand-in was).

    Connect to the tab widget's currentChanged after creating this: slots run in the order
    they were connected, so they see the built page, never the stand-in."""

    def __init__(self, tabs: QtWidgets.QTabWidget, label: str, build: Callable[[], QtWidgets.QWidget]):
        super().__init__(tabs)
        self._tabs, self._label, self._build = tabs, label, build
        self._page: QtWidgets.QWidget | None = None
        self._placeholder: QtWidgets.QWidget | None = QtWidgets.QWidget()
        tabs.addTab(self._placeholder, label)
        tabs.currentChanged.connect(self._current_changed)

    def is_built(self) -> bool:
        return self._page is not None

    def is_current(self) -> bool:
        """Is this tab showing? (Asking does not build it.)"""
        return self._tabs.currentWidget() is (self._page or self._placeholder)

    def widget(self) -> QtWidgets.QWidget:
        """The real page, built now if it was not yet."""
        if self._page is None:
            page = self._page = self._build()
            index = self._tabs.indexOf(self._placeholder)
            current = self._tabs.currentIndex() == index
            with QtCore.QSignalBlocker(self._tabs):  # the tab shown does not change, only its page
                self._tabs.insertTab(index, page, self._label)
                if current:
                    self._tabs.setCurrentIndex(index)
                self._tabs.removeTab(index + 1)
            self._placeholder.setParent(None)  # now Python's: deleted with this last reference
            self._placeholder = None
        return self._page

    def _current_changed(self) -> None:
        if self._page is None and self._tabs.currentWidget() is self._placeholder:
            self.widget()
