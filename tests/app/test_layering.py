"""The Qt-free layers import with PySide6, pyqtgraph, pynvml and torch blocked
(ARCHITECTURE.md: core knows nothing above it; monitor/bench/report-CSV need no Qt)."""
import subprocess
import sys
import textwrap
from pathlib import Path

from import_probe import loaded_after_a_plan, loaded_at_first_paint

ROOT = Path(__file__).resolve().parents[2]

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


def _lint_imports(*args):
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(script), "--no-cache", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


def test_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: layers, Qt-free lower layers, one NVML and one torch module."""
    done = _lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_import_contracts_can_break(tmp_path):
    """The same checker reports a contract the code breaks (the ui imports Qt)."""
    config = tmp_path / "broken.toml"
    config.write_text('[tool.importlinter]\nroot_package = "gpuplanner"\ninclude_external_packages = true\n'
                      '[[tool.importlinter.contracts]]\nname = "ui without Qt"\ntype = "forbidden"\n'
                      'source_modules = ["gpuplanner.ui"]\nforbidden_modules = ["PySide6"]\n')
    done = _lint_imports("--config", str(config))
    assert done.returncode != 0 and "BROKEN" in done.stdout


def test_a_single_plan_imports_neither_pandas_nor_numpy():
    """`gpuplanner-cli plan` stays within 1.5× a bare numpy import because a plan needs neither
    pandas nor numpy (the comparison and the ledger import pandas when they run)."""
    assert loaded_after_a_plan(("pandas", "numpy")) == []


def test_the_window_starts_without_pandas():
    """pandas (~0.9 s) loads with the first comparison or export, never for the first paint."""
    assert loaded_at_first_paint(("pandas",)) == []