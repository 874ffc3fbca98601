"""What each form field is: its PlanInputs attribute, label, unit, tooltip and parser.

Kept apart from the widgets so the meaning of a field (and how text becomes a value) is
stated once and testable without Qt. Text fields parse on every edit; a bad value raises
InputError naming the field, exactly like the core does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field

from gpuplanner.core import inputs as core_inputs
from gpuplanner.core.errors import InputError
from gpuplanner.core.units import GIB, fmt_count, parse_count


@dataclass(frozen=True)
class FieldSpec:
    """One input. kind: choice | bool | int | auto_int | float | pct | count | gib.

    `aliases` are the names the core uses for this input in InputError.field."""

    name: str
    label: str
    kind: str
    unit: str = ""
    tip: str = ""
    choices: tuple = ()  # (value, label) pairs for kind 'choice'
    aliases: tuple = ()

    def parse(self, text: str):
        """The stored value of `text`, or InputError(name, reason)."""
        text = text.strip().replace(",", "")
        if self.kind == "count":
            return parse_count(text, self.name)
        if self.kind == "auto_int" and text.lower() in ("", "auto", "0"):
            return 0
        if self.kind in ("int", "auto_int"):
            try:
                return int(text)
            except ValueError:
                raise InputError(self.name, f"'{text}' is not a whole number") from None
        try:
            value = float(text)
        except ValueError:
            raise InputError(self.name, f"'{text}' is not a number") from None
        if not math.isfinite(value):
            raise InputError(self.name, f"'{text}' is not a finite number")
        if self.kind == "pct":
            return value / 100  # dividing keeps 90 → 0.9 exact (× 0.01 would not)
        return value * GIB if self.kind == "gib" else value

    def format(self, value) -> str:
        if self.kind == "count":
            return count_text(value)
        if self.kind == "auto_int":
            return "auto" if value == 0 else str(value)
        if self.kind == "int":
            return str(value)
        shown = {"gib": value / GIB, "pct": value * 100}.get(self.kind, value)
        return f"{shown:.12g}"


def count_text(value: float) -> str:
    """'7B' style when that is exact, else all the digits (a plan must round-trip unchanged)."""
    text = fmt_count(value)
    return text if parse_count(text) == value else f"{value:.12g}"


def _choices(values, labels=None) -> tuple:
    labels = labels or {}
    return tuple((v, labels.get(v, v)) for v in values)


@dataclass(frozen=True)
class Group:
    title: str
    fields: tuple = dc_field(default_factory=tuple)


DTYPE_TIP = "fp32 4 bytes, bf16/fp16 2, fp8/int8 1, int4 0.5 (+ group scales)."

GROUPS = (
    Group("Workload", (
        FieldSpec("mode", "Plan for", "choice", tip="Training a model, or serving it (inference).",
                  choices=_choices(core_inputs.MODES, {"train": "Training", "infer": "Serving"})),
        FieldSpec("train_method", "Training method", "choice",
                  tip="Full fine-tuning/pre-training trains every weight; LoRA trains small adapters; "
                      "QLoRA also stores the frozen base in 4-bit NF4.",
                  choices=_choices(core_inputs.TRAIN_METHODS, {"full": "full", "lora": "LoRA",
                                                               "qlora": "QLoRA"})),
        FieldSpec("lora_rank", "LoRA rank", "int", "r", "Adapter rank r; typical 8–64."),
        FieldSpec("training_tokens", "Training tokens", "count", "tokens",
                  "Tokens seen in training, e.g. 2T for pre-training, 100M for a fine-tune. "
                  "Accepts 7B, 1.5e9, 350M.", aliases=("tokens",)),
        FieldSpec("max_training_days", "Finish within", "float", "days",
                  "Add data parallelism until training finishes in this many days; 0 = no deadline."),
        FieldSpec("seq_len", "Sequence length", "int", "tokens", "Training sequence length; typical 2048–8192."),
        FieldSpec("micro_batch", "Micro-batch", "int", "seq/GPU",
                  "Sequences per GPU per step; typical 1–8.", aliases=("batch",)),
        FieldSpec("context_len", "Serving context", "int", "tokens",
                  "Context each served sequence may reach (prompt + output); typical 4096–32768.",
                  aliases=("context",)),
        FieldSpec("concurrency", "Concurrent sequences", "int", "seq",
                  "Sequences decoded together (KV cache held for each); typical 8–256."),
        FieldSpec("requests_per_s", "Request rate", "float", "req/s", "Serving load; e.g. 1–100 requests/s."),
        FieldSpec("prompt_tokens", "Prompt", "int", "tokens", "Average prompt length; typical 500–4000."),
        FieldSpec("output_tokens", "Output", "int", "tokens", "Average generated tokens; typical 100–1000."),
        FieldSpec("min_tokens_per_s_per_user", "Min. speed per user", "float", "tok/s",
                  "Floor on each user's decode speed; reading speed is about 10–20 tok/s."),
        FieldSpec("max_ttft_s", "Max. time to first token", "float", "s",
                  "Time-to-first-token target the fleet keeps at the request rate; 0 = none."),
        FieldSpec("prefix_cache_hit_rate", "Prefix-cache hits", "pct", "%",
                  "Share of prompt tokens already in the prefix cache (shared system prompts); 0–99 %."),
    )),
    Group("Precision && memory", (
        FieldSpec("precision", "Weights / compute", "choice", tip="Data type of weights and compute. " + DTYPE_TIP,
                  choices=_choices(core_inputs.PRECISIONS)),
        FieldSpec("kv_dtype", "KV cache", "choice", tip="KV-cache data type; auto = fp32 for fp32, else bf16.",
                  choices=_choices(core_inputs.KV_DTYPES)),
        FieldSpec("optimizer", "Optimizer", "choice",
                  tip="AdamW keeps 8 bytes/param of state, 8-bit AdamW 2, SGD+momentum 4, Lion 4, "
                      "Adafactor factored (tiny), SGD 0.",
                  choices=_choices(core_inputs.OPTIMIZERS, {"adamw8bit": "AdamW 8-bit", "adamw": "AdamW",
                                                            "sgd_momentum": "SGD + momentum"})),
        FieldSpec("grad_dtype", "Gradients", "choice",
                  tip="auto = compute dtype (ZeRO paper); fp32 = fp32 accumulation (the 18-byte rule).",
                  choices=_choices(core_inputs.GRAD_DTYPES)),
        FieldSpec("recompute", "Recomputation", "choice",
                  tip="Activation checkpointing: selective drops attention scores (cheap); full keeps only "
                      "layer inputs and adds one forward pass (~33 % more compute).",
                  choices=_choices(core_inputs.RECOMPUTE)),
        FieldSpec("flash_attention", "FlashAttention", "bool",
                  tip="Attention without storing the s×s score matrix; on for most modern stacks."),
        FieldSpec("zero_stage", "ZeRO stage", "choice", aliases=("zero",),
                  tip="Sharding over data-parallel ranks: 1 optimizer, 2 + gradients, 3 (= FSDP) + weights. "
                      "auto picks the cheapest that fits.",
                  choices=((-1, "auto"), (0, "0 (off)"), (1, "1"), (2, "2"), (3, "3 (FSDP)"))),
        FieldSpec("util_cap", "Memory cap", "pct", "%",
                  "Share of reported GPU memory a plan may fill; typical 90 %."),
        FieldSpec("overhead_bytes", "Runtime overhead", "gib", "GiB",
                  "CUDA context and library workspaces per GPU; typical 0.5–1.5 GiB.", aliases=("overhead",)),
        FieldSpec("fragmentation", "Fragmentation margin", "pct", "%",
                  "Allocator margin on top of the other components; typical 5 %."),
    )),
    Group("Parallelism", (
        FieldSpec("tp", "Tensor parallel", "auto_int", "GPUs", "TP degree within one instance; auto searches 1–8."),
        FieldSpec("pp", "Pipeline parallel", "auto_int", "stages", "Pipeline stages (uneven stages allowed); auto tries 1–16, 20, 24, 32, 40, 48, 64."),
        FieldSpec("dp", "Data parallel", "auto_int", "replicas", "Data-parallel degree; auto = smallest that fits."),
        FieldSpec("ep", "Expert parallel", "auto_int", "GPUs", "Expert-parallel degree for MoE models; auto searches."),
    )),
    Group("Hardware && cost", (
        FieldSpec("mfu", "MFU", "pct", "%",
                  "Model FLOPs utilization: achieved / dense peak; large runs reach 35–55 %."),
        FieldSpec("mbu", "MBU", "pct", "%",
                  "Memory-bandwidth utilization of decode kernels; typical 60–80 %."),
        FieldSpec("price_kind", "Price", "choice", tip="Which price the headline cost uses; both are shown.",
                  choices=_choices(core_inputs.PRICE_KINDS, {"on_demand": "on-demand", "spot": "spot"})),
    )),
)

ALL_FIELDS = {f.name: f for g in GROUPS for f in g.fields}


def field_for_error(error_field: str) -> str | None:
    """The form field an InputError.field refers to (the core uses a few short names)."""
    if error_field in ALL_FIELDS or error_field in ("model", "params", "instance", "gpu"):
        return error_field
    return next((f.name for f in ALL_FIELDS.values() if error_field in f.aliases), None)
