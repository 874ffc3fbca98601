"""How old the catalog's prices are: the as-of notes the status bar, the About box and the CLI
show, and the warning when they are older than a quarter (core.price_update refreshes them)."""
from __future__ import annotations

import datetime as dt
import math
import re

from gpuplanner.core.catalogs import Catalogs

STALE_AFTER_DAYS = 90  # list prices move within a quarter (AWS cut P4/P5 prices ~45 % in June 2025)
_LEADING_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")


def price_as_of(catalogs: Catalogs) -> str:
    """The distinct as-of notes of the instance prices, for the status bar and About box."""
    return "; ".join(sorted({i.as_of for i in catalogs.instances.values() if i.as_of})) or "unknown"


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def row_date(as_of: str) -> dt.date | None:
    """The date an as-of note starts with (YYYY-MM-DD), or None for an undated note."""
    match = _LEADING_DATE.match(as_of)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def stale_prices(catalogs: Catalogs, today: dt.date | None = None) -> tuple[int, int]:
    """(priced instance types undated or older than STALE_AFTER_DAYS, priced instance types)."""
    today = today or utc_today()
    priced = [i for i in catalogs.instances.values()
              if math.isfinite(i.price_usd_per_hour) or math.isfinite(i.spot_price_usd_per_hour)]
    dates = [row_date(i.as_of) for i in priced]
    stale = sum(1 for d in dates if d is None or (today - d).days > STALE_AFTER_DAYS)
    return stale, len(priced)


def staleness_warning(catalogs: Catalogs, today: dt.date | None = None) -> str:
    """One line for the status bar and the CLI, or '' when every price is recent."""
    stale, priced = stale_prices(catalogs, today)
    if not stale:
        return ""
    return (f"{stale} of {priced} instance prices are undated or older than {STALE_AFTER_DAYS} days: "
            "Tools → Update prices (or gpuplanner-cli catalog update)")
