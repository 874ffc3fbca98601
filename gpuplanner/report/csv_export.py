"""CSV export, Qt-free: wide, typed tables a spreadsheet opens as they are.

`plan.csv` holds ONE row: the plan's inputs (`input_*`) then its results, every number raw, in
canonical units named by the column (`_bytes`, `_s`, `_usd`, `_usd_per_hour`, ...). One row per
plan means exports of several plans can be stacked into one sheet and compared column by column.
Beside it, `plan-comparison.csv` is the full comparison table (one row per mode × precision ×
instance) and, for serving plans, `plan-curve.csv` the throughput–interactivity curve: each a
rectangle with one header row, so nothing needs unpivoting. Files are UTF-8 with a byte-order
mark, which Excel needs to read '×' and '≈' correctly; pandas and LibreOffice accept it.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import gpuplanner
from gpuplanner.core.accuracy import HEADLINE_CLASSES, headline_bands
from gpuplanner.core.fields import csv_name
from gpuplanner.core.safe_io import spreadsheet_safe
from gpuplanner.report.atomic import write_atomically

ENCODING = "utf-8-sig"
COMPARISON_SUFFIX = "-comparison"
CURVE_SUFFIX = "-curve"
LEFT_OUT = ("inputs", "curve", "assumptions")  # inputs go first; the curve has its own file;
# assumptions are prose, shown in the PDF


def csv_paths(path) -> tuple[Path, Path, Path]:
    """The plan, comparison and curve files for a chosen plan path ('x.csv' → x, x-comparison, x-curve)."""
    plan = Path(path)
    return (plan, plan.with_name(plan.stem + COMPARISON_SUFFIX + plan.suffix),
            plan.with_name(plan.stem + CURVE_SUFFIX + plan.suffix))


def plan_row(result) -> dict:
    """The plan as one flat row: stamp, inputs, then results, keyed as the CLI's JSON with units added."""
    data = result.to_dict()
    row: dict = {"gpuplanner_version": gpuplanner.__version__,
           "exported_at_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    row.update({"input_" + csv_name(k): v for k, v in data["inputs"].items()})
    for key, value in data.items():
        if key in LEFT_OUT:
            continue
        if key == "breakdown_bytes":
            row.update({f"memory_{k}_bytes": v for k, v in value.items()})
        elif isinstance(value, dict):
            row.update(_flat(key, value))
        elif isinstance(value, list):
            row[csv_name(key)] = "; ".join(map(str, value))  # warnings, notes; replicas by hour
        else:
            row[csv_name(key)] = value
    row["layout_description"] = result.layout.describe()
    bands = headline_bands(result)  # median |error| on the nearest published runs; empty: no band
    row.update({f"{csv_name(k)}_error_band": bands[k][0] if k in bands else None for k in HEADLINE_CLASSES[result.mode]})
    return row


def curve_frame(result) -> pd.DataFrame:
    return pd.DataFrame([{csv_name(k): v for k, v in asdict(p).items()} for p in result.curve])


def write_csv(result, table: pd.DataFrame, path) -> list[Path]:
    """Write plan, comparison (and, for serving, curve) CSVs atomically; return the paths written."""
    plan, comparison, curve = csv_paths(path)
    writers = {plan: _frame_writer(pd.DataFrame([plan_row(result)])),
               comparison: _frame_writer(table)}
    if result.curve:
        writers[curve] = _frame_writer(curve_frame(result))
    return write_atomically(writers)


def _flat(prefix: str, value: dict) -> dict:
    """Nested dicts (e.g. engine_flags.vllm.command) as engine_flags_vllm_command columns."""
    out: dict = {}
    for k, v in value.items():
        name = f"{prefix}_{csv_name(k)}"
        out.update(_flat(name, v) if isinstance(v, dict) else {name: v})
    return out


def _frame_writer(frame: pd.DataFrame):
    def write(path: Path) -> None:  # catalog text (names, sources) must not become a live formula
        spreadsheet_safe(frame).to_csv(path, index=False, encoding=ENCODING)
    return write
