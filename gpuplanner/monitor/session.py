"""Recorded sessions as JSON lines: a recorder for any live source and a replay source.

Format (version 1), one object per line, ``kind`` first: a ``header``, then
``devices`` whenever the device list changes, then ``usage``, ``sensors`` and
``processes`` records with the sample fields; NaN is written as ``null``.

The recorder appends and flushes line by line instead of writing a temp file
and renaming it at close: a session is most worth keeping when the benchmark
or the app crashed, and then an append-only file still holds every line but
possibly a torn last one, which the replay skips.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

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
from gpuplanner.monitor.source import GpuSource

FORMAT_NAME = "gpuplanner-session"
FORMAT_VERSION = 1
_SAMPLE_KINDS: dict[str, type] = {"usage": UsageSample, "sensors": SensorSample}


def _plain(value: Any) -> Any:
    """JSON-safe copy of a sample value: NaN→None, enums→their value."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, DeviceKind):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _record(kind: str, obj: Any) -> str:
    return json.dumps({"kind": kind, **_plain(dataclasses.asdict(obj))})


def _floats(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: math.nan if v is None else v for k, v in fields.items()}


class SessionRecorder:
    """Writes one session file, line by line."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        self._devices: tuple[DeviceInfo, ...] = ()

    def open(self) -> None:
        self._file = self.path.open("w", encoding="utf-8", buffering=1)  # line-buffered: flushed per record
        self._write(json.dumps({"kind": "header", "format": FORMAT_NAME, "version": FORMAT_VERSION}))

    def write_devices(self, devices: tuple[DeviceInfo, ...]) -> None:
        if devices != self._devices:
            self._devices = devices
            self._write(json.dumps({"kind": "devices", "devices": [_plain(dataclasses.asdict(d)) for d in devices]}))

    def write(self, item: UsageSample | SensorSample | ProcessSnapshot | None) -> None:
        if isinstance(item, UsageSample):
            self._write(_record("usage", item))
        elif isinstance(item, SensorSample):
            self._write(_record("sensors", item))
        elif isinstance(item, ProcessSnapshot):
            self._write(_record("processes", item))

    def _write(self, line: str) -> None:
        if self._file is not None:
            self._file.write(line + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RecordingSource:
    """Wraps any source and records what it delivers, on the sampler thread."""

    def __init__(self, inner: GpuSource, recorder: SessionRecorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def open(self) -> None:
        self._recorder.open()
        self._inner.open()

    def retry(self) -> None:
        self._inner.retry()

    def close(self) -> None:
        self._inner.close()
        self._recorder.close()

    def status(self) -> SourceStatus:
        return self._inner.status()

    def devices(self) -> tuple[DeviceInfo, ...]:
        devices = self._inner.devices()
        self._recorder.write_devices(devices)
        return devices

    def read_usage(self, device_uuid: str, timestamp_s: float) -> UsageSample | None:
        sample = self._inner.read_usage(device_uuid, timestamp_s)
        self._recorder.write(sample)
        return sample

    def read_sensors(self, device_uuid: str, timestamp_s: float) -> SensorSample | None:
        sample = self._inner.read_sensors(device_uuid, timestamp_s)
        self._recorder.write(sample)
        return sample

    def read_processes(
        self, device_uuid: str, timestamp_s: float, watched_pid: int | None
    ) -> ProcessSnapshot | None:
        snapshot = self._inner.read_processes(device_uuid, timestamp_s, watched_pid)
        self._recorder.write(snapshot)
        return snapshot


@dataclasses.dataclass
class Session:
    """A parsed session file."""

    devices: tuple[DeviceInfo, ...] = ()
    usage: list[UsageSample] = dataclasses.field(default_factory=list)
    sensors: list[SensorSample] = dataclasses.field(default_factory=list)
    processes: list[ProcessSnapshot] = dataclasses.field(default_factory=list)


def _parse(record: dict[str, Any], session: Session) -> None:
    kind = record.pop("kind")
    if kind == "devices" and not session.devices:
        session.devices = tuple(
            DeviceInfo(**{**d, "kind": DeviceKind(d["kind"])}) for d in record["devices"]
        )
    elif kind in _SAMPLE_KINDS:
        sample = _SAMPLE_KINDS[kind](**_floats(record))
        getattr(session, kind).append(sample)
    elif kind == "processes":
        procs = tuple(ProcessSample(**_floats(p)) for p in record.pop("processes"))
        session.processes.append(ProcessSnapshot(processes=procs, **record))
    elif kind == "header" and record.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported session version {record.get('version')}")


def read_session(path: Path) -> Session:
    """Parse a session file; a torn last line (crash while recording) is skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    session = Session()
    for number, line in enumerate(lines, start=1):
        try:
            _parse(json.loads(line), session)
        except (ValueError, KeyError, TypeError) as err:
            if number == len(lines) and isinstance(err, json.JSONDecodeError):
                break
            raise ValueError(f"{path}:{number}: not a session record ({err})") from err
    return session


class ReplaySource:
    """Plays a session back, one recorded sample per request, at the sampler's pace.

    With ``loop`` the session repeats, shifted in time by its own length, so a
    demo runs forever with increasing timestamps; without it the source reports
    ``ENDED`` when a stream runs out.
    """

    def __init__(self, path: Path, loop: bool = False) -> None:
        self.path = Path(path)
        self._loop = loop
        self._session = Session()
        self._streams: dict[tuple[str, str], Iterator[Any]] = {}
        self._status = SourceStatus(SourceState.ERROR, "Replay not started")

    def open(self) -> None:
        try:
            self._session = read_session(self.path)
        except (OSError, ValueError) as err:
            message = f"Cannot replay {self.path.name}: {err}"
            self._status = SourceStatus(SourceState.ERROR, message, "Pick another file.")
            return
        self._streams = {}
        self._status = SourceStatus(SourceState.OK, f"Replaying {self.path.name}")

    def retry(self) -> None:
        self.open()

    def close(self) -> None:
        self._streams = {}

    def status(self) -> SourceStatus:
        return self._status

    def devices(self) -> tuple[DeviceInfo, ...]:
        return self._session.devices

    def _lap_s(self) -> float:
        stamps = sorted(s.timestamp_s for s in self._session.usage)
        if len(stamps) < 2:
            return 1.0
        return (stamps[-1] - stamps[0]) * len(stamps) / (len(stamps) - 1)

    def _stream(self, kind: str, device_uuid: str) -> Iterator[Any]:
        items = [s for s in getattr(self._session, kind) if s.device_uuid == device_uuid]
        lap_s = self._lap_s()
        lap = 0
        while True:
            shift_s = lap * lap_s
            for item in items:
                yield dataclasses.replace(item, timestamp_s=item.timestamp_s + shift_s)
            if not (self._loop and items):
                return
            lap += 1

    def _next(self, kind: str, device_uuid: str) -> Any:
        key = (kind, device_uuid)
        if key not in self._streams:
            self._streams[key] = self._stream(kind, device_uuid)
        item = next(self._streams[key], None)
        if item is None and kind == "usage" and self._status.ok:  # every device records usage
            self._status = SourceStatus(SourceState.ENDED, f"Replay of {self.path.name} finished")
        return item

    def read_usage(self, device_uuid: str, timestamp_s: float) -> UsageSample | None:
        return self._next("usage", device_uuid)

    def read_sensors(self, device_uuid: str, timestamp_s: float) -> SensorSample | None:
        return self._next("sensors", device_uuid)

    def read_processes(
        self, device_uuid: str, timestamp_s: float, watched_pid: int | None
    ) -> ProcessSnapshot | None:
        return self._next("processes", device_uuid)
