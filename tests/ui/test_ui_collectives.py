"""The collective results in the Live tab: size → bus bandwidth per operation and scope, files
opened through the dialogs, and "Use for planning" feeding a saved and reopened plan."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from test_ui_plan import choose, type_into

from gpuplanner.bench.collectives import CollectiveResult, CollectivesRun, Unsupported, save_collectives
from gpuplanner.core import estimate
from gpuplanner.ui.bench.collectives import CollectivesView

SIZES = (2**20, 2**26)


def _run() -> CollectivesRun:
    """Two nodes of 8 GPUs: the all-reduce inside a node reaches 360 GB/s, across nodes 45 GB/s."""
    results = []
    for scope, ranks, busbw in (("intra_node", 8, 360e9), ("inter_node", 16, 45e9)):
        factor = 2 * (ranks - 1) / ranks
        for size in SIZES:
            speed = busbw if size == SIZES[-1] else busbw / 4
            results.append(CollectiveResult("all_reduce", scope, ranks, size, size * factor / speed))
            results.append(CollectiveResult("all_gather", scope, ranks, size, size * (ranks - 1) / ranks / speed))
    unsupported = [Unsupported(op, scope, "not supported by gloo: test") for op in ("reduce_scatter", "all_to_all")
                   for scope in ("intra_node", "inter_node")]
    return CollectivesRun("nccl", "NVIDIA H100 80GB HBM3", "2.13.0", 16, 8, datetime(2026, 11, 21, tzinfo=UTC),
                          tuple(results), tuple(unsupported))


def cells(view):
    return [[view.table.item(r, c).text() for c in range(view.table.columnCount())]
            for r in range(view.table.rowCount())]


@pytest.fixture
def view(qtbot, dialogs):
    w = CollectivesView(dialogs=dialogs)
    qtbot.addWidget(w)
    return w


def test_each_scope_shows_bus_bandwidth_by_size_and_names_unsupported_operations(view):
    assert not view.plan_button.isEnabled()
    view.set_run(_run())
    assert [view.scope_combo.itemText(i) for i in range(view.scope_combo.count())] == ["inside a node", "across nodes"]
    assert cells(view) == [["1 MiB", "90 GB/s", "90 GB/s", "not supported by gloo: test", "not supported by gloo: test"],
                           ["64 MiB", "360 GB/s", "360 GB/s", "not supported by gloo: test",
                            "not supported by gloo: test"]]
    x, y = view.curves["all_reduce"].xData, view.curves["all_reduce"].yData  # as given, not log-scaled
    assert list(x) == list(SIZES) and list(y) == pytest.approx([90e9, 360e9])
    view.scope_combo.setCurrentIndex(1)
    assert cells(view)[1][1] == "45 GB/s"
    assert "16 ranks, 2 node(s) of 8" in view.summary.text() and view.plan_button.isEnabled()


def test_a_results_file_opens_and_a_bad_one_says_why(view, dialogs, tmp_path):
    path = save_collectives(tmp_path / "c.json", _run())
    dialogs.paths.append(str(path))
    view.open_button.click()
    assert view.run == _run() and cells(view)[1][1] == "360 GB/s"
    (tmp_path / "bad.json").write_text(json.dumps({"format": "gpuplanner-collectives", "version": 1}))
    dialogs.paths.append(str(tmp_path / "bad.json"))
    view.open_button.click()
    assert dialogs.errors[-1][0] == "Cannot open collective results" and "backend" in dialogs.errors[-1][1]
    assert view.run == _run()  # the shown run stays


def test_use_for_planning_feeds_a_tensor_parallel_plan_that_survives_save_and_open(make_window, qtbot, tmp_path,
                                                                                   dialogs):
    window = make_window()
    choose(qtbot, window, window.form.editor("mode"), "Serving")
    choose(qtbot, window, window.form.model_combo, "llama-3.1-70b")
    type_into(qtbot, window, "tp", "8")
    before = window.state.result
    window.tabs.setCurrentWidget(window.live_tab)
    assert window.collectives is window.collectives_view()  # built when the Live tab was shown
    window.collectives.set_run(_run())
    window.collectives.plan_button.click()
    assert window.tabs.currentWidget() is window.plan_tab
    assert window.state.wait()
    after = window.state.result
    assert window.form.inputs().interconnect == "measured" and window.state.inputs.interconnect == "measured"
    assert after.tpot_s > before.tpot_s  # 360 GB/s measured against H100 NVLink's 450 GB/s
    assert after.tpot_s == estimate(window.state.inputs, window.state.catalogs).tpot_s
    links = {a.name: a for a in after.assumptions}["link bandwidths"]
    assert links.source == "measured: collectives 2026-11-21" and "360 GB/s" in links.value

    dialogs.paths.append(str(tmp_path / "measured"))
    assert window.document.save_as() and not window.document.is_dirty()
    window.use_measured_links(replace(window.state.catalogs.measured_links, measured_at="2026-11-22"))
    assert window.document.is_dirty()  # saving would store other figures
    window.close()
    fresh = make_window()
    assert fresh.state.catalogs.measured_links is None
    assert fresh.document.open_plan(str(tmp_path / "measured.gpuplan")) and fresh.state.wait()
    assert fresh.state.result.tpot_s == after.tpot_s and not fresh.document.is_dirty()
    assert dialogs.errors == []
