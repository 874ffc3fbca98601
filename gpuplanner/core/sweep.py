"""The comparison table: every instance type × every precision, for both modes, as a
pandas DataFrame. Estimates that differ only by price are computed once (same GPU and
tensor-parallel limit) and priced per instance."""
from __future__ import annotations

import math

import pandas as pd

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import estimate
from gpuplanner.core.inputs import PRECISIONS, TRAIN_PRECISIONS, PlanInputs
from gpuplanner.core.units import HOURS_PER_MONTH, SECONDS_PER_DAY

COLUMNS = [
    "mode", "precision", "cloud", "instance_type", "gpu", "gpus_per_instance", "fits", "gpus",
    "instances", "layout", "memory_per_gpu_gib", "price_usd_per_hour", "spot_price_usd_per_hour",
    "training_days", "training_cost_usd", "training_spot_cost_usd", "usd_per_million_tokens",
    "tokens_per_s_per_user", "tokens_per_s_total", "replicas", "monthly_cost_usd", "reason",
]


def sweep(inputs: PlanInputs, catalogs: Catalogs, modes=("train", "infer"), precisions=None) -> pd.DataFrame:
    """One row per (mode, precision, instance). Rows that cannot be planned say why in
    `reason` (and fits=False); they are never dropped."""
    rows = []
    for mode in modes:
        for precision in precisions or (TRAIN_PRECISIONS if mode == "train" and inputs.train_method == "full"
                                        else PRECISIONS):
            shared = {}
            for inst in catalogs.instances.values():
                rows.append(_row(inputs, catalogs, mode, precision, inst, shared))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(inputs, catalogs, mode, precision, inst, shared) -> dict:
    row = {"mode": mode, "precision": precision, "cloud": inst.cloud, "instance_type": inst.instance_type,
           "gpu": inst.gpu, "gpus_per_instance": inst.gpu_count, "fits": False, "reason": ""}
    if inst.gpu not in catalogs.gpus:
        row["reason"] = "no datasheet for this GPU"
        return row
    key = (inst.gpu, inst.gpu_count)  # instance size sets the tensor limit and the billing unit
    if key not in shared:
        try:
            shared[key] = estimate(inputs.with_(mode=mode, precision=precision, instance=inst.instance_type,
                                                gpu=""), catalogs, explain=False)
        except InputError as e:
            shared[key] = e
    r = shared[key]
    if isinstance(r, InputError):
        row["reason"] = r.message
        return row
    n = inst.gpu_count
    instances = math.ceil(r.gpus / n) if r.fits else math.nan
    price = instances * inst.price_usd_per_hour
    spot = instances * inst.spot_price_usd_per_hour
    row.update(
        fits=r.fits, gpus=r.gpus if r.fits else math.nan, instances=instances,
        layout=r.layout.describe(), memory_per_gpu_gib=r.memory_per_gpu_bytes / 2**30,
        price_usd_per_hour=price, spot_price_usd_per_hour=spot,
        reason="" if r.fits else (r.warnings[-1] if r.warnings else "does not fit"),
    )
    if mode == "train" and r.fits:
        hours = r.training_time_s / 3600
        row.update(training_days=r.training_time_s / SECONDS_PER_DAY, training_cost_usd=price * hours,
                   training_spot_cost_usd=spot * hours)
    elif mode == "infer" and r.fits and r.replicas:
        replica_hourly = r.gpus * inst.price_usd_per_hour / n
        row.update(
            usd_per_million_tokens=replica_hourly / (3600 * r.serving_tokens_per_s_total) * 1e6,
            tokens_per_s_per_user=r.decode_tokens_per_s_per_user, tokens_per_s_total=r.decode_tokens_per_s_total,
            replicas=r.replicas,
            monthly_cost_usd=math.ceil(r.serving_gpus / n) * inst.price_usd_per_hour * HOURS_PER_MONTH,
        )
    return row
