"""The Live tab: device picker, status with Retry, stacked live plots on one time axis.

The panel never calls a telemetry source: a ``Sampler`` (injected) polls on its
own thread and a QTimer drains it into per-device ring buffers, so a slow
driver cannot freeze the window. Curves are created once and fed with
``setData``; the x axis is wall-clock time, which the benchmark's own
timestamps (torch memory, phases) share.

Cost (benchmarks/monitor_cost.py, budget < 1 % of one core): a redraw of the
scrolling plots takes ~15 ms of CPU here, so the panel redraws every 2 s by
default (each redraw adds all four 2 Hz samples) and draws no grid
(alpha-blended grid lines cost five times the rest of a redraw). A redraw is one
paint, not two: the views settle their new ranges before the paint. Curves are
bare ``PlotCurveItem``s; y ranges move only in round steps, so the left axes and
the legends stay cached pixmaps.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import PySide6  # noqa: F401  (imported before pyqtgraph so it binds to PySide6)
from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.monitor import (
    DeviceHistory,
    DeviceInfo,
    DeviceKind,
    ProcessSample,
    ProcessSnapshot,
    RingBuffer,
    Sampler,
    SamplerBatch,
    SourceStatus,
    export_history_csv,
)
from gpuplanner.ui.dialogs import Dialogs
from gpuplanner.ui.theme import ThemedGraphicsLayout

HISTORY_WINDOWS_S = (60.0, 300.0, 900.0)
_BYTES_PER_GIB = 2**30
PLOT_MIN_HEIGHT_PX = 50  # per stacked plot: its axis labels and a few ticks stay readable (4 fit at 1280×800)
_BYTES_PER_MIB = 2**20
_MAX_PHASES = 32
_BENCH_COLUMNS = ("timestamp_s", "allocated_bytes", "reserved_bytes")


@dataclass(frozen=True)
class _Field:
    """One telemetry column: where it lives, how to scale it, how to name it."""

    label: str
    table: str  # "usage", "sensors" or "bench"
    column: str
    unit: str
    scale: float = 1.0

    def fetch(self, tables: dict[str, dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        table = tables[self.table]
        return table["timestamp_s"], table[self.column] / self.scale


@dataclass(frozen=True)
class _Curve:
    field: _Field
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class _Plot:
    title: str
    curves: tuple[_Curve, ...]
    fixed_y: tuple[float, float] | None = None  # a fixed scale spares re-drawing the axis each refresh


def _gib(label: str, table: str, column: str) -> _Field:
    return _Field(label, table, column, "GiB", _BYTES_PER_GIB)


_TORCH_CURVES = (
    _Curve(_gib("torch allocated", "bench", "allocated_bytes"), "#59a14f"),
    _Curve(_gib("torch reserved", "bench", "reserved_bytes"), "#edc948"),
)
_GPU_MEM_USED = _gib("used", "usage", "mem_used_bytes")
_GPU_MEM_TOTAL = _gib("total", "usage", "mem_total_bytes")
_GPU_UTIL = _Field("GPU", "usage", "gpu_util_pct", "%")
_MEM_BW_UTIL = _Field("mem bandwidth", "usage", "mem_bw_util_pct", "%")
_POWER = _Field("power", "sensors", "power_w", "W")
_POWER_LIMIT = _Field("limit", "sensors", "power_limit_w", "W")
_TEMPERATURE = _Field("GPU", "sensors", "temperature_c", "°C")
_RAM_USED = _gib("RAM used", "usage", "ram_used_bytes")
_RAM_TOTAL = _gib("RAM total", "usage", "ram_total_bytes")
_CPU_UTIL = _Field("CPU", "usage", "cpu_util_pct", "%")

_PERCENT = (0.0, 100.0)

_LAYOUTS: dict[DeviceKind, tuple[tuple[_Plot, ...], tuple[_Field, ...]]] = {
    DeviceKind.GPU: (
        (
            _Plot(
                "Memory (GiB)",
                (
                    _Curve(_GPU_MEM_USED, "#4e79a7"),
                    _Curve(_GPU_MEM_TOTAL, "#9c9c9c", dashed=True),
                    _Curve(_gib("reserved", "usage", "mem_reserved_bytes"), "#b07aa1"),
                    *_TORCH_CURVES,
                ),
            ),
            _Plot("Utilization (%)", (_Curve(_GPU_UTIL, "#e15759"), _Curve(_MEM_BW_UTIL, "#76b7b2")), _PERCENT),
            _Plot("Power (W)", (_Curve(_POWER, "#f28e2b"), _Curve(_POWER_LIMIT, "#9c9c9c", dashed=True))),
            _Plot("Temperature (°C)", (_Curve(_TEMPERATURE, "#ff9da7"),)),
        ),
        (
            _GPU_MEM_USED,
            _GPU_MEM_TOTAL,
            _GPU_UTIL,
            _MEM_BW_UTIL,
            _POWER,
            _POWER_LIMIT,
            _TEMPERATURE,
            _Field("SM clock", "sensors", "sm_clock_mhz", "MHz"),
            _Field("mem clock", "sensors", "mem_clock_mhz", "MHz"),
        ),
    ),
    DeviceKind.HOST: (
        (
            _Plot(
                "RAM (GiB)",
                (_Curve(_RAM_USED, "#4e79a7"), _Curve(_RAM_TOTAL, "#9c9c9c", dashed=True), *_TORCH_CURVES),
            ),
            _Plot("CPU (%)", (_Curve(_CPU_UTIL, "#e15759"),), _PERCENT),
        ),
        (_RAM_USED, _RAM_TOTAL, _CPU_UTIL),
    ),
}


def _format_value(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    digits = 1 if unit == "GiB" else 0
    return f"{value:,.{digits}f} {unit}"


def _nice_range(low: float, high: float) -> tuple[float, float]:
    """``low``..``high`` widened to multiples of a power of ten near their span (never below 0
    for non-negative data): 0.5..80 GiB shows as 0..80, 35..75 °C as 30..80."""
    span = high - low if high > low else max(abs(high), 1.0)
    step = 10.0 ** math.floor(math.log10(span))
    nice_low, nice_high = math.floor(low / step) * step, math.ceil(high / step) * step
    if nice_high == nice_low:  # a flat line sits mid-plot
        nice_low, nice_high = nice_low - step, nice_high + step
    return (max(nice_low, 0.0) if low >= 0 else nice_low), nice_high


@dataclass
class _Phase:
    name: str
    start_s: float
    end_s: float | None
    regions: list[tuple[pg.PlotItem, pg.LinearRegionItem]] = field(default_factory=list)


class _KindPage(QtWidgets.QWidget):
    """Current-value labels and stacked plots for one kind of device; curves made once."""

    def __init__(self, kind: DeviceKind) -> None:
        super().__init__()
        plots, values = _LAYOUTS[kind]
        labels_row = QtWidgets.QHBoxLayout()
        self.value_labels: list[tuple[_Field, QtWidgets.QLabel]] = []
        for value in values:
            label = QtWidgets.QLabel()
            labels_row.addWidget(label)
            self.value_labels.append((value, label))
        labels_row.addStretch(1)
        self.graphics = ThemedGraphicsLayout()
        self.graphics.setObjectName("live-curves")
        self.plots: list[pg.PlotItem] = []
        self.curves: list[tuple[_Field, pg.PlotCurveItem]] = []
        self._plot_curves: dict[int, list[pg.PlotCurveItem]] = {}  # row -> its curves (auto-scaled rows)
        self._auto_y = [spec.fixed_y is None for spec in plots]
        self._shown_spans: list[tuple[float, ...] | None] = []  # per curve: (count, first, last time) drawn
        self._y_ranges: list[tuple[float, float] | None] = [None] * len(plots)
        for row, spec in enumerate(plots):
            plot = self.graphics.addPlot(row=row, col=0, enableMenu=False, axisItems={"bottom": pg.DateAxisItem()})
            plot.setLabel("left", spec.title)
            plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            plot.disableAutoRange()  # x follows the clock; y is set from the shown values (_nice_range)
            if spec.fixed_y is not None:
                plot.setYRange(*spec.fixed_y, padding=0.02)
            if self.plots:
                plot.setXLink(self.plots[0])
            for curve in spec.curves:
                style = QtCore.Qt.PenStyle.DashLine if curve.dashed else QtCore.Qt.PenStyle.SolidLine
                pen = pg.mkPen(curve.color, width=1, style=style)
                # a bare curve: PlotDataItem's extra layer cost most of a redraw's setData time
                item = pg.PlotCurveItem(name=curve.field.label, pen=pen, connect="finite")  # NaN = gap
                plot.addItem(item)
                self._plot_curves.setdefault(row, []).append(item)
                self._shown_spans.append(None)
                self.curves.append((curve.field, item))
            self.plots.append(plot)
        for plot in self.plots[:-1]:
            plot.hideAxis("bottom")
        self._cache_static_items()
        self.graphics.restyle()
        self.graphics.setMinimumHeight(PLOT_MIN_HEIGHT_PX * len(self.plots))  # legible, never a smear
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(labels_row)
        layout.addWidget(self.graphics, 1)

    def _scale_y(self) -> None:
        """Fit each auto-scaled plot to its shown values on round bounds, so the y axis (a cached
        pixmap) moves only when the data leave its range, not with every new sample."""
        for row, plot in enumerate(self.plots):
            if not self._auto_y[row]:
                continue
            shown = [item.yData for item in self._plot_curves[row] if item.yData is not None and len(item.yData)]
            values = np.concatenate(shown) if shown else np.empty(0)
            values = values[np.isfinite(values)]
            if not values.size:
                continue
            bounds = _nice_range(float(values.min()), float(values.max()))
            if bounds != self._y_ranges[row]:
                self._y_ranges[row] = bounds
                plot.setYRange(*bounds, padding=0.02)

    def _cache_static_items(self) -> None:
        """Scrolling repaints every plot each second. Left axes and legends rarely change: keep
        them as pixmaps (re-rendered only when they do change) instead of re-drawing their text.
        No axis has units, so its SI prefix never changes: skip the per-range label update."""
        cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
        for plot in self.plots:
            for name in ("left", "bottom", "top", "right"):
                plot.getAxis(name).enableAutoSIPrefix(False)
            plot.getAxis("left").setCacheMode(cached)
            legend_items = [plot.legend]
            while legend_items:
                item = legend_items.pop()
                item.setCacheMode(cached)
                legend_items.extend(item.childItems())

    def show_window(self, tables: dict[str, dict[str, np.ndarray]], start_s: float, end_s: float) -> None:
        for i, (spec, item) in enumerate(self.curves):
            times_s, values = spec.fetch(tables)
            first = int(np.searchsorted(times_s, start_s))
            span = (len(times_s) - first, *times_s[first:][[0, -1]]) if first < len(times_s) else (0,)
            if span != self._shown_spans[i]:  # same samples (e.g. no benchmark yet): keep the curve as drawn
                self._shown_spans[i] = span
                item.setData(times_s[first:], values[first:])
        for spec, label in self.value_labels:
            times_s, values = spec.fetch(tables)
            latest = values[-1] if len(values) else math.nan
            text = f"{spec.label}: {_format_value(float(latest), spec.unit)}"
            if text != label.text():  # an unchanged label costs no re-layout
                label.setText(text)
        self.plots[0].setXRange(start_s, end_s, padding=0)
        self._scale_y()
        for plot in self.plots:
            # Settle the new ranges now: left to the paint, they move the curves during it,
            # which schedules a second full paint of every plot.
            plot.vb.prepareForPaint()


class LivePanel(QtWidgets.QWidget):
    """Live telemetry for the Live tab.

    The owner calls ``stop()`` on quit (closing the widget does it too). Call
    ``set_watched_pid``, ``add_benchmark_metrics`` and ``add_phase_marker``
    from the GUI thread while a benchmark runs.
    """

    status_changed = QtCore.Signal(str)
    power_measured = QtCore.Signal(float)  # "Use power for energy": the shown GPU's busy watts

    def __init__(
        self,
        sampler: Sampler,
        parent: QtWidgets.QWidget | None = None,
        drain_interval_ms: int = 2000,
        dialogs: Dialogs | None = None,
        cluster_panel: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._sampler = sampler
        self.cluster_panel = cluster_panel  # the "Cluster (Prometheus)" source, a widget with stop()
        self._dialogs = dialogs or Dialogs()
        self._stopped = False
        self._paused = False
        self._dirty = False
        self._window_s = HISTORY_WINDOWS_S[1]
        self._status: SourceStatus | None = None
        self._devices: dict[str, DeviceInfo] = {}
        self._histories: dict[str, DeviceHistory] = {}
        self._processes: dict[str, ProcessSnapshot] = {}
        self._bench = RingBuffer(_BENCH_COLUMNS, sampler.rates.usage_capacity)
        self._phases: dict[tuple[str, float], _Phase] = {}
        self._shown_processes: tuple[ProcessSample, ...] = ()
        self._shown_note: str | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(drain_interval_ms)
        self.drain_interval_ms = drain_interval_ms
        self._timer.timeout.connect(self.drain_now)
        self._build_ui()

    # ----- construction -------------------------------------------------
    def _build_ui(self) -> None:
        self.device_picker = QtWidgets.QComboBox()
        self.device_picker.currentIndexChanged.connect(self._on_device_changed)
        self.status_label = QtWidgets.QLabel("Starting telemetry…")
        self.status_label.setWordWrap(True)
        self.retry_button = QtWidgets.QPushButton("Retry")
        self.retry_button.setVisible(False)
        self.retry_button.clicked.connect(self._on_retry)
        self.window_picker = QtWidgets.QComboBox()
        for window_s in HISTORY_WINDOWS_S:
            self.window_picker.addItem(f"{window_s / 60:g} min", window_s)
        self.window_picker.setCurrentIndex(HISTORY_WINDOWS_S.index(self._window_s))
        self.window_picker.currentIndexChanged.connect(
            lambda i: self.set_history_window(self.window_picker.itemData(i))
        )
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        self.export_button = QtWidgets.QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._on_export)
        self.use_power_button = QtWidgets.QPushButton("Use power for energy")
        self.use_power_button.setToolTip("Plan energy and CO2e with this GPU's measured power (the 90th percentile "
                                         "of the shown window: its draw while busy) instead of its datasheet TDP")
        self.use_power_button.clicked.connect(self._on_use_power)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Device"))
        top.addWidget(self.device_picker, 1)
        top.addWidget(QtWidgets.QLabel("History"))
        top.addWidget(self.window_picker)
        top.addWidget(self.pause_button)
        top.addWidget(self.export_button)
        top.addWidget(self.use_power_button)
        status_row = QtWidgets.QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.retry_button)

        self.pages = {kind: _KindPage(kind) for kind in DeviceKind}
        self.page_stack = QtWidgets.QStackedWidget()
        for page in self.pages.values():
            self.page_stack.addWidget(page)
        self.process_table = QtWidgets.QTableWidget(0, 3)
        self.process_table.setHorizontalHeaderLabels(["PID", "Memory (MiB)", ""])
        self.process_table.verticalHeader().setVisible(False)
        self.process_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.process_table.setMaximumHeight(110)
        self.process_note = QtWidgets.QLabel()  # why the process table is empty, shown instead of it
        self.process_note.setWordWrap(True)
        self.phases_label = QtWidgets.QLabel()  # the shaded phases, named in order (no labels on the plot)
        self.phases_label.setWordWrap(True)
        self.phases_label.setVisible(False)

        local = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(local)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(status_row)
        layout.addWidget(self.phases_label)
        layout.addWidget(self.page_stack, 1)
        layout.addWidget(self.process_table)
        layout.addWidget(self.process_note)
        self.source_picker = QtWidgets.QComboBox()
        self.source_stack = QtWidgets.QStackedWidget()
        self.source_stack.addWidget(local)
        self.source_picker.addItem("This machine")
        if self.cluster_panel is not None:
            self.source_stack.addWidget(self.cluster_panel)
            self.source_picker.addItem("Cluster (Prometheus)")
        self.source_picker.currentIndexChanged.connect(self.source_stack.setCurrentIndex)
        source_bar = QtWidgets.QWidget()
        source_row = QtWidgets.QHBoxLayout(source_bar)
        source_row.setContentsMargins(0, 0, 0, 0)
        source_row.addWidget(QtWidgets.QLabel("Source"))
        source_row.addWidget(self.source_picker)
        source_row.addStretch(1)
        source_bar.setVisible(self.cluster_panel is not None)  # one source needs no choice
        outer = QtWidgets.QVBoxLayout(self)
        outer.addWidget(source_bar)
        outer.addWidget(self.source_stack, 1)

    # ----- lifecycle ----------------------------------------------------
    def start(self) -> None:
        """Start sampling (idempotent); showing the panel starts it too. Not after stop()."""
        if not self._stopped:
            self._sampler.start()

    def stop(self) -> None:
        """Stop the drain timer and the sampler thread; the panel stays readable."""
        self._stopped = True
        self._timer.stop()
        self._sampler.stop()
        if self.cluster_panel is not None:
            self.cluster_panel.stop()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self._stopped:
            return
        self.start()
        self._sampler.set_process_polling(True)
        self._timer.start()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        """Hidden: no GUI work and no process polling; sampling goes on into a bounded queue."""
        super().hideEvent(event)
        self._timer.stop()
        self._sampler.set_process_polling(False)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)

    # ----- public API for the main window -------------------------------
    def set_watched_pid(self, pid: int | None) -> None:
        """The benchmark's PID: flagged in the process table and the device picker."""
        self._sampler.set_watched_pid(pid)

    def add_benchmark_metrics(self, timestamp_s: float, allocated_bytes: float, reserved_bytes: float) -> None:
        """torch's allocator figures from the benchmark, overlaid on the memory plot."""
        self._bench.append((timestamp_s, allocated_bytes, reserved_bytes))
        self._dirty = True  # drawn on the next drain: the benchmark may report faster than we redraw

    def add_phase_marker(self, name: str, start_s: float, end_s: float | None = None) -> None:
        """Shade a benchmark phase; call again with the same name and start to close it."""
        phase = self._phases.get((name, start_s))
        if phase is None:
            phase = _Phase(name, start_s, end_s)
            for page in self.pages.values():
                for plot in page.plots:
                    region = pg.LinearRegionItem(
                        values=(start_s, end_s or start_s), movable=False, brush=pg.mkBrush(120, 120, 200, 40)
                    )
                    region.setToolTip(f"benchmark phase: {name}")
                    plot.addItem(region)
                    phase.regions.append((plot, region))
            self._phases[(name, start_s)] = phase
            self._drop_old_phases()
            self._show_phase_names()
        phase.end_s = end_s
        self._dirty = True

    def set_paused(self, paused: bool) -> None:
        """Freeze the plots; samples keep arriving into history and show on resume."""
        self._paused = paused
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)
        self._refresh()

    def set_history_window(self, window_s: float) -> None:
        self._window_s = float(window_s)
        index = self.window_picker.findData(self._window_s)
        if index >= 0 and index != self.window_picker.currentIndex():
            self.window_picker.setCurrentIndex(index)  # re-enters once with the same value
        self._refresh()

    def export_csv(self, path: Path) -> Path:
        """Write the selected device's whole history (DCGM-style columns) atomically."""
        uuid = self.selected_device_uuid()
        if uuid is None or uuid not in self._histories:
            raise ValueError("No samples to export yet.")
        return export_history_csv(self._histories[uuid], self._devices[uuid], Path(path))

    def selected_device_uuid(self) -> str | None:
        return self.device_picker.currentData()

    def measured_power_w(self) -> float:
        """The shown GPU's busy power: the 90th percentile of its power samples in the shown
        window (NaN for a CPU, or when NVML reported no power)."""
        uuid = self.selected_device_uuid()
        if uuid not in self._histories or self._devices[uuid].kind != DeviceKind.GPU:
            return math.nan
        table = self._histories[uuid].sensors.table()
        times, watts = table["timestamp_s"], table["power_w"]
        shown = watts[(times >= np.nanmax(times, initial=-np.inf) - self._window_s) & np.isfinite(watts)]
        return float(np.percentile(shown, 90)) if shown.size else math.nan

    def _on_use_power(self) -> None:
        watts = self.measured_power_w()
        if math.isfinite(watts) and watts > 0:
            self.power_measured.emit(watts)
        else:
            self.status_label.setText("No measured GPU power to use: the shown device reports none.")

    def drain_now(self) -> None:
        """Move everything the sampler has collected into history and redraw (timer slot)."""
        batch = self._sampler.drain()
        self._apply_state(batch)
        rates = self._sampler.rates
        for sample in (*batch.usage, *batch.sensors):
            if sample.device_uuid not in self._histories:
                self._histories[sample.device_uuid] = DeviceHistory(rates.usage_capacity, rates.sensors_capacity)
            self._histories[sample.device_uuid].add(sample)
        for snapshot in batch.processes:
            self._processes[snapshot.device_uuid] = snapshot
        if batch.processes:
            for i in range(self.device_picker.count()):
                self.device_picker.setItemText(i, self._device_text(self._devices[self.device_picker.itemData(i)]))
        if self._dirty or batch.usage or batch.sensors or batch.processes:
            self._refresh()

    # ----- internals ----------------------------------------------------
    def _apply_state(self, batch: SamplerBatch) -> None:
        devices = {d.uuid: d for d in batch.devices}
        devices_changed = devices != self._devices
        if devices_changed:
            self._devices = devices
            self._rebuild_device_picker()
        if devices_changed or batch.status != self._status:
            self._status = batch.status
            self._show_status(batch.status, batch.devices)

    def _show_status(self, status: SourceStatus, devices: tuple[DeviceInfo, ...]) -> None:
        lines = [status.message + (f". {status.hint}" if status.hint else "")]
        lines += [f"{d.name} (#{d.index}): {d.error}" for d in devices if d.error]
        text = "\n".join(lines)
        if text != self.status_label.text():
            self.status_label.setText(text)
            self.status_changed.emit(status.message)
        self.retry_button.setVisible(len(lines) > 1 or not status.ok)

    def _device_text(self, device: DeviceInfo) -> str:
        text = f"{device.index}: {device.name}"
        snapshot = self._processes.get(device.uuid)
        if snapshot is not None and any(p.is_watched for p in snapshot.processes):
            text += "  ★ benchmark"
        return text + (f"  — ERROR: {device.error}" if device.error else "")

    def _rebuild_device_picker(self) -> None:
        current = self.selected_device_uuid()
        self.device_picker.blockSignals(True)
        self.device_picker.clear()
        for device in self._devices.values():
            self.device_picker.addItem(self._device_text(device), device.uuid)
        found = self.device_picker.findData(current) if current is not None else -1
        self.device_picker.setCurrentIndex(max(found, 0))
        self.device_picker.blockSignals(False)
        self._on_device_changed()

    def _on_device_changed(self) -> None:
        uuid = self.selected_device_uuid()
        if uuid in self._devices:
            self.page_stack.setCurrentWidget(self.pages[self._devices[uuid].kind])
        self._refresh()

    def _on_retry(self) -> None:
        self.status_label.setText("Retrying…")
        self._status = None  # show the outcome even if it is the same state again
        self._sampler.request_retry()

    def _on_export(self) -> None:
        suggested = time.strftime("gpu-telemetry-%Y%m%d-%H%M%S.csv")
        path = self._dialogs.save_path(self, "Export samples", "CSV files (*.csv)", suggested)
        if not path:
            return
        try:
            self.export_csv(Path(path))
        except (OSError, ValueError) as err:
            self._dialogs.error(self, "Export failed", str(err))

    def _show_phase_names(self) -> None:
        """Name the shaded phases once each, in order, above the plots: phases a fraction of a
        second apart would smear their labels into one another on the plot itself."""
        names = list(dict.fromkeys(phase.name for phase in self._phases.values()))
        self.phases_label.setText("Benchmark phases (shaded on the plots): " + " → ".join(names))
        self.phases_label.setVisible(bool(names))

    def _drop_old_phases(self) -> None:
        while len(self._phases) > _MAX_PHASES:
            oldest = self._phases.pop(next(iter(self._phases)))
            for plot, region in oldest.regions:
                plot.removeItem(region)

    def _refresh(self) -> None:
        uuid = self.selected_device_uuid()
        if self._paused or uuid not in self._histories:
            return
        self._dirty = False
        history = self._histories[uuid]
        tables = {"usage": history.usage.table(), "sensors": history.sensors.table(), "bench": self._bench.table()}
        end_s = float(np.nanmax([history.usage.last("timestamp_s"), history.sensors.last("timestamp_s")]))
        page = self.pages[self._devices[uuid].kind]
        page.show_window(tables, end_s - self._window_s, end_s)
        for phase in self._phases.values():
            for _, region in phase.regions:
                region.setRegion((phase.start_s, phase.end_s if phase.end_s is not None else end_s))
        self._show_processes(self._processes.get(uuid))

    def _show_processes(self, snapshot: ProcessSnapshot | None) -> None:
        processes = snapshot.processes if snapshot is not None else ()
        uuid = self.selected_device_uuid()
        on_host = uuid in self._devices and self._devices[uuid].kind == DeviceKind.HOST
        note = ("" if processes else
                "No GPU is monitored, so no processes are listed: the driver (NVML) reports memory per "
                "process only for NVIDIA GPUs." if on_host else "No process is using this GPU right now.")
        if note != self._shown_note:  # unchanged: no relayout
            self._shown_note = note
            self.process_note.setText(note)
            self.process_note.setVisible(bool(note))
            self.process_table.setVisible(not note)
        if processes == self._shown_processes:
            return
        self._shown_processes = processes
        self.process_table.setRowCount(len(processes))
        bold = QtGui.QFont()
        bold.setBold(True)
        for row, process in enumerate(processes):
            memory = "n/a" if math.isnan(process.used_mem_bytes) else f"{process.used_mem_bytes / _BYTES_PER_MIB:,.0f}"
            cells = (str(process.pid), memory, "benchmark" if process.is_watched else "")
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if process.is_watched:
                    item.setFont(bold)
                    item.setBackground(QtGui.QColor(255, 235, 160))
                self.process_table.setItem(row, column, item)
