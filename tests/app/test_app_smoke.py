"""The app starts, paints and quits (`--smoke-test`), and dispatches the benchmark flag early."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from gpuplanner import app


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run([sys.executable, "-m", "gpuplanner", *args], capture_output=True, text=True,
                          timeout=60, env=environment, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("args, env", [(("--smoke-test",), {}), ((), {app.SMOKE_ENV: "1"})])
def test_smoke_test_paints_and_quits(args, env):
    done = run(*args, **env)
    assert done.returncode == 0, done.stderr
    match = re.search(r"^first paint: (\d+) ms$", done.stdout, re.M)
    assert match, done.stdout
    assert 0 < int(match.group(1)) < 30000
    chart = re.search(r"^memory chart: (\d+) ms$", done.stdout, re.M)  # built after, pyqtgraph loaded on a thread
    assert chart and int(chart.group(1)) > int(match.group(1)), done.stdout


@pytest.mark.slow
def test_smoke_compare_runs_a_comparison_in_the_child_process():
    """The app's comparison child starts (spawned from `python -m gpuplanner`, which must not
    start a second window) and answers with the plan mode's table."""
    done = run("--smoke-compare")
    assert done.returncode == 0, done.stderr
    rows = re.search(r"^comparison: (\d+) rows$", done.stdout, re.M)
    assert rows and int(rows.group(1)) > 0, done.stdout


def test_benchmark_flag_runs_the_child_without_qt():
    """The frozen bundle starts itself as the benchmark child; bad child arguments exit 2."""
    done = run("--run-benchmark", "--device", "no-such-device")
    assert done.returncode == 2
    assert "--device" in done.stderr


def test_main_dispatches_the_benchmark_flag_before_qt(monkeypatch):
    calls = []
    monkeypatch.setattr("gpuplanner.bench.child.main", lambda argv: calls.append(argv) or 7)
    assert app.main(["--run-benchmark", "--quick"]) == 7
    assert calls == [["--quick"]]


def test_no_display_is_a_message_not_an_abort(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", app.SMOKE_ENV):
        monkeypatch.delenv(name, raising=False)
    assert app.main([]) == 2
    assert "no display" in capsys.readouterr().err


@pytest.mark.slow
def test_first_paint_counts_from_the_interpreter_not_the_launcher():
    """A launcher that works for a while and then execs Python (as scripts/run.sh does after
    set-up) must not add its own time to the start-up figure."""
    start = time.monotonic()
    done = subprocess.run(["sh", "-c", 'sleep 5; exec "$0" -m gpuplanner --smoke-test', sys.executable],
                          capture_output=True, text=True, timeout=90,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=False)
    whole_ms = (time.monotonic() - start) * 1000
    assert done.returncode == 0, done.stderr
    first_paint_ms = int(re.search(r"^first paint: (\d+) ms$", done.stdout, re.M).group(1))
    assert 0 < first_paint_ms < whole_ms - 5000  # the launcher's 5 s are not in it, however loaded the machine


def test_composed_services_build_the_real_live_panel_and_runner(qtbot, qapp, tmp_path):
    from PySide6 import QtCore

    from gpuplanner.core import load_catalogs
    from gpuplanner.ui.main_window import MainWindow
    from gpuplanner.ui.settings import AppSettings

    store = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    settings = AppSettings(store)
    settings.set_bench_python("/opt/venv/bin/python")
    services = app._services(qapp, settings)
    assert services.write_report is not None and services.bench_runner is not None
    assert services.bench_runner._command(["--quick"]) == ("/opt/venv/bin/python", ["-m", "gpuplanner.bench",
                                                                                    "--quick"])
    services.set_bench_python("")
    assert services.bench_runner._command([])[0] == sys.executable  # back to the app's own Python
    window = MainWindow(load_catalogs(), settings, services=services)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.live_tab)
    assert window.live_panel is not None and window.live_panel.isVisible()
    window.close()
    services.bench_runner.deleteLater()


def test_the_app_hands_the_interpreter_lock_over_every_millisecond():
    """Worker threads share the lock with the GUI thread (benchmarks/lock_handover.py)."""
    before = sys.getswitchinterval()
    try:
        app.hand_over_the_lock_often()
        assert sys.getswitchinterval() <= 0.001 < before
    finally:
        sys.setswitchinterval(before)
