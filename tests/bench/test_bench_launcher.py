"""How the benchmark child is started, in a normal and in a frozen app."""
import sys

import pytest

from gpuplanner.bench import launcher
from gpuplanner.bench.launcher import RUN_BENCHMARK_FLAG, child_command, environment_for, find_python_with_torch


def test_normal_install_runs_the_module_with_this_python():
    assert child_command(["--quick"]) == (sys.executable, ["-m", "gpuplanner.bench", "--quick"])


def test_frozen_app_runs_itself_with_the_hidden_flag(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert child_command(["--quick"]) == (sys.executable, [RUN_BENCHMARK_FLAG, "--quick"])


def test_a_chosen_python_wins_even_when_frozen(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert child_command(["--quick"], python="/opt/py/bin/python") == (
        "/opt/py/bin/python", ["-m", "gpuplanner.bench", "--quick"])


@pytest.mark.usefixtures("needs_torch")
def test_find_python_skips_unusable_candidates(tmp_path):
    no_torch = tmp_path / "python-without-torch"
    no_torch.write_text("#!/bin/sh\nexit 1\n")
    no_torch.chmod(0o755)
    assert find_python_with_torch([str(tmp_path / "missing"), str(no_torch), sys.executable]) == sys.executable


def test_find_python_gives_none_when_nothing_fits(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    assert find_python_with_torch([str(tmp_path / "missing")]) is None


def test_a_users_python_does_not_inherit_the_frozen_apps_libraries(monkeypatch):
    env = {"LD_LIBRARY_PATH": "/opt/app/_internal", "LD_LIBRARY_PATH_ORIG": "/usr/local/cuda/lib64",
           "QT_PLUGIN_PATH": "/opt/app/_internal/PySide6/plugins", "HOME": "/home/u"}
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/app/gpuplanner")
    clean = environment_for("/usr/bin/python3", env)
    assert clean == {"LD_LIBRARY_PATH": "/usr/local/cuda/lib64", "HOME": "/home/u"}
    assert environment_for("/opt/app/gpuplanner", env) == env  # the app itself keeps its own
    no_original = environment_for("/usr/bin/python3", {"LD_LIBRARY_PATH": "/opt/app/_internal"})
    assert "LD_LIBRARY_PATH" not in no_original


def test_not_frozen_environment_is_passed_through(monkeypatch):
    monkeypatch.delattr(sys, "frozen", raising=False)
    env = {"LD_LIBRARY_PATH": "/x", "QT_PLUGIN_PATH": "/y"}
    assert environment_for("/usr/bin/python3", env) == env
