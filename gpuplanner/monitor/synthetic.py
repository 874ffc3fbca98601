"""A deterministic, GPU-like source for demos, tests and cost measurements without a GPU.

Values are smooth functions of the timestamp (a benchmark that ramps memory and
load), so a recorded synthetic session is reproducible byte for byte.
"""
from __future__ import annotations

import math
from pathlib import Path

from gpuplanner.monitor.samples import (
    DeviceInfo,
    ProcessSample,
    ProcessSnapshot,
    SensorSample,
    SourceState,
    SourceStatus,
    UsageSample,
)
from gpuplanner.monitor.session import SessionRecorder

_GIB = 2**30
_OTHER_PID = 4242


class SyntheticSource:
    """``device_count`` identical 80 GiB GPUs running a periodic load."""

    def __init__(self, device_count: int = 1, period_s: float = 60.0) -> None:
        self._period_s = period_s
        self._devices = tuple(
            DeviceInfo(uuid=f"GPU-synthetic-{i}", name="Synthetic 80GB", index=i) for i in range(device_count)
        )

    def open(self) -> None:
        """Nothing to initialise."""

    def retry(self) -> None:
        """Nothing can fail."""

    def close(self) -> None:
        """Nothing to release."""

    def status(self) -> SourceStatus:
        return SourceStatus(SourceState.OK, "Synthetic GPU telemetry")

    def devices(self) -> tuple[DeviceInfo, ...]:
        return self._devices

    def _load(self, timestamp_s: float) -> float:
        """0..1, rising and falling once per period."""
        return 0.5 - 0.5 * math.cos(2 * math.pi * (timestamp_s % self._period_s) / self._period_s)

    def read_usage(self, device_uuid: str, timestamp_s: float) -> UsageSample:
        load = self._load(timestamp_s)
        return UsageSample(
            timestamp_s=timestamp_s,
            device_uuid=device_uuid,
            mem_total_bytes=80.0 * _GIB,
            mem_used_bytes=round((1.0 + 60.0 * load) * _GIB),
            mem_reserved_bytes=0.5 * _GIB,
            gpu_util_pct=round(97.0 * load),
            mem_bw_util_pct=round(60.0 * load),
        )

    def read_sensors(self, device_uuid: str, timestamp_s: float) -> SensorSample:
        load = self._load(timestamp_s)
        return SensorSample(
            timestamp_s=timestamp_s,
            device_uuid=device_uuid,
            power_w=round(70.0 + 550.0 * load, 1),
            power_limit_w=700.0,
            temperature_c=round(35.0 + 40.0 * load),
            sm_clock_mhz=round(1400.0 + 580.0 * load),
            mem_clock_mhz=2619.0,
        )

    def read_processes(self, device_uuid: str, timestamp_s: float, watched_pid: int | None) -> ProcessSnapshot:
        processes = [ProcessSample(pid=_OTHER_PID, used_mem_bytes=0.5 * _GIB)]
        if watched_pid is not None:
            used_bytes = self.read_usage(device_uuid, timestamp_s).mem_used_bytes
            processes.append(ProcessSample(pid=watched_pid, used_mem_bytes=used_bytes, is_watched=True))
        return ProcessSnapshot(timestamp_s, device_uuid, tuple(processes))


def write_synthetic_session(
    path: Path,
    usage_count: int,
    start_s: float = 1_750_000_000.0,
    interval_s: float = 0.5,
    device_count: int = 1,
) -> Path:
    """Record ``usage_count`` usage samples per device (sensors every second one)."""
    source = SyntheticSource(device_count)
    recorder = SessionRecorder(path)
    recorder.open()
    try:
        recorder.write_devices(source.devices())
        for step in range(usage_count):
            timestamp_s = start_s + step * interval_s
            for device in source.devices():
                recorder.write(source.read_usage(device.uuid, timestamp_s))
                if step % 2 == 0:
                    recorder.write(source.read_sensors(device.uuid, timestamp_s))
    finally:
        recorder.close()
    return Path(path)
