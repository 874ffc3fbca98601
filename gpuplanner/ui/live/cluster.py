"""The Live tab's cluster source: GPUs of a cluster through Prometheus and dcgm-exporter.

Connect to a server, filter by exporter labels, read a node × GPU overview, pick GPUs to
see their curves (range queries over the chosen window), check a job against the plan and
export their history. Every query runs on the ClusterPoller's thread with a timeout; a
QTimer drains its results here, so an unreachable, refusing or slow server becomes a line
in the status, never a frozen window.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.core.errors import InputError
from gpuplanner.core.result import PlanResult
from gpuplanner.monitor.cluster import ClusterPoller, ClusterState, ClusterStatus, HistoryResult
from gpuplanner.monitor.cluster_export import export_cluster_csv
from gpuplanner.monitor.dcgm import BYTES_PER_MIB, ClusterSnapshot, GpuHistory, GpuReading, LabelFilter
from gpuplanner.monitor.job_check import check_job
from gpuplanner.monitor.prometheus import PrometheusConfig
from gpuplanner.ui.dialogs import Dialogs
from gpuplanner.ui.live.cluster_plots import GpuCurves
from gpuplanner.ui.live.job_view import JobCheckView

WINDOWS_S = (300.0, 900.0, 3600.0)
SLOW_AFTER_S = 2.0  # a query waiting longer than this is reported as slow while it waits
HISTORY_MAX_GPUS = 64  # curves and export cover at most this many picked GPUs per range query
AUTH_MODES = ("No login", "Bearer token", "User and password")
_MIB_PER_GIB = 2**30 / BYTES_PER_MIB
# (header, how a reading becomes the cell's number, unit shown)
COLUMNS = (
    ("Node", None, ""), ("GPU", None, ""), ("Model", None, ""), ("Job", None, ""),
    ("Busy (%)", lambda r: r.value("gpu_util_pct"), "{:.0f}"),
    ("Memory used (GiB)", lambda r: r.value("fb_used_mib") / _MIB_PER_GIB, "{:.1f}"),
    ("Memory total (GiB)", lambda r: r.fb_total_mib / _MIB_PER_GIB, "{:.1f}"),
    ("Power (W)", lambda r: r.value("power_w"), "{:.0f}"),
    ("Temp (°C)", lambda r: r.value("temperature_c"), "{:.0f}"),
    ("Last XID", lambda r: r.value("xid_last_error"), "{:.0f}"),
)
_XID_COLUMN = len(COLUMNS) - 1


class ClusterPanel(QtWidgets.QWidget):
    """Owns its poller; the owner calls ``stop()`` on quit (closing the widget does too)."""

    connecting = QtCore.Signal(str)  # the address of a connection just started (the owner remembers it)

    def __init__(self, poller: ClusterPoller, parent: QtWidgets.QWidget | None = None,
                 dialogs: Dialogs | None = None, drain_interval_ms: int = 250) -> None:
        super().__init__(parent)
        self.poller = poller
        self._dialogs = dialogs or Dialogs()
        self._stopped = False
        self._connected_url = ""
        self._status = ClusterStatus(ClusterState.IDLE, "Not connected: enter a Prometheus address and Connect.")
        self._snapshot: ClusterSnapshot | None = None
        self._histories: dict[str, GpuHistory] = {}
        self._plan: PlanResult | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(drain_interval_ms)
        self._timer.timeout.connect(self.drain_now)
        self._build_ui()
        self._show_status()

    # ----- construction ---------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.url_edit = QtWidgets.QLineEdit("http://localhost:9090")
        self.auth_picker = QtWidgets.QComboBox()
        self.auth_picker.addItems(AUTH_MODES)
        self.token_edit = QtWidgets.QLineEdit()
        self.token_edit.setPlaceholderText("bearer token")
        self.user_edit = QtWidgets.QLineEdit()
        self.user_edit.setPlaceholderText("user")
        self.password_edit = QtWidgets.QLineEdit()
        self.password_edit.setPlaceholderText("password")
        for secret in (self.token_edit, self.password_edit):
            secret.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.verify_tls = QtWidgets.QCheckBox("Verify TLS")
        self.verify_tls.setChecked(True)
        self.verify_tls.setToolTip("Check the server's certificate (https). Turn off only for a server you trust.")
        self.timeout_spin = QtWidgets.QDoubleSpinBox()
        self.timeout_spin.setRange(0.5, 120.0)
        self.timeout_spin.setValue(10.0)
        self.timeout_spin.setSuffix(" s timeout")
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.auth_picker.currentIndexChanged.connect(self._show_auth_fields)
        self.connect_button.clicked.connect(self.connect_to_server)
        self.url_edit.returnPressed.connect(self.connect_to_server)

        server_row = QtWidgets.QHBoxLayout()
        server_row.addWidget(QtWidgets.QLabel("Prometheus"))
        server_row.addWidget(self.url_edit, 2)
        for widget in (self.auth_picker, self.token_edit, self.user_edit, self.password_edit, self.verify_tls,
                       self.timeout_spin, self.connect_button):
            server_row.addWidget(widget)

        self.filter_edits: dict[str, QtWidgets.QLineEdit] = {}
        filter_row = QtWidgets.QHBoxLayout()
        filter_row.addWidget(QtWidgets.QLabel("Filter"))
        for name, shown in (("hostname", "host"), ("namespace", "namespace"), ("pod", "pod"),
                            ("slurm_job", "Slurm job")):
            edit = QtWidgets.QLineEdit()
            edit.setPlaceholderText(f"{shown} (regex)")
            edit.returnPressed.connect(self.connect_to_server)
            self.filter_edits[name] = edit
            filter_row.addWidget(edit, 1)
        self.window_picker = QtWidgets.QComboBox()
        for window_s in WINDOWS_S:
            self.window_picker.addItem(f"{window_s / 60:g} min", window_s)
        self.window_picker.currentIndexChanged.connect(self._request_history)
        self.select_all_button = QtWidgets.QPushButton("Select all")
        self.export_button = QtWidgets.QPushButton("Export CSV…")
        self.select_all_button.clicked.connect(lambda: self.table.selectAll())
        self.export_button.clicked.connect(self._on_export)
        filter_row.addWidget(QtWidgets.QLabel("History"))
        filter_row.addWidget(self.window_picker)
        filter_row.addWidget(self.select_all_button)
        filter_row.addWidget(self.export_button)

        self.status_label = QtWidgets.QLabel()
        self.status_label.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.curves = GpuCurves()
        self.job_view = JobCheckView()

        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        lower.addWidget(self.curves)
        lower.addWidget(self.job_view)
        body = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        body.addWidget(self.table)
        body.addWidget(lower)
        body.setSizes([280, 420])
        lower.setSizes([720, 520])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(server_row)
        layout.addLayout(filter_row)
        layout.addWidget(self.status_label)
        layout.addWidget(body, 1)
        self._show_auth_fields()

    def _show_auth_fields(self) -> None:
        mode = self.auth_picker.currentIndex()
        self.token_edit.setVisible(mode == 1)
        self.user_edit.setVisible(mode == 2)
        self.password_edit.setVisible(mode == 2)

    # ----- lifecycle --------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop draining and end the poller's thread; the panel stays readable."""
        self._stopped = True
        self._timer.stop()
        self.poller.stop()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if not self._stopped:
            self._timer.start()
            self.poller.set_active(True)

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        """Hidden (another tab or source): no drawing and no queries."""
        super().hideEvent(event)
        self._timer.stop()
        self.poller.set_active(False)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)

    # ----- public API -------------------------------------------------------------------------
    def connect_to_server(self) -> bool:
        """Start polling the server in the form with the filter in the form; False on bad input."""
        if self._stopped:
            return False
        try:
            config, label_filter = self._read_form()
        except InputError as e:
            self._set_status(ClusterStatus(ClusterState.BAD_INPUT, f"{e.field}: {e.message}"))
            return False
        self._connected_url = config.url
        self.connecting.emit(config.url)
        self._snapshot = None
        self._histories.clear()
        self.table.setRowCount(0)
        self._set_status(ClusterStatus(ClusterState.CONNECTING, f"Connecting to {config.url}…"))
        self.poller.connect(config, label_filter)
        if not self._timer.isActive() and self.isVisible():
            self._timer.start()
        return True

    def set_plan(self, result: PlanResult | None) -> None:
        """The plan the job is checked against (the planner's current answer)."""
        self._plan = result
        self.curves.set_plan_memory(result.memory_per_gpu_bytes if result is not None else math.nan)
        self._show_job_check()

    def selected_keys(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, 0).data(QtCore.Qt.ItemDataRole.UserRole) for row in rows]

    def select_keys(self, keys: list[str]) -> None:
        """Select the overview rows of these GPUs (what a click or Select all does)."""
        wanted = set(keys)
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(QtCore.Qt.ItemDataRole.UserRole) in wanted:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def export_csv(self, path: Path) -> Path:
        """The picked GPUs' range-query history, one row per GPU per step (DCGM-style columns)."""
        histories = [self._histories[k] for k in self.selected_keys() if k in self._histories]
        return export_cluster_csv(histories, Path(path))

    @property
    def status(self) -> ClusterStatus:
        return self._status

    @property
    def snapshot(self) -> ClusterSnapshot | None:
        return self._snapshot

    def history(self, key: str) -> GpuHistory | None:
        return self._histories.get(key)

    def drain_now(self) -> None:
        """Show what the poller has answered since the last drain (timer slot)."""
        for event in self.poller.drain():
            if isinstance(event, ClusterStatus):
                self._set_status(event)
            elif isinstance(event, ClusterSnapshot):
                self._show_snapshot(event)
            elif isinstance(event, HistoryResult):
                self._show_histories(event)
        self._show_status()  # the "slow" note follows the query under way

    # ----- internals ------------------------------------------------------------------------------
    def _read_form(self) -> tuple[PrometheusConfig, LabelFilter]:
        mode = self.auth_picker.currentIndex()
        config = PrometheusConfig(
            url=self.url_edit.text().strip(),
            bearer_token=self.token_edit.text() if mode == 1 else "",
            username=self.user_edit.text() if mode == 2 else "",
            password=self.password_edit.text() if mode == 2 else "",
            verify_tls=self.verify_tls.isChecked(), timeout_s=self.timeout_spin.value())
        if mode == 1 and not config.bearer_token:
            raise InputError("bearer token", "enter the token, or choose No login")
        if mode == 2 and not config.username:
            raise InputError("user", "enter the user name, or choose No login")
        label_filter = LabelFilter(**{name: edit.text().strip() for name, edit in self.filter_edits.items()})
        return config, label_filter

    def _set_status(self, status: ClusterStatus) -> None:
        self._status = status
        self._show_status()

    def _show_status(self) -> None:
        status = self._status
        lines = [status.message + (f" {status.hint}" if status.hint else "")]
        if status.ok and self._snapshot is not None and self._snapshot.missing_metrics:
            lines.append("Missing series (shown as n/a): " + ", ".join(self._snapshot.missing_metrics))
        waiting_s = self.poller.busy_for_s()
        if waiting_s >= SLOW_AFTER_S:
            lines.append(f"Slow query: waiting {waiting_s:.0f} s for {self._connected_url} "
                         f"(gives up after {self.timeout_spin.value():g} s); the figures shown are older.")
        text = "\n".join(lines)
        if text != self.status_label.text():
            self.status_label.setText(text)

    def _show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self._snapshot = snapshot
        gpus = len(snapshot.readings)
        when = time.strftime("%H:%M:%S", time.localtime(snapshot.timestamp_s))
        self._set_status(ClusterStatus(ClusterState.OK, f"{self._connected_url}: {gpus} GPUs on "
                                       f"{len(snapshot.nodes)} nodes at {when}."))
        keys = [r.gpu.key for r in snapshot.readings]
        if keys != [self.table.item(row, 0).data(QtCore.Qt.ItemDataRole.UserRole)
                    for row in range(self.table.rowCount())]:
            self._rebuild_rows(snapshot.readings)
        for row, reading in enumerate(snapshot.readings):
            self._fill_values(row, reading)
        self._request_history()
        self._show_job_check()

    def _rebuild_rows(self, readings: tuple[GpuReading, ...]) -> None:
        selected = self.selected_keys()
        self.table.blockSignals(True)
        self.table.setRowCount(len(readings))
        for row, reading in enumerate(readings):
            gpu = reading.gpu
            for column, text in enumerate((gpu.hostname, str(gpu.index), gpu.model_name, gpu.job)):
                item = QtWidgets.QTableWidgetItem(text)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, gpu.key)
                self.table.setItem(row, column, item)
            for column in range(4, len(COLUMNS)):
                item = QtWidgets.QTableWidgetItem()
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.select_keys(selected)
        self.table.blockSignals(False)

    def _fill_values(self, row: int, reading: GpuReading) -> None:
        for column, (_, value_of, fmt) in enumerate(COLUMNS):
            if value_of is None:
                continue
            value = value_of(reading)
            text = fmt.format(value) if math.isfinite(value) else "n/a"
            item = self.table.item(row, column)
            if item.text() != text:
                item.setText(text)
            if column == _XID_COLUMN:
                failing = math.isfinite(value) and value > 0
                item.setBackground(QtGui.QColor(255, 190, 190) if failing else QtGui.QBrush())
                item.setToolTip("an XID error was reported: see NVIDIA's XID catalog" if failing else "")

    def _on_selection(self) -> None:
        self._request_history()
        self._show_curves()
        self._show_job_check()

    def _window_s(self) -> float:
        return float(self.window_picker.currentData())

    def _picked_readings(self) -> list[GpuReading]:
        if self._snapshot is None:
            return []
        keys = set(self.selected_keys())
        return [r for r in self._snapshot.readings if r.gpu.key in keys]

    def _request_history(self) -> None:
        picked = [r.gpu for r in self._picked_readings()][:HISTORY_MAX_GPUS]
        if picked:
            self.poller.request_history(picked, self._window_s())

    def _show_histories(self, result: HistoryResult) -> None:
        self._histories = {h.gpu.key: h for h in result.histories}
        self._show_curves()

    def _show_curves(self) -> None:
        keys = self.selected_keys()
        history = self._histories.get(keys[0]) if keys else None
        self.curves.show_history(history, self._window_s())

    def _show_job_check(self) -> None:
        picked = self._picked_readings()
        if not picked:
            self.job_view.show_message("Job vs plan: select the job's GPUs in the overview (filter by Slurm job "
                                       "or pod, then Select all).")
        elif self._plan is None:
            self.job_view.show_message("Job vs plan: the planner has no valid plan to compare with.")
        else:
            self.job_view.show_check(check_job(picked, self._plan), len(picked))

    def _on_export(self) -> None:
        suggested = time.strftime("cluster-telemetry-%Y%m%d-%H%M%S.csv")
        path = self._dialogs.save_path(self, "Export cluster history", "CSV files (*.csv)", suggested)
        if not path:
            return
        try:
            self.export_csv(Path(path))
        except (OSError, ValueError) as err:
            self._dialogs.error(self, "Export failed", str(err))
