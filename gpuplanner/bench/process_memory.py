"""This process's resident memory on Linux: the peak since a reset, and giving freed heap back.

Torch keeps no counters for CPU tensors and tracemalloc does not see its allocator, so
on a CPU the honest peak is the kernel's own RSS high-water mark (VmHWM), which Linux
lets a process reset by writing 5 to /proc/self/clear_refs. Elsewhere these functions
report that they cannot help (False / None) and callers fall back. Torch-free.
"""
from __future__ import annotations

import contextlib
import ctypes
import re
from pathlib import Path


def trim_heap() -> None:
    """glibc keeps freed small blocks mapped; malloc_trim returns them (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_rss_high_water() -> bool:
    """Reset VmHWM to the current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_high_water_bytes() -> int | None:
    """Peak RSS since process start or the last reset; None where the kernel does not say."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None
