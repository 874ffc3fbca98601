"""The comparison sweep and the single estimate are one computation: every figure of a sampled
row equals what a cold estimate (nothing remembered, core.memo) gives for that row's inputs,
also after the sweep has remembered searches for other inputs (memo keys must tell them apart)."""
import math
from dataclasses import replace

import pytest

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.memo import forget
from gpuplanner.core.pricing import cost_key
from gpuplanner.core.sweep import sweep
from gpuplanner.core.units import GIB, SECONDS_PER_DAY

CATALOGS = load_catalogs()
SAMPLE_EVERY = 6  # every 6th instance of the catalog: every GPU family, a few sizes each


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=0.0)
    return a == b


def _expected(r, mode: str) -> dict:
    """A row's figures from a PlanResult, as core.sweep names them."""
    out = {"fits": r.fits, "meets_slo": r.meets_slo, "layout": r.layout.describe(),
           "memory_per_gpu_gib": r.memory_per_gpu_bytes / GIB}
    if not r.fits:
        return out
    out.update(gpus=r.gpus, instances=r.instances, price_usd_per_hour=r.price_usd_per_hour,
               spot_price_usd_per_hour=r.spot_price_usd_per_hour)
    if mode == "train":
        out.update(training_days=r.training_time_s / SECONDS_PER_DAY, training_cost_usd=r.cost_usd,
                   training_spot_cost_usd=r.spot_cost_usd, training_reserved_cost_usd=r.reserved_cost_usd)
    elif r.replicas:
        out.update(usd_per_million_tokens=r.usd_per_million_tokens,
                   usd_per_million_tokens_at_capacity=r.usd_per_million_tokens_at_capacity,
                   tokens_per_s_per_user=r.decode_tokens_per_s_per_user,
                   tokens_per_s_total=r.decode_tokens_per_s_total, replicas=r.replicas,
                   serving_gpus=r.serving_gpus, replica_price_usd_per_hour=r.replica_price_usd_per_hour,
                   fleet_utilization=r.fleet_utilization, monthly_cost_usd=r.monthly_cost_usd,
                   spot_monthly_cost_usd=r.spot_monthly_cost_usd, reserved_monthly_cost_usd=r.reserved_monthly_cost_usd)
    return out


def _check_rows(inputs: PlanInputs, modes, precisions) -> int:
    table = sweep(inputs, CATALOGS, modes=modes, precisions=precisions)
    instances = list(CATALOGS.instances.values())[::SAMPLE_EVERY]
    checked = 0
    for row in table.to_dict("records"):
        inst = CATALOGS.instances[row["instance_type"]]
        if inst not in instances or inst.gpu not in CATALOGS.gpus:
            continue
        forget()  # the single estimate computes everything afresh
        r = estimate(inputs.with_(mode=row["mode"], precision=row["precision"], instance=inst.instance_type),
                     CATALOGS, explain=False)
        for name, value in _expected(r, row["mode"]).items():
            assert _same(row[name], value), (row["mode"], row["precision"], inst.instance_type, name,
                                             row[name], value)
        checked += 1
    return checked


def test_sampled_rows_equal_cold_single_estimates_dense_and_moe():
    inputs = PlanInputs(model="mixtral-8x7b-v0.1", training_tokens=2e11, requests_per_s=3.0)
    assert _check_rows(inputs, ("train", "infer"), ("bf16", "fp8")) > 20


def test_a_sweep_after_other_inputs_reuses_nothing_it_should_not():
    """Sweep one load, then another (and a day profile): the second's rows are the second's plans."""
    base = PlanInputs(model="llama-3.1-8b", requests_per_s=2.0)
    sweep(base, CATALOGS, modes=("infer",), precisions=("bf16",))
    other = base.with_(requests_per_s=40.0, prefix_cache_hit_rate=0.5, load_profile="9-18=80 23-7=0",
                       scale_to_zero=True)
    assert _check_rows(other, ("infer",), ("bf16",)) > 10
    sweep(base, CATALOGS, modes=("train",), precisions=("bf16",))
    assert _check_rows(base.with_(max_training_days=20.0, training_tokens=1e11), ("train",), ("bf16",)) > 10


@pytest.mark.parametrize("kind", ["spot", "reserved_1y"])
def test_cheapest_follows_the_price_kind_the_plan_headlines(kind):
    """With spot (or reserved) prices chosen, `cheapest` is the row with the lowest cost at that
    price among the rows that have one, in each mode; the frame says which price it ranked by."""
    catalogs = CATALOGS
    if kind == "reserved_1y":  # the bundled catalog has no reserved prices: every 3rd instance gets one
        instances = dict(catalogs.instances)
        for name in list(instances)[::3]:
            instances[name] = replace(instances[name],
                                      reserved_1y_price_usd_per_hour=0.6 * instances[name].price_usd_per_hour)
        catalogs = replace(catalogs, instances=instances)
    inputs = PlanInputs(model="llama-3.1-8b", training_tokens=1e11, requests_per_s=2.0, price_kind=kind)
    table = sweep(inputs, catalogs, precisions=("bf16",))
    assert table.attrs["price_kind"] == kind
    for mode in ("train", "infer"):
        at_kind = cost_key(mode, kind)
        rows = table[(table["mode"] == mode) & table["fits"] & table["meets_slo"] & table[at_kind].notna()]
        assert len(rows) > 3
        cheapest = table[(table["mode"] == mode) & table["cheapest"]]
        assert len(cheapest) == 1
        assert cheapest[at_kind].iloc[0] == rows[at_kind].min()
