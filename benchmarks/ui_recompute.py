"""How long from a field edit to updated labels, measured on the real window (offscreen).

Times `window.state.recompute()` after a field change until its answer is shown (the debounce
delay itself, 150 ms, is a deliberate wait and not counted), for training and serving plans,
estimated on the worker thread (as until the window is up) and then in the plans' process (as
the app does once it is up: ui.plan.state), and prints the medians.

    .venv/bin/python benchmarks/ui_recompute.py [repeats]
"""
from __future__ import annotations

import statistics
import sys
import time

from PySide6 import QtWidgets
from scratch_window import scratch_window

from gpuplanner.ui import job_process
from gpuplanner.ui.main_window import PLAN_PROCESS, MainWindow


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
    with scratch_window() as (app, window):
        window.form.model_combo.setCurrentText("llama-3.1-70b")
        for where in ("worker thread", "plans' process"):
            if where == "plans' process":
                window.state.use_process(job_process.shared(PLAN_PROCESS))
            for mode, field, values in (("Training", "seq_len", ["2048", "4096", "8192"]),
                                        ("Serving", "concurrency", ["8", "16", "64"])):
                window.form.editor("mode").setCurrentText(mode)
                measure(window, app, field, values, 3)  # the process's first jobs wait for its start
                times = measure(window, app, field, values, repeats)
                print(f"{where}, {mode.lower():9s} field change -> updated labels and chart: "
                      f"median {statistics.median(times):.1f} ms, "
                      f"p90 {statistics.quantiles(times, n=10)[-1]:.1f} ms over {repeats} edits")
        job_process.shared(PLAN_PROCESS).close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
