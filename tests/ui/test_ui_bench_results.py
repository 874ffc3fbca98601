"""The benchmark results view: % of datasheet peak, predicted vs measured memory, saved with
the date and read back, and "Use for planning" giving a This-machine GPU the planner uses."""
import json
from datetime import UTC, datetime

import pytest
from PySide6 import QtWidgets

from gpuplanner.bench.calibration import MACHINE_GPU, predict_train_step
from gpuplanner.bench.run import BenchRun
from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.ui.bench.results import BenchResultsView

CATALOGS = load_catalogs()
H100_HELLO = {"type": "hello", "device_name": "NVIDIA H100 80GB HBM3", "total_memory_bytes": 85_520_809_984,
              "torch_version": "2.13.0", "threads": 8, "device_type": "cuda"}
CONFIG = {"layers": 4, "hidden": 1024, "heads": 16, "vocab": 32000, "seq_len": 512, "batch": 8, "dtype": "bf16"}
RESULTS = [
    {"type": "result", "phase": "matmul", "dtype": "bf16", "size": 8192, "flops_per_s": 742.1e12},
    {"type": "result", "phase": "matmul", "dtype": "fp32", "size": 8192, "flops_per_s": 51.0e12},
    {"type": "result", "phase": "bandwidth", "tensor_bytes": 1 << 30, "bytes_per_s": 2680.0e9},
    {"type": "result", "phase": "train", "config": CONFIG, "param_count": 83_000_000,
     "peak_memory_bytes": 2_100_000_000, "peak_memory_method": "cuda_max_memory_allocated"},
]


@pytest.fixture
def view(qtbot, tmp_path):
    w = BenchResultsView(CATALOGS.gpus, tmp_path / "bench")
    qtbot.addWidget(w)
    return w


def cells(view):
    return [[view.table.item(r, c).text() for c in range(view.table.columnCount())]
            for r in range(view.table.rowCount())]


def test_percent_of_datasheet_peak(view):
    view.set_run(BenchRun.from_messages(H100_HELLO, RESULTS, datetime(2026, 11, 21, tzinfo=UTC)))
    rows = cells(view)
    assert rows[0] == ["matmul bf16 8192×8192×8192", "742 TFLOP/s", "990 TFLOP/s", "75 %"]
    assert rows[2][3] == "80 %"  # 2680 / 3350 GB/s
    assert "NVIDIA H100 SXM5 80GB datasheet" in view.device_label.text()
    assert "torch 2.13.0 · 8 threads · measured 2026-11-21" in view.device_label.text()
    predicted = predict_train_step(CONFIG).total_bytes
    assert f"planner predicts {predicted / 2**20:,.0f} MiB" in view.memory_label.text()


def test_cpu_has_no_peak_but_still_plans(view, qtbot):
    hello = {"device_name": "AMD EPYC 7B13", "total_memory_bytes": 24 * 2**30, "threads": 2, "device_type": "cpu"}
    results = [{"phase": "matmul", "dtype": "fp32", "size": 1024, "flops_per_s": 0.18e12},
               {"phase": "bandwidth", "tensor_bytes": 1 << 25, "bytes_per_s": 30.0e9}]
    view.set_run(BenchRun.from_messages(hello, results))
    assert cells(view)[0][2:] == ["n/a", "n/a"]
    with qtbot.waitSignal(view.use_for_planning) as signal:
        view.plan_button.click()
    gpu = signal.args[0]
    assert gpu.name == MACHINE_GPU and gpu.peak("fp32") == pytest.approx(0.18e12)
    r = estimate(PlanInputs(model="gpt2", mode="infer", precision="fp32", instance="", gpu=MACHINE_GPU),
                 CATALOGS.with_gpu(gpu))
    assert r.fits and r.decode_tokens_per_s_per_user > 0


def test_save_with_date_and_load_back(view, tmp_path, qtbot):
    assert not view.save_button.isEnabled()
    view.set_run(BenchRun.from_messages(H100_HELLO, RESULTS))
    path = view.save()
    assert path.parent == tmp_path / "bench" and path.name.startswith("bench-20")
    assert json.loads(path.read_text())["results"][0]["flops_per_s"] == 742.1e12
    other = BenchResultsView(CATALOGS.gpus, tmp_path / "bench")
    qtbot.addWidget(other)
    other.load(path)
    assert cells(other) == cells(view)
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        other.load(bad)


def test_memory_method_is_said_in_plain_words(view):
    """Issue 12: the measured peak was labelled with the kernel's name for its method."""
    results = [*RESULTS[:3], {**RESULTS[3], "peak_memory_method": "rss_high_water_delta"}]
    view.set_run(BenchRun.from_messages(H100_HELLO, results, datetime(2026, 11, 21, tzinfo=UTC)))
    text = view.memory_label.text()
    assert "rss_high_water_delta" not in text and "growth of the process's peak memory use" in text


def test_every_result_row_is_visible_in_the_live_tab(make_window, qtbot):
    """Issue 12: at 1280×800 the Live tab showed 3 of ~9 result rows."""
    from test_ui_services import FakeRunner

    from gpuplanner.monitor import Sampler
    from gpuplanner.monitor.synthetic import SyntheticSource
    from gpuplanner.ui.live.panel import LivePanel
    from gpuplanner.ui.main_window import Services

    def live_panel(dialogs):  # the real panel with its four stacked GPU plots
        return LivePanel(Sampler(SyntheticSource()), dialogs=dialogs)

    window = make_window(Services(make_live_panel=live_panel,
                                  bench_runner=FakeRunner(), start_benchmark=lambda r: None))
    window.show()
    window.tabs.setCurrentWidget(window.live_tab)
    sizes = [8192, 4096, 2048, 1024]
    results = [{"type": "result", "phase": "matmul", "dtype": d, "size": n, "flops_per_s": 100e12}
               for d in ("bf16", "fp32") for n in sizes] + [RESULTS[2]]
    view = window.bench.results
    view.set_run(BenchRun.from_messages(H100_HELLO, results, datetime(2026, 11, 21, tzinfo=UTC)))
    qtbot.waitUntil(lambda: view.table.viewport().height() > 0)
    assert view.table.rowCount() == 9
    qtbot.waitUntil(lambda: all(view.table.viewport().rect().contains(view.table.visualRect(
        view.table.model().index(r, 0))) for r in range(9)), timeout=2000)
    # ... and the curves above them stay legible (they were once squeezed to a smear), at 1280×800
    from gpuplanner.ui.live.panel import PLOT_MIN_HEIGHT_PX

    assert window.height() == 800
    shown = [g for g in window.live_panel.findChildren(QtWidgets.QWidget, "live-curves") if g.isVisible()]
    assert len(shown) == 1 and shown[0].height() >= PLOT_MIN_HEIGHT_PX * 4  # the GPU page's four plots
