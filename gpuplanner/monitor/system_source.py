"""CPU utilisation and RAM through psutil, so the live panel is useful on any laptop.

RAM "used" is total minus available: what the user can still allocate, which is
what matters when sizing a CPU benchmark (psutil's own ``used`` varies by OS).
"""
from __future__ import annotations

import os

import psutil

from gpuplanner.monitor.samples import (
    NAN,
    DeviceInfo,
    DeviceKind,
    ProcessSample,
    ProcessSnapshot,
    SensorSample,
    SourceState,
    SourceStatus,
    UsageSample,
)

HOST_UUID = "host"


class SystemSource:
    """The host as a single device: CPU %, RAM, and the watched process's resident memory."""

    def __init__(self) -> None:
        self._device = DeviceInfo(
            uuid=HOST_UUID, name=f"CPU/RAM ({os.cpu_count()} logical cores)", index=0, kind=DeviceKind.HOST
        )
        self._cpu_baseline_set = False

    def open(self) -> None:
        self._cpu_baseline_set = False

    def _cpu_util_pct(self) -> float:
        """psutil's first call only sets a baseline and returns 0.0: report a gap instead."""
        value = psutil.cpu_percent(interval=None)
        if not self._cpu_baseline_set:
            self._cpu_baseline_set = True
            return NAN
        return value

    def retry(self) -> None:
        """Nothing can fail here; kept for the protocol."""

    def close(self) -> None:
        """psutil holds nothing that needs releasing."""

    def status(self) -> SourceStatus:
        return SourceStatus(SourceState.OK, "CPU/RAM via psutil")

    def devices(self) -> tuple[DeviceInfo, ...]:
        return (self._device,)

    def read_usage(self, device_uuid: str, timestamp_s: float) -> UsageSample | None:
        ram = psutil.virtual_memory()
        return UsageSample(
            timestamp_s=timestamp_s,
            device_uuid=device_uuid,
            cpu_util_pct=self._cpu_util_pct(),
            ram_total_bytes=float(ram.total),
            ram_used_bytes=float(ram.total - ram.available),
        )

    def read_sensors(self, device_uuid: str, timestamp_s: float) -> SensorSample | None:
        return None  # no power/temperature/clock fields for the host

    def read_processes(
        self, device_uuid: str, timestamp_s: float, watched_pid: int | None
    ) -> ProcessSnapshot | None:
        if watched_pid is None:
            return ProcessSnapshot(timestamp_s, device_uuid)
        try:
            rss_bytes = psutil.Process(watched_pid).memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return ProcessSnapshot(timestamp_s, device_uuid)
        watched = ProcessSample(pid=watched_pid, used_mem_bytes=float(rss_bytes), is_watched=True)
        return ProcessSnapshot(timestamp_s, device_uuid, (watched,))
