"""DCGM-exporter series in Prometheus, read into typed per-GPU values and histories.

The vocabulary is dcgm-exporter's (field ids ``DCGM_FI_*`` and the labels it writes:
``Hostname``, ``gpu``, ``UUID``, ``modelName``, and ``pod``/``namespace`` on Kubernetes,
``hpc_job`` with Slurm job mapping); column names are the local export's
(monitor/export.py), so a cluster CSV and a local CSV line up. A field no series carries
is NaN, never 0. Fields: https://docs.nvidia.com/datacenter/dcgm/latest/dcgm-api/dcgm-api-field-ids.html
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from gpuplanner.core.errors import InputError
from gpuplanner.monitor.prometheus import InstantSeries, RangeSeries


@dataclass(frozen=True)
class DcgmField:
    """A DCGM-exporter metric, the CSV column it becomes and the factor to the column's unit."""

    metric: str
    column: str
    scale: float = 1.0


_RATIO_TO_PCT = 100.0  # DCGM_FI_PROF_* activities are ratios 0..1
DCGM_FIELDS = (
    DcgmField("DCGM_FI_DEV_GPU_UTIL", "gpu_util_pct"),
    DcgmField("DCGM_FI_DEV_MEM_COPY_UTIL", "mem_copy_util_pct"),
    DcgmField("DCGM_FI_DEV_FB_USED", "fb_used_mib"),
    DcgmField("DCGM_FI_DEV_FB_FREE", "fb_free_mib"),
    DcgmField("DCGM_FI_DEV_FB_RESERVED", "fb_reserved_mib"),
    DcgmField("DCGM_FI_DEV_POWER_USAGE", "power_w"),
    DcgmField("DCGM_FI_DEV_GPU_TEMP", "temperature_c"),
    DcgmField("DCGM_FI_DEV_SM_CLOCK", "sm_clock_mhz"),
    DcgmField("DCGM_FI_DEV_MEM_CLOCK", "mem_clock_mhz"),
    DcgmField("DCGM_FI_DEV_XID_ERRORS", "xid_last_error"),  # the last XID error code, 0 = none
    DcgmField("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gr_engine_active_pct", _RATIO_TO_PCT),
    DcgmField("DCGM_FI_PROF_SM_ACTIVE", "sm_active_pct", _RATIO_TO_PCT),
    DcgmField("DCGM_FI_PROF_SM_OCCUPANCY", "sm_occupancy_pct", _RATIO_TO_PCT),
    DcgmField("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "tensor_active_pct", _RATIO_TO_PCT),
    DcgmField("DCGM_FI_PROF_DRAM_ACTIVE", "dram_active_pct", _RATIO_TO_PCT),
)
FIELDS_BY_METRIC = {f.metric: f for f in DCGM_FIELDS}
# Without these the overview has an empty column: the view names them when no series has them.
OVERVIEW_METRICS = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
                    "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_XID_ERRORS")
_DEV_METRICS = "|".join(f.metric for f in DCGM_FIELDS if f.metric.startswith("DCGM_FI_DEV_"))
SELECTOR_NAME = f'__name__=~"{_DEV_METRICS}|DCGM_FI_PROF_.+"'  # every PROF field the exporter has
BYTES_PER_MIB = 2**20


def column_of(metric: str) -> str:
    """The column a metric becomes; a PROF field not in the table keeps its own name, lower-cased."""
    known = FIELDS_BY_METRIC.get(metric)
    return known.column if known else metric.removeprefix("DCGM_FI_").lower()


def _scale_of(metric: str) -> float:
    known = FIELDS_BY_METRIC.get(metric)
    return known.scale if known else 1.0


def fb_total_mib(used, free, reserved):
    """The device's memory as DCGM splits it: used + free (+ reserved, where exported).
    Works on numbers and arrays alike; unknown used or free gives NaN."""
    return used + free + np.nan_to_num(reserved, nan=0.0)


@dataclass(frozen=True)
class LabelFilter:
    """Which GPUs to show: each non-empty entry is a regular expression on one exporter label."""

    hostname: str = ""
    namespace: str = ""
    pod: str = ""
    slurm_job: str = ""

    LABELS = (("hostname", "Hostname"), ("namespace", "namespace"), ("pod", "pod"), ("slurm_job", "hpc_job"))

    def __post_init__(self) -> None:
        for name, _ in self.LABELS:
            try:
                re.compile(getattr(self, name))
            except re.error as e:
                raise InputError(name, f"'{getattr(self, name)}' is not a regular expression ({e})") from None

    def matchers(self) -> str:
        """PromQL label matchers, e.g. ``, Hostname=~"node-a"`` (empty when nothing is filtered)."""
        parts = [f'{label}=~"{escape_label_value(getattr(self, name))}"' for name, label in self.LABELS
                 if getattr(self, name)]
        return "".join(", " + p for p in parts)


def escape_label_value(value: str) -> str:
    """A PromQL double-quoted string's content."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True, order=True)
class ClusterGpu:
    """One GPU as the exporter labels it; ``key`` (its UUID, else node/index) identifies it."""

    hostname: str
    index: int
    uuid: str = ""
    model_name: str = ""
    job: str = ""  # pod (namespace/pod) or Slurm job the GPU is assigned to, if the exporter says
    host_label: str = "Hostname"  # the label ``hostname`` came from ("instance" without Hostname)

    @property
    def key(self) -> str:
        return self.uuid or f"{self.hostname}/{self.index}"

    @property
    def label(self) -> str:
        return f"{self.hostname} GPU {self.index}"


def gpu_of(labels: Mapping[str, str]) -> ClusterGpu:
    pod = "/".join(p for p in (labels.get("namespace", ""), labels.get("pod", "")) if p)
    try:
        index = int(labels.get("gpu", "-1"))
    except ValueError:
        index = -1
    host_label = "Hostname" if labels.get("Hostname") else "instance"
    return ClusterGpu(hostname=labels.get(host_label, "?"), index=index, uuid=labels.get("UUID", ""),
                      model_name=labels.get("modelName", ""), job=labels.get("hpc_job", "") or pod,
                      host_label=host_label)


@dataclass(frozen=True)
class GpuReading:
    """One GPU's latest values by column; a column no series carries is NaN."""

    gpu: ClusterGpu
    values: Mapping[str, float]

    def value(self, column: str) -> float:
        return self.values.get(column, math.nan)

    @property
    def fb_total_mib(self) -> float:
        return float(fb_total_mib(self.value("fb_used_mib"), self.value("fb_free_mib"), self.value("fb_reserved_mib")))


@dataclass(frozen=True)
class ClusterSnapshot:
    """Every matching GPU at one moment, ordered by node then index, and the overview
    metrics no series carried (a missing series, not a zero)."""

    timestamp_s: float
    readings: tuple[GpuReading, ...]
    missing_metrics: tuple[str, ...]

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.gpu.hostname for r in self.readings))


def snapshot_of(series: Iterable[InstantSeries], timestamp_s: float) -> ClusterSnapshot:
    """Group an instant vector of DCGM series by GPU."""
    values: dict[ClusterGpu, dict[str, float]] = {}
    seen: set[str] = set()
    for s in series:
        metric = s.labels.get("__name__", "")
        seen.add(metric)
        values.setdefault(gpu_of(s.labels), {})[column_of(metric)] = s.value * _scale_of(metric)
    readings = tuple(GpuReading(gpu, MappingProxyType(v)) for gpu, v in sorted(values.items()))
    missing = tuple(m for m in OVERVIEW_METRICS if m not in seen) if readings else OVERVIEW_METRICS
    return ClusterSnapshot(timestamp_s, readings, missing)


@dataclass(frozen=True)
class GpuHistory:
    """One GPU's columns on a common time grid (the range query's steps); gaps are NaN."""

    gpu: ClusterGpu
    times_s: np.ndarray
    columns: Mapping[str, np.ndarray]

    def column(self, name: str) -> np.ndarray:
        found = self.columns.get(name)
        return found if found is not None else np.full(len(self.times_s), np.nan)

    @property
    def fb_total_mib(self) -> np.ndarray:
        return fb_total_mib(self.column("fb_used_mib"), self.column("fb_free_mib"), self.column("fb_reserved_mib"))


def histories_of(series: Iterable[RangeSeries], start_s: float, end_s: float, step_s: float) -> tuple[GpuHistory, ...]:
    """Put range series on the grid start, start + step, … end (Prometheus evaluates exactly there)."""
    times_s = np.arange(start_s, end_s + step_s / 2, step_s)
    grids: dict[ClusterGpu, dict[str, np.ndarray]] = {}
    for s in series:
        metric = s.labels.get("__name__", "")
        column = grids.setdefault(gpu_of(s.labels), {}).setdefault(column_of(metric), np.full(len(times_s), np.nan))
        slots = np.rint((np.asarray(s.times_s) - start_s) / step_s).astype(int)
        keep = (slots >= 0) & (slots < len(times_s))
        column[slots[keep]] = np.asarray(s.values)[keep] * _scale_of(metric)
    return tuple(GpuHistory(gpu, times_s, MappingProxyType(cols)) for gpu, cols in sorted(grids.items()))


def history_step_s(window_s: float, max_points: int = 600) -> float:
    """A step giving at most ``max_points`` per curve, never finer than 1 s."""
    return max(1.0, math.ceil(window_s / max_points))
