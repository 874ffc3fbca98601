"""The window the benchmarks drive: the real MainWindow at 1280×800, offscreen unless a display
is asked for, with its settings in a temporary folder (never the user's)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402  (Qt before pyqtgraph)

from gpuplanner.core import load_catalogs  # noqa: E402
from gpuplanner.ui.main_window import MainWindow  # noqa: E402
from gpuplanner.ui.settings import AppSettings  # noqa: E402


@contextmanager
def scratch_window() -> Iterator[tuple[QtWidgets.QApplication, MainWindow]]:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        store = QtCore.QSettings(os.path.join(scratch, "s.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(load_catalogs(), AppSettings(store))
        window.resize(1280, 800)
        window.show()
        yield app, window
