"""The sample plans are what the report tests assume."""
from report_plans import INFEASIBLE, SERVE, TRAIN, plan


def test_the_sample_plans_are_what_the_report_tests_assume():
    train, table = plan(TRAIN)
    serve, _ = plan(SERVE)
    infeasible, _ = plan(INFEASIBLE)
    assert train.fits and train.gpus > 0 and train.cost_usd > 0
    assert serve.fits and serve.curve and serve.replicas >= 1
    assert not infeasible.fits and infeasible.warnings
    assert table["fits"].any() and (~table["fits"]).any()
