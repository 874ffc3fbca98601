"""Money, defined once (core.pricing): billing whole instances, packing serving replicas into
them, the one "cheapest" rule, and the properties issue 9 asks of serving plans."""
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.pricing import (
    SECONDS_PER_MONTH,
    cheapest_first,
    hourly_usd,
    instance_hardware,
    resolve_hardware,
    serving_fleet,
)
from gpuplanner.core.sweep import sweep

CATALOGS = load_catalogs()
SERVING_MODELS = ["llama-3.1-8b", "llama-2-13b", "mixtral-8x7b-v0.1", "qwen2.5-72b"]
SERVING_INSTANCES = ["p5.48xlarge", "p4d.24xlarge", "g6e.12xlarge", "g6e.xlarge", "p5en.48xlarge"]


def hardware(instance):
    return resolve_hardware(PlanInputs(instance=instance), CATALOGS)


def serve(**kw):
    return estimate(PlanInputs(mode="infer", **kw), CATALOGS, explain=False)


def test_whole_instances_are_billed():
    hw = hardware("p5.48xlarge")
    price = CATALOGS.instances["p5.48xlarge"].price_usd_per_hour
    assert hourly_usd(1, hw) == price and hourly_usd(8, hw) == price and hourly_usd(9, hw) == 2 * price


def test_replicas_are_packed_into_instances_and_never_straddle_them():
    hw = hardware("p5.48xlarge")  # 8 GPUs per instance
    three = serving_fleet(3, 3, hw)  # two 3-GPU replicas per instance; 2 GPUs idle in each
    assert (three.instances, three.replica_slots, three.billed_gpus) == (2.0, 4, 16)
    big = serving_fleet(2, 12, hw)  # a 12-GPU replica spans two instances
    assert (big.instances, big.replica_slots) == (4.0, 2)
    assert three.replica_price_usd_per_hour == pytest.approx(hw.unit_price_usd_per_hour / 2)
    assert three.monthly_cost_usd == pytest.approx(2 * hw.unit_price_usd_per_hour * 730)


def test_by_gpu_only_bills_gpu_hours():
    hw = resolve_hardware(PlanInputs(instance="", gpu="H100"), CATALOGS)
    fleet = serving_fleet(3, 2, hw)
    assert math.isnan(fleet.instances) and fleet.billed_gpus == 6
    assert fleet.hourly_usd == pytest.approx(6 * hw.price_per_gpu_hour)


def test_cheapest_breaks_ties_by_fewer_gpus():
    rows = [{"mode": "infer", "fits": True, "meets_slo": True, "monthly_cost_usd": 100.0, "serving_gpus": 8},
            {"mode": "infer", "fits": True, "meets_slo": True, "monthly_cost_usd": 100.0, "serving_gpus": 4},
            {"mode": "infer", "fits": True, "meets_slo": False, "monthly_cost_usd": 10.0, "serving_gpus": 1},
            {"mode": "infer", "fits": False, "meets_slo": False, "monthly_cost_usd": math.nan},
            {"mode": "train", "fits": True, "meets_slo": True, "training_cost_usd": 5.0, "gpus": 8,
             "training_days": 2.0},
            {"mode": "train", "fits": True, "meets_slo": True, "training_cost_usd": 5.0, "gpus": 8,
             "training_days": 1.0}]
    assert cheapest_first(rows, "infer") == [1, 0]  # missing the floor is not cheaper, it is infeasible
    assert cheapest_first(rows, "train") == [5, 4]


def test_the_issue_example_deepseek_v3_uses_the_billed_h200s():
    """deepseek-v3 fp8 on p5en.48xlarge: the search is never worse than forcing --ep 8."""
    auto = serve(model="deepseek-v3", precision="fp8", instance="p5en.48xlarge")
    forced = serve(model="deepseek-v3", precision="fp8", instance="p5en.48xlarge", ep=8)
    assert auto.meets_slo and forced.meets_slo
    assert auto.monthly_cost_usd <= forced.monthly_cost_usd
    assert auto.usd_per_million_tokens_at_capacity <= forced.usd_per_million_tokens_at_capacity * (1 + 1e-9)


def test_sweep_rows_are_priced_like_the_single_estimate():
    inputs = PlanInputs(model="llama-3.1-8b", mode="infer")
    table = sweep(inputs, CATALOGS, modes=("infer",), precisions=("bf16",))
    for row in table[table["fits"]].head(12).to_dict("records"):
        r = estimate(inputs.with_(instance=row["instance_type"]), CATALOGS, explain=False)
        assert row["monthly_cost_usd"] == pytest.approx(r.monthly_cost_usd, nan_ok=True)
        assert row["usd_per_million_tokens"] == pytest.approx(r.usd_per_million_tokens, nan_ok=True)
        assert row["replica_price_usd_per_hour"] == pytest.approx(r.replica_price_usd_per_hour, nan_ok=True)
        assert row["price_usd_per_hour"] == pytest.approx(r.price_usd_per_hour, nan_ok=True)
        if r.replicas:  # 0 when the GPU's peak or bandwidth is unknown: no speed, no fleet
            hw = instance_hardware(CATALOGS.instances[row["instance_type"]], CATALOGS.gpus[row["gpu"]])
            assert row["monthly_cost_usd"] == pytest.approx(serving_fleet(r.replicas, r.gpus, hw).monthly_cost_usd)


# ---- properties -----------------------------------------------------------------------------
LOADS = st.floats(0.01, 400.0, allow_nan=False)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(model=st.sampled_from(SERVING_MODELS), instance=st.sampled_from(SERVING_INSTANCES), load=LOADS,
       output=st.integers(1, 4096), precision=st.sampled_from(["bf16", "fp8", "int4"]))
def test_token_price_times_tokens_is_the_monthly_bill(model, instance, load, output, precision):
    r = serve(model=model, instance=instance, requests_per_s=load, output_tokens=output, precision=precision)
    if r.fits and math.isfinite(r.monthly_cost_usd):
        tokens_per_month = load * output * SECONDS_PER_MONTH
        assert r.usd_per_million_tokens * tokens_per_month / 1e6 == pytest.approx(r.monthly_cost_usd, rel=1e-9)
        capacity_tokens = r.fleet_capacity_requests_per_s * output * SECONDS_PER_MONTH
        assert r.usd_per_million_tokens_at_capacity * capacity_tokens / 1e6 == pytest.approx(r.monthly_cost_usd)
        assert 0 < r.fleet_utilization <= 1 + 1e-9
        assert r.usd_per_million_tokens_at_capacity <= r.usd_per_million_tokens * (1 + 1e-9)


@PROPERTY
@given(model=st.sampled_from(SERVING_MODELS), instance=st.sampled_from(SERVING_INSTANCES), load=LOADS,
       more=st.floats(1.0, 50.0))
def test_more_load_never_gives_a_smaller_fleet(model, instance, load, more):
    low = serve(model=model, instance=instance, requests_per_s=load)
    high = serve(model=model, instance=instance, requests_per_s=load * more)
    if low.fits and low.meets_slo:
        assert high.monthly_cost_usd >= low.monthly_cost_usd
        assert high.serving_instances >= low.serving_instances


@PROPERTY
@given(model=st.sampled_from(SERVING_MODELS + ["deepseek-v3"]), instance=st.sampled_from(SERVING_INSTANCES),
       load=LOADS, tp=st.sampled_from([0, 1, 2, 4, 8]), pp=st.sampled_from([0, 1, 2, 3, 4]),
       ep=st.sampled_from([0, 1, 2, 4, 8]), precision=st.sampled_from(["bf16", "fp8"]))
def test_a_forced_layout_never_beats_the_search(model, instance, load, tp, pp, ep, precision):
    """On the search's own objective: keep the per-user floor, then the smallest bill."""
    arch = CATALOGS.models[model]
    if ep > 1 and not (arch.is_moe and arch.n_experts % ep == 0):
        ep = 0
    try:
        forced = serve(model=model, instance=instance, requests_per_s=load, precision=precision, tp=tp, pp=pp, ep=ep)
    except Exception as e:  # an invalid forced degree is refused with a message naming it
        assert getattr(e, "field", None) in {"tp", "pp", "ep", "dp"}
        return
    auto = serve(model=model, instance=instance, requests_per_s=load, precision=precision)
    if forced.fits and forced.meets_slo:
        assert auto.meets_slo
        assert auto.monthly_cost_usd <= forced.monthly_cost_usd * (1 + 1e-9)
