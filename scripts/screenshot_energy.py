"""Render the Plan tab's TRAIN and SERVE cards offscreen for a plan with the money options set
(a negotiated discount, spot interruptions, an API price and a daily load profile) and save
them to docs/screenshots/energy.png: the energy and carbon figures the README shows.

    .venv/bin/python scripts/screenshot_energy.py [output-folder]
"""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWidgets  # noqa: E402  (Qt before pyqtgraph)
from screenshots import grab, output_folder, sample_window  # noqa: E402  (this folder's sibling)

from gpuplanner.core import PlanInputs  # noqa: E402

SAMPLE = PlanInputs(model="llama-3.1-8b", training_tokens=1e11, instance="p5.48xlarge", discounts="aws=15",
                    spot_interruptions_per_hour=0.005, checkpoint_interval_h=1.0, requests_per_s=20.0,
                    api_usd_per_million_input=0.2, api_usd_per_million_output=0.6,
                    load_profile="8-20=120 0-6=0", scale_to_zero=True)


def main() -> int:
    out = output_folder()
    app = QtWidgets.QApplication([])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as scratch:
        window = sample_window(app, scratch, SAMPLE)
        grab(window.plan_tab.summary.cards_area.widget(), app, out / "energy.png")  # both cards, unscrolled
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
