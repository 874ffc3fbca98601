"""Unit constants, parsers for human quantities ("7B", "2T", "80GiB") and formatting.

Internally everything is bytes, seconds, FLOP, watts and USD; these helpers convert only at
the edges (CLI, form, reports).
"""
import math
import re

from gpuplanner.core.errors import InputError

KIB = 1024
MIB = 1024**2
GIB = 1024**3
GB = 10**9
HOURS_PER_MONTH = 730.0  # 8760 h / 12, the convention cloud price pages use
SECONDS_PER_DAY = 86400.0

_SUFFIX = {
    "": 1.0, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6,
    "b": 1e9, "g": 1e9, "billion": 1e9, "t": 1e12, "trillion": 1e12,
}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_count(text, field: str = "params") -> float:
    """Parse "7B", "6.74e9", "350M", "1.8T", "70 billion" or a plain number into a count."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        m = _NUMBER.match(str(text))
        suffix = m.group(2).lower() if m else None
        if not m or suffix not in _SUFFIX:
            raise InputError(
                field,
                f"'{text}' is not a count; use a number with an optional K/M/B/T suffix, "
                "e.g. 7B, 6.74e9, 350M, 1.8T or '70 billion'",
            )
        value = float(m.group(1)) * _SUFFIX[suffix]
    if not math.isfinite(value) or value <= 0:
        raise InputError(field, f"'{text}' must be a positive finite number")
    return value


def parse_bytes(text, field: str) -> float:
    """Parse "0.75GiB", "800MiB", "2GB" or a plain number of bytes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        m = re.match(r"^\s*([0-9]*\.?[0-9]+)\s*(b|kib|mib|gib|kb|mb|gb)?\s*$", str(text), re.I)
        if not m:
            raise InputError(field, f"'{text}' is not a size; use e.g. 0.75GiB, 800MiB or 2GB")
        unit = (m.group(2) or "b").lower()
        scale = {"b": 1, "kib": KIB, "mib": MIB, "gib": GIB, "kb": 1e3, "mb": 1e6, "gb": GB}[unit]
        value = float(m.group(1)) * scale
    if not math.isfinite(value) or value < 0:
        raise InputError(field, f"'{text}' must be zero or a positive size")
    return value


def fmt_count(n: float) -> str:
    """7.24e9 -> '7.24B' (3 significant figures)."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.3g}"


def fmt_flops(n: float) -> str:
    """2.638e21 -> '2.64 ZFLOP': a run's FLOPs with an SI prefix (3 significant figures)."""
    for scale, prefix in ((1e24, "Y"), (1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G")):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {prefix}FLOP"
    return f"{n:.3g} FLOP"


MEMORY_UNITS = {"GiB": GIB, "GB": GB}  # GiB (2^30) by default; GB (10^9) as vendors count


def fmt_memory(n_bytes: float, unit: str = "GiB") -> str:
    return f"{n_bytes / MEMORY_UNITS[unit]:,.1f} {unit}"


def fmt_gib(n_bytes: float) -> str:
    return fmt_memory(n_bytes, "GiB")


def fmt_number(x: float, spec: str = ",.0f") -> str:
    """A figure formatted with ``spec``; 'n/a' for a gap (NaN/inf), so no screen ever shows 'nan'."""
    return format(x, spec) if isinstance(x, (int, float)) and math.isfinite(x) else "n/a"


def fmt_usd(usd: float) -> str:
    """Cents below $100 ($0.68 per 1M tokens), whole dollars above ($5,103, $39,112): one style
    in every column, so amounts line up and compare at a glance."""
    if not math.isfinite(usd):
        return "n/a"
    if abs(usd) < 100:
        return f"${usd:,.2f}"
    return f"${usd:,.0f}"


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    if seconds >= 2 * SECONDS_PER_DAY:
        return f"{seconds / SECONDS_PER_DAY:,.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.1f} ms"


def fmt_sig(x: float, digits: int = 3) -> str:
    """`digits` significant figures without scientific notation: 1070.4 → '1,070', 0.012345 → '0.0123'."""
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    return f"{round(x, decimals):,.{max(decimals, 0)}f}"


def plural(n: float, word: str, words: str = "") -> str:
    """'1 replica', '3 replicas', '1 GPU', '8 GPUs' (with thousands separators)."""
    return f"{n:,.0f} {word if n == 1 else (words or word + 's')}"
