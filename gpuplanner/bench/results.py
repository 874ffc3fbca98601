"""Benchmark results on disk (dated JSON, written atomically) and against datasheet peaks.

Qt-free and torch-free: the GUI, the CLI and tests share it.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from gpuplanner.bench.run import BenchRun
from gpuplanner.core import safe_io
from gpuplanner.core.atomic import atomic_write
from gpuplanner.core.catalogs import GpuSpec
from gpuplanner.core.units import MIB


def save_results(folder: Path, run: BenchRun) -> Path:
    """Write ``bench-YYYYmmdd-HHMMSS.json`` (named for when the run was measured) in ``folder``.

    Atomic (core.atomic): a crash mid-write never leaves a half-written results file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{run.measured_at:%Y%m%d-%H%M%S}.json"
    document = run.to_json()

    def write(temp: Path) -> None:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
    atomic_write({path: write})
    return path


def load_results(path: Path) -> BenchRun:
    """Read a file written by save_results (or by a version writing format 1); ValueError (with
    the path and the field at fault) if it is not one."""
    try:
        document = safe_io.load_json(path)  # regular file, size cap, nesting and number checks
        return BenchRun.from_json(document)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a gpuplanner benchmark results file ({exc})") from exc


@dataclass(frozen=True)
class PeakRow:
    """One measured figure next to its datasheet peak, in canonical units (``unit`` is FLOP/s or B/s)."""

    label: str
    achieved: float
    unit: str
    peak: float | None
    pct_of_peak: float | None


def achieved_vs_peak(run: BenchRun, datasheet: GpuSpec | None) -> list[PeakRow]:
    """Rows for every matmul and copy result, with % of peak where the datasheet gives one.

    ``datasheet`` is the catalog GPU the device is (None for a CPU or an unknown GPU); a dtype
    without a datasheet peak gets None, not 0.
    """
    rows = [_row(f"matmul {m.dtype} {m.size}×{m.size}×{m.size}", m.flops_per_s, "FLOP/s",
                 datasheet.peak(m.dtype) if datasheet else None) for m in run.matmul]
    rows += [_row(f"copy {c.tensor_bytes / MIB:g} MiB", c.bytes_per_s, "B/s",
                  datasheet.bandwidth_bytes_per_s if datasheet else None) for c in run.copy]
    return rows


def _row(label: str, achieved: float, unit: str, peak: float | None) -> PeakRow:
    peak = peak if peak is not None and math.isfinite(peak) and peak > 0 else None
    pct_of_peak = 100.0 * achieved / peak if peak else None
    return PeakRow(label=label, achieved=achieved, unit=unit, peak=peak, pct_of_peak=pct_of_peak)
