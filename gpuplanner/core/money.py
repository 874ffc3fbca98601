"""The money options finance asks for, as pure functions over a plan's figures: negotiated
discounts per cloud, a daily load profile, the expected cost of spot with interruptions,
and what an API would bill for the same load.

Billing itself (whole instances, packing, the bill of a fleet) stays in core.pricing; this
module only parses the options and applies the published models to the plan's hours and load.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gpuplanner.core.errors import InputError

HOURS_PER_DAY = 24
# A spot run expected to take longer than this many times its uninterrupted time is shown as
# never finishing: at that point even a 90 % spot discount bills 10× the on-demand run.
NEVER_FINISHES_FACTOR = 100.0
DALY = ("Daly 2006, 'A higher order estimate of the optimum checkpoint interval for restart dumps' "
        "(expected wall time with exponential interruptions, restart cost R)")

_DISCOUNT = re.compile(r"^([A-Za-z][\w.-]*)\s*[=:]\s*([0-9.]+)\s*%?$")
_SEGMENT = re.compile(r"^(\d{1,2})\s*-\s*(\d{1,2})\s*[=:]\s*([0-9.eE+-]+)$")


def parse_discounts(text: str) -> dict[str, float]:
    """'aws=20 gcp=12.5' (percent off, per cloud name) → {'aws': 0.2, 'gcp': 0.125}."""
    out: dict[str, float] = {}
    for item in re.split(r"[,;\s]+", text.strip()):
        if not item:
            continue
        match = _DISCOUNT.match(item)
        if not match:
            raise InputError("discounts", f"'{item}' is not 'cloud=percent' (e.g. aws=20 gcp=15)")
        cloud, pct = match.group(1).lower(), _float(match.group(2), "discounts")
        if not 0 <= pct < 100:
            raise InputError("discounts", f"{cloud}: {pct:g} % must be from 0 to below 100")
        out[cloud] = pct / 100
    return out


def discount_for(cloud: str, discounts: dict[str, float]) -> float:
    return discounts.get(cloud.lower(), 0.0)


def hourly_rates(text: str, base_rate: float) -> tuple[float, ...]:
    """The request rate in each hour of the day (req/s). Empty text: `base_rate` all day.
    24 numbers give every hour; 'H-H=rate' segments (e.g. '9-18=40 18-23=10', end hour
    excluded, wrapping past midnight) set those hours and the others stay at `base_rate`."""
    items = [i for i in re.split(r"[,;\s]+", text.strip()) if i]
    if not items:
        return (base_rate,) * HOURS_PER_DAY
    if all(_SEGMENT.match(i) is None for i in items):
        if len(items) != HOURS_PER_DAY:
            raise InputError("load_profile", f"give 24 hourly request rates (got {len(items)}) or "
                             "hour ranges such as 9-18=40")
        rates = tuple(_float(i, "load_profile") for i in items)
    else:
        hours = [base_rate] * HOURS_PER_DAY
        for item in items:
            match = _SEGMENT.match(item)
            if match is None:
                raise InputError("load_profile", f"'{item}' is not an hour range such as 9-18=40")
            start, end, rate = int(match.group(1)), int(match.group(2)), _float(match.group(3), "load_profile")
            if start > 23 or end > 24 or start == end:
                raise InputError("load_profile", f"'{item}': hours run from 0 to 24 and a range needs two "
                                 "different hours")
            for h in range(start, end if end > start else end + HOURS_PER_DAY):
                hours[h % HOURS_PER_DAY] = rate
        rates = tuple(hours)
    if any(r < 0 or not math.isfinite(r) for r in rates):
        raise InputError("load_profile", "request rates must be zero or positive numbers")
    if not any(r > 0 for r in rates):
        raise InputError("load_profile", "at least one hour needs requests (a bill per token needs tokens)")
    return rates


def mean_rate(rates: tuple[float, ...]) -> float:
    """The day's mean request rate (exactly the rate when it is flat)."""
    return rates[0] if len(set(rates)) == 1 else math.fsum(rates) / len(rates)


def _float(text: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(field, f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise InputError(field, f"'{text}' is not a finite number")
    return value


# ---- spot with interruptions --------------------------------------------------------------

@dataclass(frozen=True)
class SpotRun:
    """The expected wall time of a run on spot capacity that is interrupted at random."""

    expected_hours: float  # NaN when the run never finishes in practice
    never_finishes: bool
    note: str  # why it never finishes ('' otherwise)


def spot_run(work_hours: float, units: int, interruptions_per_unit_hour: float, checkpoint_h: float,
             restart_h: float) -> SpotRun:
    """Expected hours to finish `work_hours` of work on `units` instances, each interrupted at
    `interruptions_per_unit_hour` (synchronous training stops when any one is: the job's rate is
    the sum). Work since the last checkpoint is lost at each interruption, and each restart
    costs `restart_h` (itself interruptible). Daly 2006 without the checkpoint-writing time:
    E = M·e^(R/M)·Σ_segments (e^(τ/M) − 1), M = 1/λ; checkpoint_h = 0 means one segment."""
    rate = interruptions_per_unit_hour * units
    if not work_hours > 0 or rate <= 0:
        return SpotRun(work_hours, False, "")
    tau = checkpoint_h if 0 < checkpoint_h < work_hours else work_hours
    full = math.floor(work_hours / tau + 1e-12)
    rest = max(0.0, work_hours - full * tau)
    mtbi = 1 / rate
    try:
        hours = mtbi * math.exp(restart_h / mtbi) * (full * math.expm1(tau / mtbi) + math.expm1(rest / mtbi))
    except OverflowError:
        hours = math.inf
    if hours <= NEVER_FINISHES_FACTOR * work_hours:
        return SpotRun(hours, False, "")
    every = f"a checkpoint every {checkpoint_h:g} h" if 0 < checkpoint_h < work_hours else "no checkpoint"
    return SpotRun(math.nan, True,
                   f"on spot with {interruptions_per_unit_hour:g} interruptions per instance-hour × {units} "
                   f"instances and {every}, the {work_hours:,.0f}-hour run is expected to take over "
                   f"{NEVER_FINISHES_FACTOR:g}× as long: it never finishes in practice; checkpoint more often")


# ---- self-host vs API ---------------------------------------------------------------------

def api_usd_per_request(prompt_tokens: int, output_tokens: int, usd_per_million_input: float,
                        usd_per_million_output: float) -> float:
    """What an API bills for one request at its per-million-token prices."""
    return (prompt_tokens * usd_per_million_input + output_tokens * usd_per_million_output) / 1e6


def breakeven_requests_per_s(block_monthly_usd: float, block_capacity_rps: float, usd_per_request: float,
                             seconds_per_month: float) -> float:
    """The lowest steady request rate from which self-hosting bills no more than the API.

    The fleet is whole blocks (the smallest billed unit that holds whole replicas), so its bill
    is a step function k·B of the rate while the API's is linear, a·x. Within block k self-hosting
    wins from k·B/a up to k·C (C: one block's capacity), so it wins somewhere iff B/a ≤ C, and
    then first at B/a. NaN when a full block already costs more than the API for what it carries."""
    api_per_rps = usd_per_request * seconds_per_month
    if not (api_per_rps > 0 and block_capacity_rps > 0 and math.isfinite(block_monthly_usd)):
        return math.nan
    rate = block_monthly_usd / api_per_rps
    return rate if rate <= block_capacity_rps * (1 + 1e-12) else math.nan
