"""A running job's GPUs against the plan for its layout: measured next to predicted.

The same idea as the benchmark's "measured / predicted" line, per figure the plan states
for one GPU: memory in use (the plan's per-GPU peak, PlanResult.memory_per_gpu_bytes), the
device's memory (capacity_bytes), and how busy the GPUs are. The plan's time assumes the
GPUs never wait and run at MFU × dense peak (training) or MBU × memory bandwidth (serving);
DCGM's nearest counters are the tensor-pipe and DRAM activity (DCGM_FI_PROF_*), which only
approximate MFU and MBU: they count active cycles, not useful FLOPs or bytes.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gpuplanner.core.result import PlanResult
from gpuplanner.monitor.dcgm import BYTES_PER_MIB, GpuReading


@dataclass(frozen=True)
class CheckRow:
    """One figure: measured over the picked GPUs and the plan's value, in ``unit``."""

    label: str
    measured: float
    predicted: float
    unit: str  # "gpus", "bytes" or "pct"
    source: str  # the DCGM field (or count) measured, and the plan figure compared

    @property
    def ratio(self) -> float:
        """measured / predicted; NaN when either is unknown or the prediction is 0."""
        if not (math.isfinite(self.measured) and math.isfinite(self.predicted)) or self.predicted == 0:
            return math.nan
        return self.measured / self.predicted


@dataclass(frozen=True)
class JobCheck:
    rows: tuple[CheckRow, ...]
    gpu_models: tuple[str, ...]  # what the job runs on, to read beside the plan's GPU
    plan_gpu: str


def _stat(values: Iterable[float], how) -> float:
    """``how`` (max, mean) over the known values; NaN when there are none (a missing series)."""
    known = np.array([v for v in values if math.isfinite(v)], dtype=float)
    return float(how(known)) if len(known) else math.nan


def _column(readings: Sequence[GpuReading], column: str) -> Iterable[float]:
    return (r.value(column) for r in readings)


def check_job(readings: Sequence[GpuReading], result: PlanResult) -> JobCheck:
    """Compare the picked GPUs' latest readings with ``result`` (an empty pick gives NaNs)."""
    training = result.mode == "train"
    plan_gpus = result.gpus
    rows = [
        CheckRow("GPUs", float(len(readings)), float(plan_gpus), "gpus",
                 "GPUs picked vs the plan's " + ("GPUs" if training else "GPUs of one replica")),
        CheckRow("Memory in use, busiest GPU", _stat(_column(readings, "fb_used_mib"), np.max) * BYTES_PER_MIB,
                 result.memory_per_gpu_bytes, "bytes", "DCGM_FI_DEV_FB_USED vs the plan's per-GPU peak"),
        CheckRow("Memory in use, mean", _stat(_column(readings, "fb_used_mib"), np.mean) * BYTES_PER_MIB,
                 result.memory_per_gpu_bytes, "bytes", "DCGM_FI_DEV_FB_USED vs the plan's per-GPU peak"),
        CheckRow("Device memory", _stat((r.fb_total_mib for r in readings), np.mean) * BYTES_PER_MIB, result.capacity_bytes, "bytes",
                 "FB_USED + FB_FREE (+ RESERVED) vs the planned GPU's memory"),
        CheckRow("Busy time, mean", _stat(_column(readings, "gpu_util_pct"), np.mean), 100.0, "pct",
                 "DCGM_FI_DEV_GPU_UTIL vs the plan's GPUs that never wait"),
    ]
    efficiency = result.mfu if training else result.inputs.mbu  # training: the step model's MFU (or as pinned)
    if training:
        rows.append(CheckRow("Tensor pipe active, mean", _stat(_column(readings, "tensor_active_pct"), np.mean),
                             100.0 * efficiency, "pct", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE vs the plan's MFU"))
    else:
        rows.append(CheckRow("DRAM active, mean", _stat(_column(readings, "dram_active_pct"), np.mean),
                             100.0 * efficiency, "pct", "DCGM_FI_PROF_DRAM_ACTIVE vs the plan's MBU"))
    models = tuple(sorted({r.gpu.model_name for r in readings if r.gpu.model_name}))
    return JobCheck(tuple(rows), models, result.gpu_name)

