"""One bounded memo for the pure searches a sweep repeats (serving capacities and rate bounds,
replica models, training layout searches): the same question comes back for every instance
size of a GPU and on every repeat sweep. Keys hold everything a result depends on, so a hit
is the same computation done once; the memo is cleared when full, never evicted piecemeal."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

MEMO_ENTRIES = 50_000
_MEMO: dict = {}


def remembered(key: tuple, compute: Callable[[], Any]) -> Any:
    """The value for `key`, computed by `compute()` the first time it is asked for."""
    try:
        return _MEMO[key]
    except KeyError:
        pass
    value = compute()
    if len(_MEMO) >= MEMO_ENTRIES:
        _MEMO.clear()
    _MEMO[key] = value
    return value


def forget() -> None:
    """Drop every remembered result: benchmarks/sweep_speed.py times first sweeps."""
    _MEMO.clear()
