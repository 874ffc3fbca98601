"""One bounded memo for the pure searches a sweep repeats (serving capacities and rate bounds,
replica models, training layout searches): the same question comes back for every instance
size of a GPU and on every repeat sweep. Keys hold everything a result depends on, so a hit
is the same computation done once; the memo is cleared when full, never evicted piecemeal."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

MEMO_ENTRIES = 50_000
_MEMO: dict = {}
_INTERNED: dict = {}  # key → its number (interned), bounded and cleared like _MEMO
_NUMBERS = itertools.count()  # never restarts: a number once given names one key for good


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


def interned(key: tuple) -> int:
    """A small number standing for `key` in other keys (hashed once, not at every lookup):
    equal keys get the same number until the table is cleared, and no two keys ever share one."""
    try:
        return _INTERNED[key]
    except KeyError:
        pass
    if len(_INTERNED) >= MEMO_ENTRIES:
        _INTERNED.clear()
    number = _INTERNED[key] = next(_NUMBERS)
    return number


def forget() -> None:
    """Drop every remembered result: benchmarks/sweep_speed.py times first sweeps."""
    _MEMO.clear()
    _INTERNED.clear()
