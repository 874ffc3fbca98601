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
