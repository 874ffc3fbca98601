"""The Live tab's cluster source driven through pytest-qt against a real Prometheus.

See cluster_harness.py for the server and exporters (node-a, node-b: 8 GPUs each; node-c: 2
GPUs without power, free-memory and profiling series; Slurm job 4242 on node-a GPUs 0-3).
"""
from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cluster_harness import GPU_COUNT, PASSWORD, USER, cluster  # noqa: F401  (cluster is a fixture)
from PySide6 import QtCore
from ui_support import FakeDialogs

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.monitor import Sampler, SamplerRates
from gpuplanner.monitor.cluster import ClusterPoller, ClusterState
from gpuplanner.monitor.synthetic import SyntheticSource
from gpuplanner.ui.live.cluster import COLUMNS, ClusterPanel
from gpuplanner.ui.live.panel import LivePanel
from gpuplanner.ui.main_window import Services

TRAIN = estimate(PlanInputs(mode="train"), load_catalogs())
_COLUMN = {header: i for i, (header, _, _) in enumerate(COLUMNS)}


@pytest.fixture
def panel(qtbot):
    dialogs = FakeDialogs()
    made = ClusterPanel(ClusterPoller(interval_s=0.5), dialogs=dialogs, drain_interval_ms=50)
    made.dialogs_for_test = dialogs
    qtbot.addWidget(made)
    made.resize(1200, 800)
    made.show()
    yield made
    made.stop()


def fill(panel: ClusterPanel, url: str, user: str = USER, password: str = PASSWORD, **filters: str) -> None:
    panel.url_edit.setText(url)
    panel.auth_picker.setCurrentIndex(2)
    panel.user_edit.setText(user)
    panel.password_edit.setText(password)
    for name, edit in panel.filter_edits.items():
        edit.setText(filters.get(name, ""))


def connect(qtbot, panel: ClusterPanel, url: str, **kw) -> None:
    fill(panel, url, **kw)
    assert panel.connect_to_server()
    qtbot.waitUntil(lambda: panel.status.state is not ClusterState.CONNECTING, timeout=10000)


def cell(panel: ClusterPanel, row: int, header: str) -> str:
    return panel.table.item(row, _COLUMN[header]).text()


def test_overview_shows_every_gpu_with_the_servers_values(qtbot, panel, cluster) -> None:  # noqa: F811
    connect(qtbot, panel, cluster.url)
    assert panel.status.ok, panel.status_label.text()
    assert panel.table.rowCount() == GPU_COUNT
    snapshot = panel.snapshot
    for row, reading in enumerate(snapshot.readings):
        assert cell(panel, row, "Node") == reading.gpu.hostname
        assert cell(panel, row, "Memory used (GiB)") == f"{reading.value('fb_used_mib') / 1024:.1f}"
        assert cell(panel, row, "Busy (%)") == f"{reading.value('gpu_util_pct'):.0f}"
    xid_row = next(r for r, reading in enumerate(snapshot.readings) if reading.value("xid_last_error") > 0)
    assert cell(panel, xid_row, "Last XID") == "79"
    assert panel.table.item(xid_row, _COLUMN["Last XID"]).background().color().red() == 255
    first = [r.values for r in snapshot.readings]  # polling goes on and shows the next scrape's values
    qtbot.waitUntil(lambda: [r.values for r in panel.snapshot.readings] != first, timeout=5000)
    assert cell(panel, 0, "Memory used (GiB)") == f"{panel.snapshot.readings[0].value('fb_used_mib') / 1024:.1f}"


def test_drill_down_draws_one_gpus_range_query_history_with_the_plan_line(qtbot, panel, cluster) -> None:  # noqa: F811
    connect(qtbot, panel, cluster.url, hostname="node-b")
    panel.set_plan(TRAIN)
    key = panel.snapshot.readings[2].gpu.key
    panel.select_keys([key])
    qtbot.waitUntil(lambda: panel.history(key) is not None, timeout=10000)
    history = panel.history(key)
    x, y = panel.curves.curve_data("fb_used_mib")
    assert list(x) == list(history.times_s)
    assert np.allclose(y, history.column("fb_used_mib") / 1024, equal_nan=True)
    assert np.diff(x).min() == np.diff(x).max()  # range-query steps, not poll arrival times
    assert "node-b GPU 2" in panel.curves.title.text()
    assert panel.curves.plan_line.isVisible()
    assert panel.curves.plan_line.value() == pytest.approx(TRAIN.memory_per_gpu_bytes / 2**30)


def test_job_vs_plan_for_a_slurm_jobs_gpus(qtbot, panel, cluster) -> None:  # noqa: F811
    connect(qtbot, panel, cluster.url, slurm_job="4242")
    assert panel.table.rowCount() == 4
    assert "select the job's GPUs" in panel.job_view.summary.text()
    panel.select_all_button.click()
    assert "no valid plan" in panel.job_view.summary.text()
    panel.set_plan(TRAIN)
    assert panel.job_view.cell(0, 1) == "4" and panel.job_view.cell(0, 2) == f"{TRAIN.gpus}"
    busiest_mib = max(r.value("fb_used_mib") for r in panel.snapshot.readings)
    assert panel.job_view.cell(1, 1) == f"{busiest_mib / 1024:,.1f} GiB"
    assert panel.job_view.cell(1, 2) == f"{TRAIN.memory_per_gpu_bytes / 2**30:,.1f} GiB"
    assert panel.job_view.cell(1, 3) == f"{busiest_mib * 2**20 / TRAIN.memory_per_gpu_bytes:.2f}"
    assert "NVIDIA H100 80GB HBM3" in panel.job_view.summary.text()


def test_export_writes_the_picked_gpus_history(qtbot, panel, cluster, tmp_path: Path) -> None:  # noqa: F811
    connect(qtbot, panel, cluster.url, hostname="node-a")
    keys = [r.gpu.key for r in panel.snapshot.readings[:3]]
    panel.select_keys(keys)
    qtbot.waitUntil(lambda: all(panel.history(k) is not None for k in keys), timeout=10000)
    panel.dialogs_for_test.paths.append(str(tmp_path / "cluster.csv"))
    panel.export_button.click()
    table = pd.read_csv(tmp_path / "cluster.csv")
    assert list(dict.fromkeys(table.gpu_uuid)) == keys
    assert {"fb_used_mib", "gpu_util_pct", "power_w", "temperature_c", "fb_total_mib"} <= set(table.columns)
    panel.table.clearSelection()
    panel.export_button.click()
    assert panel.dialogs_for_test.errors == []  # no path asked: the dialog was cancelled
    panel.dialogs_for_test.paths.append(str(tmp_path / "none.csv"))
    panel.export_button.click()
    assert "No GPU history" in panel.dialogs_for_test.errors[-1][1]


def test_missing_series_are_named_and_shown_as_gaps(qtbot, panel, cluster) -> None:  # noqa: F811
    connect(qtbot, panel, cluster.url, hostname="node-c")
    assert panel.status.ok
    assert "Missing series" in panel.status_label.text() and "DCGM_FI_DEV_POWER_USAGE" in panel.status_label.text()
    assert {cell(panel, row, "Power (W)") for row in range(2)} == {"n/a"}
    connect(qtbot, panel, cluster.url, hostname="no-such-node")
    assert panel.status.state is ClusterState.NO_SERIES
    assert "no DCGM-exporter series" in panel.status_label.text() and panel.table.rowCount() == 0


def test_bad_credentials_and_bad_input_are_states(qtbot, panel, cluster) -> None:  # noqa: F811
    connect(qtbot, panel, cluster.url, password="wrong")
    assert panel.status.state is ClusterState.AUTH_FAILED
    assert "refused the credentials" in panel.status_label.text() and "Connect again" in panel.status_label.text()
    panel.auth_picker.setCurrentIndex(1)
    panel.token_edit.setText("not-the-token")
    panel.connect_to_server()
    qtbot.waitUntil(lambda: panel.status.state is ClusterState.AUTH_FAILED, timeout=10000)
    fill(panel, "localhost:9090")
    assert not panel.connect_to_server()
    assert panel.status.state is ClusterState.BAD_INPUT and panel.status_label.text().startswith("url:")
    fill(panel, cluster.url, hostname="node-(")
    assert not panel.connect_to_server() and panel.status_label.text().startswith("hostname:")


def test_server_stopped_mid_session_then_back(qtbot, panel, cluster) -> None:  # noqa: F811
    connect(qtbot, panel, cluster.url, hostname="node-a")
    assert panel.status.ok and panel.table.rowCount() == 8
    cluster.stop()
    try:
        qtbot.waitUntil(lambda: panel.status.state is ClusterState.UNREACHABLE, timeout=10000)
        assert "cannot reach" in panel.status_label.text()
        assert panel.table.rowCount() == 8  # the last figures stay readable
    finally:
        cluster.start()
    qtbot.waitUntil(lambda: panel.status.ok, timeout=15000)  # polling goes on and recovers by itself


def test_a_slow_server_is_reported_while_the_window_keeps_running(qtbot, panel) -> None:
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(50)
    with socket.socket() as silent:  # accepts into its backlog, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        panel.timeout_spin.setValue(3.0)
        panel.auth_picker.setCurrentIndex(0)
        panel.url_edit.setText(f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        panel.connect_to_server()
        qtbot.waitUntil(lambda: "Slow query" in panel.status_label.text(), timeout=5000)
        qtbot.waitUntil(lambda: panel.status.state is ClusterState.TIMEOUT, timeout=6000)
    timer.stop()
    assert "did not answer within 3 s" in panel.status_label.text()
    assert len([t for t in ticks if t > started]) > 20  # the event loop ran all along


def test_live_panel_offers_the_cluster_source_and_stops_it(qtbot) -> None:
    rates = SamplerRates(usage_interval_s=0.05, sensors_interval_s=0.05, processes_interval_s=0.05)
    cluster_panel = ClusterPanel(ClusterPoller())
    live = LivePanel(Sampler(SyntheticSource(), rates), drain_interval_ms=50, cluster_panel=cluster_panel)
    qtbot.addWidget(live)
    live.show()
    assert [live.source_picker.itemText(i) for i in range(live.source_picker.count())] == [
        "This machine", "Cluster (Prometheus)"]
    live.source_picker.setCurrentIndex(1)
    assert live.source_stack.currentWidget() is cluster_panel and cluster_panel.isVisible()
    live.stop()
    assert not cluster_panel.connect_to_server()  # stopped for good


def test_the_window_hands_its_current_plan_to_the_cluster_view(make_window) -> None:
    cluster_panel = ClusterPanel(ClusterPoller())
    live = LivePanel(Sampler(SyntheticSource()), cluster_panel=cluster_panel)
    window = make_window(Services(make_live_panel=lambda dialogs: live))
    window.tabs.setCurrentWidget(window.live_tab)
    assert cluster_panel.curves.plan_line.value() == pytest.approx(window.state.result.memory_per_gpu_bytes / 2**30)
    before = window.state.result.memory_per_gpu_bytes
    window.form.set_inputs(PlanInputs(model="llama-3.1-70b"))
    window.state.recompute()
    assert window.state.wait()
    after = window.state.result.memory_per_gpu_bytes
    assert after != before
    assert cluster_panel.curves.plan_line.value() == pytest.approx(after / 2**30)
    window.close()
    assert not cluster_panel.connect_to_server()  # closing the window stopped the cluster view too


def test_the_window_remembers_the_address_it_connected_to(make_window, settings) -> None:
    """The next run offers the server used last (logins are never stored)."""
    def live_panel():
        cluster_panel = ClusterPanel(ClusterPoller())
        return LivePanel(Sampler(SyntheticSource()), cluster_panel=cluster_panel), cluster_panel

    live, cluster_panel = live_panel()
    window = make_window(Services(make_live_panel=lambda dialogs: live))
    window.tabs.setCurrentWidget(window.live_tab)
    assert cluster_panel.url_edit.text() == "http://localhost:9090"  # nothing remembered yet
    fill(cluster_panel, "http://127.0.0.1:1/")  # refused at once: the address is still the one used
    assert cluster_panel.connect_to_server()
    window.close()
    assert settings.cluster_url() == "http://127.0.0.1:1/"
    assert PASSWORD not in {str(settings.store.value(key)) for key in settings.store.allKeys()}

    live, cluster_panel = live_panel()
    window = make_window(Services(make_live_panel=lambda dialogs: live))
    window.tabs.setCurrentWidget(window.live_tab)
    assert cluster_panel.url_edit.text() == "http://127.0.0.1:1/"
    window.close()
