"""The Qt-free layers import with PySide6, pyqtgraph, pynvml and torch blocked
(ARCHITECTURE.md: core knows nothing above it; monitor/bench/report-CSV need no Qt)."""
import subprocess
import sys
import textwrap

BLOCKED = ["PySide6", "pyqtgraph", "pynvml", "torch", "shiboken6"]


def _import_blocked(modules, blocked=BLOCKED):
    code = textwrap.dedent(f"""
        import sys
        for name in {blocked!r}:
            sys.modules[name] = None  # any import of it now raises ImportError
        for module in {modules!r}:
            __import__(module)
        print("ok")
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_core_imports_without_qt_nvml_or_torch():
    done = _import_blocked(["gpuplanner.core", "gpuplanner.core.sweep", "gpuplanner.core.estimate"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_cli_imports_without_qt_nvml_or_torch():
    done = _import_blocked(["gpuplanner.cli"])
    assert done.returncode == 0, done.stderr


def test_the_check_itself_can_fail():
    """Guard against a vacuous test: importing Qt code with Qt blocked must fail."""
    done = _import_blocked(["PySide6.QtCore"])
    assert done.returncode != 0 and ("ImportError" in done.stderr or "ModuleNotFoundError" in done.stderr)


def test_core_does_not_import_upper_layers():
    code = ("import sys, gpuplanner.core, gpuplanner.core.sweep;"
            "print(sorted(m for m in sys.modules if m.startswith('gpuplanner.') and not m.startswith('gpuplanner.core')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout
