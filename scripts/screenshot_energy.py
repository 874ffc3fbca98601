"""Render the Plan tab's TRAIN and SERVE cards offscreen for a plan with the money options set
(a negotiated discount, spot interruptions, an API price and a daily load profile) and save
them to docs/screenshots/energy.png: the energy and carbon figures the README shows.

    .venv/bin/python scripts/screenshot_energy.py [output-folder]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402  (Qt before pyqtgraph)
from screenshots import Discarding, grab, wait_for_bands  # noqa: E402  (this folder's sibling)

from gpuplanner import app as composition  # noqa: E402
from gpuplanner.core import PlanInputs, load_catalogs  # noqa: E402
from gpuplanner.ui.main_window import MainWindow  # noqa: E402
from gpuplanner.ui.settings import AppSettings  # noqa: E402

SAMPLE = PlanInputs(model="llama-3.1-8b", training_tokens=1e11, instance="p5.48xlarge", discounts="aws=15",
                    spot_interruptions_per_hour=0.005, checkpoint_interval_h=1.0, requests_per_s=20.0,
                    api_usd_per_million_input=0.2, api_usd_per_million_output=0.6,
                    load_profile="8-20=120 0-6=0", scale_to_zero=True)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication([])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as scratch:
        settings = AppSettings(QtCore.QSettings(os.path.join(scratch, "s.ini"), QtCore.QSettings.Format.IniFormat))
        window = MainWindow(load_catalogs(), settings, Discarding(), composition._services(app, settings))
        window.form.set_inputs(SAMPLE)
        window.state.recompute()
        window.resize(1280, 800)
        window.show()
        wait_for_bands(window, app)
        grab(window.plan_tab.summary.cards_area.widget(), app, out / "energy.png")  # both cards, unscrolled
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
