"""Qt-free telemetry: sources (NVML, psutil, replay), the sampler thread, history and export.

The composition root builds ``Sampler(default_source())`` and hands it to the
live panel; tests build the same with fakes or a ``ReplaySource``.
"""
from gpuplanner.monitor.export import CSV_COLUMNS, export_history_csv, history_frame
from gpuplanner.monitor.history import DeviceHistory, RingBuffer
from gpuplanner.monitor.nvml_source import NvmlSource
from gpuplanner.monitor.sampler import Sampler, SamplerBatch, SamplerRates
from gpuplanner.monitor.samples import (
    DeviceInfo,
    DeviceKind,
    ProcessSample,
    ProcessSnapshot,
    SensorSample,
    SourceState,
    SourceStatus,
    UsageSample,
)
from gpuplanner.monitor.session import RecordingSource, ReplaySource, SessionRecorder, read_session
from gpuplanner.monitor.source import FallbackSource, GpuSource
from gpuplanner.monitor.system_source import SystemSource


def default_source() -> FallbackSource:
    """NVML when an NVIDIA driver answers, otherwise CPU/RAM through psutil."""
    return FallbackSource(NvmlSource(), SystemSource(), fallback_label="CPU/RAM")


__all__ = [
    "CSV_COLUMNS",
    "DeviceHistory",
    "DeviceInfo",
    "DeviceKind",
    "FallbackSource",
    "GpuSource",
    "NvmlSource",
    "ProcessSample",
    "ProcessSnapshot",
    "RecordingSource",
    "ReplaySource",
    "RingBuffer",
    "Sampler",
    "SamplerBatch",
    "SamplerRates",
    "SensorSample",
    "SessionRecorder",
    "SourceState",
    "SourceStatus",
    "SystemSource",
    "UsageSample",
    "default_source",
    "export_history_csv",
    "history_frame",
    "read_session",
]
