"""The composition root: parse the command line, build catalogs, settings, telemetry and the
benchmark runner, and hand them to the window.

Heavy imports (Qt, pandas, pyqtgraph) happen inside main(), after the frozen bundle's hidden
benchmark flag has been dispatched, so the benchmark child never loads Qt.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys
import tempfile
import time

SMOKE_ENV = "GPUPLANNER_SMOKE_TEST"
LOCK_SWITCH_S = 0.001  # hand_over_the_lock_often
GC_BACKSTOP_MS = 5000  # the garbage collector is back by then even if the window was never painted


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpuplanner", description="GPU capacity and cost planner.")
    parser.add_argument("plan", nargs="?", help="a .gpuplan file to open")
    parser.add_argument("--smoke-test", action="store_true",
                        help=f"quit after the first paint and print its time (also {SMOKE_ENV}=1)")
    parser.add_argument("--smoke-compare", action="store_true",
                        help="like --smoke-test, then run one comparison in the comparison process and print its rows")
    parser.add_argument("--settings", metavar="FILE", help="keep settings in this INI file")
    return parser.parse_args(argv)


def startup_ms() -> float:
    """Milliseconds since the interpreter loaded gpuplanner (not since the process started:
    a launcher script that ran set-up first and then exec'd Python would count its own time)."""
    import gpuplanner

    return (time.perf_counter() - gpuplanner.STARTED_AT_S) * 1e3


def _has_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def freeze_startup_heap() -> None:
    """Take the objects built at start-up (modules, catalogs, widgets: they live as long as the
    window) out of the cyclic collector's scans. A full collection otherwise walks all ~300,000
    of them, 50–250 ms that land on whatever the GUI thread is doing when it triggers. (No
    collection first: it would hold up the first paint; the few start-up cycles kept are small.)"""
    gc.freeze()


def hand_over_the_lock_often() -> None:
    """The window's worker threads (the plan's estimates, the ledger, file loads) share the
    interpreter lock with the GUI thread, and each Qt call the GUI thread makes gives the lock
    up and waits for it back: by default up to 5 ms (sys.setswitchinterval). At 1 ms a 2 ms
    timer beside a busy estimate thread ticked at a median 2.7 ms instead of 7.7-8 ms, 99th
    percentile 12 ms instead of 22-61 ms (the comparison sweep runs in a process of its own)."""
    sys.setswitchinterval(LOCK_SWITCH_S)


def _write_report():
    """gpuplanner.report.write_report, or None while this build lacks it."""
    try:
        from gpuplanner import report
    except ImportError:
        return None
    return getattr(report, "write_report", None)


def _make_live_panel(dialogs):
    """The Live tab's panel over NVML, falling back to CPU/RAM (imported when first shown:
    telemetry costs startup time the planner does not need)."""
    from gpuplanner.monitor import Sampler, default_source
    from gpuplanner.monitor.cluster import ClusterPoller
    from gpuplanner.ui.live.cluster import ClusterPanel
    from gpuplanner.ui.live.panel import LivePanel

    cluster = ClusterPanel(ClusterPoller(), dialogs=dialogs)
    return LivePanel(Sampler(default_source()), dialogs=dialogs, cluster_panel=cluster)


def _services(parent, settings):
    """The report writer, live panel factory and benchmark runner, each only if present."""
    from functools import partial
    from pathlib import Path

    from PySide6 import QtCore

    from gpuplanner.ui.errors import LOG_NAME
    from gpuplanner.ui.main_window import Services

    data = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.AppDataLocation)
    services = Services(write_report=_write_report(), error_log=Path(data) / LOG_NAME)
    if importlib.util.find_spec("gpuplanner.ui.live.panel") is not None:
        services.make_live_panel = _make_live_panel
    try:
        from gpuplanner.bench.launcher import child_command
        from gpuplanner.ui.bench.runner import BenchRunner
    except ImportError:
        return services

    def command_for(python: str):
        return partial(child_command, python=python or None)

    def start(runner) -> None:
        from gpuplanner.bench.config import BenchConfig  # imported when a run starts: it costs start-up time

        runner.start(BenchConfig())

    runner = BenchRunner(parent, command=command_for(settings.bench_python()))
    services.bench_runner = runner
    services.start_benchmark = start
    services.set_bench_python = lambda python: runner.set_command(command_for(python))
    services.bench_results_folder = Path(data) / "benchmarks"
    return services


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # the frozen app started as the comparison child (ui.job_process)
    argv = list(sys.argv[1:] if argv is None else argv)
    from gpuplanner.bench.launcher import RUN_BENCHMARK_FLAG

    if argv[:1] == [RUN_BENCHMARK_FLAG]:  # the frozen app started as the benchmark child
        from gpuplanner.bench.child import main as bench_main

        return bench_main(argv[1:])
    args = parse_args(argv)
    smoke = args.smoke_test or args.smoke_compare or os.environ.get(SMOKE_ENV) == "1"
    if not _has_display():
        if not smoke:
            print("gpuplanner: no display (set DISPLAY, or QT_QPA_PLATFORM=offscreen)", file=sys.stderr)
            return 2
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="gpuplanner-") as scratch:
        if smoke and not args.settings:  # a smoke test never touches the user's settings
            args.settings = os.path.join(scratch, "settings.ini")
        gc.disable()  # until the first paint (see _run): start-up only adds long-lived objects
        try:
            return _run(args, argv, smoke)
        finally:
            gc.enable()


def _import_before_qt() -> None:
    """Import the pure-Python modules the window needs before Qt: once PySide6 is loaded, its
    import hook reads the source of every later module to see whether it uses PySide6's
    features (PYSIDE-2029), which costs the first paint tens of milliseconds for numpy (which
    pyqtgraph imports after Qt) and the core."""
    import numpy  # noqa: F401

    import gpuplanner.core  # noqa: F401


def after_first_paint(window, smoke: bool, compare: bool) -> None:
    """The window is on screen: a smoke test reports the time, then the time its memory chart
    is on screen too, and quits (--smoke-compare reports a comparison instead); otherwise the
    start-up heap is frozen and the garbage collector comes back (its passes over the start-up's
    objects would cost the first paint ~0.1 s), its full passes only in quiet moments
    (ui.idle_collector), the memory chart and the tabs the first paint left out are built, so
    that opening one does not wait, and the plans move to a process of their own."""
    from gpuplanner.ui.first_paint import chart_then_quit, compare_then_quit

    if smoke:
        print(f"first paint: {startup_ms():.0f} ms", flush=True)
        if compare:
            compare_then_quit(window)
        else:
            chart_then_quit(window, lambda: print(f"memory chart: {startup_ms():.0f} ms", flush=True))
        return
    freeze_startup_heap()
    gc.enable()
    window.collect_garbage_when_idle()
    window.build_hidden_tabs()
    window.estimate_in_a_process()


def _run(args: argparse.Namespace, argv: list[str], smoke: bool) -> int:
    _import_before_qt()
    hand_over_the_lock_often()
    from PySide6 import QtCore, QtWidgets

    from gpuplanner.core import CatalogError, load_catalogs
    from gpuplanner.ui.first_paint import AfterFirstPaint
    from gpuplanner.ui.main_window import MainWindow
    from gpuplanner.ui.settings import AppSettings

    app = QtWidgets.QApplication([sys.argv[0], *argv])
    app.setOrganizationName("gpuplanner")
    app.setApplicationName("gpuplanner")
    app.setStyle("Fusion")  # follows the system light/dark scheme (Qt 6.5+)
    app.setDesktopFileName("gpuplanner")  # Wayland matches the window to its menu entry and icon
    from PySide6 import QtGui

    from gpuplanner.core.resource_files import resource_path

    app.setWindowIcon(QtGui.QIcon(str(resource_path("icons/gpuplanner.svg"))))
    try:
        catalogs = load_catalogs()
    except CatalogError as e:
        QtWidgets.QMessageBox.critical(None, "gpuplanner", f"The bundled catalogs cannot be read:\n{e}")
        return 1
    store = (QtCore.QSettings(args.settings, QtCore.QSettings.Format.IniFormat) if args.settings
             else QtCore.QSettings())
    settings = AppSettings(store)
    window = MainWindow(catalogs, settings, services=_services(app, settings))
    with window.errors.installed():  # an unexpected error: a dialog and a log entry, not a silent stderr
        window.restore_session()
        if args.plan:
            window.document.open_plan(args.plan)
        window.state.wait()  # the first paint shows the plan (estimated on the worker meanwhile), not empty cards
        window.show()
        AfterFirstPaint(window, lambda: after_first_paint(window, smoke, args.smoke_compare))
        QtCore.QTimer.singleShot(GC_BACKSTOP_MS, gc.enable)  # a window started minimised is not painted at once
        return app.exec()
