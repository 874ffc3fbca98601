"""The planner's prediction of the benchmark's own training step against what the real child
measures on this CPU: the same formulas that size a 70B run must size this small one."""
import json
import subprocess
import sys

import pytest

from gpuplanner.core.calibration import bench_model, predict_train_step
from gpuplanner.core.model import sizes


@pytest.mark.usefixtures("needs_torch")
def test_predicted_peak_memory_matches_the_measured_step():
    done = subprocess.run([sys.executable, "-m", "gpuplanner.bench", "--device", "cpu", "--phases", "train"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-800:]
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    train = next(m for m in messages if m["type"] == "result" and m["phase"] == "train")
    config = train["config"]
    assert train["param_count"] == sizes(bench_model(config)).total  # same architecture, exactly
    predicted = predict_train_step(config).total_bytes
    measured = train["peak_memory_bytes"]
    # RSS high-water also holds allocator slack and library scratch: measured runs 10-30 % above.
    assert 0.8 <= measured / predicted <= 1.6, (measured, predicted)
