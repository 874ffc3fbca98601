"""Bounded, numpy-backed history of samples, so hours of monitoring use constant memory."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gpuplanner.monitor.samples import SensorSample, UsageSample, float_field_names


def capacity_for(history_s: float, interval_s: float) -> int:
    """Rows needed to hold ``history_s`` seconds sampled every ``interval_s``."""
    return max(1, math.ceil(history_s / interval_s))


class RingBuffer:
    """Fixed-capacity table of float columns; appends overwrite the oldest row."""

    def __init__(self, columns: Sequence[str], capacity: int) -> None:
        self.columns = tuple(columns)
        self._data = np.full((capacity, len(self.columns)), np.nan)
        self._next = 0
        self._size = 0

    @property
    def capacity(self) -> int:
        return self._data.shape[0]

    def __len__(self) -> int:
        return self._size

    def append(self, row: Sequence[float]) -> None:
        self._data[self._next] = row
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def append_sample(self, sample: Any) -> None:
        """Append a sample dataclass whose fields include this buffer's columns."""
        self.append([getattr(sample, name) for name in self.columns])

    def table(self) -> dict[str, np.ndarray]:
        """Every column, oldest row first (copies, safe to hand to a plot)."""
        if self._size < self.capacity:
            ordered = self._data[: self._size].copy()
        else:
            ordered = np.concatenate((self._data[self._next :], self._data[: self._next]))
        return {name: ordered[:, i] for i, name in enumerate(self.columns)}

    def last(self, column: str) -> float:
        """Newest value of one column (NaN when empty)."""
        if self._size == 0:
            return math.nan
        return float(self._data[self._next - 1, self.columns.index(column)])


class DeviceHistory:
    """One device's usage and sensor samples, each kind with its own timestamps and rate."""

    def __init__(self, usage_capacity: int, sensors_capacity: int) -> None:
        self.usage = RingBuffer(float_field_names(UsageSample), usage_capacity)
        self.sensors = RingBuffer(float_field_names(SensorSample), sensors_capacity)

    def add(self, sample: UsageSample | SensorSample) -> None:
        target = self.usage if isinstance(sample, UsageSample) else self.sensors
        target.append_sample(sample)
