"""How to start the benchmark child: the one place that decides program and arguments.

From a normal install the child is ``<this Python> -m gpuplanner.bench <args>``.

In a frozen build (``sys.frozen`` set by PyInstaller) ``sys.executable`` is the app, not
Python. Then there are two ways:

* a user-chosen Python (``python=``): it must have ``gpuplanner[bench]`` installed, i.e.
  both gpuplanner and torch; ``find_python_with_torch`` looks for one. This wins whenever
  given, frozen or not.
* otherwise the app's own executable with the hidden flag ``--run-benchmark`` as its FIRST
  argument. Contract for the app's entry point: before importing Qt or anything else
  heavy, if ``sys.argv[1] == RUN_BENCHMARK_FLAG`` it must call
  ``sys.exit(gpuplanner.bench.child.main(sys.argv[2:]))`` and do nothing else. (The bundle
  then needs torch inside it; without torch the child reports the ``no_torch`` error.)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence

RUN_BENCHMARK_FLAG = "--run-benchmark"
CHILD_MODULE = "gpuplanner.bench"


def child_command(bench_args: Sequence[str], python: str | None = None) -> tuple[str, list[str]]:
    """Return ``(program, arguments)`` that run the benchmark child with ``bench_args``."""
    if python:
        return python, ["-m", CHILD_MODULE, *bench_args]
    if getattr(sys, "frozen", False):
        return sys.executable, [RUN_BENCHMARK_FLAG, *bench_args]
    return sys.executable, ["-m", CHILD_MODULE, *bench_args]


def environment_for(program: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to start ``program`` with.

    A frozen Linux app points LD_LIBRARY_PATH at its own libraries (keeping the user's value
    in LD_LIBRARY_PATH_ORIG) and QT_PLUGIN_PATH at its plugins. A Python of the user's must not
    inherit those, or it may load the bundle's libstdc++ or Qt plugins; the app itself needs
    them, so its own executable keeps them."""
    env = dict(os.environ if environ is None else environ)
    if not getattr(sys, "frozen", False) or program == sys.executable:
        return env
    original = env.pop("LD_LIBRARY_PATH_ORIG", None)
    env.pop("LD_LIBRARY_PATH", None)
    if original:
        env["LD_LIBRARY_PATH"] = original
    for name in ("QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH"):
        env.pop(name, None)
    return env


def find_python_with_torch(candidates: Iterable[str] = (), timeout_s: float = 30.0) -> str | None:
    """First interpreter among ``candidates`` (then this Python when not frozen, ``python3``,
    ``python`` on PATH) that can import torch and gpuplanner.bench; None if none can.

    Blocks for up to ``timeout_s`` per candidate (importing torch takes seconds): never call
    it on the GUI thread; run it in a worker thread.
    """
    defaults = [] if getattr(sys, "frozen", False) else [sys.executable]
    defaults += [path for path in (shutil.which("python3"), shutil.which("python")) if path]
    for python in dict.fromkeys([*candidates, *defaults]):  # de-duplicated, order kept
        try:
            probe = subprocess.run([python, "-c", f"import torch, {CHILD_MODULE}"], capture_output=True,
                                   timeout=timeout_s, check=False, env=environment_for(python))
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return python
    return None
