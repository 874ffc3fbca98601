"""Render the window offscreen at 1280×800 with a sample plan and save the Plan and Compare
tabs (with the error bands, once the accuracy ledger is evaluated) and Help → Accuracy to
docs/screenshots/ (main-window.png, compare.png, accuracy.png), then run the real benchmark on this
machine and save the Live tab (live.png): telemetry from NVML, or CPU/RAM where there is none.

    .venv/bin/python scripts/screenshots.py [output-folder]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402  (Qt before pyqtgraph)

from gpuplanner import app as composition  # noqa: E402
from gpuplanner.core import PlanInputs, load_catalogs  # noqa: E402
from gpuplanner.ui.dialogs import DISCARD, Dialogs  # noqa: E402
from gpuplanner.ui.main_window import MainWindow  # noqa: E402
from gpuplanner.ui.settings import AppSettings  # noqa: E402

SAMPLE = PlanInputs(model="llama-3.1-70b", training_tokens=2e12, seq_len=4096, instance="p5.48xlarge",
                    max_training_days=30)
SIZE = (1280, 800)


class Discarding(Dialogs):
    """Closing the sample plan must not wait for a "save changes?" answer nobody can give."""

    def ask_save_changes(self, parent, name):
        return DISCARD


def grab(window: QtWidgets.QWidget, app: QtWidgets.QApplication, path: Path) -> None:
    for _ in range(3):  # let layouts and charts settle
        app.processEvents()
    image = window.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_Indexed8)
    if not image.save(str(path), "PNG", 9):
        raise SystemExit(f"cannot write {path}")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def sample_window(app: QtWidgets.QApplication, scratch: str, inputs: PlanInputs) -> MainWindow:
    """The real window (settings in `scratch`) showing `inputs` at 1280×800, error bands in."""
    settings = AppSettings(QtCore.QSettings(os.path.join(scratch, "s.ini"), QtCore.QSettings.Format.IniFormat))
    window = MainWindow(load_catalogs(), settings, Discarding(), composition._services(app, settings))
    window.form.set_inputs(inputs)
    window.state.recompute()
    window.state.wait()
    window.resize(*SIZE)
    window.show()
    window.plan_tab.build_chart()  # as the app does after the first paint
    wait_for_bands(window, app)
    return window


def output_folder() -> Path:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def main() -> int:
    out = output_folder()
    app = QtWidgets.QApplication([])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as scratch:
        window = sample_window(app, scratch, SAMPLE)
        window.plan_tab.explain_primary("activations")
        grab(window, app, out / "main-window.png")
        window.tabs.setCurrentWidget(window.compare_tab)
        wait_until(lambda: window.compare.table is not None, app)  # the sweep runs on a worker thread
        grab(window, app, out / "compare.png")
        show_accuracy(window, app)
        grab(window.accuracy_view, app, out / "accuracy.png")
        window.accuracy_view.close()
        run_benchmark(window, app)
        grab(window, app, out / "live.png")
        window.close()
    return 0


def wait_until(done, app: QtWidgets.QApplication, timeout_s: float = 60) -> None:
    """Run the event loop until `done()` (work on other threads reports back through it)."""
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.05)


def wait_for_bands(window: MainWindow, app: QtWidgets.QApplication) -> None:
    """The cards show their error bands once the ledger (in the comparison process) is evaluated."""
    wait_until(lambda: window.plan_tab.summary.band_rows is not None, app)


def show_accuracy(window: MainWindow, app: QtWidgets.QApplication) -> None:
    """Help → Accuracy on the training-throughput class (two sources), one point selected."""
    window.accuracy_action.trigger()
    window.accuracy_view.resize(*SIZE)
    view = window.accuracy_view
    view.set_class("training_throughput")
    wait_until(lambda: bool(view.proxy.shown_rows()), app)  # the ledger's rows come from the comparison process
    view.select_outcome(view.proxy.shown_rows()[0])


def run_benchmark(window: MainWindow, app: QtWidgets.QApplication, timeout_s: float = 180) -> None:
    """Start the benchmark from the toolbar and wait (event loop running) until it ends."""
    loop = QtCore.QEventLoop()
    window.services.bench_runner.finished.connect(loop.quit)
    QtCore.QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    window.bench.action.trigger()
    window.live_panel.set_history_window(60.0)  # a one-minute run fills a one-minute window
    loop.exec()
    QtCore.QTimer.singleShot(2500, loop.quit)  # one more telemetry redraw after the end
    loop.exec()


if __name__ == "__main__":
    raise SystemExit(main())
