"""The code stays free of unused names, undefined names and bugbear traps (ruff), and the core
and the reports type-check (mypy); both configured in pyproject.toml."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "gpuplanner", "tests", "scripts", "benchmarks",
                           "packaging"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _mypy(*paths):
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", *paths], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_core_and_reports_type_check():
    done = _mypy("gpuplanner/core", "gpuplanner/report")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_type_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def half(x: int) -> int:\n    return x / 2\n")
    done = _mypy(str(bad))
    assert done.returncode != 0 and "Incompatible return value" in done.stdout
