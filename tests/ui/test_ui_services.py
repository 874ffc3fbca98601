"""Export, catalogs, About, and the thin Live/benchmark integration, from the window."""
from __future__ import annotations

import pandas as pd
import pytest
from PySide6 import QtCore, QtWidgets

from gpuplanner.core import PlanInputs, estimate
from gpuplanner.core.price_age import price_as_of
from gpuplanner.core.sweep import sweep
from gpuplanner.ui import about
from gpuplanner.ui.catalog_dialog import CatalogDialog
from gpuplanner.ui.main_window import Services


def test_export_csv_and_pdf_with_the_report_writer(make_window, tmp_path, dialogs, catalogs):
    report = pytest.importorskip("gpuplanner.report")
    pypdf = pytest.importorskip("pypdf")
    window = make_window(Services(write_report=report.write_report))
    dialogs.paths += [str(tmp_path / "plan.csv"), str(tmp_path / "plan")]
    assert window.exporter.export(".csv")
    assert window.exporter.export(".pdf")  # the suffix is added
    assert dialogs.errors == []
    csv_files = sorted(p.name for p in tmp_path.glob("plan*.csv"))
    assert csv_files and all((tmp_path / name).stat().st_size > 0 for name in csv_files)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(tmp_path / "plan.pdf").pages)
    assert estimate(PlanInputs(), catalogs).model_name in text


def test_export_passes_the_shown_result_and_table(make_window, tmp_path, dialogs):
    calls = []
    window = make_window(Services(write_report=lambda *args, memory_unit: calls.append((*args, memory_unit))))
    dialogs.paths.append(str(tmp_path / "x.csv"))
    window.set_memory_unit("GB")
    assert window.exporter.export(".csv")
    result, table, path, unit = calls[0]
    assert result is window.state.result and path == str(tmp_path / "x.csv") and unit == "GB"
    pd.testing.assert_frame_equal(table, sweep(window.state.inputs, window.state.catalogs))  # both modes, in full


def test_export_brings_the_error_bands_from_the_comparison_process(make_window, tmp_path, dialogs, monkeypatch):
    """The report's bands read core.accuracy's band rows; an export before the window has them
    gets them from the comparison process on its worker thread, never by evaluating the
    ledger while the GUI thread paints the PDF."""
    from gpuplanner.core import accuracy

    held = []
    window = make_window(Services(write_report=lambda *args, memory_unit: held.append(accuracy.held_band_rows())))
    monkeypatch.setattr(accuracy, "_BUNDLED_BAND_ROWS", [])
    monkeypatch.setattr(accuracy, "bundled_outcomes", lambda: pytest.fail("the ledger evaluated in the window"))
    dialogs.paths.append(str(tmp_path / "x.pdf"))
    assert window.exporter.export(".pdf")
    assert held and held[0] and all(isinstance(r, accuracy.BandRow) for r in held[0])


def test_export_errors_are_reported_not_raised(make_window, tmp_path, dialogs):
    def broken(result, table, path, memory_unit):
        raise OSError("disk full")

    window = make_window(Services(write_report=broken))
    dialogs.paths.append(str(tmp_path / "x.pdf"))
    assert not window.exporter.export(".pdf")
    assert dialogs.errors[-1] == ("Export failed", "x.pdf was not written: disk full")
    assert not make_window().exporter.export(".csv")  # no writer in this build
    assert "no report writer" in dialogs.errors[-1][1]


def test_catalog_dialog_and_user_catalog(make_window, qtbot, tmp_path, catalogs):
    window = make_window()
    window.sources.show_catalogs()
    dialog = window.sources.catalog_dialog
    assert dialog.tables["Instances"].rowCount() == len(catalogs.instances)
    assert dialog.tables["GPUs"].rowCount() == len(catalogs.gpus)
    bad = tmp_path / "bad.csv"
    bad.write_text("cloud,instance_type,gpu,gpu_count,price_usd_per_hour\nacme,big-box,H100,eight,10\n")
    assert not dialog.load(str(bad))
    assert "row 1" in dialog.error.text() and "gpu_count" in dialog.error.text()
    assert window.state.catalogs is catalogs  # unchanged

    good = tmp_path / "mine.csv"
    good.write_text("cloud,instance_type,gpu,gpu_count,price_usd_per_hour,as_of\n"
                    "acme,big-box,H100,8,10.0,2026-01 negotiated\n")
    assert dialog.load(str(good))
    assert "big-box" in window.state.catalogs.instances
    assert window.form.instance_combo.findData("big-box") >= 0
    assert "2026-01 negotiated" in window.as_of_label.text()
    window.form.instance_combo.setCurrentText("big-box")
    window.state.recompute()
    assert window.state.wait()
    assert window.state.result.instance_type == "big-box"
    dialog.close()


def test_about_names_versions_and_sources(catalogs):
    text = about.about_html(catalogs)
    for needle in ("Qt ", "PySide6 ", "pandas ", price_as_of(catalogs)):
        assert needle in text


class FakeLive(QtWidgets.QLabel):
    """Records what the benchmark link feeds the live panel."""

    stopped = False

    def __init__(self, text):
        super().__init__(text)
        self.metrics, self.phases, self.pids = [], [], []

    def stop(self):
        self.stopped = True

    def add_benchmark_metrics(self, timestamp_s, allocated_bytes, reserved_bytes):
        self.metrics.append((timestamp_s, allocated_bytes, reserved_bytes))

    def add_phase_marker(self, name, start_s, end_s=None):
        self.phases.append((name, start_s, end_s))

    def set_watched_pid(self, pid):
        self.pids.append(pid)


class FakeRunner(QtCore.QObject):
    hello = QtCore.Signal(object)
    progress = QtCore.Signal(str, int, int)
    metrics = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    finished = QtCore.Signal(bool)

    def __init__(self):
        super().__init__()
        self.running = False
        self.hello_info = {"device_name": "AMD EPYC 7B13", "device_type": "cpu", "total_memory_bytes": 24 * 2**30,
                           "threads": 2}
        self.results = [{"phase": "matmul", "dtype": "fp32", "size": 1024, "flops_per_s": 0.18e12},
                        {"phase": "bandwidth", "tensor_bytes": 1 << 25, "bytes_per_s": 30.0e9}]

    def is_running(self):
        return self.running

    def process_id(self):
        return 4242 if self.running else 0

    def stop(self, grace_s=None):
        self.running = False

    def unreadable_note(self):
        return ""


def test_live_tab_and_benchmark_action(make_window):
    live = FakeLive("live")
    runner = FakeRunner()
    started = []
    window = make_window(Services(make_live_panel=lambda dialogs: live, bench_runner=runner,
                                  start_benchmark=lambda r: (started.append(r), setattr(r, "running", True))))
    assert live.parent() is None  # built only when the Live tab is first shown
    window.tabs.setCurrentIndex(2)
    assert live.parent() is window.live_tab
    window.tabs.setCurrentIndex(0)
    window.bench.action.trigger()
    assert started == [runner] and window.bench.action.text().startswith("Stop")
    assert window.tabs.currentWidget() is window.live_tab  # the run is watched live
    runner.hello.emit(runner.hello_info)
    runner.progress.emit("matmul", 1, 3)
    runner.metrics.emit({"allocated_bytes": 1e9, "reserved_bytes": 2e9})
    assert "matmul 1/3" in window.statusBar().currentMessage()
    assert not window.bench.progress.isHidden() and window.bench.progress.text() == "matmul 1/3"
    assert live.pids == [4242] and live.phases[0][0] == "matmul" and live.metrics[0][1:] == (1e9, 2e9)
    runner.progress.emit("bandwidth", 1, 1)
    runner.running = False
    runner.finished.emit(True)
    assert [p[0] for p in live.phases] == ["matmul", "matmul", "bandwidth", "bandwidth"]
    assert live.phases[1][2] is not None and live.pids[-1] is None  # markers closed, PID released
    assert window.bench.action.text().startswith("Run") and window.bench.progress.isHidden()
    assert "matmul" in window.statusBar().currentMessage()
    assert window.bench.results.table.rowCount() == 2  # the results view shows the run
    window.close()
    assert live.stopped


def planned_on_this_machine(make_window):
    """A window after a (fake) benchmark run whose "Use for planning" was pressed."""
    runner = FakeRunner()
    window = make_window(Services(bench_runner=runner, start_benchmark=lambda r: None))
    runner.finished.emit(True)
    window.bench.results.plan_button.click()
    assert window.state.wait()
    return window


def test_use_for_planning_plans_on_this_machine(make_window):
    window = planned_on_this_machine(make_window)
    assert window.state.result.gpu_name == "This machine" and window.state.result.instance_type == ""
    assert "This machine" in window.state.catalogs.gpus
    assert any("measured throughput" in w for w in window.state.result.warnings)


def test_results_without_a_hello_are_not_shown_and_say_why(make_window):
    runner = FakeRunner()
    runner.hello_info = None  # a child that never said what it measured
    window = make_window(Services(bench_runner=runner, start_benchmark=lambda r: None))
    runner.finished.emit(True)
    assert window.bench.results.table.rowCount() == 0 and not window.bench.results.plan_button.isEnabled()
    assert "cannot be shown" in (text := window.bench.results.device_label.text()) and "hello.device_type missing" in text


def test_benchmark_python_is_remembered_and_used(make_window, dialogs, settings):
    chosen = []
    window = make_window(Services(bench_runner=FakeRunner(), start_benchmark=lambda r: None,
                                  set_bench_python=chosen.append))
    dialogs.on_dialog = lambda dialog: dialog.path_edit.setText("/opt/venv/bin/python")
    assert window.bench.choose_python()
    assert chosen == ["/opt/venv/bin/python"] and settings.bench_python() == "/opt/venv/bin/python"


def test_python_detection_runs_off_the_gui_thread(qtbot):
    import threading

    from gpuplanner.ui.bench.python_dialog import BenchPythonDialog
    gui = threading.get_ident()
    seen = []

    def detect():
        seen.append(threading.get_ident())
        return "/usr/bin/python3"

    dialog = BenchPythonDialog("", detect)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.detected):
        dialog.start_detection().join(5)
    assert seen and seen[0] != gui and dialog.chosen() == "/usr/bin/python3"
    assert dialog.detect_button.isEnabled()


def test_browsing_for_the_benchmark_python_goes_through_the_dialogs_seam(qtbot, dialogs):
    from gpuplanner.ui.bench.python_dialog import BenchPythonDialog

    dialog = BenchPythonDialog("/usr/bin/python3", lambda: None, dialogs=dialogs)
    qtbot.addWidget(dialog)
    dialogs.paths.append("/opt/venv/bin/python")
    browse = next(b for b in dialog.findChildren(QtWidgets.QPushButton) if b.text() == "Browse…")
    browse.click()
    assert dialog.chosen() == "/opt/venv/bin/python" and not dialogs.paths


def test_without_live_or_benchmark_the_window_still_works(make_window):
    window = make_window()
    assert not window.bench.action.isEnabled()
    window.tabs.setCurrentIndex(2)
    assert "not available" in window.live_tab.findChild(QtWidgets.QLabel).text()


def test_memory_in_gb_or_gib_is_remembered(make_window, settings):
    window = make_window()
    r = window.state.result
    assert f"{r.usable_bytes / 2**30:,.1f} GiB" in window.plan_tab.summary.quick_text
    window.gb_action.trigger()
    assert f"{r.usable_bytes / 1e9:,.1f} GB" in window.plan_tab.summary.quick_text
    assert window.plan_tab.chart.usable_line.value() == pytest.approx(r.usable_bytes / 1e9)
    assert settings.memory_unit() == "GB"
    again = make_window()
    assert again.gb_action.isChecked() and again.plan_tab.chart.unit == "GB"


def test_catalog_dialog_sorts_numbers_as_numbers_and_opens_a_to_z(qtbot, catalogs):
    dialog = CatalogDialog(catalogs, lambda path: catalogs, lambda: "")
    qtbot.addWidget(dialog)
    table = dialog.tables["Models"]
    names = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert names == sorted(names, key=str.lower)
    table.sortByColumn(1, QtCore.Qt.SortOrder.AscendingOrder)
    counts = [table.item(r, 1).key for r in range(table.rowCount())]
    assert counts == sorted(counts) and counts[0] < 1e9 < counts[-1]
    sources = [table.item(r, 7).text() for r in range(table.rowCount())]
    assert all(s.startswith(("huggingface.co/", "arXiv")) for s in sources)  # the publisher first


def test_benchmark_finished_names_each_phase_once(make_window):
    """Issue 12: "benchmark finished: memory, matmul, matmul, …" named a phase per result."""
    runner = FakeRunner()
    runner.results = [{"phase": p} for p in ("memory", "matmul", "matmul", "matmul", "bandwidth", "bandwidth")]
    window = make_window(Services(bench_runner=runner, start_benchmark=lambda r: None))
    runner.finished.emit(True)
    assert window.statusBar().currentMessage() == "benchmark finished: memory, matmul, bandwidth"


def test_a_measured_gpu_is_not_called_a_datasheet_figure(make_window):
    """Issue 12: the Explain area said "datasheet figure" of the benchmark's own measurement."""
    window = planned_on_this_machine(make_window)
    window.plan_tab.explain_link("")  # the assumptions, as the Explain area shows them
    text = window.plan_tab.explain.toPlainText()
    peak = next(a for a in window.state.result.assumptions if a.name == "peak FLOP/s")
    assert "datasheet" not in peak.value and "measured by the benchmark" in peak.value
    assert "measured by the benchmark" in text and "datasheet figure" not in text


def test_export_waits_for_its_comparison_with_the_window_responsive(make_window, tmp_path, dialogs, qtbot,
                                                                     monkeypatch, catalogs):
    """The comparison of both modes (seconds when not cached) is waited for off the GUI thread:
    the event loop keeps turning, and the export gets the table the comparison process made."""
    from gpuplanner.ui.compare.sweep_runner import SweepRunner
    from gpuplanner.ui.job_process import JobProcess

    written = []
    window = make_window(Services(write_report=lambda result, table, path, memory_unit: written.append(table)))
    monkeypatch.setenv("SLOW_JOBS_LOG", str(tmp_path / "blocks.log"))
    monkeypatch.setenv(f"SLOW_JOBS_DELAY_{window.state.inputs.seq_len}", "0.25")  # 4 blocks: 1 s
    process = JobProcess("gpuplanner-test-jobs")
    window.compare.runner = SweepRunner(job="slow_jobs:slow_comparison", process=process)
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    dialogs.paths.append(str(tmp_path / "x.csv"))
    try:
        assert window.exporter.export(".csv")
    finally:
        timer.stop()
        process.close()
    assert list(written[0]["seq_len"]) == [window.state.inputs.seq_len] * 4  # the child's table
    assert len(ticks) >= 20  # ≥ 1 s of 20 ms ticks: the window was never frozen
