"""Immutable telemetry values passed from sources through the sampler to the GUI.

Every number carries its unit in its name. A field a device cannot report is
``float('nan')``: a gap in a plot, never a zero that looks like a reading.
Devices are keyed by UUID, not index, because NVML orders by PCI bus and a
fallback source may reuse index 0 for something else entirely.
"""
from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass

NAN = math.nan


class DeviceKind(enum.Enum):
    """What a device row stands for; the panel picks plots and labels by it."""

    GPU = "gpu"
    HOST = "host"


@dataclass(frozen=True)
class DeviceInfo:
    """A device as listed by a source; ``error`` is empty while it is healthy."""

    uuid: str
    name: str
    index: int
    kind: DeviceKind = DeviceKind.GPU
    error: str = ""


@dataclass(frozen=True)
class UsageSample:
    """Fast-changing fields, polled at the usage rate (default 2 Hz)."""

    timestamp_s: float
    device_uuid: str
    mem_total_bytes: float = NAN
    mem_used_bytes: float = NAN
    mem_reserved_bytes: float = NAN
    gpu_util_pct: float = NAN
    mem_bw_util_pct: float = NAN
    cpu_util_pct: float = NAN
    ram_total_bytes: float = NAN
    ram_used_bytes: float = NAN


@dataclass(frozen=True)
class SensorSample:
    """Slow-changing fields, polled at the sensor rate (default 1 Hz)."""

    timestamp_s: float
    device_uuid: str
    power_w: float = NAN
    power_limit_w: float = NAN
    temperature_c: float = NAN
    sm_clock_mhz: float = NAN
    mem_clock_mhz: float = NAN


@dataclass(frozen=True)
class ProcessSample:
    """One process's memory on a device; ``is_watched`` flags the benchmark's PID."""

    pid: int
    used_mem_bytes: float = NAN
    is_watched: bool = False


@dataclass(frozen=True)
class ProcessSnapshot:
    """All processes seen on one device at one moment."""

    timestamp_s: float
    device_uuid: str
    processes: tuple[ProcessSample, ...] = ()


class SourceState(enum.Enum):
    """Why a source is (not) delivering; failures are states, never exceptions."""

    OK = "ok"
    NO_DRIVER = "no driver"
    LIBRARY_MISSING = "library missing"
    DRIVER_NOT_LOADED = "driver not loaded"
    NO_PERMISSION = "permission"
    VERSION_MISMATCH = "version mismatch"
    BINDINGS_BROKEN = "bindings broken"
    NO_DEVICES = "no devices"
    ENDED = "ended"
    ERROR = "error"


@dataclass(frozen=True)
class SourceStatus:
    """A source's state with a one-line message and a hint on what to do about it."""

    state: SourceState
    message: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.state is SourceState.OK


def float_field_names(sample_type: type) -> tuple[str, ...]:
    """The numeric columns of a sample type, in declaration order (for ring buffers)."""
    return tuple(f.name for f in dataclasses.fields(sample_type) if f.type in ("float", float))
