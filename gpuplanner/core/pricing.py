"""Money, defined once: which hardware a plan is priced on, what is billed, and which plan
is cheapest.

Clouds bill whole instances, so every hourly figure here is whole billing units (an
instance, or one GPU when planning by GPU only) × the unit's price. Training and serving,
the single estimate and the comparison table all price through these functions, and every
face (window, CLI, CSV, PDF) ranks candidates with `cheapest_first`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

from gpuplanner.core.catalogs import Catalogs, GpuSpec, Instance
from gpuplanner.core.errors import InputError, did_you_mean
from gpuplanner.core.links import Links, MeasuredLinks, links_for
from gpuplanner.core.money import discount_for, parse_discounts
from gpuplanner.core.units import HOURS_PER_MONTH

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
HOURS_PER_YEAR = HOURS_PER_MONTH * 12


@dataclass(frozen=True)
class Hardware:
    """The GPU a plan runs on and the unit it is billed in: a whole instance of
    `gpus_per_instance` GPUs, or (by GPU only) one GPU at the cheapest per-GPU price."""

    gpu: GpuSpec
    instance: Instance | None  # None when planning by GPU only
    gpus_per_instance: int
    max_tp: int
    unit_price_usd_per_hour: float  # one billing unit: the instance, or one GPU
    unit_spot_price_usd_per_hour: float
    price_as_of: str
    price_note: str
    unit_reserved_price_usd_per_hour: float = math.nan  # 1-year reserved/committed (NaN: not in the catalog)
    discount: float = 0.0  # the negotiated discount already applied to every price above
    measured_links: MeasuredLinks | None = None  # the plan chose the collective benchmark's figures
    network_bytes_per_s: float = math.nan  # the instance network as the user states it (NaN: the catalog's)

    def unit_price(self, kind: str) -> float:
        """One billing unit's price of a price kind (on_demand, spot, reserved_1y)."""
        return {"on_demand": self.unit_price_usd_per_hour, "spot": self.unit_spot_price_usd_per_hour,
                "reserved_1y": self.unit_reserved_price_usd_per_hour}[kind]

    @property
    def unit_gpus(self) -> int:
        return self.gpus_per_instance if self.instance else 1

    @property
    def price_per_gpu_hour(self) -> float:
        return self.unit_price_usd_per_hour / self.unit_gpus

    @property
    def links(self) -> Links:
        """What its GPUs talk over: the one place serving and training read link bandwidths."""
        links = links_for(self.gpu, self.instance, self.gpus_per_instance)
        if math.isfinite(self.network_bytes_per_s):  # stated by the user; measured links still win
            links = replace(links, network_bytes_per_s=self.network_bytes_per_s, source=links.source + "; network as set")
        return self.measured_links.applied_to(links) if self.measured_links is not None else links


def instance_hardware(inst: Instance, gpu: GpuSpec, discounts: dict[str, float] | None = None) -> Hardware:
    """An instance type as billed: the whole instance, tensor parallelism inside it (≤ 8) or, where
    the instance names a rack-scale NVLink domain wider than itself (GB200 NVL72: 72 GPUs across
    4-GPU trays), across that whole domain; every price kind less the negotiated discount for its
    cloud (the one place a discount is applied)."""
    n = inst.gpu_count
    off = discount_for(inst.cloud, discounts or {})
    note = f"{inst.cloud} {inst.instance_type} ({inst.region})" + (f", {off:.4g} negotiated discount" if off else "")
    return Hardware(gpu, inst, n, tensor_limit(inst), inst.price_usd_per_hour * (1 - off),
                    inst.spot_price_usd_per_hour * (1 - off), inst.as_of, note,
                    inst.reserved_1y_price_usd_per_hour * (1 - off), off)


def tensor_limit(inst: Instance) -> int:
    """The widest tensor/expert group that stays on NVLink: a rack-scale domain, else one instance (≤ 8)."""
    domain = inst.nvlink_domain_gpus or 0
    return domain if domain > inst.gpu_count else min(8, inst.gpu_count)


def resolve_hardware(inputs, catalogs: Catalogs) -> Hardware:
    """The inputs' instance type, or their GPU priced at the cheapest per-GPU instance price (after
    each cloud's negotiated discount); with the measured link bandwidths when the inputs choose them."""
    hw = _catalog_hardware(inputs, catalogs)
    if inputs.interconnect != "measured":
        return hw
    if catalogs.measured_links is None:
        raise InputError("interconnect", "no measured link bandwidths: give the collective benchmark's results "
                         "(“Use for planning” in the Live tab, or --collectives FILE; README, 'Measuring the "
                         "interconnect'), or choose catalog")
    return replace(hw, measured_links=catalogs.measured_links)


def _catalog_hardware(inputs, catalogs: Catalogs) -> Hardware:
    discounts = parse_discounts(inputs.discounts)  # each cloud's, before the cheapest per GPU
    if inputs.instance:
        inst = catalogs.instances.get(inputs.instance)
        if inst is None:
            raise InputError("instance", f"'{inputs.instance}' is not in the instance catalog"
                             f"{did_you_mean(inputs.instance, catalogs.instances)}"
                             " (the instance catalog lists them all)")
        if inst.gpu not in catalogs.gpus:
            raise InputError("instance", f"'{inst.instance_type}' has a GPU ({inst.gpu or 'unknown'}) "
                             "with no datasheet entry in the GPU catalog")
        return instance_hardware(inst, catalogs.gpus[inst.gpu], discounts)
    gpu = catalogs.gpus.get(inputs.gpu)
    if gpu is None:
        raise InputError("gpu", f"'{inputs.gpu}' is not in the GPU catalog; use one of "
                         f"{', '.join(sorted(catalogs.gpus))}")
    offers = [instance_hardware(i, gpu, discounts) for i in catalogs.instances.values() if i.gpu == gpu.name]
    priced = [h for h in offers if math.isfinite(h.unit_price_usd_per_hour)]
    if not priced:
        return Hardware(gpu, None, 8, 8, math.nan, math.nan, "", "no priced instance has this GPU")
    ref = min(priced, key=lambda h: h.price_per_gpu_hour)

    def cheapest(kind: str) -> float:
        return min((h.unit_price(kind) / h.unit_gpus for h in offers if math.isfinite(h.unit_price(kind))),
                   default=math.nan)
    return Hardware(gpu, None, 8, 8, ref.price_per_gpu_hour, cheapest("spot"), ref.price_as_of,
                    f"cheapest per GPU: {ref.price_note}", cheapest("reserved_1y"), ref.discount)


# ---- billing --------------------------------------------------------------------------------

def billed_instances(gpus: int, hw: Hardware) -> float:
    """Whole instances holding `gpus` GPUs (NaN when planning by GPU only)."""
    return float(math.ceil(gpus / hw.gpus_per_instance)) if hw.instance else math.nan


def hourly_usd(gpus: int, hw: Hardware, spot: bool = False, kind: str = "on_demand") -> float:
    """What `gpus` GPUs cost per hour (at spot, or at price `kind`): whole instances, or
    GPU-hours by GPU only."""
    return math.ceil(gpus / hw.unit_gpus) * hw.unit_price("spot" if spot else kind)


def reserved_cost_usd(gpus: int, hw: Hardware, hours: float) -> float:
    """A run on 1-year reserved/committed capacity: the commitment bills a whole year (8,760 h)
    even when the run is shorter."""
    return hourly_usd(gpus, hw, kind="reserved_1y") * max(hours, HOURS_PER_YEAR)


@dataclass(frozen=True)
class Fleet:
    """Serving replicas packed into billed instances. A replica never straddles instances
    unless it is larger than one; replica slots left free in a billed instance are capacity
    already paid for."""

    replicas: int  # replicas the load needs
    replica_gpus: int
    instances: float  # NaN when planning by GPU only
    billed_gpus: int
    replica_slots: int  # replicas the billed fleet holds
    hourly_usd: float
    spot_hourly_usd: float
    # NaN when the catalog has no reserved price: left out of ==, which NaN would always fail
    reserved_hourly_usd: float = field(default=math.nan, compare=False)

    @property
    def monthly_cost_usd(self) -> float:
        return self.hourly_usd * HOURS_PER_MONTH

    @property
    def spot_monthly_cost_usd(self) -> float:
        return self.spot_hourly_usd * HOURS_PER_MONTH

    @property
    def replica_price_usd_per_hour(self) -> float:
        """The replica's share of what is billed."""
        return self.hourly_usd / self.replica_slots


def serving_fleet(replicas: int, replica_gpus: int, hw: Hardware) -> Fleet:
    per = hw.unit_gpus
    if replica_gpus <= per:
        slots_per_unit = per // replica_gpus
        units = math.ceil(replicas / slots_per_unit)
        slots = units * slots_per_unit
    else:
        units = replicas * math.ceil(replica_gpus / per)
        slots = replicas
    return Fleet(replicas, replica_gpus, float(units) if hw.instance else math.nan, units * per, slots,
                 units * hw.unit_price_usd_per_hour, units * hw.unit_spot_price_usd_per_hour,
                 units * hw.unit_reserved_price_usd_per_hour)


@dataclass(frozen=True)
class DailyBill:
    """A serving fleet scaled hour by hour over a day (replicas per hour; an hour with none is
    scaled to zero), billed by the hour. A flat day is one fleet all month."""

    fleets: tuple  # one Fleet per hour of the day
    monthly_cost_usd: float
    spot_monthly_cost_usd: float

    @cached_property
    def peak(self) -> Fleet:
        """The busiest hour's fleet (asked for by every face of a plan: computed once)."""
        return max(self.fleets, key=lambda f: (f.billed_gpus, f.replicas))

    @property
    def reserved_monthly_cost_usd(self) -> float:
        """A commitment cannot scale down: the busiest hour's fleet all month."""
        return self.peak.reserved_hourly_usd * HOURS_PER_MONTH


def daily_bill(replicas_by_hour, replica_gpus: int, hw: Hardware) -> DailyBill:
    hours: dict = {}  # replica count → hours of the day with it (a flat day has one count)
    for n in replicas_by_hour:
        hours[n] = hours.get(n, 0) + 1
    by_count = {n: serving_fleet(n, replica_gpus, hw) for n in hours}
    fleets = tuple(by_count[n] for n in replicas_by_hour)

    def monthly(hourly) -> float:  # grouped by hourly price, so a flat day is exactly hourly × 730
        counts: dict = {}
        for n, fleet in by_count.items():
            counts[hourly(fleet)] = counts.get(hourly(fleet), 0) + hours[n]
        return sum(usd * (n / len(fleets)) for usd, n in counts.items()) * HOURS_PER_MONTH
    return DailyBill(fleets, monthly(lambda f: f.hourly_usd), monthly(lambda f: f.spot_hourly_usd))


def usd_per_million_tokens(monthly_usd: float, tokens_per_s: float) -> float:
    """A month's bill over the tokens served in that month, per million tokens."""
    if not tokens_per_s > 0:
        return math.nan
    return monthly_usd / (tokens_per_s * SECONDS_PER_MONTH) * 1e6


# ---- "cheapest": one rule -------------------------------------------------------------------

PRICE_KIND_ATTR = "price_kind"  # a comparison table's attrs key: the price kind `cheapest` ranked by

# The cost a comparison row is ranked by, per mode and price kind (the sweep's columns).
COST_KEYS = {
    ("train", "on_demand"): "training_cost_usd", ("train", "spot"): "training_spot_cost_usd",
    ("train", "reserved_1y"): "training_reserved_cost_usd",
    ("infer", "on_demand"): "monthly_cost_usd", ("infer", "spot"): "spot_monthly_cost_usd",
    ("infer", "reserved_1y"): "reserved_monthly_cost_usd",
}


def cost_key(mode: str, price_kind: str = "on_demand") -> str:
    """The column holding a row's cost at the price the plan headlines (PlanInputs.price_kind)."""
    return COST_KEYS[(mode, price_kind)]


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def feasible(row: dict, price_kind: str = "on_demand") -> bool:
    """A comparison row that can be bought: it fits, keeps its service levels (serving) or
    deadline (training), and has a known price of the kind the plan headlines."""
    key = COST_KEYS.get((str(row.get("mode")), price_kind), "")
    return _flag(row.get("fits")) and _flag(row.get("meets_slo")) and math.isfinite(_number(row.get(key)))


def _flag(value) -> bool:
    """True for True (Python or NumPy); False for False, NaN and None (a gap is not a yes)."""
    return value is True or (getattr(value, "dtype", None) == bool and bool(value))


def order_key(row: dict, price_kind: str = "on_demand") -> tuple:
    """Serving: the lowest monthly bill that carries the load, then fewer GPUs. Training: the
    lowest training cost, then fewer GPUs, then the shorter run. Costs at `price_kind`."""
    cost = _number(row[cost_key(row["mode"], price_kind)])
    if row["mode"] == "train":
        return (cost, _number(row.get("gpus")), _number(row.get("training_days")))
    return (cost, _number(row.get("serving_gpus")))


def cheapest_first(rows: Iterable[dict], mode: str, price_kind: str = "on_demand") -> list[int]:
    """Positions of `mode`'s feasible rows, cheapest first at `price_kind` (stable: catalog
    order breaks ties)."""
    chosen = [(i, row) for i, row in enumerate(rows) if row.get("mode") == mode and feasible(row, price_kind)]
    return [i for i, _ in sorted(chosen, key=lambda item: order_key(item[1], price_kind))]
