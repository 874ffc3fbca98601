"""Everything a plan depends on, validated once, as one frozen value.

Defaults are the conventions the README's method section states; each field's label, unit
and help text live in core/fields.py, which the CLI and the form read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

from gpuplanner.core.errors import InputError
from gpuplanner.core.frameworks import FRAMEWORKS
from gpuplanner.core.frameworks import framework as framework_spec
from gpuplanner.core.model import ModelArch
from gpuplanner.core.money import hourly_rates, parse_discounts
from gpuplanner.core.offload import OFFLOAD_DEVICES, check_offload
from gpuplanner.core.performance import FLOP_CONVENTIONS as FLOP_SHARES
from gpuplanner.core.units import GIB

MODES = ("train", "infer")
TRAIN_METHODS = ("full", "lora", "qlora")
PRECISIONS = ("fp32", "bf16", "fp16", "fp8", "int8", "int4", "fp4")
TRAIN_PRECISIONS = ("fp32", "bf16", "fp16", "fp8")
LORA_PRECISIONS = ("fp32", "bf16", "fp16", "fp8", "int8", "int4")  # base weights LoRA/QLoRA train on
KV_DTYPES = ("auto", "fp32", "bf16", "fp16", "fp8", "int8", "int4")
OPTIMIZERS = ("adamw", "adamw8bit", "sgd_momentum", "sgd", "adafactor", "lion")
GRAD_DTYPES = ("auto", "fp32")
FLOP_CONVENTIONS = tuple(FLOP_SHARES)
RECOMPUTE = ("auto", "none", "selective", "full")
PRICE_KINDS = ("on_demand", "spot", "reserved_1y")
INTERCONNECTS = ("catalog", "measured")  # link bandwidths from the catalogs, or the collective benchmark


MIN_DAYS = 1 / 24  # the shortest deadline or horizon: one hour


@dataclass(frozen=True)
class PlanInputs:
    """The inputs of one estimate. `model` is a preset id or a ModelArch; `params` a bare count.

    Parallel degrees of 0 mean "find the smallest layout"; zero_stage -1 means "any stage".
    Both prices are always computed; price_kind says which one the window and reports headline.
    InputError.field uses the command-line names (batch, context, tokens, zero, overhead) where
    they differ from these attribute names.
    """

    model: object = "llama-2-7b"
    params: float = 0.0  # > 0: a bare parameter count (used when model is empty)
    experts: int = 0  # with params: a mixture of experts of this many experts per layer (0 = dense)
    experts_per_token: int = 0  # with experts: routed experts per token (0 = 2)
    mode: str = "train"
    train_method: str = "full"
    precision: str = "bf16"
    kv_dtype: str = "auto"
    optimizer: str = "adamw"
    grad_dtype: str = "auto"
    framework: str = "zero"  # whose byte accounting of model states (zero = the ZeRO paper's)
    zero_stage: int = -1
    dp: int = 0
    tp: int = 0
    pp: int = 0
    ep: int = 0
    seq_len: int = 4096
    micro_batch: int = 0  # 0 = auto: the largest of 1, 2, 4, 8 that fits the chosen layout
    global_batch: int = 0  # sequences per optimizer step; 0 = auto (4M tokens, core/steptime.py)
    interleave: int = 1  # virtual pipeline stages per GPU (interleaved 1F1B; 1 = plain 1F1B)
    recompute: str = "auto"  # auto: the mode on the fewest GPUs, then the least compute
    flash_attention: bool = True
    offload_optimizer: str = "none"  # none, cpu or nvme: ZeRO-Offload of gradients, master weights, optimizer
    offload_params: str = "none"  # none, cpu or nvme: ZeRO-Infinity parameter offload (ZeRO-3)
    chunked_loss: bool = False  # cross-entropy in chunks: 16-bit logits, fp32 one chunk at a time
    activation_offload: bool = False  # what each layer keeps for backward waits in host memory
    optimizer_in_backward: bool = False  # each gradient applied and freed as backward makes it (full training)
    sequence_parallel: bool = True  # with tensor parallelism, also split the activations it would replicate
    lora_rank: int = 16
    training_tokens: float = 1e9
    max_training_days: float = 0.0  # > 0: add data parallelism until training fits in this
    horizon_days: float = 90.0  # > 0: warn when training takes longer, naming the GPUs that meet it
    mfu: float = 0.0  # > 0 pins the MFU (time = FLOPs / (GPUs × peak × MFU)); 0: the step model (core/steptime.py)
    flop_convention: str = "full"  # full (non-causal attention), causal or 6nd: the basis the MFU applies to
    mbu: float = 0.70  # memory-bandwidth utilization reached by decode kernels
    context_len: int = 4096
    concurrency: int = 16
    requests_per_s: float = 1.0
    prompt_tokens: int = 2048
    output_tokens: int = 256
    min_tokens_per_s_per_user: float = 20.0
    max_ttft_s: float = 0.0  # > 0: a time-to-first-token target the fleet must keep
    prefix_cache_hit_rate: float = 0.0  # share of prompt tokens served from the prefix cache
    # the serving engine's scheduler: a cap on sequences running at once (vLLM --max-num-seqs,
    # SGLang --max-running-requests; 0 = what the KV pool holds) and the decode steps of one
    # scheduling pass (vLLM --num-scheduler-steps; 1 = new prompts join at every step)
    max_num_seqs: int = 0
    scheduler_steps: int = 1
    mixed_prefill: bool = True  # prompt chunks share steps with decoding (False: a prefill step pauses decoding)
    gpu: str = ""
    instance: str = "p5.48xlarge"
    network_gbit_s: float = 0.0  # > 0: the instance network per node as stated (else the catalog's)
    util_cap: float = 0.90
    overhead_bytes: float = 0.75 * GIB
    fragmentation: float = 0.05  # allocator margin, fraction of the other components
    price_kind: str = "on_demand"
    interconnect: str = "catalog"
    # money options (core.money)
    discounts: str = ""  # negotiated percent off per cloud, e.g. "aws=20 gcp=15"
    spot_interruptions_per_hour: float = 0.0  # per instance; 0 = ignore interruptions
    checkpoint_interval_h: float = 1.0  # 0 = the run never checkpoints
    restart_h: float = 0.25  # rescheduling, reloading the checkpoint and warming up after an interruption
    api_usd_per_million_input: float = 0.0  # an API's price to compare with; 0 = none
    api_usd_per_million_output: float = 0.0
    load_profile: str = ""  # requests/s per hour of the day; empty = requests_per_s all day
    scale_to_zero: bool = False  # hours without requests bill no replica
    # energy and carbon (core.energy)
    gpu_power_w: float = 0.0  # measured watts per busy GPU; 0 = the datasheet TDP
    host_power_fraction: float = 0.82  # host power per GPU as a share of the GPU's (DGX H100 datasheet)
    pue: float = 0.0  # 0 = the cloud's published PUE
    grid_intensity_g_per_kwh: float = 0.0  # 0 = the region's, from the carbon table

    def validated(self) -> PlanInputs:
        """Return self if every field is allowed, else raise InputError naming the field."""
        _one_of("mode", self.mode, MODES)
        _one_of("train_method", self.train_method, TRAIN_METHODS)
        _one_of("precision", self.precision, PRECISIONS)
        _one_of("kv_dtype", self.kv_dtype, KV_DTYPES)
        _one_of("optimizer", self.optimizer, OPTIMIZERS)
        _one_of("grad_dtype", self.grad_dtype, GRAD_DTYPES)
        _one_of("framework", self.framework, FRAMEWORKS)
        _one_of("flop_convention", self.flop_convention, FLOP_CONVENTIONS)
        _one_of("recompute", self.recompute, RECOMPUTE)
        _one_of("offload_optimizer", self.offload_optimizer, OFFLOAD_DEVICES)
        _one_of("offload_params", self.offload_params, OFFLOAD_DEVICES)
        if self.mode == "train":
            check_offload(self.offload_optimizer, self.offload_params, self.zero_stage, self.train_method)
            if self.optimizer_in_backward is True and self.train_method != "full":
                raise InputError("optimizer_in_backward", "applies to full training; LoRA's trained states are small")
        _one_of("price_kind", self.price_kind, PRICE_KINDS)
        _one_of("interconnect", self.interconnect, INTERCONNECTS)
        if self.mode == "train" and self.train_method == "full" and self.precision not in TRAIN_PRECISIONS:
            raise InputError("precision", f"'{self.precision}' cannot be used for full training; "
                             f"use one of {', '.join(TRAIN_PRECISIONS)} (or LoRA/QLoRA, or mode infer)")
        if self.mode == "train" and self.precision not in LORA_PRECISIONS:
            raise InputError("precision", f"'{self.precision}' is a serving format; train in one of "
                             f"{', '.join(LORA_PRECISIONS)}, or use mode infer")
        if self.zero_stage not in (-1, 0, 1, 2, 3):
            raise InputError("zero", f"{self.zero_stage} is not a ZeRO stage; use 0, 1, 2, 3 (or auto)")
        self._check_framework()
        for name in ("dp", "tp", "pp", "ep"):
            _integer(name, getattr(self, name), 0, 1 << 16)
        _integer("seq_len", self.seq_len, 1, 1 << 24)
        _integer("batch", self.micro_batch, 0, 1 << 16)
        _integer("lora_rank", self.lora_rank, 1, 1 << 16)
        _integer("experts", self.experts, 0, 1 << 16)
        _integer("experts_per_token", self.experts_per_token, 0, 1 << 16)
        _integer("global_batch", self.global_batch, 0, 1 << 24)
        _integer("interleave", self.interleave, 1, 64)
        _integer("context", self.context_len, 1, 1 << 24)
        _integer("concurrency", self.concurrency, 1, 1 << 20)
        _integer("prompt_tokens", self.prompt_tokens, 1, 1 << 24)
        _integer("output_tokens", self.output_tokens, 1, 1 << 24)
        _integer("max_num_seqs", self.max_num_seqs, 0, 1 << 20)
        _integer("scheduler_steps", self.scheduler_steps, 1, 1024)
        _number("tokens", self.training_tokens, 1.0, 1e18)
        for name in ("max_training_days", "horizon_days"):
            _number(name, getattr(self, name), 0.0, 1e6)
            if 0 < getattr(self, name) < MIN_DAYS:  # a deadline of nanoseconds asks for infinite GPUs
                raise InputError(name, f"'{getattr(self, name)}' must be 0 (none) or at least one hour "
                                       f"({MIN_DAYS:.4g} days)")
        if self.mfu != 0 or isinstance(self.mfu, bool):  # 0: from the step model
            _number("mfu", self.mfu, 1e-4, 1.0)
        _number("mbu", self.mbu, 1e-4, 1.0)
        _number("requests_per_s", self.requests_per_s, 1e-6, 1e9)  # a bill per token needs tokens
        _number("min_tokens_per_s_per_user", self.min_tokens_per_s_per_user, 0.0, 1e7)
        _number("max_ttft_s", self.max_ttft_s, 0.0, 1e5)
        _number("prefix_cache_hit_rate", self.prefix_cache_hit_rate, 0.0, 0.99)
        _number("util_cap", self.util_cap, 0.05, 1.0)
        _number("network_gbit_s", self.network_gbit_s, 0.0, 1e6)
        _number("overhead", self.overhead_bytes, 0.0, 1 << 50)
        _number("fragmentation", self.fragmentation, 0.0, 1.0)
        self._check_money()
        if self.params:
            _number("params", self.params, 1.0, 1e16)
        if isinstance(self.model, ModelArch):
            self.model.check()
        elif not isinstance(self.model, str):
            raise InputError("model", "must be a preset name or a model architecture")
        for name in ("flash_attention", "sequence_parallel", "chunked_loss", "activation_offload",
                     "optimizer_in_backward", "mixed_prefill"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(name, f"'{getattr(self, name)}' must be true or false")
        for name in ("gpu", "instance"):
            if not isinstance(getattr(self, name), str):
                raise InputError(name, f"'{getattr(self, name)}' must be a name from the catalog")
        if not self.model and not self.params:
            raise InputError("model", "choose a preset model, load a config, or give a parameter count")
        if not self.gpu and not self.instance:
            raise InputError("instance", "choose a GPU or an instance type")
        return self

    def _check_money(self) -> None:
        for name in ("discounts", "load_profile"):
            if not isinstance(getattr(self, name), str):
                raise InputError(name, f"'{getattr(self, name)}' must be text")
        parse_discounts(self.discounts)
        hourly_rates(self.load_profile, self.requests_per_s)
        _number("spot_interruptions_per_hour", self.spot_interruptions_per_hour, 0.0, 100.0)
        _number("checkpoint_interval_h", self.checkpoint_interval_h, 0.0, 1e6)
        _number("restart_h", self.restart_h, 0.0, 1e4)
        for name in ("api_usd_per_million_input", "api_usd_per_million_output"):
            _number(name, getattr(self, name), 0.0, 1e6)
        if not isinstance(self.scale_to_zero, bool):
            raise InputError("scale_to_zero", f"'{self.scale_to_zero}' must be true or false")
        _number("gpu_power_w", self.gpu_power_w, 0.0, 1e5)
        _number("host_power_fraction", self.host_power_fraction, 0.0, 10.0)
        if self.pue:
            _number("pue", self.pue, 1.0, 5.0)
        _number("grid_intensity_g_per_kwh", self.grid_intensity_g_per_kwh, 0.0, 5000.0)

    def _check_framework(self) -> None:
        """Options a framework does not offer are refused, not silently ignored."""
        if self.mode != "train" or self.train_method != "full" or self.framework == "zero":
            return
        spec = framework_spec(self.framework)
        if self.zero_stage >= 0 and self.zero_stage not in spec.zero_stages:
            raise InputError("zero", f"{self.zero_stage} is not offered by {self.framework}; use "
                             f"{', '.join(map(str, spec.zero_stages))} or auto")
        if self.grad_dtype != "auto":
            raise InputError("grad_dtype", f"{self.framework} keeps its own gradient dtypes; use auto "
                             "(fp32 gradients apply to the zero framework)")
        for name in ("tp", "pp", "ep"):
            if spec.data_parallel_only and getattr(self, name) > 1:
                raise InputError(name, f"{self.framework} (Trainer with DDP) is data parallel only; use 0 or 1, "
                                 "or the fsdp/deepspeed framework")

    def with_(self, **changes) -> PlanInputs:
        """A copy with `changes`, field by field: dataclasses.replace would re-run __init__ over
        all the fields, and the sweep and the deadline search ask for thousands of copies."""
        unknown = changes.keys() - _FIELD_SET
        if unknown:
            raise TypeError(f"PlanInputs has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def kv_dtype_effective(self) -> str:
        if self.kv_dtype != "auto":
            return self.kv_dtype
        return "fp32" if self.precision == "fp32" else "bf16"

    def as_dict(self) -> dict:
        """Plain values by field name; a ModelArch appears as its name."""
        out = {name: getattr(self, name) for name in _FIELD_NAMES}
        if not isinstance(self.model, str):
            out["model"] = getattr(self.model, "name", str(self.model))
        return out


_FIELD_NAMES = tuple(f.name for f in fields(PlanInputs))
_FIELD_SET = frozenset(_FIELD_NAMES)


def _one_of(field: str, value, allowed) -> None:
    if value not in allowed:
        raise InputError(field, f"'{value}' is not allowed; use one of {', '.join(allowed)}")


def _integer(field: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(field, f"'{value}' must be a whole number from {low} to {high}")


def _number(field: str, value, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise InputError(field, f"'{value}' must be a number from {low:g} to {high:g}")
