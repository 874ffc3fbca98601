"""How long from a field edit to updated labels, measured on the real window (offscreen).

Times `window.state.recompute()` after a field change until its answer, estimated on the worker
thread, is shown (the debounce delay itself, 150 ms, is a deliberate wait and not counted), for
training and serving plans, and prints the median.

    .venv/bin/python benchmarks/ui_recompute.py [repeats]
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402  (Qt before pyqtgraph)

from gpuplanner.core import load_catalogs  # noqa: E402
from gpuplanner.ui.main_window import MainWindow  # noqa: E402
from gpuplanner.ui.settings import AppSettings  # noqa: E402


def measure(window: MainWindow, app: QtWidgets.QApplication, field: str, values: list[str],
            repeats: int) -> list[float]:
    editor = window.form.editor(field)
    times_ms = []
    for i in range(repeats):
        editor.setText(values[i % len(values)])  # starts the debounce timer, as typing does
        started = time.perf_counter()
        window.state.recompute()  # stops the debounce timer the edit started
        window.state.wait()
        app.processEvents()  # let the labels and chart repaint
        times_ms.append((time.perf_counter() - started) * 1e3)
    return times_ms


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    app = QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        store = QtCore.QSettings(os.path.join(scratch, "s.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(load_catalogs(), AppSettings(store))
        window.resize(1280, 800)
        window.show()
        window.form.model_combo.setCurrentText("llama-3.1-70b")
        for mode, field, values in (("Training", "seq_len", ["2048", "4096", "8192"]),
                                    ("Serving", "concurrency", ["8", "16", "64"])):
            window.form.editor("mode").setCurrentText(mode)
            times = measure(window, app, field, values, repeats)
            print(f"{mode.lower():9s} field change -> updated labels and chart: "
                  f"median {statistics.median(times):.1f} ms, "
                  f"p90 {statistics.quantiles(times, n=10)[-1]:.1f} ms over {repeats} edits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
