"""Energy and carbon (core.energy): power at the plan's utilisation, host overhead, PUE and the
grid's carbon intensity from the sourced tables, per training run and per 1M served tokens."""
import csv
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.energy import IDLE_POWER_FRACTION
from gpuplanner.core.option_texts import option_texts
from gpuplanner.core.pricing import SECONDS_PER_MONTH
from gpuplanner.core.resource_files import resource_path

CATALOGS = load_catalogs()
TRAIN = PlanInputs(mode="train", model="llama-2-7b", instance="p5.48xlarge", training_tokens=1e10)
SERVE = PlanInputs(mode="infer", model="llama-3.1-8b", instance="g6e.xlarge")


def table(name):
    with open(resource_path(name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def grid(cloud, region):
    return next(float(r["grid_gco2e_per_kwh"]) for r in table("carbon_intensity.csv")
                if r["cloud"] == cloud and r["region"] == region)


def plan(inputs):
    return estimate(inputs, CATALOGS, explain=False)


def test_every_table_row_has_a_source_a_year_and_a_plausible_value():
    for row in table("carbon_intensity.csv"):
        assert row["source"] and 2015 <= int(row["year"]) <= 2030
        assert 0 < float(row["grid_gco2e_per_kwh"]) < 1200
    pue = table("datacenter_pue.csv")
    assert {r["cloud"] for r in pue} >= {"aws", "gcp", "*"}
    assert all(r["source"] and 1.0 <= float(r["pue"]) < 3 for r in pue)


def test_a_training_run_draws_its_gpus_tdp_plus_host_times_pue_for_its_hours():
    r = plan(TRAIN)
    tdp = CATALOGS.gpus["H100"].tdp_w
    pue = next(float(row["pue"]) for row in table("datacenter_pue.csv") if row["cloud"] == "aws")
    kwh = r.gpus * tdp * (1 + TRAIN.host_power_fraction) * pue * r.training_time_s / 3600 / 1000
    assert (r.gpu_power_w, r.pue) == (tdp, pue)
    assert r.energy_kwh == pytest.approx(kwh)
    assert r.grid_intensity_g_per_kwh == grid("aws", "us-east-1")
    assert r.co2e_kg == pytest.approx(kwh * grid("aws", "us-east-1") / 1000)
    assert r.to_dict()["energy_kwh"] == r.energy_kwh and r.to_dict()["co2e_kg"] == r.co2e_kg


def test_measured_watts_pue_and_grid_given_replace_the_defaults():
    base = plan(TRAIN)
    given_ = plan(TRAIN.with_(gpu_power_w=350.0, pue=1.5, grid_intensity_g_per_kwh=100.0))
    ratio = 350 / base.gpu_power_w * 1.5 / base.pue
    assert given_.energy_kwh == pytest.approx(base.energy_kwh * ratio)
    assert given_.co2e_kg == pytest.approx(given_.energy_kwh * 0.1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pue=st.floats(1.0, 3.0), more=st.floats(1.01, 2.0), host=st.floats(0.0, 2.0))
def test_more_pue_host_or_watts_never_means_less_energy(pue, more, host):
    base = TRAIN.with_(pue=pue, host_power_fraction=host)
    e = plan(base).energy_kwh
    assert plan(base.with_(pue=min(5.0, pue * more))).energy_kwh > e
    assert plan(base.with_(host_power_fraction=host * more + 0.01)).energy_kwh > e
    assert plan(base.with_(gpu_power_w=700 * more)).energy_kwh > e


def test_serving_energy_per_million_tokens_reconciles_with_the_month():
    r = plan(SERVE.with_(requests_per_s=2.0))
    million = 2.0 * SERVE.output_tokens * SECONDS_PER_MONTH / 1e6
    assert r.energy_kwh_per_million_tokens * million == pytest.approx(r.energy_kwh)
    assert r.co2e_kg_per_million_tokens * million == pytest.approx(r.co2e_kg)
    # a flat day: every billed GPU at the fleet's utilisation, all month
    per_gpu = r.gpu_power_w * (IDLE_POWER_FRACTION + (1 - IDLE_POWER_FRACTION) * r.fleet_utilization) \
        + r.gpu_power_w * SERVE.host_power_fraction
    billed = r.serving_instances * r.gpus_per_instance
    assert r.energy_kwh == pytest.approx(billed * per_gpu * r.pue * 730 / 1000)


def test_idle_gpus_cost_energy_and_scaling_to_zero_saves_it():
    night = "0-8=0"
    up = plan(SERVE.with_(load_profile=night))
    down = plan(SERVE.with_(load_profile=night, scale_to_zero=True))
    assert down.energy_kwh < up.energy_kwh
    assert down.energy_kwh_per_million_tokens < up.energy_kwh_per_million_tokens


def test_an_unknown_region_or_planning_by_gpu_says_why_co2_is_unknown():
    r = plan(SERVE.with_(instance="", gpu="H100"))
    assert math.isfinite(r.energy_kwh) and math.isnan(r.co2e_kg) and r.to_dict()["co2e_kg"] is None
    assert r.energy_note.startswith("CO2e unknown: planning by GPU only") and r.energy_note in r.warnings
    assert plan(TRAIN).energy_note == ""
    assert option_texts(r)["co2e_kg"].startswith("n/a: CO2e unknown")
    lam = plan(TRAIN.with_(instance="gpu_8x_h100_sxm5"))  # Lambda publishes no region grid here
    assert math.isnan(lam.co2e_kg) and lam.pue == 1.56  # the industry-average PUE row
    assert math.isfinite(plan(TRAIN.with_(instance="gpu_8x_h100_sxm5", grid_intensity_g_per_kwh=300)).co2e_kg)
