"""Benchmark results on disk (dated JSON, written atomically) and against datasheet peaks.

Qt-free and torch-free: the GUI, the CLI and tests share it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from gpuplanner.bench import protocol
from gpuplanner.core import safe_io
from gpuplanner.core.atomic import atomic_write

RESULTS_FORMAT = 1


@dataclass(frozen=True)
class BenchRecord:
    """One saved run: when, on what (the hello message) and the result messages."""

    saved_at: datetime
    hello: dict[str, Any]
    results: list[dict[str, Any]]


def save_results(folder: Path, hello: Mapping[str, Any], results: Sequence[Mapping[str, Any]],
                 saved_at: datetime | None = None) -> Path:
    """Write ``bench-YYYYmmdd-HHMMSS.json`` in ``folder`` and return its path.

    Atomic (core.atomic): a crash mid-write never leaves a half-written results file.
    """
    saved_at = saved_at or datetime.now(timezone.utc)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{saved_at:%Y%m%d-%H%M%S}.json"
    document = {"format": RESULTS_FORMAT, "saved_at": saved_at.isoformat(),
                "hello": dict(hello), "results": [dict(r) for r in results]}

    def write(temp: Path) -> None:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
    atomic_write({path: write})
    return path


def load_results(path: Path) -> BenchRecord:
    """Read a file written by save_results; ValueError (with the path) if it is not one."""
    try:
        document = safe_io.load_json(path)  # regular file, size cap, nesting and number checks
        if document.get("format") != RESULTS_FORMAT:
            raise ValueError(f"unsupported results format {document.get('format')!r}")
        results = [dict(r) for r in document["results"]]
        for result in results:  # e.g. saved by another gpuplanner version: say which field is missing
            protocol.check_result(result)
        return BenchRecord(saved_at=datetime.fromisoformat(document["saved_at"]),
                           hello=dict(document["hello"]), results=results)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a gpuplanner benchmark results file ({exc})") from exc


@dataclass(frozen=True)
class PeakRow:
    """One measured figure next to its datasheet peak; ``unit`` is TFLOP/s or GB/s."""

    label: str
    achieved: float
    unit: str
    peak: float | None
    pct_of_peak: float | None


def achieved_vs_peak(results: Sequence[Mapping[str, Any]], peak_tflops_by_dtype: Mapping[str, float],
                     peak_gbytes_per_s: float | None) -> list[PeakRow]:
    """Rows for every matmul and bandwidth result, with % of peak where a peak is known.

    Peaks come from the caller (the GPU catalog); a dtype without a peak gets None, not 0.
    """
    rows = []
    for result in results:
        if result.get("phase") == "matmul":
            n = result["size"]
            rows.append(_row(f"matmul {result['dtype']} {n}×{n}×{n}", result["tflops"], "TFLOP/s",
                             peak_tflops_by_dtype.get(result["dtype"])))
        elif result.get("phase") == "bandwidth":
            rows.append(_row(f"copy {result['tensor_bytes'] / 2**20:g} MiB", result["gbytes_per_s"], "GB/s",
                             peak_gbytes_per_s))
    return rows


def _row(label: str, achieved: float, unit: str, peak: float | None) -> PeakRow:
    pct_of_peak = 100.0 * achieved / peak if peak else None
    return PeakRow(label=label, achieved=achieved, unit=unit, peak=peak, pct_of_peak=pct_of_peak)
