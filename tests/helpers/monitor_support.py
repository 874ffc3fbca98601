"""Recorded monitoring sessions replayed into a history, for the monitor and export tests."""
from __future__ import annotations

from pathlib import Path

from gpuplanner.monitor import DeviceHistory, ReplaySource


def replay_all(source: ReplaySource, uuid: str, kind: str) -> list:
    read = getattr(source, f"read_{kind}")
    return [s for s in iter(lambda: read(uuid, 0.0), None)]


def filled_history(path: Path) -> tuple[DeviceHistory, ReplaySource]:
    source = ReplaySource(path)
    source.open()
    uuid = source.devices()[0].uuid
    history = DeviceHistory(usage_capacity=100, sensors_capacity=50)
    for sample in replay_all(source, uuid, "usage") + replay_all(source, uuid, "sensors"):
        history.add(sample)
    return history, source
