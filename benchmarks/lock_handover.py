"""How late a 2 ms Qt timer ticks while a worker thread computes estimates, at a given
interpreter switch interval (gpuplanner.app.hand_over_the_lock_often sets the app's).

Every tick runs Python on the GUI thread, so it waits for the interpreter lock the worker holds;
the median and 99th percentile of the gaps show what a GUI-thread slot waits. Alternate the two
settings on a shared machine:

    .venv/bin/python benchmarks/lock_handover.py 0.005 && .venv/bin/python benchmarks/lock_handover.py 0.001
"""
from __future__ import annotations

import os
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from gpuplanner.core import PlanInputs, estimate, load_catalogs  # noqa: E402

SECONDS = 6


def main(switch_s: str = "0.005") -> None:
    sys.setswitchinterval(float(switch_s))
    app = QtWidgets.QApplication([])
    catalogs = load_catalogs()
    done = threading.Event()

    def work() -> None:  # what the plan worker does after a model change, over and over
        while not done.is_set():
            for model in ("deepseek-v3", "llama-3.1-70b"):
                estimate(PlanInputs(model=model), catalogs)

    threading.Thread(target=work, daemon=True).start()
    gaps, last = [], [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(2)
    QtCore.QTimer.singleShot(SECONDS * 1000, app.quit)
    app.exec()
    done.set()
    gaps.sort()
    print(f"switch interval {float(switch_s) * 1e3:g} ms: {len(gaps)} ticks in {SECONDS} s, gap median "
          f"{gaps[len(gaps) // 2] * 1e3:.1f} ms, p99 {gaps[int(len(gaps) * 0.99)] * 1e3:.1f} ms, "
          f"max {gaps[-1] * 1e3:.1f} ms")


if __name__ == "__main__":
    main(*sys.argv[1:])
