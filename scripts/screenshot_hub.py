"""Render the window offscreen with a plan for a model fetched by its Hugging Face Hub id and save
docs/screenshots/hub-model.png. The Hub is the tests' loopback server (tests/helpers/hub_support.py:
recorded config.json and safetensors headers), so the picture needs no network and no token.

    .venv/bin/python scripts/screenshot_hub.py [output-folder]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "helpers"))

from hub_support import QWEN, FakeHub  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402  (Qt before pyqtgraph)
from screenshots import SIZE, Discarding, grab, wait_for_bands  # noqa: E402

from gpuplanner.core import PlanInputs, load_catalogs  # noqa: E402
from gpuplanner.ui.main_window import MainWindow  # noqa: E402
from gpuplanner.ui.settings import AppSettings  # noqa: E402

SAMPLE = PlanInputs(mode="infer", instance="g6.xlarge", concurrency=32, requests_per_s=2.0)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication([])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as scratch, FakeHub() as hub:
        os.environ.update(HF_ENDPOINT=hub.url, HF_HOME=scratch, HF_HUB_CACHE=os.path.join(scratch, "hub"))
        store = QtCore.QSettings(os.path.join(scratch, "s.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(load_catalogs(), AppSettings(store), Discarding())
        window.form.set_inputs(SAMPLE)
        window.resize(*SIZE)
        window.show()
        window.form.model_combo.setCurrentText(QWEN)
        if not window.sources.load_hub_model(QWEN):
            raise SystemExit(f"cannot fetch {QWEN} from the loopback Hub")
        window.state.recompute()
        window.state.wait()
        wait_for_bands(window, app)
        grab(window, app, out / "hub-model.png")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
