"""Render the window offscreen at 1280×800 with a sample plan and save the Plan and Compare
tabs to docs/screenshots/ (main-window.png, compare.png).

    .venv/bin/python scripts/screenshots.py [output-folder]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402  (Qt before pyqtgraph)

from gpuplanner.core import PlanInputs, load_catalogs  # noqa: E402
from gpuplanner.ui.main_window import MainWindow  # noqa: E402
from gpuplanner.ui.settings import AppSettings  # noqa: E402

SAMPLE = PlanInputs(model="llama-3.1-70b", training_tokens=2e12, seq_len=4096, instance="p5.48xlarge",
                    max_training_days=30)
SIZE = (1280, 800)


def grab(window: MainWindow, app: QtWidgets.QApplication, path: Path) -> None:
    for _ in range(3):  # let layouts and charts settle
        app.processEvents()
    image = window.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_Indexed8)
    if not image.save(str(path), "PNG", 9):
        raise SystemExit(f"cannot write {path}")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication([])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as scratch:
        store = QtCore.QSettings(os.path.join(scratch, "s.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(load_catalogs(), AppSettings(store))
        window.form.set_inputs(SAMPLE)
        window.recompute()
        window.resize(*SIZE)
        window.show()
        window.plan_tab.explain_primary("activations")
        grab(window, app, out / "main-window.png")
        window.tabs.setCurrentWidget(window.compare_tab)
        grab(window, app, out / "compare.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
