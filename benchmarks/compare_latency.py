"""How long a user waits for the Compare table after a change (wall clock, real window, offscreen).

With the Compare tab showing, for each preset: pick the model, then edit a field (seq_len); for
each change, the time from the change to the new table on screen: the form's debounce, the plan's
estimate, the sweep in the comparison process and the table's arrival. Training first, then
serving (the mode switched on the form). The comparison process is warm (started and used once
before the first measurement), as in a window that has been open a few seconds.

    .venv/bin/python benchmarks/compare_latency.py [MODEL ...]
"""
from __future__ import annotations

import sys
import time

from PySide6 import QtCore, QtWidgets
from scratch_window import scratch_window

from gpuplanner.app import hand_over_the_lock_often
from gpuplanner.ui.main_window import MainWindow

MODELS = ("llama-2-7b", "llama-3.1-70b", "mixtral-8x7b-v0.1", "deepseek-v3")
TIMEOUT_S = 120.0


def table_after(app: QtWidgets.QApplication, window: MainWindow, change) -> float:
    """Seconds from `change()` to a Compare table for the form as it then is."""
    compare = window.compare
    started = time.perf_counter()
    change()
    while time.perf_counter() - started < TIMEOUT_S:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        settled = not window.state.stale and window.state.inputs is not None
        if settled and compare.table is not None and compare.inputs == window.state.inputs:
            return time.perf_counter() - started
    raise TimeoutError("no Compare table within the time limit")


def main(models: list[str]) -> int:
    hand_over_the_lock_often()  # as the app does
    with scratch_window() as (app, window):
        form = window.form
        table_after(app, window, lambda: window.tabs.setCurrentIndex(1))  # the process started and warm
        print("seconds from a change to its Compare table (Compare tab showing):")
        mode_box, models_box, seq_len = form.editor("mode"), form.model_combo, form.editor("seq_len")
        for mode in ("train", "infer"):
            table_after(app, window, lambda mode=mode: mode_box.setCurrentIndex(mode_box.findData(mode)))
            for model in models or MODELS:
                pick = table_after(app, window, lambda model=model: models_box.setCurrentIndex(models_box.findData(model)))
                new = "8192" if seq_len.text() != "8192" else "4096"
                edit = table_after(app, window, lambda new=new: seq_len.setText(new))
                print(f"  {mode:5}  {model:20}  model picked {pick:6.2f}   seq_len edited {edit:6.2f}", flush=True)
        window.compare.stop()  # no close(): for an edited plan it would ask, modally, whether to save
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
