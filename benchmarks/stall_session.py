"""The scripted session behind ui_stalls.py (run that): its imports load Qt and the window,
which the window's child processes, re-running the script they were started from, must not."""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402  (Qt before pyqtgraph)

from gpuplanner.app import after_first_paint, hand_over_the_lock_often  # noqa: E402
from gpuplanner.core import load_catalogs  # noqa: E402
from gpuplanner.core.resource_files import resource_path  # noqa: E402
from gpuplanner.ui.first_paint import AfterFirstPaint  # noqa: E402
from gpuplanner.ui.main_window import MainWindow  # noqa: E402
from gpuplanner.ui.settings import AppSettings  # noqa: E402

TICK_MS = 2


class StallMeter(QtCore.QObject):
    """Records how late each 2 ms tick arrives: lateness is time the event loop was blocked."""

    def __init__(self):
        super().__init__()
        self.label = "start"
        self.worst: dict[str, float] = {}
        self.worst_cpu: dict[str, float] = {}  # the GUI thread's CPU time over the longest gap
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        stall_ms = (now - self._last) * 1e3 - TICK_MS
        self.worst[self.label] = max(self.worst.get(self.label, 0.0), stall_ms)
        self.worst_cpu[self.label] = max(self.worst_cpu.get(self.label, 0.0), (cpu - self._last_cpu) * 1e3)
        self._last, self._last_cpu = now, cpu


def scaled_catalog(scale: int, folder: str) -> str:
    """A user catalog with every bundled instance type `scale - 1` more times (renamed)."""
    with open(resource_path("instances.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    path = os.path.join(folder, "instances-x.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(1, scale):
            for row in rows:
                writer.writerow({**row, "instance_type": f"{row['instance_type']}-x{copy}"})
    return path


def actions(window: MainWindow):
    """(label, action) pairs; the Compare tab is looked up when an action runs, as a user's click
    finds it (built after the first paint, or then)."""
    form = window.form

    def edit(field, text):
        return f"edit {field}={text}", lambda: form.editor(field).setText(text)

    def combo(name, widget, value):
        return name, lambda: widget().setCurrentIndex(max(0, widget().findData(value)))

    def sort(column, order):
        return lambda: window.compare_tab.view.sortByColumn(column, order)

    yield "open Compare", lambda: window.tabs.setCurrentIndex(1)
    for text in ("2048", "8192", "4096"):
        yield edit("seq_len", text)
    yield combo("model → llama-3.1-70b", lambda: form.model_combo, "llama-3.1-70b")
    yield combo("model → mixtral-8x7b-v0.1", lambda: form.model_combo, "mixtral-8x7b-v0.1")
    yield combo("model → deepseek-v3", lambda: form.model_combo, "deepseek-v3")
    yield combo("mode → serving", lambda: form.editor("mode"), "infer")
    yield edit("concurrency", "64")
    yield combo("Compare filter → both modes", lambda: window.compare_tab.mode_filter, "")
    yield "sort by $/h", sort(7, QtCore.Qt.SortOrder.DescendingOrder)
    yield "sort by instance", sort(3, QtCore.Qt.SortOrder.AscendingOrder)
    yield combo("mode → training", lambda: form.editor("mode"), "train")
    yield "open Plan", lambda: window.tabs.setCurrentIndex(0)
    for label, act in (edit("seq_len", "2048"), combo("model → llama-3.1-8b", lambda: form.model_combo, "llama-3.1-8b"),
                       combo("mode → serving", lambda: form.editor("mode"), "infer"),
                       combo("model → deepseek-v3", lambda: form.model_combo, "deepseek-v3"),
                       combo("mode → training", lambda: form.editor("mode"), "train")):
        yield f"Plan tab: {label}", act  # the cards, chart and Explain area redrawn
    yield "open Compare again", lambda: window.tabs.setCurrentIndex(1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalog-scale", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    hand_over_the_lock_often()  # as the app does
    app = QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        catalogs = load_catalogs()
        if args.catalog_scale > 1:
            catalogs = catalogs.with_user_file(scaled_catalog(args.catalog_scale, scratch))
        store = QtCore.QSettings(os.path.join(scratch, "s.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(catalogs, AppSettings(store))
        window.resize(1280, 800)
        window.state.wait()  # as the app starts: the first answer, the first paint, then what follows it
        window.show()
        AfterFirstPaint(window, lambda: after_first_paint(window, smoke=False, compare=False))
        app.processEvents()
        meter = StallMeter()
        steps = [step for _ in range(args.rounds) for step in actions(window)]

        def run(i=0):
            if i == 0 and not (window.compare_page.is_built() and window.live_page.is_built()
                               and window.state.process is not None and "pandas.core.frame" in sys.modules):
                QtCore.QTimer.singleShot(100, run)  # the start-up's last steps first, as a user's first click
                return
            if i == len(steps):
                window.compare.stop()
                app.exit(0)  # not quit(): Qt 6 would first close the window, which asks (modally) to save
                return
            meter.label, act = steps[i]
            window.collector.poke()  # as the user's click or key press would (this script calls the widgets)
            act()
            QtCore.QTimer.singleShot(400, lambda: run(i + 1))  # time for debounce, sweep and repaint

        QtCore.QTimer.singleShot(100, run)
        app.exec()
    print(f"{len(catalogs.instances)} instance types; longest event-loop stall per action (ms),"
          " and the longest GUI-thread CPU time between two ticks:")
    for label, stall in sorted(meter.worst.items(), key=lambda kv: -kv[1]):
        print(f"  {stall:7.1f}  {meter.worst_cpu[label]:7.1f} cpu  {label}")
    print(f"longest stall: {max(meter.worst.values()):.1f} ms; longest GUI-thread CPU between ticks: "
          f"{max(meter.worst_cpu.values()):.1f} ms")
    return 0
