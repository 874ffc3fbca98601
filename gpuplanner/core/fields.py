"""Every input and result field, once: name, label, unit, kind, help, command-line flag and
CSV/JSON name, with one parser and one formatter per kind.

The form, the CLI, the cards, the Compare table, the CSV and the PDF all read this table, so a
figure is called and written the same way on every face. Qt-free on purpose.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dc_field

from gpuplanner.core import inputs as core_inputs
from gpuplanner.core.errors import InputError
from gpuplanner.core.units import (
    GIB,
    fmt_count,
    fmt_duration,
    fmt_flops,
    fmt_memory,
    fmt_sig,
    fmt_usd,
    parse_count,
)

DTYPE_TIP = "fp32 4 bytes, bf16/fp16 2, fp8/int8 1, int4 0.5 (+ group scales)."


@dataclass(frozen=True)
class InputField:
    """One input (a PlanInputs attribute). kind: choice | bool | int | auto_int | float | pct |
    count | gib | text.

    `aliases` are the short names the core uses in InputError.field and the CLI uses as its flag
    (e.g. micro_batch → --batch). pct is stored as a fraction and typed as a percentage in the
    form; gib is stored in bytes."""

    name: str
    label: str
    kind: str
    unit: str = ""
    tip: str = ""
    choices: tuple = ()  # (value, label) pairs for kind 'choice'
    aliases: tuple = ()
    mode: str = ""  # "train" or "infer" when only that mode uses it

    @property
    def cli_flag(self) -> str:
        return "--" + (self.aliases[0] if self.aliases else self.name).replace("_", "-")

    def parse(self, text: str):
        """The stored value of form text `text`, or InputError(name, reason)."""
        if self.kind == "text":
            return " ".join(text.split())  # the core parses and checks it (e.g. core.money)
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
        """Form text for a stored value (round-trips through parse)."""
        if self.kind == "count":
            return count_text(value)
        if self.kind == "auto_int":
            return "auto" if value == 0 else str(value)
        if self.kind in ("int", "text"):
            return str(value)
        shown = {"gib": value / GIB, "pct": value * 100}.get(self.kind, value)
        return f"{shown:.12g}"

    def display(self, value) -> str:
        """Readable text of a value with its unit, as reports and the CLI print it."""
        if self.kind == "choice":
            return dict(self.choices).get(value, str(value))
        if self.kind == "bool":
            return "on" if value else "off"
        if self.kind == "auto_int":
            return "auto" if value == 0 else f"{value} {self.unit}".strip()
        if self.kind == "count":
            return f"{fmt_count(value)} {self.unit}".strip() if value else "from model"
        if self.kind == "pct":
            return f"{value * 100:.3g} %"
        if self.kind == "gib":
            return f"{value / GIB:.3g} GiB"
        if self.kind == "text":
            return str(value)
        return f"{value:,.12g} {self.unit}".strip()


def percent_text(fraction: float) -> str:
    """A fraction as every face writes a percentage: 0.2113 → '21.1 %'."""
    return f"{fraction * 100:.1f} %"


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


# Inputs whose names do not say their unit get one in CSV column names.
INPUT_UNIT_SUFFIX = {
    "params": "_count", "seq_len": "_tokens", "context_len": "_tokens", "micro_batch": "_sequences", "global_batch": "_sequences",
    "concurrency": "_sequences", "mfu": "_fraction", "mbu": "_fraction", "util_cap": "_fraction",
    "fragmentation": "_fraction", "prefix_cache_hit_rate": "_fraction",
    "max_num_seqs": "_sequences",
}

# What the user picks: the model and the hardware (the form has dedicated pickers for these).
SELECTION_FIELDS = (
    InputField("model", "Model", "text", tip="A preset id (see the models catalog), or a config.json / model folder."),
    InputField("params", "Parameters", "count", "params",
               "A bare parameter count, e.g. 7B, 6.74e9, 350M (used when no model is chosen)."),
    InputField("experts", "Experts", "int", "experts",
               "With a bare parameter count: a mixture of experts with this many experts per layer (0 = dense)."),
    InputField("experts_per_token", "Experts per token", "int", "experts",
               "With experts: the routed experts each token uses (0 = 2)."),
    InputField("gpu", "GPU", "text", tip="Plan by GPU (priced at the cheapest instance per GPU)."),
    InputField("instance", "Instance type", "text", tip="A cloud instance type from the instance catalog."),
)

GROUPS = (
    Group("Workload", (
        InputField("mode", "Plan for", "choice", tip="Training a model, or serving it (inference).",
                   choices=_choices(core_inputs.MODES, {"train": "Training", "infer": "Serving"})),
        InputField("train_method", "Training method", "choice",
                   tip="Full fine-tuning/pre-training trains every weight; LoRA trains small adapters; "
                       "QLoRA also stores the frozen base in 4-bit NF4.",
                   choices=_choices(core_inputs.TRAIN_METHODS, {"full": "full", "lora": "LoRA",
                                                                "qlora": "QLoRA"}), mode="train"),
        InputField("lora_rank", "LoRA rank", "int", "r", "Adapter rank r; typical 8–64.", mode="train"),
        InputField("training_tokens", "Training tokens", "count", "tokens",
                   "Tokens seen in training, e.g. 2T for pre-training, 100M for a fine-tune. "
                   "Accepts 7B, 1.5e9, 350M.", aliases=("tokens",), mode="train"),
        InputField("max_training_days", "Finish within", "float", "days",
                   "Add data parallelism until training finishes in this many days; 0 = no deadline.", mode="train"),
        InputField("horizon_days", "Warn beyond", "float", "days",
                   "Without a deadline, warn when training takes longer than this and name the GPUs that "
                   "meet it; 0 = never.", mode="train"),
        InputField("seq_len", "Sequence length", "int", "tokens", "Training sequence length; typical 2048–8192.", mode="train"),
        InputField("micro_batch", "Micro-batch", "auto_int", "seq/GPU",
                   "Sequences per GPU per step; typical 1–8. auto = the largest of 1, 2, 4, 8 that "
                   "fits the chosen layout.", aliases=("batch",), mode="train"),
        InputField("global_batch", "Global batch", "auto_int", "seq",
                   "Sequences per optimizer step (all data-parallel ranks); sets the micro-batches per "
                   "pipeline and so the bubble. auto = 4M tokens (Llama 2's batch).", mode="train"),
        InputField("context_len", "Serving context", "int", "tokens",
                   "Context each served sequence may reach (prompt + output); typical 4096–32768.",
                   aliases=("context",), mode="infer"),
        InputField("concurrency", "Concurrent sequences", "int", "seq",
                   "Sequences decoded together (KV cache held for each); typical 8–256.", mode="infer"),
        InputField("requests_per_s", "Request rate", "float", "req/s", "Serving load; e.g. 1–100 requests/s.", mode="infer"),
        InputField("prompt_tokens", "Prompt", "int", "tokens", "Average prompt length; typical 500–4000.", mode="infer"),
        InputField("output_tokens", "Output", "int", "tokens", "Average generated tokens; typical 100–1000.", mode="infer"),
        InputField("min_tokens_per_s_per_user", "Min. speed per user", "float", "tok/s",
                   "Floor on each user's decode speed; reading speed is about 10–20 tok/s.", mode="infer"),
        InputField("max_ttft_s", "Max. time to first token", "float", "s",
                   "Time-to-first-token target the fleet keeps at the request rate; 0 = none.", mode="infer"),
        InputField("prefix_cache_hit_rate", "Prefix-cache hits", "pct", "%",
                   "Share of prompt tokens already in the prefix cache (shared system prompts); 0–99 %.",
                   mode="infer"),
        InputField("max_num_seqs", "Engine's max. sequences", "auto_int", "seq",
                   "The engine's cap on sequences running at once (vLLM --max-num-seqs, default 256 up to "
                   "vLLM 0.6; SGLang --max-running-requests); auto = as many as the KV pool holds.", mode="infer"),
        InputField("scheduler_steps", "Scheduler steps", "int", "steps",
                   "Decode steps per scheduling pass (vLLM --num-scheduler-steps, multi-step scheduling): a new "
                   "prompt waits for the pass in flight; 1 = it joins at the next step.", mode="infer"),
        InputField("mixed_prefill", "Prefill mixed with decode", "bool",
                   tip="Prompt chunks share engine steps with the sequences decoding (chunked prefill: vLLM V1, "
                       "TensorRT-LLM). Off: each prefill is a step of its own and decoding waits for it (vLLM "
                       "before V1 at contexts up to 32k, SGLang without --enable-mixed-chunk).", mode="infer"),
    )),
    Group("Precision && memory", (
        InputField("precision", "Weights / compute", "choice", tip="Data type of weights and compute. " + DTYPE_TIP,
                   choices=_choices(core_inputs.PRECISIONS)),
        InputField("kv_dtype", "KV cache", "choice", tip="KV-cache data type; auto = fp32 for fp32, else bf16.",
                   choices=_choices(core_inputs.KV_DTYPES), mode="infer"),
        InputField("optimizer", "Optimizer", "choice",
                   tip="AdamW keeps 8 bytes/param of state, 8-bit AdamW 2, SGD+momentum 4, Lion 4, "
                       "Adafactor factored (tiny), SGD 0.",
                   choices=_choices(core_inputs.OPTIMIZERS, {"adamw8bit": "AdamW 8-bit", "adamw": "AdamW",
                                                             "sgd_momentum": "SGD + momentum"}), mode="train"),
        InputField("grad_dtype", "Gradients", "choice",
                   tip="auto = compute dtype (ZeRO paper); fp32 = fp32 accumulation (the 18-byte rule).",
                   choices=_choices(core_inputs.GRAD_DTYPES), mode="train"),
        InputField("framework", "Framework", "choice",
                   tip="Whose byte accounting of model states: zero (the ZeRO paper's 16 B/param), Megatron-LM "
                       "(fp32 gradients, distributed optimizer), DeepSpeed (its estimator's 18 B/param and "
                       "ZeRO-3 gather buffer), PyTorch FSDP, or Hugging Face Trainer with AMP (fp32 weights).",
                   choices=_choices(core_inputs.FRAMEWORKS, {"zero": "ZeRO paper", "megatron": "Megatron-LM",
                                                             "deepspeed": "DeepSpeed", "fsdp": "PyTorch FSDP",
                                                             "hf": "HF Trainer (AMP)"}), mode="train"),
        InputField("recompute", "Recomputation", "choice",
                   tip="Activation checkpointing: selective drops attention scores (cheap); full keeps only "
                       "layer inputs and adds one forward pass (~33 % more compute). auto picks the mode on "
                       "the fewest GPUs, then the one with less compute.",
                   choices=_choices(core_inputs.RECOMPUTE), mode="train"),
        InputField("flash_attention", "FlashAttention", "bool",
                   tip="Attention without storing the s×s score matrix; on for most modern stacks.", mode="train"),
        InputField("offload_optimizer", "Offload optimizer", "choice",
                   tip="ZeRO-Offload: gradients, fp32 master weights and optimizer states in host RAM (cpu) or "
                       "on NVMe; the GPU keeps 16-bit weights. Costs PCIe traffic every step.",
                   choices=_choices(core_inputs.OFFLOAD_DEVICES), mode="train"),
        InputField("offload_params", "Offload parameters", "choice",
                   tip="ZeRO-Infinity: the 16-bit weights in host RAM or on NVMe too, fetched every micro-batch "
                       "(ZeRO-3 only).", choices=_choices(core_inputs.OFFLOAD_DEVICES), mode="train"),
        InputField("chunked_loss", "Chunked cross-entropy", "bool",
                   tip="Compute the loss in chunks (torchtune's CEWithChunkedOutputLoss): the logits stay 16-bit "
                       "and only one chunk at a time is upcast to fp32.", mode="train"),
        InputField("activation_offload", "Offload activations", "bool",
                   tip="Keep what each layer stores for backward in host memory, copied back just in time "
                       "(torchtune's enable_activation_offloading); costs PCIe traffic, mostly hidden.", mode="train"),
        InputField("optimizer_in_backward", "Optimizer step in backward", "bool",
                   tip="Apply each parameter's optimizer step as soon as backward produces its gradient and free "
                       "it (torchtune's optimizer_in_bwd): no whole set of gradients is ever held, only one "
                       "tensor's. Full training, no gradient accumulation.", mode="train"),
        InputField("sequence_parallel", "Sequence parallelism", "bool",
                   tip="With tensor parallelism, also split the LayerNorm/dropout activations it would "
                       "otherwise keep whole on every rank (Korthikanti et al. 2022); Megatron-LM's "
                       "--sequence-parallel.", mode="train"),
        InputField("zero_stage", "ZeRO stage", "choice", aliases=("zero",),
                   tip="Sharding over data-parallel ranks: 1 optimizer, 2 + gradients, 3 (= FSDP) + weights. "
                       "auto picks the cheapest that fits.",
                   choices=((-1, "auto"), (0, "0 (off)"), (1, "1"), (2, "2"), (3, "3 (FSDP)")), mode="train"),
        InputField("util_cap", "Memory cap", "pct", "%",
                   "Share of reported GPU memory a plan may fill; typical 90 %."),
        InputField("overhead_bytes", "Runtime overhead", "gib", "GiB",
                   "CUDA context and library workspaces per GPU; typical 0.5–1.5 GiB.", aliases=("overhead",)),
        InputField("fragmentation", "Fragmentation margin", "pct", "%",
                   "Allocator margin on top of the other components; typical 5 %."),
    )),
    Group("Parallelism", (
        InputField("tp", "Tensor parallel", "auto_int", "GPUs", "TP degree within one instance; auto searches 1–8."),
        InputField("pp", "Pipeline parallel", "auto_int", "stages",
                   "Pipeline stages (uneven stages allowed); auto tries 1–16, 20, 24, 32, 40, 48, 64."),
        InputField("interleave", "Interleaved stages", "int", "per GPU",
                   "Virtual pipeline stages per GPU (interleaved 1F1B, Narayanan et al. 2021): the bubble "
                   "shrinks by this factor; 1 = plain 1F1B.", mode="train"),
        InputField("dp", "Data parallel", "auto_int", "replicas", "Data-parallel degree; auto = smallest that fits."),
        InputField("ep", "Expert parallel", "auto_int", "GPUs", "Expert-parallel degree for MoE models; auto searches."),
    )),
    Group("Hardware && cost", (
        InputField("network_gbit_s", "Network per node", "float", "Gb/s",
                   "The instance network (InfiniBand/EFA/RoCE) per instance; 0 = the instance catalog's "
                   "(100 Gb/s assumed when unknown). e.g. 3200 for 8 × 400 Gb/s.", aliases=("network",)),
        InputField("mfu", "MFU", "pct", "%",
                   "Model FLOPs utilization: achieved / dense peak. 0 = from the step model (compute at the "
                   "GPU generation's kernel efficiency, exposed communication, pipeline bubble); a value pins "
                   "it (large runs reach 35–55 %).", mode="train"),
        InputField("flop_convention", "FLOP convention", "choice",
                   tip="The FLOPs an MFU is measured against: full = 6ND + non-causal attention (Narayanan "
                       "et al. 2021), causal = half the attention term, 6nd = 6ND only (Chinchilla). Use "
                       "the basis of the MFU you quote.",
                   choices=_choices(core_inputs.FLOP_CONVENTIONS), mode="train"),
        InputField("mbu", "MBU", "pct", "%",
                   "Memory-bandwidth utilization of decode kernels; typical 60–80 %.", mode="infer"),
        InputField("price_kind", "Price", "choice",
                   tip="Which price the headline cost uses; all are shown. 1-year reserved/committed needs the "
                       "catalog's reserved price and bills a whole year's commitment.",
                   choices=_choices(core_inputs.PRICE_KINDS, {"on_demand": "on-demand", "spot": "spot",
                                                              "reserved_1y": "1-year reserved"})),
        InputField("interconnect", "Link bandwidths", "choice",
                   tip="Where tensor/expert/pipeline-parallel traffic gets its bandwidth: the GPU and instance "
                       "catalogs, or the bus bandwidth measured by the collective benchmark (README, "
                       "'Measuring the interconnect').",
                   choices=_choices(core_inputs.INTERCONNECTS)),
    )),
    Group("Money options", (
        InputField("discounts", "Negotiated discounts", "text", "% per cloud",
                   "Percent off every price of a cloud, e.g. aws=20 gcp=15 (an enterprise agreement)."),
        InputField("spot_interruptions_per_hour", "Spot interruptions", "float", "per instance-hour",
                   "How often one spot instance is reclaimed; e.g. 0.005 (AWS Spot Instance Advisor's "
                   "'<5 %' a month is under 0.0001). 0 = ignore interruptions.", mode="train"),
        InputField("checkpoint_interval_h", "Checkpoint every", "float", "h",
                   "Hours of training between checkpoints (work since the last one is lost at an "
                   "interruption); 0 = never checkpoints.", mode="train"),
        InputField("restart_h", "Restart cost", "float", "h",
                   "Hours to get a replacement, reload the checkpoint and warm up after an interruption.",
                   mode="train"),
        InputField("api_usd_per_million_input", "API price, input", "float", "$/1M tokens",
                   "An API's price per million prompt tokens, to compare with self-hosting; 0 = none.", mode="infer"),
        InputField("api_usd_per_million_output", "API price, output", "float", "$/1M tokens",
                   "The API's price per million output tokens.", mode="infer"),
        InputField("load_profile", "Daily load profile", "text", "req/s by hour",
                   "24 hourly request rates, or hour ranges such as 9-18=40 18-23=10 (other hours: the "
                   "request rate); replicas are scaled per hour and billed by the hour. Empty = flat.",
                   mode="infer"),
        InputField("scale_to_zero", "Scale to zero", "bool",
                   tip="Hours without requests bill no replica (else one replica stays up).", mode="infer"),
    )),
    Group("Energy && carbon", (
        InputField("gpu_power_w", "GPU power", "float", "W",
                   "Measured watts of one busy GPU (live panel or benchmark); 0 = the datasheet TDP."),
        InputField("host_power_fraction", "Host overhead", "pct", "% of GPU power",
                   "CPUs, memory, NICs and fans per GPU; 82 % from the DGX H100 datasheet (10.2 kW for 8 × 700 W)."),
        InputField("pue", "PUE", "float", "",
                   "Facility power / IT power; 0 = the cloud's published PUE (AWS 1.15, Google 1.10, "
                   "else the Uptime Institute 2024 average 1.56)."),
        InputField("grid_intensity_g_per_kwh", "Grid carbon intensity", "float", "gCO2e/kWh",
                   "0 = the instance region's grid average from the carbon table."),
    )),
)

FORM_FIELDS = {f.name: f for g in GROUPS for f in g.fields}
INPUT_FIELDS = {f.name: f for f in SELECTION_FIELDS} | FORM_FIELDS


def input_rows(inputs, mode: str) -> list[tuple[str, str]]:
    """(label, text) of the inputs (a PlanInputs) that matter in `mode` ('train'/'infer'),
    labelled and written as the form and the CLI do (PDF report, accuracy view)."""
    other = "infer" if mode == "train" else "train"
    return [(INPUT_FIELDS[name].label.replace("&&", "&"), INPUT_FIELDS[name].display(value))
            for name, value in inputs.as_dict().items()
            if name in INPUT_FIELDS and INPUT_FIELDS[name].mode != other and value not in ("", None)]


def field_for_error(error_field: str) -> str | None:
    """The input an InputError.field refers to (the core uses a few short names)."""
    if error_field in INPUT_FIELDS:
        return error_field
    return next((f.name for f in INPUT_FIELDS.values() if error_field in f.aliases), None)


# --- results -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultField:
    """One figure of a PlanResult, by its JSON key. kind says how it is written:
    int | count | bytes | seconds | usd | usd_per_hour | rate | rate_requests | flops | flops_per_s |
    fraction | ratio | bool | watts | kwh | kg | g_per_kwh | text."""

    key: str
    label: str
    kind: str
    help: str = ""

    def display(self, value, memory_unit: str = "GiB") -> str:
        """The figure as every face writes it; a gap (None/NaN) is 'n/a', never 'nan'."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "n/a"
        kind = self.kind
        if kind == "int":
            return f"{int(round(value)):,}"
        if kind == "count":
            return fmt_count(value)
        if kind == "bytes":
            return fmt_memory(value, memory_unit)
        if kind == "seconds":
            return fmt_duration(value)
        if kind == "usd":
            return fmt_usd(value)
        if kind == "usd_per_hour":
            return f"{fmt_usd(value)}/h"
        if kind == "rate":
            return f"{value:,.1f} tok/s" if value < 100 else f"{value:,.0f} tok/s"
        if kind == "flops":
            return fmt_flops(value)
        if kind == "flops_per_s":
            return f"{value / 1e12:,.1f} TFLOP/s"
        if kind == "fraction":
            return percent_text(value)
        if kind == "ratio":
            return f"{value:.2f}"
        if kind == "rate_requests":
            return f"{value:,.3g} req/s"
        if kind == "bool":
            return "yes" if value else "no"
        if kind == "watts":
            return f"{value:,.0f} W"
        if kind == "kwh":
            return f"{fmt_sig(value)} kWh" if value < 1000 else f"{fmt_sig(value / 1000)} MWh"
        if kind == "kg":
            return f"{fmt_sig(value)} kg" if value < 1000 else f"{fmt_sig(value / 1000)} t"
        if kind == "g_per_kwh":
            return f"{value:,.0f} gCO2e/kWh"
        if isinstance(value, (tuple, list)):
            return " ".join(map(str, value))
        return str(value)


# Likewise for results (the curve's `batch` too); other keys already carry their unit.
RESULT_UNIT_SUFFIX = {
    "params_total": "_count", "params_active": "_count", "max_batch": "_sequences",
    "serving_batch": "_sequences", "batch": "_sequences", "fleet_utilization": "_fraction",
    "kv_cache_tokens": "_count", "max_concurrency": "_sequences", "replicas_per_instance": "_count",
    "pue": "_ratio", "replicas_by_hour": "_count",
}

_RESULTS = (
    ResultField("params_total", "Parameters", "count", "All parameters (MoE: every expert)."),
    ResultField("params_active", "Active parameters", "count", "Parameters used per token (MoE: routed experts only)."),
    ResultField("min_gpus", "GPUs needed", "int", "Fewest GPUs that hold the job."),
    ResultField("gpus", "GPUs in the plan", "int",
                "GPUs the plan uses (training: whole instances filled, or the deadline; serving: one replica)."),
    ResultField("gpus_per_instance", "GPUs per instance", "int"),
    ResultField("instances", "Instances", "int", "Instances billed (planning by GPU: none)."),
    ResultField("memory_per_gpu_bytes", "Memory per GPU", "bytes", "Memory of the busiest GPU."),
    ResultField("capacity_bytes", "GPU memory", "bytes", "Memory one GPU reports."),
    ResultField("usable_bytes", "Usable memory", "bytes", "GPU memory × the memory cap."),
    ResultField("price_usd_per_hour", "Price", "usd_per_hour", "On-demand price of the plan's instances."),
    ResultField("spot_price_usd_per_hour", "Spot price", "usd_per_hour", "Spot price of the plan's instances."),
    ResultField("peak_flops", "Peak per GPU", "flops_per_s", "Dense peak of the dtype the math runs in."),
    ResultField("recompute", "Recomputation", "text", "The activation recomputation the plan uses (auto: searched)."),
    ResultField("micro_batch", "Micro-batch", "int", "Sequences per GPU per step the plan uses (auto: searched)."),
    ResultField("training_flops", "Training FLOPs", "flops", "Model FLOPs of the whole run."),
    ResultField("hardware_flops", "Hardware FLOPs", "flops", "Model FLOPs plus recomputation."),
    ResultField("training_time_s", "Training time", "seconds"),
    ResultField("step_time_s", "Step time", "seconds",
                "One optimizer step: compute, exposed communication and the pipeline bubble (step model)."),
    ResultField("mfu", "MFU", "fraction",
                "Model FLOPs (the chosen convention) / (GPUs × dense peak × time): the step model's, or as pinned."),
    ResultField("tokens_per_s_per_gpu", "Tokens/s per GPU", "rate", "Training tokens per second per GPU."),
    ResultField("host_memory_bytes", "Host memory per node", "bytes",
                "CPU RAM one node needs for the model states: offloaded states, or DeepSpeed's estimator "
                "(all states live, × 1.5) in DeepSpeed mode."),
    ResultField("gpu_hours", "GPU-hours", "int"),
    ResultField("cost_usd", "Training cost", "usd", "On-demand cost of the whole run."),
    ResultField("spot_cost_usd", "Training cost (spot)", "usd", "Spot cost of the whole run."),
    ResultField("prefill_time_s", "Prefill time", "seconds", "One prompt's prefill on one replica."),
    ResultField("decode_tokens_per_s_per_user", "Tokens/s per user", "rate",
                "Decode speed each sequence sees at the requested concurrency."),
    ResultField("decode_tokens_per_s_total", "Tokens/s per replica", "rate",
                "Decode tokens/s of one replica at the requested concurrency."),
    ResultField("ttft_s", "Time to first token", "seconds",
                "With `concurrency` users on one replica: waiting for the step in flight plus the prompt's chunks."),
    ResultField("tpot_s", "Time per output token", "seconds", "One decode step at the same operating point."),
    ResultField("max_throughput_tokens_per_s", "Max. throughput", "rate",
                "One replica offline: output tokens/s at the largest concurrency that fits, no per-user floor."),
    ResultField("max_throughput_concurrency", "Max. throughput concurrency", "int"),
    ResultField("max_batch", "Largest batch", "int", "Largest batch whose KV cache fits."),
    ResultField("usd_per_million_tokens", "Cost per 1M output tokens", "usd"),
    ResultField("serving_batch", "Serving batch", "int", "Largest batch that keeps the per-user floor."),
    ResultField("serving_tokens_per_s_total", "Tokens/s per replica at the serving batch", "rate"),
    ResultField("replicas", "Replicas", "int", "Replicas that carry the load."),
    ResultField("serving_gpus", "Serving GPUs", "int"),
    ResultField("serving_instances", "Serving instances", "int"),
    ResultField("replicas_per_instance", "Replicas per instance", "ratio",
                "Replica slots per billed instance (below 1: a replica spans instances)."),
    ResultField("replica_price_usd_per_hour", "Price per replica", "usd_per_hour",
                "A replica's share of the billed instances."),
    ResultField("usd_per_million_tokens_at_capacity", "Cost per 1M output tokens at capacity", "usd",
                "The same bill at the most load the fleet carries within the service levels."),
    ResultField("fleet_capacity_requests_per_s", "Fleet capacity", "rate_requests",
                "Requests/s the fleet carries within the service levels."),
    ResultField("fleet_utilization", "Fleet utilization", "fraction", "Requested load / fleet capacity."),
    ResultField("meets_slo", "Meets the service levels", "bool",
                "Fits and keeps the per-user speed floor and TTFT target (serving) or the deadline (training)."),
    ResultField("monthly_cost_usd", "Monthly cost", "usd", "The whole fleet, on-demand, 730 h a month."),
    ResultField("spot_monthly_cost_usd", "Monthly cost (spot)", "usd", "The whole fleet at spot prices."),
    # money options (core.money)
    ResultField("discount_fraction", "Negotiated discount", "fraction", "Taken off every price of the plan's cloud."),
    ResultField("reserved_price_usd_per_hour", "Reserved price (1 year)", "usd_per_hour",
                "1-year reserved/committed price of the plan's instances."),
    ResultField("reserved_cost_usd", "Training cost (1-year reserved)", "usd",
                "A 1-year commitment bills a whole year, however short the run."),
    ResultField("reserved_monthly_cost_usd", "Monthly cost (1-year reserved)", "usd",
                "The busiest hour's fleet committed for a year, per month."),
    ResultField("spot_expected_training_time_s", "Training time on spot", "seconds",
                "Expected wall time with interruptions, lost work and restarts (Daly 2006)."),
    ResultField("spot_expected_cost_usd", "Training cost (spot, interrupted)", "usd",
                "Spot price × the expected wall time with interruptions."),
    ResultField("api_monthly_cost_usd", "API bill", "usd", "The API's monthly bill for the same load."),
    ResultField("breakeven_requests_per_s", "Self-hosting wins from", "rate_requests",
                "The lowest steady load from which the fleet's bill is no more than the API's."),
    ResultField("replicas_by_hour", "Replicas by hour", "text", "Replicas each hour of the day (load profile)."),
    # energy and carbon (core.energy)
    ResultField("gpu_power_w", "GPU power", "watts", "One busy GPU: measured, or the datasheet TDP."),
    ResultField("pue", "PUE", "ratio", "Facility power / IT power."),
    ResultField("grid_intensity_g_per_kwh", "Grid carbon intensity", "g_per_kwh", "Grid average of the region."),
    ResultField("energy_kwh", "Energy", "kwh", "Facility energy: the training run, or a month of serving."),
    ResultField("co2e_kg", "CO2e", "kg", "Energy × the grid's carbon intensity."),
    ResultField("energy_kwh_per_million_tokens", "Energy per 1M output tokens", "kwh"),
    ResultField("co2e_kg_per_million_tokens", "CO2e per 1M output tokens", "kg"),
    ResultField("energy_note", "Energy and CO2e unknown because", "text", "Empty when both are known."),
)
RESULT_FIELDS = {f.key: f for f in _RESULTS}


def csv_name(key: str) -> str:
    """A CSV column name: the JSON key, with its unit added when the key does not say one."""
    return key + (INPUT_UNIT_SUFFIX.get(key) or RESULT_UNIT_SUFFIX.get(key, ""))


def result_label(key: str) -> str:
    return RESULT_FIELDS[key].label


def result_text(key: str, value, memory_unit: str = "GiB") -> str:
    """How every face writes result figure `key` (a JSON key of PlanResult.to_dict())."""
    return RESULT_FIELDS[key].display(value, memory_unit)


# Explained figures that are neither result fields nor memory components (core/explain.py's keys)
FIGURE_LABELS = {"quick_rule": "Quick rule", "training_flops": "Training FLOPs", "engine_vllm": "vLLM launch",
                 "engine_sglang": "SGLang launch"}


def figure_label(key: str) -> str:
    """Words for an explained figure other than a memory component ('training_time_s' -> 'Training time')."""
    if key in RESULT_FIELDS:
        return result_label(key)
    return FIGURE_LABELS.get(key, key.replace("_", " ").capitalize())
