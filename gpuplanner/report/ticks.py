"""Axis scales for the report's charts, Qt-free: value → position, and tick values a reader can
read at a glance (1, 2, 5 × 10^k)."""
from __future__ import annotations

import math
from dataclasses import dataclass

NICE_STEPS = (1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class Scale:
    """Maps [lo, hi] (log10 when `log`) onto [start, end] in drawing units."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    @classmethod
    def fitting(cls, values, start: float, end: float, log: bool = False, from_zero: bool = False) -> Scale:
        """A scale over the values with a little air; log scales widen to whole 1-2-5 steps."""
        lo, hi = min(values), max(values)
        if log:
            lo, hi = _nice_floor(lo), _nice_ceil(hi)
            return cls(lo, hi, start, end, log=True) if hi > lo else cls(lo / 2, hi * 2, start, end, log=True)
        lo = 0.0 if from_zero else lo
        pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
        return cls(lo if from_zero else lo - pad, hi + pad, start, end)

    def __call__(self, value: float) -> float:
        f = self._t
        return self.start + (f(value) - f(self.lo)) / (f(self.hi) - f(self.lo)) * (self.end - self.start)

    def _t(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def ticks(self) -> list[float]:
        return _log_ticks(self.lo, self.hi) if self.log else _linear_ticks(self.lo, self.hi)


def _linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    raw = (hi - lo) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s for s in NICE_STEPS if s * magnitude >= raw) * magnitude
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    mantissas = (1.0,) if math.log10(hi / lo) > 2.5 else (1.0, 2.0, 5.0)
    return [m * 10**d for d in decades for m in mantissas if lo * (1 - 1e-9) <= m * 10**d <= hi * (1 + 1e-9)]


def _nice_floor(value: float) -> float:
    magnitude = 10 ** math.floor(math.log10(value))
    return max(s * magnitude for s in NICE_STEPS if s * magnitude <= value * (1 + 1e-9))


def _nice_ceil(value: float) -> float:
    magnitude = 10 ** math.floor(math.log10(value))
    return min(s * magnitude for s in NICE_STEPS if s * magnitude >= value * (1 - 1e-9))
