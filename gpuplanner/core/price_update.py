"""Fresh instance prices from SkyPilot's public catalog (`gpuplanner-cli catalog update`,
Tools → Update prices); core.price_age says how old the prices in use are.

SkyPilot publishes one vms.csv per cloud (github.com/skypilot-org/skypilot-catalog,
catalogs/v8/<cloud>/vms.csv), regenerated about daily from the clouds' price APIs. Each file is
downloaded whole, checked (HTTP status, declared length, one cell per header column in every
row) and mapped onto the planner's instance rows; only when every cloud's file is good is the
result written, atomically, to the user's data folder. Any failure raises PriceUpdateError and
leaves the catalog in use untouched. Qt-free, standard library only.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from gpuplanner.core.atomic import WriteError, atomic_write_text
from gpuplanner.core.catalogs import Catalogs, Instance, load_catalogs
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.price_age import utc_today
from gpuplanner.core.resource_files import resource_path, updated_prices_path

DEFAULT_BASE_URL = "https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v8"
SOURCE_ENV = "GPUPLANNER_PRICES_URL"  # another folder in the same format (a mirror, a proxy, a local server)
CLOUDS = ("aws", "gcp", "azure", "lambda")
MAX_DOWNLOAD_BYTES = 64 * 2**20  # the largest vms.csv (AWS) is about 4 MiB
TIMEOUT_S = 30.0
REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "SpotPrice", "Region")
# Where a type the bundled catalog lacks is priced (the bundled rows keep their own region).
HOME_REGION = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus", "lambda": "us-east-1"}
COLUMNS = ("cloud", "instance_type", "gpu", "gpu_count", "price_usd_per_hour", "spot_price_usd_per_hour",
           "region", "vcpus", "host_memory_gib", "cloud_gpu_name", "source", "as_of", "notes")
_STANDARD_AWS_ZONE = re.compile(r"^[a-z]+\d-az\d+$")  # use1-az2; not Local Zones such as use1-atl2-az1


class PriceUpdateError(Exception):
    """The update failed; str() says why. The catalog in use is unchanged."""


@dataclass(frozen=True)
class UpdateSummary:
    path: Path  # the file written
    as_of: str  # the date the prices were downloaded (ISO)
    refreshed: int  # instance types whose prices were updated
    added: int  # instance types new to the catalog
    kept: tuple  # bundled instance types the download lacks: they keep their prices

    def text(self) -> str:
        kept = f"; {len(self.kept)} not in the download kept their previous prices" if self.kept else ""
        return (f"Prices as of {self.as_of}: {self.refreshed} instance types refreshed, "
                f"{self.added} added{kept}. Saved to {self.path}")


def default_base_url() -> str:
    """Where updates download from: $GPUPLANNER_PRICES_URL, else SkyPilot's catalog on GitHub."""
    return os.environ.get(SOURCE_ENV) or DEFAULT_BASE_URL


def update_prices(base_url: str = DEFAULT_BASE_URL, clouds: Iterable[str] = CLOUDS, today: dt.date | None = None,
                  target: Path | None = None, cancelled: Callable[[], bool] = lambda: False) -> UpdateSummary:
    """Download every cloud's vms.csv under `base_url`, map it onto the bundled instances and
    write the result to `target` (default: the user's data folder). `cancelled()` is asked just
    before writing: a cancelled update writes nothing."""
    today = today or utc_today()
    target = target or updated_prices_path()
    catalogs = load_catalogs(instances=resource_path("instances.csv"))  # the snapshot, not an older update
    rows, kept, added = [], [], 0
    for cloud in clouds:
        url = f"{base_url.rstrip('/')}/{cloud}/vms.csv"
        table = _parse(url, download(url))
        mine = [i for i in catalogs.instances.values() if i.cloud == cloud]
        fresh = [r for r in (_known_row(i, table, url, today) for i in mine) if r]
        if mine and not fresh:
            raise PriceUpdateError(f"{url} has none of the catalog's {len(mine)} {cloud} instance types; "
                                   "is it a SkyPilot v8 vms.csv? Nothing was changed")
        kept += sorted({i.instance_type for i in mine} - {r["instance_type"] for r in fresh})
        new = _new_rows(cloud, table, catalogs, url, today)
        rows += fresh + new
        added += len(new)
    if cancelled():
        raise PriceUpdateError("the update was cancelled; nothing was changed")
    _write(target, rows)
    return UpdateSummary(target, today.isoformat(), len(rows) - added, added, tuple(kept))


def download(url: str) -> bytes:
    """The whole body at `url` (http or https), refusing errors, oversize and short bodies.
    (urllib and http.client are imported here: ~40 ms of every start that never downloads.)"""
    import http.client
    import urllib.error
    import urllib.request

    if not url.lower().startswith(("http://", "https://")):
        raise PriceUpdateError(f"'{url}' is not an http:// or https:// address")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (scheme checked above)
            declared = response.headers.get("Content-Length")
            body = response.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as e:
        e.close()  # it holds the connection open
        raise PriceUpdateError(f"{url} answered HTTP {e.code} {e.reason}; nothing was changed") from None
    except urllib.error.URLError as e:
        raise PriceUpdateError(f"cannot reach {url} ({e.reason}); nothing was changed") from None
    except (OSError, ValueError, http.client.HTTPException) as e:  # timeouts, resets, a body cut short
        raise PriceUpdateError(f"the download of {url} failed ({e or type(e).__name__}); nothing was changed") from None
    if len(body) > MAX_DOWNLOAD_BYTES:
        raise PriceUpdateError(f"{url} is larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB; nothing was changed")
    if declared and declared.isdigit() and int(declared) != len(body):
        raise PriceUpdateError(f"the download of {url} is incomplete ({len(body):,} of {int(declared):,} bytes); "
                               "nothing was changed")
    return body


@dataclass(frozen=True)
class _Table:
    url: str
    rows: list  # dicts keyed by the SkyPilot header


def _parse(url: str, body: bytes) -> _Table:
    """A SkyPilot vms.csv: the required columns present and every row complete."""
    try:
        lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as e:
        raise PriceUpdateError(f"{url} is not a UTF-8 CSV file ({e}); nothing was changed") from None
    if not lines:
        raise PriceUpdateError(f"{url} is empty; nothing was changed")
    header = [c.strip() for c in lines[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PriceUpdateError(f"{url} is not a SkyPilot vms.csv: it lacks the column(s) {', '.join(missing)}; "
                               "nothing was changed")
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if not cells:
            continue
        if len(cells) != len(header):
            raise PriceUpdateError(f"{url}, line {number} has {len(cells)} cells but the header has {len(header)}: "
                                   "the file is truncated or malformed; nothing was changed")
        rows.append(dict(zip(header, cells)))
    return _Table(url, rows)


def _number(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        return math.nan
    return x if math.isfinite(x) and x >= 0 else math.nan


def _in_region(rows, region: str, cloud: str) -> list:
    out = [r for r in rows if r["Region"] == region]
    if cloud == "aws":  # spot is per zone; Local Zones are priced apart
        out = [r for r in out if _STANDARD_AWS_ZONE.match(r.get("AvailabilityZone", ""))] or out
    return out


def _prices(rows) -> tuple[float, float]:
    """(on-demand, spot) over one region's rows: on-demand is one figure, spot the cheapest zone."""
    def lowest(column):
        values = [x for x in (_number(r[column]) for r in rows) if math.isfinite(x)]
        return min(values) if values else math.nan
    return lowest("Price"), lowest("SpotPrice")


def _known_row(inst: Instance, table: _Table, url: str, today: dt.date) -> dict | None:
    """New prices for a catalog instance in its own region, or None when the download lacks it."""
    hosts = _in_region([r for r in table.rows if r["InstanceType"] == inst.instance_type], inst.region, inst.cloud)
    if not hosts:
        return None
    price, spot = _prices(hosts)
    how = f"spot = cheapest {inst.region} zone" if inst.cloud == "aws" else ""
    if inst.cloud == "gcp":  # the machine type and its GPUs are priced as separate rows
        gpu_rows = _in_region([r for r in table.rows if not r["InstanceType"]
                               and r["AcceleratorName"] == (inst.cloud_gpu_name or inst.gpu)
                               and _number(r["AcceleratorCount"]) == inst.gpu_count], inst.region, "gcp")
        if not gpu_rows:
            return None
        gpu_price, gpu_spot = _prices(gpu_rows)
        price, spot, how = price + gpu_price, spot + gpu_spot, "host + GPU rows"
    return _row(inst.cloud, inst.instance_type, inst.gpu, inst.gpu_count, price, spot, inst.region,
                hosts[0], inst.cloud_gpu_name, url, today, how)


def _new_rows(cloud: str, table: _Table, catalogs: Catalogs, url: str, today: dt.date) -> list[dict]:
    """Instance types the catalog lacks whose GPU it knows by the same name, in the cloud's home
    region (GCP's machine rows name no GPU, so GCP adds none)."""
    region = HOME_REGION.get(cloud, "")
    by_type: dict[str, list] = {}
    for r in table.rows:
        if (r["InstanceType"] and r["InstanceType"] not in catalogs.instances and r["AcceleratorName"] in catalogs.gpus
                and _number(r["AcceleratorCount"]) >= 1 and r["Region"] == region):
            by_type.setdefault(r["InstanceType"], []).append(r)
    out = []
    for itype, rows in sorted(by_type.items()):
        price, spot = _prices(_in_region(rows, region, cloud))
        count = _number(rows[0]["AcceleratorCount"])
        if count == int(count):
            name = rows[0]["AcceleratorName"]
            out.append(_row(cloud, itype, name, int(count), price, spot, region, rows[0], name, url, today,
                            "added by the update: network bandwidth unknown"))
    return out


def _row(cloud, itype, gpu, count, price, spot, region, host, cloud_gpu_name, url, today, how) -> dict:
    notes = [how] if how else []
    if math.isfinite(price) and math.isfinite(spot) and price < spot:  # a non-on-demand SKU, not a list price
        notes.append(f"the catalog's on-demand {price:g} is below its spot {spot:g}: on-demand left blank")
        price = math.nan
    elif math.isfinite(price) and spot == price:  # Azure lists some VMs with no spot market this way
        notes.append(f"the catalog's spot equals its on-demand {price:g}: spot left blank")
        spot = math.nan
    return {
        "cloud": cloud, "instance_type": itype, "gpu": gpu, "gpu_count": count,
        "price_usd_per_hour": _cell(price), "spot_price_usd_per_hour": _cell(spot), "region": region,
        "vcpus": host.get("vCPUs", ""), "host_memory_gib": host.get("MemoryGiB", ""),
        "cloud_gpu_name": cloud_gpu_name, "source": f"SkyPilot catalog {url}",
        "as_of": f"{today.isoformat()} (SkyPilot catalog download)", "notes": "; ".join(notes),
    }


def _cell(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) and x > 0 else ""


def _write(target: Path, rows: list[dict]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, out.getvalue())
        Catalogs().with_price_update(target)  # what the app will read back must load
    except (OSError, WriteError) as e:
        raise PriceUpdateError(f"{e}; the catalog in use is unchanged") from None
    except CatalogError as e:  # cannot happen with rows built above; kept loud if it ever does
        target.unlink(missing_ok=True)
        raise PriceUpdateError(f"the new prices do not load ({e}); nothing was kept") from None
