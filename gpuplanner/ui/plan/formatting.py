"""Display text for the numbers of a PlanResult: one function per figure.

The summary cards, the compare table and the tests all format through here, so a test can
compare the shown text with the text of the core's own result, byte for byte.
Qt-free on purpose.
"""
from __future__ import annotations

import math

from gpuplanner.core.option_texts import option_texts
from gpuplanner.core.result import BREAKDOWN_KEYS, PlanResult
from gpuplanner.core.text import in_unit
from gpuplanner.core.units import MEMORY_UNITS, fmt_count, fmt_duration, fmt_memory, fmt_sig, fmt_usd

COMPONENT_LABELS = {
    "weights": "weights", "master_weights": "fp32 master weights", "gradients": "gradients",
    "optimizer": "optimizer states", "activations": "activations", "kv_cache": "KV cache",
    "buffers": "framework buffers", "overhead": "runtime overhead",
}
MODE_LABELS = {"train": "Train", "infer": "Serve"}
# Card lines that carry an error band, and the headline figure (core.accuracy) whose band it is:
# the GPU count is what the memory figure decides, so its line carries the memory band.
BAND_LINES = {"gpus": "memory_per_gpu_bytes", "training_time_s": "training_time_s", "cost_usd": "cost_usd",
              "decode_tokens_per_s_total": "decode_tokens_per_s_total",
              "decode_tokens_per_s_per_user": "decode_tokens_per_s_per_user", "ttft_s": "ttft_s",
              "max_throughput_tokens_per_s": "max_throughput_tokens_per_s"}


def fmt_int(n: float) -> str:
    """Exact whole numbers with thousands separators; 'n/a' for gaps."""
    if not isinstance(n, (int, float)) or not math.isfinite(n):
        return "n/a"
    return f"{int(round(n)):,}"


def fmt_rate(tokens_per_s: float) -> str:
    """Throughput with 3 significant figures."""
    if not math.isfinite(tokens_per_s):
        return "n/a"
    return f"{fmt_count(tokens_per_s)} tok/s"


def fmt_hourly(usd_per_hour: float) -> str:
    return "n/a" if not math.isfinite(usd_per_hour) else f"{fmt_usd(usd_per_hour)}/h"


def not_fitting_reason(r: PlanResult, unit: str = "GiB") -> str:
    """The sentence that says why nothing fits, as the core decided it, memory in `unit`."""
    return in_unit(r.reason, unit) or "does not fit"


def _headline_first(r: PlanResult, texts: dict[str, str], on_demand: str, spot: str, reserved: str) -> dict[str, str]:
    """The headline price kind's figure comes first (spot, or 1-year reserved)."""
    chosen = {"spot": spot, "reserved_1y": reserved}.get(r.inputs.price_kind)
    if chosen is None or chosen not in texts:
        return texts
    keys = list(texts)
    i, j = keys.index(on_demand), keys.index(chosen)
    keys[i], keys[j] = keys[j], keys[i]
    return {k: texts[k] for k in keys}


def train_texts(r: PlanResult, unit: str = "GiB") -> dict[str, str]:
    """Texts of the training card, keyed by the result field (or explanation key) they show."""
    if not r.fits:
        return {"fits": f"Does not fit: {not_fitting_reason(r, unit)}"}
    return _headline_first(r, {
        "gpus": f"{fmt_int(r.gpus)} × {r.gpu_name}"
                + (f" (needs {fmt_int(r.min_gpus)})" if r.min_gpus < r.gpus else ""),
        "instances": f"{fmt_int(r.instances)} × {r.instance_type}" if r.instance_type else "by GPU",
        "layout": r.layout.describe(),
        "training_time_s": fmt_duration(r.training_time_s),
        "cost_usd": fmt_usd(r.cost_usd),
        "spot_cost_usd": fmt_usd(r.spot_cost_usd),
        "price_usd_per_hour": fmt_hourly(r.price_usd_per_hour),
        "gpu_hours": f"{fmt_int(r.gpu_hours)} GPU-h",
        **option_texts(r),
    }, "cost_usd", "spot_cost_usd", "reserved_cost_usd")


def serve_texts(r: PlanResult, unit: str = "GiB") -> dict[str, str]:
    """Texts of the serving card, keyed like train_texts; every speed names its concurrency."""
    if not r.fits:
        return {"fits": f"Does not fit: {not_fitting_reason(r, unit)}"}
    concurrency = r.inputs.concurrency
    if not r.replicas:  # the GPU's peak or bandwidth is unknown: no speed, so no fleet
        return {"gpus": f"{fmt_int(r.gpus)} × {r.gpu_name} per replica",
                "fits": f"Speed and cost unknown: {r.reason or 'no datasheet figures'}"}
    return _headline_first(r, {
        "gpus": f"{fmt_int(r.gpus)} × {r.gpu_name} per replica",
        "replicas": f"{fmt_int(r.replicas)} replica{'s' * (r.replicas != 1)}",
        "serving_instances": (f"{fmt_int(r.serving_instances)} × {r.instance_type}, "
                              f"{r.replicas_per_instance:g} replica slot{'s' * (r.replicas_per_instance != 1)} each"
                              if r.instance_type else f"{fmt_int(r.serving_gpus)} GPUs"),
        "decode_tokens_per_s_per_user": f"{fmt_rate(r.decode_tokens_per_s_per_user)} per user at {concurrency} "
                                        "concurrent",
        "decode_tokens_per_s_total": f"{fmt_rate(r.decode_tokens_per_s_total)} total at {concurrency} concurrent",
        "ttft_s": f"{fmt_duration(r.ttft_s)} to the first token, {fmt_duration(r.tpot_s)} per token "
                  f"at {concurrency} concurrent",
        "max_throughput_tokens_per_s": f"{fmt_rate(r.max_throughput_tokens_per_s)} per replica offline "
                                       f"at {fmt_int(r.max_throughput_concurrency)} concurrent",
        "usd_per_million_tokens": f"{fmt_usd(r.usd_per_million_tokens)} / 1M tokens at the requested load "
                                  f"({fmt_usd(r.usd_per_million_tokens_at_capacity)} at capacity; "
                                  f"{r.fleet_utilization:.0%} used)",
        "monthly_cost_usd": f"{fmt_usd(r.monthly_cost_usd)} / month",
        "spot_monthly_cost_usd": f"{fmt_usd(r.spot_monthly_cost_usd)} / month",
        **option_texts(r),
        "replica_price_usd_per_hour": f"{fmt_hourly(r.replica_price_usd_per_hour)} per replica "
                                      "(its share of the billed instances)",
        **{f"engine_{name}": f"{launch.command}  → KV pool {launch.pool.kv_cache_tokens:,} tokens = "
                             f"{launch.pool.max_concurrency:,.1f} × {r.inputs.context_len}-token sequences"
           for name, launch in r.engine_flags.items()},
    }, "monthly_cost_usd", "spot_monthly_cost_usd", "reserved_monthly_cost_usd")


def band_texts(r: PlanResult, band_rows) -> dict[str, str]:
    """Error-band text per card line (keys as train_texts/serve_texts); none while the ledger is
    still being evaluated (band_rows None)."""
    if band_rows is None:
        return {}
    from gpuplanner.core.accuracy import band_text, headline_bands  # loaded with the ledger, after the first paint

    bands = headline_bands(r, band_rows)
    return {line: ("memory " if key == "memory_per_gpu_bytes" else "") + band_text(bands[key])
            for line, key in BAND_LINES.items() if key in bands}


def quick_vs_detailed(r: PlanResult, unit: str = "GiB") -> str:
    """The quick rule's answer beside the detailed one, and the main reasons they differ."""
    quick = f"Quick rule: {r.quick_rule.formula}."
    if not r.fits:
        return f"{quick} Detailed: does not fit ({not_fitting_reason(r, unit)})."
    b = r.breakdown_bytes
    states = b.weights + b.master_weights + b.gradients + b.optimizer
    reasons = [f"usable memory is {fmt_memory(r.usable_bytes, unit)} per GPU, not {r.quick_rule.gpu_gb:g} GB"]
    deadline = r.inputs.max_training_days if r.mode == "train" else 0
    if deadline:
        reasons.insert(0, f"finishing within {deadline:g} days needs that much data parallelism")
    if r.instance_type and r.gpus % r.gpus_per_instance == 0:
        reasons.insert(0, f"whole instances are billed, so the plan uses all {r.gpus_per_instance} GPUs "
                          f"of each {r.instance_type}")
    if r.mode == "train":
        per_param = states * r.gpus / r.params_total if r.params_total else math.nan
        reasons.append(f"model states take {fmt_sig(per_param)} bytes/param over all GPUs "
                       f"(quick rule: {r.quick_rule.bytes_per_param:g})")
        reasons.append(f"activations at seq {r.inputs.seq_len} × micro-batch "
                       f"{r.micro_batch} need {fmt_memory(b.activations, unit)}/GPU")
    else:
        reasons.append(f"the KV cache of {r.inputs.concurrency} × {r.inputs.context_len} "
                       f"tokens needs {fmt_memory(b.kv_cache, unit)}/GPU")
    reasons.append(f"runtime overhead is {fmt_memory(b.overhead, unit)}/GPU")
    reasons.append(f"the layout is {r.layout.describe()}")
    verb = "GPUs per replica" if r.mode == "infer" else "GPUs"
    if 0 < r.min_gpus < r.gpus:
        return (f"{quick} Detailed: the job fits on {fmt_int(r.min_gpus)} {verb}; the plan uses "
                f"{fmt_int(r.gpus)} because " + "; ".join(reasons) + ".")
    return f"{quick} Detailed: {fmt_int(r.gpus)} {verb} because " + "; ".join(reasons) + "."


def breakdown_rows(r: PlanResult, unit: str = "GiB") -> list[tuple[str, str, float]]:
    """(key, label, size in `unit`) of the non-zero memory components, in BREAKDOWN_KEYS order."""
    b = r.breakdown_bytes
    return [(k, COMPONENT_LABELS[k], getattr(b, k) / MEMORY_UNITS[unit]) for k in BREAKDOWN_KEYS
            if getattr(b, k) > 0]


def window_title(model: str, mode: str, precision: str, path_name: str, dirty: bool) -> str:
    doc = f"{path_name}{'*' if dirty else ''} — " if path_name else ("*" if dirty else "")
    return f"{doc}gpuplanner — {model}, {MODE_LABELS.get(mode, mode).lower()}, {precision}"
