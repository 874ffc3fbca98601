"""The GpuSource protocol every telemetry backend implements, and a fallback combinator.

All methods are called from the sampler thread only, so a slow driver can never
freeze the GUI. ``open``/``retry`` never raise: a failure becomes ``status()``.
"""
from __future__ import annotations

import dataclasses
from typing import Protocol

from gpuplanner.monitor.samples import (
    DeviceInfo,
    ProcessSnapshot,
    SensorSample,
    SourceStatus,
    UsageSample,
)


class GpuSource(Protocol):
    """A backend that lists devices and reads samples on demand."""

    def open(self) -> None:
        """Initialise once; afterwards ``status()`` says whether it worked."""

    def retry(self) -> None:
        """Try again after a failure (the user pressed Retry)."""

    def close(self) -> None:
        """Release the backend; safe to call when ``open`` failed."""

    def status(self) -> SourceStatus: ...

    def devices(self) -> tuple[DeviceInfo, ...]: ...

    def read_usage(self, device_uuid: str, timestamp_s: float) -> UsageSample | None:
        """Memory and utilisation now, or None when the device cannot answer."""

    def read_sensors(self, device_uuid: str, timestamp_s: float) -> SensorSample | None:
        """Power, temperature and clocks now, or None when the device has none."""

    def read_processes(
        self, device_uuid: str, timestamp_s: float, watched_pid: int | None
    ) -> ProcessSnapshot | None:
        """Per-process memory; ``watched_pid`` (the benchmark) comes back flagged."""


class FallbackSource:
    """Uses ``primary`` (NVML) when it opens, otherwise ``fallback`` (CPU/RAM).

    The status keeps the primary's failure state and says what is shown instead,
    so the panel can tell the user why there is no GPU and still be useful.
    """

    def __init__(self, primary: GpuSource, fallback: GpuSource, fallback_label: str) -> None:
        self._primary = primary
        self._fallback = fallback
        self._fallback_label = fallback_label
        self._active: GpuSource = primary

    @property
    def active(self) -> GpuSource:
        return self._active

    def open(self) -> None:
        self._primary.open()
        self._choose()

    def retry(self) -> None:
        self._primary.retry()
        self._choose()

    def _choose(self) -> None:
        if self._primary.status().ok:
            if self._active is self._fallback:
                self._fallback.close()
            self._active = self._primary
        elif self._active is not self._fallback:
            self._fallback.open()
            self._active = self._fallback

    def close(self) -> None:
        self._primary.close()
        self._fallback.close()

    def status(self) -> SourceStatus:
        primary = self._primary.status()
        if self._active is self._primary:
            return primary
        message = f"{primary.message} — showing {self._fallback_label}"
        return dataclasses.replace(primary, message=message)

    def devices(self) -> tuple[DeviceInfo, ...]:
        return self._active.devices()

    def read_usage(self, device_uuid: str, timestamp_s: float) -> UsageSample | None:
        return self._active.read_usage(device_uuid, timestamp_s)

    def read_sensors(self, device_uuid: str, timestamp_s: float) -> SensorSample | None:
        return self._active.read_sensors(device_uuid, timestamp_s)

    def read_processes(
        self, device_uuid: str, timestamp_s: float, watched_pid: int | None
    ) -> ProcessSnapshot | None:
        return self._active.read_processes(device_uuid, timestamp_s, watched_pid)
