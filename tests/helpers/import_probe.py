"""What a fresh interpreter has imported after `gpuplanner-cli plan`: the tests that keep a
plan free of heavy modules (pandas, numpy, huggingface_hub) run it in a child process."""
from __future__ import annotations

import subprocess
import sys


def loaded_after_a_plan(modules: tuple[str, ...]) -> list[str]:
    """Of `modules`, those in sys.modules after a preset plan in a fresh interpreter."""
    code = ("import io, sys, contextlib, gpuplanner.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert gpuplanner.cli.main(['plan', '--model', 'llama-3.1-70b']) == 0\n"
            f"print(','.join(m for m in {modules!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]


def loaded_at_first_paint(modules: tuple[str, ...]) -> list[str]:
    """Of `modules`, those in sys.modules when the composed window (real services) first paints,
    in a fresh interpreter."""
    code = ("import os, sys, tempfile\nos.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from PySide6 import QtCore, QtWidgets\nfrom gpuplanner import app\n"
            "from gpuplanner.core import load_catalogs\nfrom gpuplanner.ui.main_window import MainWindow\n"
            "from gpuplanner.ui.first_paint import AfterFirstPaint\n"
            "from gpuplanner.ui.settings import AppSettings\n"
            "qt = QtWidgets.QApplication([])\n"
            "ini = os.path.join(tempfile.mkdtemp(), 's.ini')\n"
            "settings = AppSettings(QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat))\n"
            "window = MainWindow(load_catalogs(), settings, services=app._services(qt, settings))\n"
            f"names = {modules!r}\n"
            "AfterFirstPaint(window, lambda: (print('loaded:' + ','.join(n for n in names if n in sys.modules)),"
            " qt.quit()))\n"
            "window.show(); qt.exec()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().splitlines()[-1].removeprefix("loaded:").split(",") if m]
