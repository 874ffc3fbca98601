"""The immutable result of one estimate: every number the app shows, in canonical units.

Table, charts, CSV, PDF, the CLI and "Explain" render this object; none recomputes.
`to_dict()` gives the stable snake_case keys of `gpuplanner-cli plan --format json`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from gpuplanner.core.inputs import PlanInputs

BREAKDOWN_KEYS = ("weights", "master_weights", "gradients", "optimizer", "activations", "kv_cache", "buffers",
                  "overhead")


@dataclass(frozen=True, slots=True)
class MemoryBreakdown:
    """Bytes on the busiest GPU. `overhead` = runtime (CUDA context, workspaces) +
    allocator fragmentation margin."""

    weights: float = 0.0
    master_weights: float = 0.0
    gradients: float = 0.0
    optimizer: float = 0.0
    activations: float = 0.0
    kv_cache: float = 0.0
    buffers: float = 0.0  # a framework's transient gather/prefetch/cast buffers (training)
    overhead: float = 0.0

    @property
    def total(self) -> float:
        return sum(getattr(self, k) for k in BREAKDOWN_KEYS)


@dataclass(frozen=True, slots=True)
class QuickRule:
    """The rule of thumb: GPUs = P_billion × bytes/param × 1.25 / GPU_GB."""

    bytes_per_param: float
    factor: float
    gpu_gb: float
    ratio: float
    gpus: int  # ceil(ratio): 1.09 means 2 GPUs, not "about one"
    formula: str


@dataclass(frozen=True, slots=True)
class Layout:
    dp: int = 1
    tp: int = 1
    pp: int = 1
    ep: int = 1
    zero_stage: int = 0

    @property
    def gpus(self) -> int:
        return self.dp * self.tp * self.pp

    def describe(self) -> str:
        """e.g. 'TP8 × PP1 × DP3, ZeRO-2'; DP 0 means no data-parallel degree was enough."""
        text = f"TP{self.tp} × PP{self.pp} × DP{self.dp or 'n/a'}"
        if self.ep > 1:
            text += f" (EP{self.ep})"
        return text + f", ZeRO-{self.zero_stage}"


@dataclass(frozen=True, slots=True)
class ThroughputPoint:
    """One batch size of the throughput–interactivity curve (per serving replica)."""

    batch: int
    tokens_per_s_per_user: float
    tokens_per_s_total: float
    usd_per_million_tokens: float


@dataclass(frozen=True, slots=True)
class Assumption:
    name: str
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """A number with its formula, the user's values substituted, and the source."""

    key: str
    formula: str
    substituted: str
    source: str


MONEY_ENERGY_KEYS = ("discount_fraction", "reserved_price_usd_per_hour", "reserved_cost_usd",
                     "spot_expected_training_time_s", "spot_expected_cost_usd", "reserved_monthly_cost_usd",
                     "api_monthly_cost_usd", "breakeven_requests_per_s", "gpu_power_w", "pue",
                     "grid_intensity_g_per_kwh", "energy_kwh", "co2e_kg", "energy_kwh_per_million_tokens",
                     "co2e_kg_per_million_tokens", "energy_note")


@dataclass(frozen=True)
class PlanResult:
    model_name: str
    mode: str
    precision: str
    gpu_name: str
    instance_type: str  # '' when planning by GPU only
    params_total: float
    params_active: float
    quick_rule: QuickRule
    breakdown_bytes: MemoryBreakdown
    capacity_bytes: float  # reported memory of one GPU
    usable_bytes: float  # capacity × utilization cap
    fits: bool
    layout: Layout
    min_gpus: int  # fewest GPUs that hold the job (training: before deadline/instance filling)
    gpus: int  # GPUs the plan uses (training: whole instances filled; serving: one replica)
    gpus_per_instance: int
    instances: float  # NaN when planning by GPU only
    price_usd_per_hour: float  # for all the instances (or GPUs) of the plan
    spot_price_usd_per_hour: float
    price_as_of: str
    peak_flops: float  # dense peak FLOP/s per GPU of the dtype the math runs in (NaN = unknown)
    gpu_source: str  # datasheet the GPU's figures come from
    gpu_as_of: str
    meets_slo: bool = False  # fits and keeps its service levels (serving) or deadline (training)
    reason: str = ""  # why the plan cannot be bought as it is: does not fit, a figure unknown, a level missed
    # training
    training_flops: float = math.nan
    hardware_flops: float = math.nan
    training_time_s: float = math.nan
    gpu_hours: float = math.nan
    cost_usd: float = math.nan
    spot_cost_usd: float = math.nan
    recompute: str = ""  # recomputation the plan uses (chosen when the input is auto)
    micro_batch: int = 0  # sequences per GPU per micro-step the plan uses (chosen when auto)
    mfu: float = math.nan  # model FLOPs (the input's convention) / (GPUs × dense peak × time)
    tokens_per_s_per_gpu: float = math.nan
    step_time_s: float = math.nan  # one optimizer step (core/steptime.py)
    step_breakdown_s: dict = field(default_factory=dict)  # seconds per step by cause (steptime.StepTime)
    host_memory_bytes: float = math.nan  # host memory one node needs for model states (core/offload.py)
    # inference
    prefill_time_s: float = math.nan  # one prompt alone on an idle replica
    ttft_s: float = math.nan  # time to first token with `concurrency` users on one replica
    tpot_s: float = math.nan  # time per output token, same operating point
    decode_tokens_per_s_per_user: float = math.nan
    decode_tokens_per_s_total: float = math.nan
    max_batch: int = 0  # most sequences whose KV cache fits at the context length (the KV pool)
    max_throughput_tokens_per_s: float = math.nan  # one replica, offline: the largest batch that fits, no floor
    max_throughput_concurrency: float = math.nan  # the concurrency that maximum is at
    curve: tuple = ()
    usd_per_million_tokens: float = math.nan  # the fleet's monthly bill / output tokens served at the load
    usd_per_million_tokens_at_capacity: float = math.nan  # the same bill at the most load the fleet carries
    fleet_capacity_requests_per_s: float = math.nan  # the most load the billed fleet carries within the floor
    fleet_utilization: float = math.nan  # requested load / the fleet's capacity
    replica_price_usd_per_hour: float = math.nan  # a replica's share of the billed instances
    replicas_per_instance: float = math.nan  # replica slots per billed instance (< 1: a replica spans several)
    serving_batch: int = 0  # a replica's concurrency at its capacity within the service levels
    serving_tokens_per_s_total: float = math.nan  # one replica at the serving batch
    replicas: int = 0
    serving_gpus: int = 0
    serving_instances: float = math.nan
    monthly_cost_usd: float = math.nan
    spot_monthly_cost_usd: float = math.nan
    # money options (core.money): both modes
    discount_fraction: float = 0.0  # negotiated discount taken off every price above
    reserved_price_usd_per_hour: float = math.nan  # 1-year reserved/committed (NaN: not in the catalog)
    reserved_cost_usd: float = math.nan  # training on a 1-year commitment (a whole year billed)
    spot_expected_training_time_s: float = math.nan  # with interruptions (NaN: never finishes, or no spot price)
    spot_expected_cost_usd: float = math.nan
    reserved_monthly_cost_usd: float = math.nan  # serving: the busiest hour's fleet committed for a year
    api_monthly_cost_usd: float = math.nan  # the API's bill for the same load
    breakeven_requests_per_s: float = math.nan  # the lowest steady load from which self-hosting bills ≤ the API
    replicas_by_hour: tuple = ()  # serving: replicas in each hour of the day (the load profile)
    # energy and carbon (core.energy)
    gpu_power_w: float = math.nan  # one busy GPU: measured, or the datasheet TDP
    pue: float = math.nan
    grid_intensity_g_per_kwh: float = math.nan
    energy_kwh: float = math.nan  # facility energy of the training run, or of a month of serving
    co2e_kg: float = math.nan
    energy_kwh_per_million_tokens: float = math.nan
    co2e_kg_per_million_tokens: float = math.nan
    energy_note: str = ""  # why energy or CO2e is unknown ('' when both are known)
    engine_flags: dict = field(default_factory=dict)  # engine -> EngineLaunch for one replica of the layout
    warnings: tuple = ()
    layout_notes: tuple = ()
    assumptions: tuple = ()
    explanations: tuple = ()
    inputs: PlanInputs = field(default_factory=PlanInputs)  # what the plan was made for (validated)

    @property
    def memory_per_gpu_bytes(self) -> float:
        return self.breakdown_bytes.total

    def explanation(self, key: str) -> Explanation | None:
        return next((e for e in self.explanations if e.key == key), None)

    def to_dict(self) -> dict:
        """JSON-ready dict; NaN becomes None."""
        out = {
            "model": self.model_name, "mode": self.mode, "precision": self.precision,
            "gpu": self.gpu_name, "instance_type": self.instance_type or None,
            "params_total": self.params_total, "params_active": self.params_active,
            "fits": self.fits, "min_gpus": self.min_gpus, "gpus": self.gpus, "gpus_per_instance": self.gpus_per_instance,
            "instances": self.instances,
            "layout": asdict(self.layout),
            "memory_per_gpu_bytes": self.memory_per_gpu_bytes,
            "capacity_bytes": self.capacity_bytes, "usable_bytes": self.usable_bytes,
            "breakdown_bytes": {k: getattr(self.breakdown_bytes, k) for k in BREAKDOWN_KEYS},
            "quick_rule": {"ratio": self.quick_rule.ratio, "gpus": self.quick_rule.gpus,
                           "bytes_per_param": self.quick_rule.bytes_per_param,
                           "gpu_gb": self.quick_rule.gpu_gb, "formula": self.quick_rule.formula},
            "price_usd_per_hour": self.price_usd_per_hour,
            "spot_price_usd_per_hour": self.spot_price_usd_per_hour,
            "price_as_of": self.price_as_of, "peak_flops": self.peak_flops,
            "gpu_source": self.gpu_source, "gpu_as_of": self.gpu_as_of,
            "training_flops": self.training_flops, "hardware_flops": self.hardware_flops,
            "training_time_s": self.training_time_s, "gpu_hours": self.gpu_hours,
            "cost_usd": self.cost_usd, "spot_cost_usd": self.spot_cost_usd,
            "recompute": self.recompute or None, "micro_batch": self.micro_batch or None,
            "mfu": self.mfu, "tokens_per_s_per_gpu": self.tokens_per_s_per_gpu, "step_time_s": self.step_time_s,
            "step_breakdown_s": dict(self.step_breakdown_s), "host_memory_bytes": self.host_memory_bytes,
            "prefill_time_s": self.prefill_time_s, "ttft_s": self.ttft_s, "tpot_s": self.tpot_s,
            "decode_tokens_per_s_per_user": self.decode_tokens_per_s_per_user,
            "decode_tokens_per_s_total": self.decode_tokens_per_s_total,
            "max_batch": self.max_batch,
            "max_throughput_tokens_per_s": self.max_throughput_tokens_per_s,
            "max_throughput_concurrency": self.max_throughput_concurrency,
            "meets_slo": self.meets_slo, "reason": self.reason or None,
            "usd_per_million_tokens": self.usd_per_million_tokens,
            "usd_per_million_tokens_at_capacity": self.usd_per_million_tokens_at_capacity,
            "fleet_capacity_requests_per_s": self.fleet_capacity_requests_per_s,
            "fleet_utilization": self.fleet_utilization,
            "replica_price_usd_per_hour": self.replica_price_usd_per_hour,
            "replicas_per_instance": self.replicas_per_instance,
            "serving_batch": self.serving_batch,
            "serving_tokens_per_s_total": self.serving_tokens_per_s_total, "replicas": self.replicas,
            "serving_gpus": self.serving_gpus, "serving_instances": self.serving_instances,
            "monthly_cost_usd": self.monthly_cost_usd,
            "spot_monthly_cost_usd": self.spot_monthly_cost_usd,
            **{key: getattr(self, key) for key in MONEY_ENERGY_KEYS},
            "replicas_by_hour": list(self.replicas_by_hour),
            "engine_flags": {name: launch.to_dict() for name, launch in self.engine_flags.items()},
            "curve": [asdict(p) for p in self.curve],
            "warnings": list(self.warnings),
            "layout_notes": list(self.layout_notes),
            "assumptions": [asdict(a) for a in self.assumptions],
            "inputs": {**self.inputs.as_dict(), "model": self.model_name},
        }
        return _nan_to_none(out)


def _nan_to_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
