"""The Qt process state a PDF needs: a QGuiApplication (without one QPdfWriter aborts and leaves a
0-byte file) and a font whose glyphs cover the report's symbols (×, →, ≈) and get embedded."""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf")
FONT_FAMILY = "DejaVu Sans"
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def ensure_gui_app() -> QGuiApplication:
    """Return the running QGuiApplication, creating one if there is none.

    Headless (no display variable set), the offscreen platform is chosen first: without it Qt
    aborts the whole process instead of raising."""
    if not any(os.environ.get(name) for name in DISPLAY_VARIABLES):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QGuiApplication.instance()
    if app is None:
        return QGuiApplication([])
    if not isinstance(app, QGuiApplication):
        raise RuntimeError("a non-GUI QCoreApplication is running; PDF export needs a QGuiApplication")
    return app


@cache
def report_font_family() -> str:
    """DejaVu Sans when its files are there (Debian's fonts-dejavu-core), else Qt's default family."""
    for name in FONT_FILES:
        if (FONT_DIR / name).is_file():
            QFontDatabase.addApplicationFont(str(FONT_DIR / name))
    if FONT_FAMILY in QFontDatabase.families():
        return FONT_FAMILY
    return QGuiApplication.font().family()


def report_font(point_size: float) -> QFont:
    """The report's font without ligatures: copied or searched PDF text then says 'fi', not 'ﬁ'."""
    font = QFont(report_font_family())
    font.setPointSizeF(point_size)
    font.setFeature(QFont.Tag("liga"), 0)
    return font
