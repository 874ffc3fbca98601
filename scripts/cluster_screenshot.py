"""Render the Live tab's cluster view offscreen against the test cluster (a real Prometheus
scraping fake dcgm-exporters, tests/helpers/cluster_harness.py) and save docs/screenshots/cluster.png.

Needs Debian's prometheus (scripts/setup.sh installs it). Waits WAIT_S for some history.

    .venv/bin/python scripts/cluster_screenshot.py [output.png]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "helpers"))

from cluster_harness import PASSWORD, USER, Cluster  # noqa: E402
from PySide6 import QtGui, QtWidgets  # noqa: E402  (Qt before pyqtgraph)

from gpuplanner.core import PlanInputs, estimate, load_catalogs  # noqa: E402
from gpuplanner.monitor.cluster import ClusterPoller  # noqa: E402
from gpuplanner.ui.live.cluster import ClusterPanel  # noqa: E402

WAIT_S = 90
SIZE = (1280, 800)


def pump(app: QtWidgets.QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.05)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "cluster.png"
    app = QtWidgets.QApplication([])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as scratch:
        cluster = Cluster(Path(scratch))
        try:
            time.sleep(WAIT_S)
            panel = ClusterPanel(ClusterPoller(interval_s=1.0))
            panel.resize(*SIZE)
            panel.show()
            panel.url_edit.setText(cluster.url)
            panel.auth_picker.setCurrentIndex(2)
            panel.user_edit.setText(USER)
            panel.password_edit.setText(PASSWORD)
            panel.set_plan(estimate(PlanInputs(), load_catalogs()))
            panel.connect_to_server()
            pump(app, 3)
            panel.select_keys([r.gpu.key for r in panel.snapshot.readings if r.gpu.job == "4242"])
            pump(app, 3)
            image = panel.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_Indexed8)
            if not image.save(str(out), "PNG", 9):
                raise SystemExit(f"cannot write {out}")
            print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
            panel.stop()
        finally:
            cluster.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
