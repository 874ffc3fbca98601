"""The money options (core.money, core.pricing): negotiated discounts, the 1-year reserved price
kind, spot with interruptions, self-host vs API break-even, and the daily load profile."""
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuplanner.core import InputError, PlanInputs, estimate, load_catalogs
from gpuplanner.core.money import breakeven_requests_per_s, hourly_rates, parse_discounts, spot_run
from gpuplanner.core.option_texts import option_texts
from gpuplanner.core.pricing import HOURS_PER_YEAR, SECONDS_PER_MONTH, resolve_hardware, serving_fleet
from gpuplanner.core.sweep import sweep

CATALOGS = load_catalogs()
SERVE = PlanInputs(mode="infer", model="llama-3.1-8b", instance="g6e.xlarge")
PACKED = SERVE.with_(instance="p5.48xlarge", requests_per_s=20.0)  # several replicas share an instance
TRAIN = PlanInputs(mode="train", model="llama-2-7b", instance="p5.48xlarge")
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plan(inputs, catalogs=CATALOGS):
    return estimate(inputs, catalogs, explain=False)


# ---- discounts --------------------------------------------------------------------------------

def test_a_discount_takes_its_percent_off_every_price_of_its_cloud_only():
    base, off = plan(TRAIN), plan(TRAIN.with_(discounts="aws=20 gcp=50"))
    assert off.price_usd_per_hour == pytest.approx(0.8 * base.price_usd_per_hour)
    assert off.cost_usd == pytest.approx(0.8 * base.cost_usd)
    assert off.spot_cost_usd == pytest.approx(0.8 * base.spot_cost_usd)
    assert off.discount_fraction == 0.2 and option_texts(off)["discount_fraction"] == "20.0 % off every price"
    lam = TRAIN.with_(instance="gpu_8x_h100_sxm5")  # Lambda: no discount named for it
    assert plan(lam.with_(discounts="aws=20")).cost_usd == plan(lam).cost_usd


def test_the_comparison_table_prices_with_the_same_discount():
    inputs = SERVE.with_(discounts="aws=30")
    table = sweep(inputs, CATALOGS, modes=("infer",), precisions=("bf16",))
    row = table[table.instance_type == "g6e.xlarge"].iloc[0]
    assert row["monthly_cost_usd"] == pytest.approx(plan(inputs).monthly_cost_usd)
    assert row["monthly_cost_usd"] == pytest.approx(0.7 * plan(SERVE).monthly_cost_usd)


def test_by_gpu_the_cheapest_instance_is_found_after_discounts():
    plain = resolve_hardware(PlanInputs(instance="", gpu="H100"), CATALOGS)
    cheap = resolve_hardware(PlanInputs(instance="", gpu="H100", discounts="aws=90"), CATALOGS)
    aws = min(i.price_usd_per_hour / i.gpu_count for i in CATALOGS.instances.values()
              if i.gpu == "H100" and i.cloud == "aws")
    assert cheap.price_per_gpu_hour == pytest.approx(min(plain.price_per_gpu_hour, 0.1 * aws))


@pytest.mark.parametrize("text", ["aws", "aws=120", "aws=-5", "=20", "aws=abc"])
def test_a_bad_discount_names_the_field(text):
    with pytest.raises(InputError) as e:
        PlanInputs(discounts=text).validated()
    assert e.value.field == "discounts"


def test_discount_syntax():
    assert parse_discounts(" AWS=20, gcp:12.5%  lambda=0 ") == {"aws": 0.2, "gcp": 0.125, "lambda": 0.0}


# ---- 1-year reserved ------------------------------------------------------------------------

def user_catalog(tmp_path, reserved_h100: str):
    path = tmp_path / "reserved.csv"
    path.write_text("cloud,instance_type,gpu,gpu_count,price_usd_per_hour,spot_price_usd_per_hour,"
                    "reserved_1y_price_usd_per_hour,region\n"
                    f"aws,my-h100x8,H100,8,40,20,{reserved_h100},us-east-1\n"
                    "aws,my-l4,L4,1,1,0.5,,us-east-1\n")
    return CATALOGS.with_user_file(path)


def test_reserved_prices_are_read_and_a_commitment_bills_a_whole_year(tmp_path):
    catalogs = user_catalog(tmp_path, "25")
    assert math.isnan(catalogs.instances["my-l4"].reserved_1y_price_usd_per_hour)  # blank: a gap, not 0
    r = plan(TRAIN.with_(instance="my-h100x8", price_kind="reserved_1y", discounts="aws=10"), catalogs)
    hours = r.training_time_s / 3600
    assert hours < HOURS_PER_YEAR
    assert r.reserved_price_usd_per_hour == pytest.approx(r.instances * 25 * 0.9)
    assert r.reserved_cost_usd == pytest.approx(r.instances * 25 * 0.9 * HOURS_PER_YEAR)
    s = plan(SERVE.with_(instance="my-h100x8", price_kind="reserved_1y"), catalogs)
    assert s.reserved_monthly_cost_usd == pytest.approx(s.serving_instances * 25 * 730)


def test_a_row_without_a_reserved_price_says_so(tmp_path):
    catalogs = user_catalog(tmp_path, "25")
    r = plan(SERVE.with_(instance="my-l4", price_kind="reserved_1y"), catalogs)
    assert math.isnan(r.reserved_monthly_cost_usd) and r.to_dict()["reserved_monthly_cost_usd"] is None
    assert any("no reserved price in the catalog" in w for w in r.warnings)
    assert option_texts(r)["reserved_monthly_cost_usd"] == "n/a: no reserved price in the catalog"


# ---- spot with interruptions ------------------------------------------------------------------

def simulated_hours(work, rate, tau, restart, runs, rng):
    """Monte Carlo of the process the formula models: the work in segments of tau hours; an
    interruption (exponential at `rate`) loses the segment's progress, and every retry first
    spends `restart` hours (itself interruptible)."""
    total = 0.0
    for _ in range(runs):
        left = work
        while left > 1e-12:
            seg = min(tau, left)
            need = seg
            while (gap := rng.expovariate(rate)) < need:
                total += gap
                need = restart + seg
            total += need
            left -= seg
    return total / runs


def test_spot_run_matches_a_simulation_of_interruptions():
    rng = random.Random(7)
    work, rate, tau, restart = 10.0, 0.2, 2.0, 0.5
    expected = spot_run(work, 1, rate, tau, restart).expected_hours
    assert expected == pytest.approx(simulated_hours(work, rate, tau, restart, 20000, rng), rel=0.03)


def test_no_interruptions_is_the_plain_run():
    assert spot_run(100.0, 8, 0.0, 1.0, 0.25).expected_hours == 100.0


@given(work=st.floats(1, 500), rate=st.floats(1e-4, 0.05), tau=st.floats(0.1, 10), restart=st.floats(0, 2),
       more=st.floats(1.0, 4.0))
def test_more_interruptions_or_rarer_checkpoints_never_finish_sooner(work, rate, tau, restart, more):
    base = spot_run(work, 2, rate, tau, restart)
    for worse in (spot_run(work, 2, rate * more, tau, restart), spot_run(work, 2, rate, tau * more, restart),
                  spot_run(work, 2 * int(more), rate, tau, restart)):
        if not base.never_finishes:
            assert worse.never_finishes or worse.expected_hours >= base.expected_hours * (1 - 1e-9)
        else:
            assert worse.never_finishes
    assert base.never_finishes or base.expected_hours >= work


def test_a_long_run_that_never_checkpoints_never_finishes():
    inputs = TRAIN.with_(training_tokens=2e11, spot_interruptions_per_hour=0.01, checkpoint_interval_h=0)
    r = plan(inputs)
    assert r.training_time_s > 30 * 86400
    assert math.isnan(r.spot_expected_cost_usd) and r.to_dict()["spot_expected_cost_usd"] is None
    assert any("never finishes in practice" in w for w in r.warnings)
    assert option_texts(r)["spot_expected_cost_usd"].startswith("never finishes")
    hourly = plan(inputs.with_(checkpoint_interval_h=1.0))
    assert hourly.spot_cost_usd < hourly.spot_expected_cost_usd < 2 * hourly.spot_cost_usd
    assert hourly.spot_expected_training_time_s > hourly.training_time_s


# ---- self-host vs API -------------------------------------------------------------------------

@given(block=st.floats(10, 1e6), capacity=st.floats(0.01, 1000), per_request=st.floats(1e-6, 0.1),
       x=st.floats(1e-3, 1e4))
def test_breakeven_is_where_the_step_bill_first_meets_the_api(block, capacity, per_request, x):
    """Self-hosting bills whole blocks (k·B for a load up to k·C); the API bills a·x."""
    rate = breakeven_requests_per_s(block, capacity, per_request, SECONDS_PER_MONTH)
    api = per_request * SECONDS_PER_MONTH

    def self_host(load):
        return math.ceil(load / capacity - 1e-12) * block
    if math.isnan(rate):  # no load wins: every block costs more than the API for what it can carry
        assert block > api * capacity
        assert self_host(x) > api * x * (1 - 1e-9)
        return
    assert self_host(rate) <= api * rate * (1 + 1e-9)
    if x < rate:
        assert self_host(x) > api * x


def test_a_plan_at_its_breakeven_bills_what_the_api_does():
    inputs = SERVE.with_(api_usd_per_million_input=3.0, api_usd_per_million_output=15.0)
    r = plan(inputs)
    per_request = (2048 * 3.0 + 256 * 15.0) / 1e6
    assert r.api_monthly_cost_usd == pytest.approx(1.0 * SECONDS_PER_MONTH * per_request)
    assert 0 < r.breakeven_requests_per_s <= r.fleet_capacity_requests_per_s / r.replicas
    at = plan(inputs.with_(requests_per_s=r.breakeven_requests_per_s * (1 + 1e-9)))
    assert at.monthly_cost_usd <= at.api_monthly_cost_usd
    below = plan(inputs.with_(requests_per_s=r.breakeven_requests_per_s * 0.98))
    assert below.monthly_cost_usd > below.api_monthly_cost_usd


def test_an_api_cheaper_than_a_full_instance_never_loses():
    r = plan(SERVE.with_(api_usd_per_million_input=0.001, api_usd_per_million_output=0.001))
    assert math.isnan(r.breakeven_requests_per_s)
    assert option_texts(r)["breakeven_requests_per_s"].startswith("never")


# ---- the daily load profile -------------------------------------------------------------------

profiles = st.lists(st.sampled_from([0.0, 0.2, 1.0, 3.0, 7.5]), min_size=24, max_size=24).filter(any)


def profile_text(rates):
    return " ".join(f"{r:g}" for r in rates)


@SLOW
@given(rates=profiles, zero=st.booleans())
def test_the_price_per_token_reconciles_with_the_profile_bill(rates, zero):
    r = plan(SERVE.with_(load_profile=profile_text(rates), scale_to_zero=zero))
    monthly_tokens = sum(rates) / 24 * SERVE.output_tokens * SECONDS_PER_MONTH
    assert r.usd_per_million_tokens * monthly_tokens / 1e6 == pytest.approx(r.monthly_cost_usd, rel=1e-9)
    hw = resolve_hardware(SERVE, CATALOGS)
    billed = sum(serving_fleet(n, r.gpus, hw).hourly_usd for n in r.replicas_by_hour) / 24 * 730
    assert r.monthly_cost_usd == pytest.approx(billed)
    assert r.replicas == max(r.replicas_by_hour)
    if zero:
        assert all((n == 0) == (rate == 0) for n, rate in zip(r.replicas_by_hour, rates))


@SLOW
@given(rates=profiles, hour=st.integers(0, 23), extra=st.floats(0.1, 10))
def test_more_load_in_any_hour_never_lowers_the_bill_and_scaling_to_zero_never_raises_it(rates, hour, extra):
    base = plan(SERVE.with_(load_profile=profile_text(rates)))
    busier = list(rates)
    busier[hour] += extra
    assert plan(SERVE.with_(load_profile=profile_text(busier))).monthly_cost_usd >= base.monthly_cost_usd
    assert plan(SERVE.with_(load_profile=profile_text(rates), scale_to_zero=True)).monthly_cost_usd \
        <= base.monthly_cost_usd


def test_the_plan_names_the_busiest_hour_even_when_its_replicas_share_an_instance():
    r = plan(PACKED.with_(load_profile="8-20=120 0-6=0", scale_to_zero=True))
    assert r.replicas == max(r.replicas_by_hour) > min(n for n in r.replicas_by_hour if n)
    assert r.serving_gpus == r.replicas * r.gpus


def test_a_flat_profile_is_the_plain_plan():
    assert plan(SERVE.with_(load_profile="1 " * 24)).to_dict() | {"inputs": None} == \
        plan(SERVE).to_dict() | {"inputs": None}


def test_hour_ranges_set_those_hours_and_wrap_past_midnight():
    rates = hourly_rates("9-17=40 22-2=0", 3.0)
    assert rates[9:17] == (40.0,) * 8 and rates[17] == 3.0 and rates[8] == 3.0
    assert rates[22] == rates[23] == rates[0] == rates[1] == 0.0 and rates[2] == 3.0


@pytest.mark.parametrize("text", ["1 2 3", "9-25=4", "9-9=4", "0 " * 24, "1 " * 23 + "-1", "9-17=x"])
def test_a_bad_profile_names_the_field(text):
    with pytest.raises(InputError) as e:
        PlanInputs(mode="infer", load_profile=text).validated()
    assert e.value.field == "load_profile"
