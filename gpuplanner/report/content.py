"""What the PDF says, as plain strings and numbers (Qt-free): header, answer, quick rule,
inputs, best candidates. Every figure is read from the result or the comparison table and only
formatted here, with the core's own formatters, so the PDF and the window print the same text."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

import gpuplanner
from gpuplanner.core import fields
from gpuplanner.core.accuracy import band_text, headline_bands
from gpuplanner.core.frontier import FRONTIER_ATTR
from gpuplanner.core.option_texts import option_rows
from gpuplanner.core.pricing import PRICE_KIND_ATTR, cheapest_first, cost_key
from gpuplanner.core.result import BREAKDOWN_KEYS
from gpuplanner.core.units import GIB, MEMORY_UNITS, SECONDS_PER_DAY, fmt_duration, fmt_memory, fmt_usd

COMPONENT_LABELS = {
    "weights": "Weights", "master_weights": "Master weights", "gradients": "Gradients",
    "optimizer": "Optimizer states", "activations": "Activations", "kv_cache": "KV cache", "buffers": "Framework buffers",
    "overhead": "Runtime + fragmentation",
}
TOP_CANDIDATES = 10
# Answer rows (by the start of their label) that carry an error band, and the figure it is for.
BAND_ROWS = {"Memory per GPU": "memory_per_gpu_bytes", "Training time": "training_time_s",
             "Cost (on-demand)": "cost_usd",
             "Tokens/s per replica": "serving_tokens_per_s_total",
             "Tokens/s per user": "decode_tokens_per_s_per_user", "Time to first token": "ttft_s",
             "Max. throughput per replica": "max_throughput_tokens_per_s"}


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    fmt: Callable[[Any], str] = str  # value -> text


def _whole(x) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.0f}"


def _one_decimal(x) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.1f}"


CANDIDATE_COLUMNS = {
    "train": (Column("Instance", "instance_type"), Column("GPU", "gpu"), Column("Precision", "precision"),
              Column("GPUs", "gpus", _whole), Column("Layout", "layout"),
              Column("GiB/GPU", "memory_per_gpu_gib", _one_decimal), Column("Days", "training_days", _one_decimal),
              Column("Cost", "training_cost_usd", fmt_usd), Column("Spot cost", "training_spot_cost_usd", fmt_usd)),
    "infer": (Column("Instance", "instance_type"), Column("GPU", "gpu"), Column("Precision", "precision"),
              Column("GPUs", "gpus", _whole), Column("Layout", "layout"), Column("Replicas", "replicas", _whole),
              Column("tok/s/user", "tokens_per_s_per_user", _one_decimal),
              Column("tok/s", "tokens_per_s_total", _whole),
              Column("$/1M tok", "usd_per_million_tokens", fmt_usd), Column("$/month", "monthly_cost_usd", fmt_usd)),
}


PRICE_KIND_HEADERS = {"training_reserved_cost_usd": "Reserved cost", "spot_monthly_cost_usd": "Spot $/month",
                      "reserved_monthly_cost_usd": "Reserved $/month"}  # a ranking cost the columns lack


def is_training(result) -> bool:
    return result.mode == "train"


def title(result) -> str:
    return f"GPU plan: {result.model_name}"


def subtitle(result) -> str:
    where = result.instance_type or f"{result.gpu_name} GPUs"
    what = "Training" if is_training(result) else "Serving"
    return f"{what} · {result.precision} · {where} ({result.gpus_per_instance}× {result.gpu_name} per instance)"


def gpu_source(result) -> str:
    return result.gpu_source or "GPU catalog"


def meta_rows(result, created: date) -> list[tuple[str, str]]:
    return [("Created", created.isoformat()), ("gpuplanner", gpuplanner.__version__),
            ("Prices as of", result.price_as_of or "n/a"), ("GPU data", gpu_source(result))]


def answer_rows(result, unit: str = "GiB") -> list[tuple[str, str]]:
    """The detailed estimate's headline figures, memory in `unit`; an infeasible plan says so first."""
    memory = f"{fmt_memory(result.memory_per_gpu_bytes, unit)} of {fmt_memory(result.usable_bytes, unit)} usable"
    if not result.fits:
        return [("Result", "Does not fit"), ("Memory per GPU", memory), ("Layout tried", result.layout.describe())]
    rows = [("GPUs needed", f"{result.min_gpus}"), ("GPUs in the plan", f"{result.gpus}"),
            ("Layout", result.layout.describe()), ("Memory per GPU", memory)]
    if is_training(result):
        return _with_bands(result, rows + [
            ("Instances", _instances(result.instances, result)),
            ("Price", f"{fmt_usd(result.price_usd_per_hour)}/h"),
            ("Training time", fmt_duration(result.training_time_s)),
            ("Cost (on-demand)", fmt_usd(result.cost_usd)),
            ("Cost (spot)", fmt_usd(result.spot_cost_usd)),
            ("GPU-hours", _whole(result.gpu_hours)),
            *option_rows(result),
        ])
    return _with_bands(result, rows + [
        ("Replicas", f"{result.replicas}"),
        ("Serving instances", _instances(result.serving_instances, result)),
        ("Cost per 1M output tokens", fmt_usd(result.usd_per_million_tokens)),
        (f"Tokens/s per replica (batch {result.serving_batch})", _whole(result.serving_tokens_per_s_total)),
        (f"Tokens/s per user (batch {result.inputs.concurrency})",
         _one_decimal(result.decode_tokens_per_s_per_user)),
        ("Prefill time", fmt_duration(result.prefill_time_s)),
        (f"Time to first token / per token ({result.inputs.concurrency} concurrent)",
         f"{fmt_duration(result.ttft_s)} / {fmt_duration(result.tpot_s)}"),
        (f"Max. throughput per replica (offline, {_whole(result.max_throughput_concurrency)} concurrent)",
         _whole(result.max_throughput_tokens_per_s)),
        *((f"{name} launch (KV pool {launch.pool.kv_cache_tokens:,} tokens)", launch.command)
          for name, launch in result.engine_flags.items()),
        ("Fleet utilization at the requested load", "n/a" if not math.isfinite(result.fleet_utilization)
         else f"{result.fleet_utilization:.0%}"),
        ("Monthly cost (on-demand)", fmt_usd(result.monthly_cost_usd)),
        ("Monthly cost (spot)", fmt_usd(result.spot_monthly_cost_usd)),
        *option_rows(result),
    ])


def _with_bands(result, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each headline figure followed by its error band on published runs (core.accuracy)."""
    bands = headline_bands(result)
    keys = [next((k for prefix, k in BAND_ROWS.items() if label.startswith(prefix)), "") for label, _ in rows]
    return [(label, f"{text}  {band_text(bands[k])}" if k in bands else text)
            for (label, text), k in zip(rows, keys)]


def quick_rule_rows(result) -> list[tuple[str, str]]:
    qr = result.quick_rule
    detailed = f"needs {result.min_gpus} GPUs" if result.fits else "does not fit"
    return [("Ratio", f"{qr.ratio:.2f}"), ("GPUs (rounded up)", f"{qr.gpus}"),
            ("Formula", qr.formula), ("Detailed estimate", detailed)]


def figure_label(key: str) -> str:
    """The words for an explained figure's key ('training_time_s' -> 'Training time')."""
    return COMPONENT_LABELS.get(key) or fields.figure_label(key)


def input_rows(result) -> list[tuple[str, str]]:
    """The inputs that matter for this mode, labelled and written as the form and the CLI do."""
    return fields.input_rows(result.inputs, result.mode)


def _instances(count: float, result) -> str:
    if not math.isfinite(count):
        return "n/a (planned by GPU)"
    return f"{count:g} × {result.instance_type}"


def component_rows(result) -> list[tuple[str, str, float]]:
    """(key, label, bytes) of the non-zero memory components, in the core's order."""
    b = result.breakdown_bytes
    return [(k, COMPONENT_LABELS[k], getattr(b, k)) for k in BREAKDOWN_KEYS if getattr(b, k) > 0]


def best_candidates(table: pd.DataFrame, mode: str, count: int = TOP_CANDIDATES) -> pd.DataFrame:
    """The cheapest feasible rows of the comparison table for this mode, by the core's one rule
    at the table's price kind."""
    kind = table.attrs.get(PRICE_KIND_ATTR, "on_demand")
    return table.iloc[cheapest_first(table.to_dict("records"), mode, kind)[:count]]


def candidate_cells(result, table: pd.DataFrame, unit: str = "GiB") -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, formatted cells and which row is this plan, for the best-candidates table (the
    sweep's memory column is in GiB; it is written in `unit`), with the cost they are ranked by."""
    columns = CANDIDATE_COLUMNS[result.mode]
    ranked_by = cost_key(result.mode, table.attrs.get(PRICE_KIND_ATTR, "on_demand"))
    if ranked_by not in {c.key for c in columns}:
        columns += (Column(PRICE_KIND_HEADERS[ranked_by], ranked_by, fmt_usd),)
    best = best_candidates(table, result.mode)
    scale = {"memory_per_gpu_gib": GIB / MEMORY_UNITS[unit]}
    cells = [[c.fmt(row[c.key] * scale[c.key] if c.key in scale else row[c.key]) for c in columns]
             for _, row in best.iterrows()]
    is_plan = [row["instance_type"] == result.instance_type and row["precision"] == result.precision
               for _, row in best.iterrows()]
    return [c.header.replace("GiB", unit) for c in columns], cells, is_plan


def frontier(result, table: pd.DataFrame):
    """The serving frontier the comparison table carries (core.estimate.attach_frontier), for a
    serving plan that fits; None otherwise."""
    if is_training(result) or not result.fits:
        return None
    f = table.attrs.get(FRONTIER_ATTR)
    return f if f is not None and f.pareto else None


def cost_time_points(table: pd.DataFrame) -> list[tuple[float, float, str]]:
    """(days, cost USD, label) of every feasible training candidate with a known price."""
    best = best_candidates(table, "train", count=len(table))
    best = best[best["training_cost_usd"].notna() & best["training_days"].notna()]
    return [(days, cost, f"{instance} {precision}") for days, cost, instance, precision in
            zip(best["training_days"].astype(float), best["training_cost_usd"].astype(float),
                best["instance_type"], best["precision"])]


def plan_cost_time(result) -> tuple[float, float] | None:
    days = result.training_time_s / SECONDS_PER_DAY
    return (days, result.cost_usd) if math.isfinite(days) and math.isfinite(result.cost_usd) else None
