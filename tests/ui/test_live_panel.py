"""The live panel driven through pytest-qt with replayed and synthetic telemetry."""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
import pytest
from ui_support import FakeDialogs

from gpuplanner.monitor import (
    CSV_COLUMNS,
    DeviceKind,
    FallbackSource,
    NvmlSource,
    ReplaySource,
    Sampler,
    SamplerRates,
    SystemSource,
    read_session,
)
from gpuplanner.monitor.synthetic import SyntheticSource, write_synthetic_session
from gpuplanner.ui.live.panel import LivePanel

GIB = 2**30
FAST = SamplerRates(usage_interval_s=0.005, sensors_interval_s=0.01, processes_interval_s=0.01)


@pytest.fixture
def make_panel(qtbot):
    def make(source, rates: SamplerRates = FAST) -> LivePanel:
        panel = LivePanel(Sampler(source, rates), drain_interval_ms=20)
        qtbot.addWidget(panel)
        panel.resize(900, 700)
        panel.show()
        return panel

    return make


def curve(panel: LivePanel, label: str, kind: DeviceKind = DeviceKind.GPU):
    return next(item for spec, item in panel.pages[kind].curves if spec.label == label)


def curve_length(panel: LivePanel, label: str) -> int:
    x, _ = curve(panel, label).getData()
    return 0 if x is None else len(x)


def replayed(qtbot, make_panel, path: Path, rates: SamplerRates = FAST) -> LivePanel:
    panel = make_panel(ReplaySource(path), rates)
    qtbot.waitUntil(lambda: "finished" in panel.status_label.text(), timeout=5000)
    panel.drain_now()
    return panel


def test_curves_fill_with_the_replayed_samples(qtbot, make_panel, tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=30)
    session = read_session(path)
    panel = replayed(qtbot, make_panel, path)
    x, y = curve(panel, "used").getData()
    assert list(x) == [s.timestamp_s for s in session.usage]
    assert np.allclose(y, [s.mem_used_bytes / GIB for s in session.usage])
    x, y = curve(panel, "power").getData()
    assert list(y) == [s.power_w for s in session.sensors]
    labels = {spec.label: label.text() for spec, label in panel.pages[DeviceKind.GPU].value_labels}
    assert labels["total"] == "total: 80.0 GiB"
    assert labels["power"] == f"power: {session.sensors[-1].power_w:,.0f} W"
    assert panel.page_stack.currentWidget() is panel.pages[DeviceKind.GPU]


def test_history_is_bounded_by_the_ring_buffers(qtbot, make_panel, tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=40)
    rates = dataclasses.replace(FAST, history_s=FAST.usage_interval_s * 12)
    panel = replayed(qtbot, make_panel, path, rates)
    session = read_session(path)
    x, _ = curve(panel, "used").getData()
    assert list(x) == [s.timestamp_s for s in session.usage[-12:]]
    assert curve_length(panel, "power") == rates.sensors_capacity


def test_history_window_shows_only_the_last_minutes(qtbot, make_panel, tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=200, interval_s=0.5)  # 100 s
    panel = replayed(qtbot, make_panel, path)
    assert curve_length(panel, "used") == 200
    panel.window_picker.setCurrentIndex(0)  # 1 min
    assert curve_length(panel, "used") == 121  # both ends of the 60 s window included
    view_start_s, view_end_s = panel.pages[DeviceKind.GPU].plots[0].viewRange()[0]
    assert view_end_s - view_start_s == pytest.approx(60.0)


def test_pause_freezes_plots_while_history_keeps_filling(qtbot, make_panel, tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=30)
    panel = make_panel(ReplaySource(path))
    panel.pause_button.click()
    qtbot.waitUntil(lambda: "finished" in panel.status_label.text(), timeout=5000)
    panel.drain_now()
    assert curve_length(panel, "used") == 0
    panel.pause_button.click()
    assert curve_length(panel, "used") == 30


def test_stop_ends_the_thread_and_the_timer(qtbot, make_panel) -> None:
    panel = make_panel(SyntheticSource())
    qtbot.waitUntil(lambda: curve_length(panel, "used") > 3, timeout=5000)
    panel.stop()
    assert not panel._timer.isActive()
    assert "gpuplanner-sampler" not in [t.name for t in threading.enumerate()]
    length = curve_length(panel, "used")
    qtbot.wait(100)
    assert curve_length(panel, "used") == length
    panel.hide()
    panel.show()  # showing again after stop() must not restart anything
    assert not panel._timer.isActive()
    assert "gpuplanner-sampler" not in [t.name for t in threading.enumerate()]


def test_closing_the_panel_stops_it(qtbot) -> None:
    sampler = Sampler(SyntheticSource(), FAST)
    panel = LivePanel(sampler, drain_interval_ms=20)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: sampler.is_running, timeout=2000)
    panel.close()
    assert not sampler.is_running


def test_export_writes_the_selected_device_history(qtbot, make_panel, tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=10)
    session = read_session(path)
    panel = replayed(qtbot, make_panel, path)
    out = panel.export_csv(tmp_path / "export.csv")
    frame = pd.read_csv(out)
    assert tuple(frame.columns) == CSV_COLUMNS
    assert list(frame["timestamp_s"]) == [s.timestamp_s for s in session.usage]
    assert np.allclose(frame["fb_total_mib"], 80 * 1024)
    assert list(frame["temperature_c"].dropna()) == [s.temperature_c for s in session.sensors]


def test_export_before_any_sample_is_a_clear_error(qtbot) -> None:
    panel = LivePanel(Sampler(SyntheticSource(), FAST))
    qtbot.addWidget(panel)
    with pytest.raises(ValueError, match="No samples"):
        panel.export_csv(Path("unused.csv"))


def test_benchmark_overlay_and_phase_markers(qtbot, make_panel, tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=20, start_s=1000.0)
    panel = replayed(qtbot, make_panel, path)
    panel.add_benchmark_metrics(1002.0, 4 * GIB, 6 * GIB)
    panel.add_benchmark_metrics(1004.0, 5 * GIB, 6 * GIB)
    panel.add_phase_marker("warmup", 1001.0, 1003.0)
    panel.add_phase_marker("measure", 1003.0)
    panel.drain_now()
    x, y = curve(panel, "torch allocated").getData()
    assert list(x) == [1002.0, 1004.0] and list(y) == [4.0, 5.0]
    page = panel.pages[DeviceKind.GPU]
    regions = {
        name: next(region for plot, region in phase.regions if plot is page.plots[0])
        for (name, _), phase in panel._phases.items()
    }
    assert regions["warmup"].getRegion() == (1001.0, 1003.0)
    assert regions["measure"].getRegion() == (1003.0, 1009.5)  # open: runs to the newest sample
    panel.add_phase_marker("measure", 1003.0, 1008.0)
    panel.drain_now()
    assert regions["measure"].getRegion() == (1003.0, 1008.0)


def test_no_gpu_status_line_offers_retry_and_shows_cpu_ram(qtbot, make_panel) -> None:
    panel = make_panel(FallbackSource(NvmlSource(), SystemSource(), "CPU/RAM"))
    qtbot.waitUntil(lambda: "No NVIDIA driver" in panel.status_label.text(), timeout=5000)
    assert "showing CPU/RAM" in panel.status_label.text()
    assert panel.retry_button.isVisible()
    assert panel.page_stack.currentWidget() is panel.pages[DeviceKind.HOST]
    qtbot.waitUntil(lambda: curve_length_host(panel) > 2, timeout=5000)
    panel.retry_button.click()
    qtbot.waitUntil(lambda: "No NVIDIA driver" in panel.status_label.text(), timeout=5000)


def curve_length_host(panel: LivePanel) -> int:
    x, _ = curve(panel, "CPU", DeviceKind.HOST).getData()
    return 0 if x is None else len(x)


def test_processes_polled_only_while_visible_and_benchmark_flagged(qtbot, make_panel) -> None:
    panel = make_panel(SyntheticSource())
    panel.set_watched_pid(31337)
    qtbot.waitUntil(lambda: panel.process_table.rowCount() == 2, timeout=5000)
    pids = [panel.process_table.item(row, 0).text() for row in range(2)]
    watched_row = pids.index("31337")
    assert panel.process_table.item(watched_row, 2).text() == "benchmark"
    assert panel.process_table.item(watched_row, 0).font().bold()
    assert "★ benchmark" in panel.device_picker.itemText(0)
    panel.hide()
    assert not panel._sampler._poll_processes
    panel.show()
    assert panel._sampler._poll_processes


class LosingSource(SyntheticSource):
    """Two GPUs; the second one falls off the bus after a few reads."""

    def __init__(self) -> None:
        super().__init__(device_count=2)
        self.reads = 0

    def read_usage(self, device_uuid, timestamp_s):
        self.reads += 1
        if self.reads > 6:
            self._devices = (self._devices[0], dataclasses.replace(self._devices[1], error="GPU is lost"))
        return super().read_usage(device_uuid, timestamp_s)


def test_a_lost_gpu_shows_as_a_device_error(qtbot, make_panel) -> None:
    panel = make_panel(LosingSource())
    qtbot.waitUntil(lambda: "GPU is lost" in panel.status_label.text(), timeout=5000)
    assert "ERROR: GPU is lost" in panel.device_picker.itemText(1)
    assert panel.retry_button.isVisible()
    assert curve_length(panel, "used") > 0  # the first GPU stays selected and live



def test_export_asks_through_the_dialogs_seam_and_reports_a_failure_there(qtbot, tmp_path: Path) -> None:
    """The Export button asks Dialogs for the path and shows a failure through it (no modal box)."""
    dialogs = FakeDialogs()
    dialogs.paths.append(str(tmp_path / "early.csv"))
    panel = LivePanel(Sampler(SyntheticSource(), FAST), dialogs=dialogs)
    qtbot.addWidget(panel)
    panel.export_button.click()
    assert not dialogs.paths  # the path came from the seam
    assert dialogs.errors and dialogs.errors[0][0] == "Export failed" and "No samples" in dialogs.errors[0][1]
    assert not (tmp_path / "early.csv").exists()


def test_phase_names_are_listed_once_not_smeared_on_the_plot(qtbot, make_panel, tmp_path: Path) -> None:
    """Issue 12: phases a fraction of a second apart drew their labels over one another."""
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=20, start_s=1000.0)
    panel = replayed(qtbot, make_panel, path)
    for i, name in enumerate(("memory", "matmul", "matmul", "bandwidth", "train")):
        panel.add_phase_marker(name, 1001.0 + 0.1 * i, 1001.1 + 0.1 * i)
    panel.drain_now()
    texts = [item for page in panel.pages.values() for item in page.graphics.scene().items()
             if isinstance(item, pg.TextItem)]
    assert texts == []  # no text drawn on the plots at all
    assert panel.phases_label.isVisible()
    assert panel.phases_label.text().endswith("memory → matmul → bandwidth → train")


def test_an_empty_process_table_says_why(qtbot, make_panel) -> None:
    """Issue 12: on a machine without a GPU the process table stayed empty without a word."""
    panel = make_panel(FallbackSource(NvmlSource(), SystemSource(), "CPU/RAM"))
    qtbot.waitUntil(lambda: panel.process_note.text() != "", timeout=5000)
    assert "No GPU is monitored" in panel.process_note.text() and panel.process_note.isVisible()
    assert not panel.process_table.isVisible()


def test_a_redraw_is_one_paint_of_the_plots(qtbot, make_panel, tmp_path: Path) -> None:
    """Issue 12 budget: moving the time axis inside the paint scheduled a second full paint."""
    from PySide6 import QtCore

    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=40)
    panel = replayed(qtbot, make_panel, path)
    panel.stop()
    viewport = panel.pages[DeviceKind.GPU].graphics.viewport()

    class PaintCounter(QtCore.QObject):
        paints = 0

        def eventFilter(self, watched, event) -> bool:
            if event.type() == QtCore.QEvent.Type.Paint:
                PaintCounter.paints += 1
            return False

    counter = PaintCounter()
    viewport.installEventFilter(counter)
    qtbot.wait(50)  # any paint still pending from start-up
    PaintCounter.paints = 0
    panel.set_history_window(60.0)  # a new x range on every plot
    qtbot.waitUntil(lambda: PaintCounter.paints > 0, timeout=2000)
    qtbot.wait(100)
    assert PaintCounter.paints == 1


def test_y_axes_sit_on_round_bounds_that_hold_the_shown_values(qtbot, make_panel, tmp_path: Path) -> None:
    """The y range moves in round steps (the axis is a cached picture), never clipping a value."""
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=60)
    session = read_session(path)
    panel = replayed(qtbot, make_panel, path)
    memory, _, power, temperature = panel.pages[DeviceKind.GPU].plots
    low, high = memory.viewRange()[1]
    assert (low, high) == pytest.approx((-0.02 * 80, 80 * 1.02))  # 0..80 GiB: used, reserved and total
    low, high = power.viewRange()[1]
    assert (low, high) == pytest.approx((-0.02 * 700, 700 * 1.02))  # 0..700 W: the limit on top
    view_low, view_high = temperature.viewRange()[1]
    padding = (view_high - view_low) / 1.04 * 0.02
    low, high = view_low + padding, view_high - padding
    shown = [s.temperature_c for s in session.sensors]
    assert low <= min(shown) and max(shown) <= high
    assert (low, high) == pytest.approx((10 * round(low / 10), 10 * round(high / 10)))  # round tens of °C


def test_a_curve_whose_samples_did_not_change_is_not_redrawn(qtbot, make_panel, tmp_path: Path, monkeypatch) -> None:
    """Issue 12 budget: without a benchmark the torch curves stay empty; setting them again costs a redraw."""
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=20, start_s=1000.0)
    panel = replayed(qtbot, make_panel, path)
    calls = {"torch allocated": 0, "used": 0}
    for label in calls:
        item = curve(panel, label)
        original = item.setData
        monkeypatch.setattr(item, "setData", lambda *a, _o=original, _l=label, **k: (calls.__setitem__(
            _l, calls[_l] + 1), _o(*a, **k)))
    panel.set_history_window(60.0)  # same samples shown
    assert calls == {"torch allocated": 0, "used": 0}
    panel.add_benchmark_metrics(1002.0, 4 * GIB, 6 * GIB)
    panel.drain_now()
    assert calls == {"torch allocated": 1, "used": 0}
    x, y = curve(panel, "torch allocated").getData()
    assert list(x) == [1002.0] and list(y) == [4.0]


def test_the_live_and_cluster_curves_follow_a_dark_palette(qtbot, make_panel) -> None:
    """Both stacked-plot widgets restyle on a light/dark switch (ui.theme.ThemedGraphicsLayout)."""
    from PySide6 import QtGui

    from gpuplanner.ui.live.cluster_plots import GpuCurves

    dark = QtGui.QPalette()
    dark.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor("#202020"))
    dark.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor("#eeeeee"))
    cluster = GpuCurves()
    qtbot.addWidget(cluster)
    for graphics in (make_panel(SyntheticSource()).pages[DeviceKind.GPU].graphics, cluster.graphics):
        graphics.setPalette(dark)
        assert graphics.backgroundBrush().color().name() == "#202020"
        plots = [item for item in graphics.ci.items if isinstance(item, pg.PlotItem)]
        assert plots and all(p.getAxis("left").textPen().color().name() == "#eeeeee" for p in plots)
