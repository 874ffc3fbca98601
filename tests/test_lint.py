"""The code stays free of unused names, undefined names and bugbear traps (ruff, pyproject)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "gpuplanner", "tests", "scripts", "benchmarks",
                           "packaging"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
