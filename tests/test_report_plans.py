"""The plans the report tests export (training, serving, infeasible), built once, and the premises
the other report tests rely on."""
from functools import cache

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.sweep import sweep

TRAIN = PlanInputs(model="llama-3.1-70b", mode="train", precision="bf16", instance="p5.48xlarge",
                   training_tokens=2e12)
SERVE = TRAIN.with_(mode="infer")
INFEASIBLE = TRAIN.with_(model="llama-3.1-405b", instance="g5.xlarge")


@cache
def catalogs():
    return load_catalogs()


@cache
def plan(inputs: PlanInputs):
    """(result, comparison table) for the inputs."""
    return estimate(inputs, catalogs()), sweep(inputs, catalogs())


def test_the_sample_plans_are_what_the_report_tests_assume():
    train, table = plan(TRAIN)
    serve, _ = plan(SERVE)
    infeasible, _ = plan(INFEASIBLE)
    assert train.fits and train.gpus > 0 and train.cost_usd > 0
    assert serve.fits and serve.curve and serve.replicas >= 1
    assert not infeasible.fits and infeasible.warnings
    assert table["fits"].any() and (~table["fits"]).any()
