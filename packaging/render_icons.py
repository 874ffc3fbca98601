"""Render resources/icons/gpuplanner.svg to the PNG sizes desktops ask for.

Run after editing the SVG and commit the PNGs: ``.venv/bin/python packaging/render_icons.py``.
Writes resources/icons/gpuplanner-<size>.png (flat names, so the wheel's package data
pattern ``icons/*`` ships them too).
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)


def render(svg: Path, size: int) -> QImage:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])  # QPainter wants a GUI application object
    svg = ICONS / "gpuplanner.svg"
    for size in SIZES:
        target = ICONS / f"gpuplanner-{size}.png"
        if not render(svg, size).save(str(target), "PNG"):
            raise SystemExit(f"render_icons: could not write {target}")
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
