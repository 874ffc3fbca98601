"""The plans the report tests export (training, serving, infeasible), built once (their premises
are checked in tests/report/report_plans.py)."""
from functools import cache

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.sweep import sweep

TRAIN = PlanInputs(model="llama-3.1-70b", mode="train", precision="bf16", instance="p5.48xlarge",
                   training_tokens=2e12)
SERVE = TRAIN.with_(mode="infer")
INFEASIBLE = TRAIN.with_(model="llama-3.1-405b", instance="g5.xlarge", seq_len=8192)  # checkpoints alone > 24 GB


@cache
def catalogs():
    return load_catalogs()


@cache
def plan(inputs: PlanInputs):
    """(result, comparison table) for the inputs."""
    return estimate(inputs, catalogs()), sweep(inputs, catalogs())
