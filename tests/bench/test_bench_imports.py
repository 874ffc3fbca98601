"""Layering of the benchmark package: torch only in the kernels modules, no Qt anywhere in bench."""
import subprocess
import sys
from pathlib import Path

import gpuplanner.bench

BENCH_DIR = Path(gpuplanner.bench.__file__).parent
BLOCKED = ["torch", "PySide6", "pyqtgraph", "pynvml"]


def test_bench_modules_import_without_torch_or_qt():
    modules = ["protocol", "config", "session", "results", "launcher", "child", "process_memory",
               "collectives"]
    code = "; ".join([*(f"sys.modules[{name!r}] = None" for name in BLOCKED),
                      *(f"import gpuplanner.bench.{m}" for m in modules)])
    subprocess.run([sys.executable, "-c", "import sys; " + code], check=True, timeout=60)


def test_only_the_kernels_modules_mention_torch_imports():
    importing = sorted(p.name for p in BENCH_DIR.glob("*.py")
                       if any(line.startswith(("import torch", "from torch")) for line in p.read_text().splitlines()))
    assert importing == ["collective_kernels.py", "kernels.py"]
