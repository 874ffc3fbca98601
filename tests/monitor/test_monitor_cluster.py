"""The Prometheus client, DCGM parsing, cluster CSV and job check against a real Prometheus.

The server (Debian's prometheus) scrapes fake dcgm-exporters once a second; see
cluster_harness.py. Nothing here is mocked: failures come from a real server refusing
credentials, a closed port and a socket that never answers.
"""
from __future__ import annotations

import math
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cluster_harness import PASSWORD, USER, cluster, free_port  # noqa: F401  (cluster is a fixture)

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.monitor import CSV_COLUMNS
from gpuplanner.monitor.cluster import ClusterPoller, ClusterState, ClusterStatus, HistoryResult, history_matchers
from gpuplanner.monitor.cluster_export import cluster_history_frame, export_cluster_csv
from gpuplanner.monitor.dcgm import (
    BYTES_PER_MIB,
    SELECTOR_NAME,
    ClusterGpu,
    ClusterSnapshot,
    LabelFilter,
    histories_of,
    snapshot_of,
)
from gpuplanner.monitor.job_check import check_job
from gpuplanner.monitor.prometheus import Failure, PrometheusClient, PrometheusConfig, PrometheusError


def client_for(cluster, **auth) -> PrometheusClient:  # noqa: F811
    return PrometheusClient(PrometheusConfig(cluster.url, **(auth or {"username": USER, "password": PASSWORD})))


def overview(client: PrometheusClient, label_filter: LabelFilter = LabelFilter(), at_s: float | None = None):
    at_s = time.time() if at_s is None else at_s
    return snapshot_of(client.query(f"{{{SELECTOR_NAME}{label_filter.matchers()}}}", at_s=at_s), at_s)


def test_overview_has_every_gpu_of_every_node_with_exporter_labels(cluster) -> None:  # noqa: F811
    snapshot = overview(client_for(cluster))
    assert snapshot.nodes == ("node-a", "node-b", "node-c")
    per_node = {node: [r.gpu.index for r in snapshot.readings if r.gpu.hostname == node] for node in snapshot.nodes}
    assert per_node == {"node-a": list(range(8)), "node-b": list(range(8)), "node-c": [0, 1]}
    first = snapshot.readings[0]
    assert first.gpu.uuid == "GPU-node-a-0000" and first.gpu.model_name == "NVIDIA H100 80GB HBM3"
    assert first.gpu.job == "4242"
    assert first.fb_total_mib == 81559  # FB_USED + FB_FREE as the exporter splits it
    assert 0 < first.value("tensor_active_pct") <= 100  # a PROF ratio shown as a percentage
    assert [r.value("xid_last_error") for r in snapshot.readings if r.gpu.hostname == "node-a"][-1] == 79
    assert snapshot.missing_metrics == ()


def test_values_change_between_scrapes(cluster) -> None:  # noqa: F811
    client = client_for(cluster)
    now = time.time()
    earlier, later = overview(client, at_s=now - 3), overview(client, at_s=now)
    used = [[r.value("fb_used_mib") for r in s.readings] for s in (earlier, later)]
    assert used[0] != used[1]


@pytest.mark.parametrize(("label_filter", "gpus"), [
    (LabelFilter(hostname="node-a"), 8),
    (LabelFilter(hostname="node-[ab]"), 16),
    (LabelFilter(slurm_job="4242"), 4),
    (LabelFilter(hostname="node-b", slurm_job="4242"), 0),
])
def test_label_filters_select_gpus(cluster, label_filter, gpus) -> None:  # noqa: F811
    assert len(overview(client_for(cluster), label_filter).readings) == gpus


def test_a_missing_series_is_named_and_reads_nan(cluster) -> None:  # noqa: F811
    snapshot = overview(client_for(cluster), LabelFilter(hostname="node-c"))
    assert set(snapshot.missing_metrics) == {"DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_FB_FREE"}
    assert all(math.isnan(r.value("power_w")) and math.isnan(r.fb_total_mib) for r in snapshot.readings)
    assert all(r.value("fb_used_mib") > 0 for r in snapshot.readings)


def test_history_comes_from_a_range_query_on_the_step_grid(cluster) -> None:  # noqa: F811
    client = client_for(cluster)
    expr = f'{{{SELECTOR_NAME}, Hostname="node-b", gpu="3"}}'
    for _ in range(50):  # a server started moments ago has only a few seconds of history
        end_s = float(int(time.time()))
        start_s = end_s - 6
        (history,) = histories_of(client.query_range(expr, start_s, end_s, 1.0), start_s, end_s, 1.0)
        used = history.column("fb_used_mib")
        if np.isfinite(used[-3:]).all():
            break
        time.sleep(0.2)
    assert history.gpu.key == "GPU-node-b-0003"
    assert list(history.times_s) == [start_s + i for i in range(7)]
    assert np.isfinite(used[-3:]).all() and np.ptp(used[np.isfinite(used)]) > 0
    at_s = history.times_s[-2]  # the same moment asked as an instant query gives the same value
    (reading,) = overview(client, LabelFilter(hostname="node-b"), at_s=at_s).readings[3:4]
    assert reading.value("fb_used_mib") == used[-2]


def test_cluster_csv_uses_the_local_export_column_names(cluster, tmp_path: Path) -> None:  # noqa: F811
    client = client_for(cluster)
    end_s = float(int(time.time()))
    expr = f'{{{SELECTOR_NAME}, Hostname=~"node-a|node-c", gpu="1"}}'
    histories = histories_of(client.query_range(expr, end_s - 4, end_s, 1.0), end_s - 4, end_s, 1.0)
    path = export_cluster_csv(histories, tmp_path / "cluster.csv")
    table = pd.read_csv(path)
    shared = [c for c in CSV_COLUMNS if c in table.columns]
    assert {"timestamp_s", "gpu_uuid", "model_name", "gpu_util_pct", "fb_used_mib", "fb_total_mib", "power_w",
            "temperature_c", "mem_copy_util_pct", "sm_clock_mhz"} <= set(shared)
    assert len(table) == 2 * 5
    node_a = table[table.hostname == "node-a"]
    assert np.allclose(node_a.fb_used_mib, histories[0].column("fb_used_mib"), equal_nan=True)
    assert table[table.hostname == "node-c"].power_w.isna().all()  # missing, not 0
    assert list(cluster_history_frame(histories).columns) == list(table.columns)
    with pytest.raises(ValueError, match="No GPU history"):
        export_cluster_csv((), tmp_path / "empty.csv")


@pytest.mark.parametrize("auth", [{"username": USER, "password": "wrong"}, {"bearer_token": "not-a-token"},
                                  {"username": "", "password": ""}])
def test_refused_credentials_are_an_auth_failure(cluster, auth) -> None:  # noqa: F811
    client = PrometheusClient(PrometheusConfig(cluster.url, **auth))
    with pytest.raises(PrometheusError) as caught:
        client.query("up")
    assert caught.value.failure is Failure.AUTH_FAILED and "HTTP 401" in caught.value.message


def test_a_bad_query_says_what_prometheus_said(cluster) -> None:  # noqa: F811
    with pytest.raises(PrometheusError) as caught:
        client_for(cluster).query("DCGM_FI_DEV_GPU_UTIL{")
    assert caught.value.failure is Failure.BAD_QUERY and "rejected the query" in caught.value.message


def test_closed_port_is_unreachable() -> None:
    client = PrometheusClient(PrometheusConfig(f"http://127.0.0.1:{free_port()}", timeout_s=2))
    with pytest.raises(PrometheusError) as caught:
        client.query("up")
    assert caught.value.failure is Failure.UNREACHABLE and "cannot reach" in caught.value.message


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections into its backlog, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = PrometheusClient(PrometheusConfig(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.5))
        started = time.monotonic()
        with pytest.raises(PrometheusError) as caught:
            client.query("up")
    assert caught.value.failure is Failure.TIMEOUT
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(("make", "field"), [
    (lambda: PrometheusConfig("localhost:9090"), "url"),
    (lambda: PrometheusConfig("http://h:9090", bearer_token="t", username="u"), "auth"),
    (lambda: PrometheusConfig("http://h:9090", timeout_s=0), "timeout_s"),
    (lambda: LabelFilter(hostname="node-("), "hostname"),
    (lambda: LabelFilter(slurm_job="["), "slurm_job"),
])
def test_bad_settings_name_the_field(make, field) -> None:
    with pytest.raises(InputError) as caught:
        make()
    assert caught.value.field == field


def test_label_values_are_escaped_in_promql() -> None:
    assert LabelFilter(pod='a"b\\.c').matchers() == ', pod=~"a\\"b\\\\.c"'


def test_job_check_compares_picked_gpus_with_the_plan(cluster) -> None:  # noqa: F811
    readings = [r for r in overview(client_for(cluster)).readings if r.gpu.job == "4242"]
    train = estimate(PlanInputs(mode="train"), load_catalogs())
    check = check_job(readings, train)
    rows = {row.label: row for row in check.rows}
    assert rows["GPUs"].measured == 4 and rows["GPUs"].predicted == train.gpus
    busiest = max(r.value("fb_used_mib") for r in readings) * BYTES_PER_MIB
    assert rows["Memory in use, busiest GPU"].measured == busiest
    assert rows["Memory in use, busiest GPU"].predicted == train.memory_per_gpu_bytes
    assert rows["Memory in use, busiest GPU"].ratio == pytest.approx(busiest / train.memory_per_gpu_bytes)
    assert rows["Device memory"].predicted == train.capacity_bytes
    assert rows["Tensor pipe active, mean"].predicted == pytest.approx(100 * train.mfu)
    assert check.gpu_models == ("NVIDIA H100 80GB HBM3",)
    serve = estimate(PlanInputs(mode="infer"), load_catalogs())
    serve_rows = {row.label: row for row in check_job(readings, serve).rows}
    assert serve_rows["DRAM active, mean"].predicted == pytest.approx(100 * serve.inputs.mbu)
    node_c = [r for r in overview(client_for(cluster), LabelFilter(hostname="node-c")).readings]
    assert math.isnan({row.label: row for row in check_job(node_c, train).rows}["Tensor pipe active, mean"].ratio)
    assert all(math.isnan(row.measured) for row in check_job([], train).rows[1:])


def _drain_until(poller: ClusterPoller, want, timeout_s: float = 10.0) -> list:
    seen: list = []
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        seen += poller.drain()
        if any(want(e) for e in seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"no wanted event in {seen}")


def test_poller_answers_off_the_calling_thread_and_drops_stale_connections(cluster) -> None:  # noqa: F811
    poller = ClusterPoller(interval_s=0.5)
    try:
        poller.connect(PrometheusConfig(cluster.url, username=USER, password="wrong"), LabelFilter())
        _drain_until(poller, lambda e: isinstance(e, ClusterStatus) and e.state is ClusterState.AUTH_FAILED)
        poller.connect(PrometheusConfig(cluster.url, username=USER, password=PASSWORD), LabelFilter(hostname="node-a"))
        events = _drain_until(poller, lambda e: isinstance(e, ClusterSnapshot))
        assert not any(isinstance(e, ClusterStatus) and e.state is ClusterState.AUTH_FAILED for e in events)
        snapshot = next(e for e in events if isinstance(e, ClusterSnapshot))
        poller.request_history([r.gpu for r in snapshot.readings[:2]], 30.0)
        events = _drain_until(poller, lambda e: isinstance(e, HistoryResult))
        result = next(e for e in events if isinstance(e, HistoryResult))
        assert [h.gpu.key for h in result.histories] == [r.gpu.key for r in snapshot.readings[:2]]
        poller.connect(PrometheusConfig(cluster.url, username=USER, password=PASSWORD), LabelFilter(hostname="none"))
        events = _drain_until(poller, lambda e: isinstance(e, ClusterStatus) and e.state is ClusterState.NO_SERIES)
        assert "Hostname" in events[-1].message and events[-1].hint
    finally:
        poller.stop()
    assert not poller._thread.is_alive()


def test_an_inactive_poller_sends_no_queries_and_resumes_at_once(cluster) -> None:  # noqa: F811
    poller = ClusterPoller(interval_s=0.2)
    try:
        poller.set_active(False)
        poller.connect(PrometheusConfig(cluster.url, username=USER, password=PASSWORD), LabelFilter(hostname="node-b"))
        time.sleep(1.0)
        assert poller.drain() == []
        poller.set_active(True)
        events = _drain_until(poller, lambda e: isinstance(e, ClusterSnapshot), timeout_s=5)
        assert len(next(e for e in events if isinstance(e, ClusterSnapshot)).readings) == 8
    finally:
        started = time.monotonic()
        poller.stop()
    assert time.monotonic() - started < 1.5


def test_history_selectors_pick_gpus_by_uuid_or_by_node_and_index(cluster) -> None:  # noqa: F811
    client = client_for(cluster)
    by_uuid = [ClusterGpu("node-a", 1, "GPU-node-a-0001"), ClusterGpu("node-b", 0, "GPU-node-b-0000")]
    no_uuid = [ClusterGpu("node-a", 1), ClusterGpu("node-b", 0)]

    def found(gpus) -> set[tuple[str, str]]:
        series = client.query(f'{{__name__="DCGM_FI_DEV_GPU_UTIL", {history_matchers(gpus)}}}')
        return {(s.labels["Hostname"], s.labels["gpu"]) for s in series}

    assert found(by_uuid) == {("node-a", "1"), ("node-b", "0")}
    assert found(no_uuid) == {(h, g) for h in ("node-a", "node-b") for g in ("0", "1")}  # a superset, cut later
