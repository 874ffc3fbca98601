"""The comparison table: every instance type × every precision, for both modes, as a
pandas DataFrame. Estimates that differ only by price are computed once (same GPU, instance
size, NVLink domain and network, so the same layout and the same number of instances; the
same but the network when no replica or layout the plan costed spans instances) and priced
per instance through core.pricing; `cheapest` marks the one row per mode that `cheapest_first`
ranks first at the plan's price kind (on-demand, spot or 1-year reserved; the frame's attrs say which)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError, SweepCancelled
from gpuplanner.core.estimate import attach_frontier, row_estimate
from gpuplanner.core.inputs import LORA_PRECISIONS, PRECISIONS, TRAIN_PRECISIONS, PlanInputs
from gpuplanner.core.money import hourly_rates, mean_rate, parse_discounts
from gpuplanner.core.pricing import (
    PRICE_KIND_ATTR,
    billed_instances,
    cheapest_first,
    daily_bill,
    hourly_usd,
    instance_hardware,
    reserved_cost_usd,
    usd_per_million_tokens,
)
from gpuplanner.core.units import GIB, SECONDS_PER_DAY

COLUMNS = [
    "mode", "precision", "cloud", "instance_type", "gpu", "gpus_per_instance", "fits", "meets_slo", "cheapest",
    "gpus", "instances", "layout", "memory_per_gpu_gib", "price_usd_per_hour", "spot_price_usd_per_hour",
    "training_days", "training_cost_usd", "training_spot_cost_usd", "training_reserved_cost_usd", "usd_per_million_tokens",
    "usd_per_million_tokens_at_capacity", "tokens_per_s_per_user", "tokens_per_s_total", "replicas",
    "serving_gpus", "replica_price_usd_per_hour", "fleet_utilization", "monthly_cost_usd", "spot_monthly_cost_usd",
    "reserved_monthly_cost_usd", "reason",
]


def sweep(inputs: PlanInputs, catalogs: Catalogs, modes=("train", "infer"), precisions=None,
          stop=None) -> pd.DataFrame:
    """One row per (mode, precision, instance). Rows that cannot be planned say why in
    `reason` (and fits=False); they are never dropped. `stop()`, if given, is asked before each
    (mode, precision) block; when it answers True the sweep raises SweepCancelled."""
    rows = []
    for mode in modes:
        for precision in precisions or (PRECISIONS if mode == "infer" else
                                        TRAIN_PRECISIONS if inputs.train_method == "full" else LORA_PRECISIONS):
            if stop is not None and stop():
                raise SweepCancelled
            block = _block(inputs, catalogs, mode, precision)
            shared: dict = {}
            for inst in catalogs.instances.values():
                rows.append(_row(block, catalogs, mode, precision, inst, shared))
        ranked = cheapest_first(rows, mode, inputs.price_kind)
        if ranked:
            rows[ranked[0]]["cheapest"] = True
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs[PRICE_KIND_ATTR] = inputs.price_kind
    return frame


def comparison(inputs: PlanInputs, modes: tuple, *, catalogs: Catalogs, stop=None) -> pd.DataFrame:
    """The Compare tab's table (and the report's): the sweep of `modes`, carrying the plan
    hardware's serving frontier when serving is swept (core.estimate.attach_frontier)."""
    table = sweep(inputs, catalogs, tuple(modes), stop=stop)
    return attach_frontier(table, inputs, catalogs) if "infer" in modes else table


@dataclass(frozen=True)
class _Block:
    """One (mode, precision) block's validated inputs and what every row of it reads from them."""

    inputs: PlanInputs
    discounts: dict  # each cloud's negotiated discount (money.parse_discounts)
    mean_rps: float  # the day's mean request rate (serving)


def _block(inputs: PlanInputs, catalogs: Catalogs, mode: str, precision: str) -> _Block | InputError:
    """The inputs of one (mode, precision) block, validated once (its rows differ only in the
    instance type, which validation checks only for being named), or why they are invalid."""
    block = inputs.with_(mode=mode, precision=precision, instance=next(iter(catalogs.instances), ""), gpu="")
    try:
        block = block.validated()
    except InputError as e:
        return e
    return _Block(block, parse_discounts(block.discounts), mean_rate(hourly_rates(block.load_profile,
                                                                                  block.requests_per_s)))


def _planned(inputs: PlanInputs, catalogs: Catalogs) -> tuple:
    """(what a row reads of the estimate, or the InputError that says why there is none;
    whether the instance network could have changed it: core.estimate.row_estimate)."""
    try:
        return row_estimate(inputs, catalogs)
    except InputError as e:
        return e, True


def _reason(r, hw) -> str:
    """Why a row cannot be bought as it is ('' when it can): the plan's own reason, or this
    instance's price missing from the catalog."""
    if r.fits and not r.reason and not math.isfinite(hw.unit_price_usd_per_hour):
        return f"no price for {hw.instance.instance_type} in the instance catalog: cost unknown"
    return r.reason


def _row(block, catalogs, mode, precision, inst, shared) -> dict:
    row = {"mode": mode, "precision": precision, "cloud": inst.cloud, "instance_type": inst.instance_type,
           "gpu": inst.gpu, "gpus_per_instance": inst.gpu_count, "fits": False, "meets_slo": False,
           "cheapest": False, "reason": ""}
    if inst.gpu not in catalogs.gpus:
        row["reason"] = "no datasheet for this GPU"
        return row
    # instance size sets the tensor limit and the billing unit; its NVLink domain and network the links
    local = (inst.gpu, inst.gpu_count, inst.nvlink_domain_gpus)
    key = local + (None if math.isnan(inst.network_bytes_per_s) else inst.network_bytes_per_s,)
    if key not in shared:
        if isinstance(block, InputError):
            shared[key] = (block, True)
        else:  # a plan of this GPU, size and domain that never used the network is every network's plan
            shared[key] = shared.get(local) or _planned(block.inputs.with_(instance=inst.instance_type), catalogs)
            if not shared[key][1]:
                shared[local] = shared[key]
    r = shared[key][0]
    if isinstance(r, InputError):
        row["reason"] = r.message
        return row
    hw = instance_hardware(inst, catalogs.gpus[inst.gpu], block.discounts)
    row.update(
        fits=r.fits, meets_slo=r.meets_slo, gpus=r.gpus if r.fits else math.nan,
        instances=billed_instances(r.gpus, hw) if r.fits else math.nan,
        layout=r.layout.describe(), memory_per_gpu_gib=r.memory_per_gpu_bytes / GIB,
        price_usd_per_hour=hourly_usd(r.gpus, hw) if r.fits else math.nan,
        spot_price_usd_per_hour=hourly_usd(r.gpus, hw, spot=True) if r.fits else math.nan,
        reason=_reason(r, hw),
    )
    if mode == "train" and r.fits:
        hours = r.training_time_s / 3600
        row.update(training_days=r.training_time_s / SECONDS_PER_DAY, training_cost_usd=hourly_usd(r.gpus, hw) * hours,
                   training_spot_cost_usd=hourly_usd(r.gpus, hw, spot=True) * hours,
                   training_reserved_cost_usd=reserved_cost_usd(r.gpus, hw, hours))
    elif mode == "infer" and r.fits and r.replicas:
        bill = daily_bill(r.replicas_by_hour, r.gpus, hw)  # the plan's replicas, hour by hour
        fleet, tokens, load = bill.peak, block.inputs.output_tokens, block.mean_rps
        row.update(
            usd_per_million_tokens=usd_per_million_tokens(bill.monthly_cost_usd, load * tokens),
            usd_per_million_tokens_at_capacity=usd_per_million_tokens(
                bill.monthly_cost_usd, load / r.fleet_utilization * tokens),
            tokens_per_s_per_user=r.decode_tokens_per_s_per_user, tokens_per_s_total=r.decode_tokens_per_s_total,
            replicas=r.replicas, serving_gpus=r.serving_gpus,
            replica_price_usd_per_hour=fleet.replica_price_usd_per_hour, fleet_utilization=r.fleet_utilization,
            monthly_cost_usd=bill.monthly_cost_usd, spot_monthly_cost_usd=bill.spot_monthly_cost_usd,
            reserved_monthly_cost_usd=bill.reserved_monthly_cost_usd,
        )
    return row
