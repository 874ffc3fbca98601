"""One estimate: inputs + catalogs → PlanResult. The glue between model, memory, layout,
performance and prices; every figure is computed here once."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from gpuplanner.core.catalogs import Catalogs, GpuSpec, Instance
from gpuplanner.core.errors import InputError
from gpuplanner.core.explain import assumptions_for, explanations_for
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.layout import InferenceSetup, check_fixed_layout, inference_parts, search_inference
from gpuplanner.core.memory import DTYPE_BYTES, weight_bytes_per_param
from gpuplanner.core.model import ModelArch, sizes, synthesize
from gpuplanner.core.performance import DecodeModel, batch_points, compute_dtype, prefill_time_s, training_flops
from gpuplanner.core.result import PlanResult, QuickRule, ThroughputPoint
from gpuplanner.core.tuning import RECOMPUTE_WORDS, runner_up_note, tune_training
from gpuplanner.core.units import GIB, HOURS_PER_MONTH, SECONDS_PER_DAY

QUICK_TRAIN_BYTES = 18.0  # 2 half weights + 4 fp32 weights + 4 fp32 grads + 8 AdamW states
QUICK_FACTOR = 1.25  # 25 % extra for activations
# What a sequence longer than the trained positions needs, by position scheme
_BEYOND = {
    "rope": "longer sequences need RoPE scaling (position interpolation or YaRN) and fine-tuning at that length",
    "learned": "its learned position table has no rows beyond that: longer sequences cannot run without "
               "extending the table and training it",
    "alibi": "ALiBi extrapolates past it, with quality falling off the further it goes",
    "relative": "its relative-position buckets extrapolate past it, with quality falling off the further it goes",
}


@dataclass(frozen=True)
class Hardware:
    gpu: GpuSpec
    instance: Instance | None  # None when planning by GPU only
    gpus_per_instance: int
    max_tp: int
    price_per_gpu_hour: float
    spot_per_gpu_hour: float
    price_as_of: str
    price_note: str


def resolve_model(inputs: PlanInputs, catalogs: Catalogs) -> ModelArch:
    if isinstance(inputs.model, ModelArch):
        return inputs.model
    if inputs.model:
        try:
            return catalogs.models[inputs.model]
        except KeyError:
            raise InputError("model", f"'{inputs.model}' is not a preset; use one of "
                             f"{', '.join(sorted(catalogs.models))}, or give a parameter count") from None
    return synthesize(inputs.params, name=f"{inputs.params / 1e9:.3g}B parameters")


def resolve_hardware(inputs: PlanInputs, catalogs: Catalogs) -> Hardware:
    if inputs.instance:
        inst = catalogs.instances.get(inputs.instance)
        if inst is None:
            raise InputError("instance", f"'{inputs.instance}' is not in the instance catalog; "
                             "see the instance catalog for the list")
        if inst.gpu not in catalogs.gpus:
            raise InputError("instance", f"'{inst.instance_type}' has a GPU ({inst.gpu or 'unknown'}) "
                             "with no datasheet entry in the GPU catalog")
        n = inst.gpu_count
        return Hardware(catalogs.gpus[inst.gpu], inst, n, min(8, n), inst.price_usd_per_hour / n,
                        inst.spot_price_usd_per_hour / n, inst.as_of,
                        f"{inst.cloud} {inst.instance_type} ({inst.region})")
    gpu = catalogs.gpus.get(inputs.gpu)
    if gpu is None:
        raise InputError("gpu", f"'{inputs.gpu}' is not in the GPU catalog; use one of "
                         f"{', '.join(sorted(catalogs.gpus))}")
    priced = [i for i in catalogs.instances.values()
              if i.gpu == gpu.name and math.isfinite(i.price_usd_per_hour)]
    if not priced:
        return Hardware(gpu, None, 8, 8, math.nan, math.nan, "", "no priced instance has this GPU")
    ref = min(priced, key=lambda i: i.price_usd_per_hour / i.gpu_count)
    spot = [i.spot_price_usd_per_hour / i.gpu_count for i in catalogs.instances.values()
            if i.gpu == gpu.name and math.isfinite(i.spot_price_usd_per_hour)]
    return Hardware(gpu, None, 8, 8, ref.price_usd_per_hour / ref.gpu_count, min(spot, default=math.nan),
                    ref.as_of, f"cheapest per GPU: {ref.cloud} {ref.instance_type}")


def quick_rule(params: float, mode: str, precision: str, gpu: GpuSpec) -> QuickRule:
    bpp = QUICK_TRAIN_BYTES if mode == "train" else DTYPE_BYTES[precision]
    gb = gpu.memory_gb_marketing
    ratio = params / 1e9 * bpp * QUICK_FACTOR / gb
    gpus = max(1, math.ceil(ratio - 1e-12))
    formula = f"{params / 1e9:.3g} × {bpp:g} × {QUICK_FACTOR:g} / {gb:g} GB = {ratio:.3g} → {gpus} GPU{'s' * (gpus > 1)}"
    return QuickRule(bpp, QUICK_FACTOR, gb, ratio, gpus, formula)


def _fixed_layout(inputs: PlanInputs) -> dict:
    return {"dp": inputs.dp, "tp": inputs.tp, "pp": inputs.pp, "ep": inputs.ep, "zero": inputs.zero_stage}


def _instances(gpus: int, hw: Hardware) -> float:
    return float(math.ceil(gpus / hw.gpus_per_instance)) if hw.instance else math.nan


def _hourly(gpus: int, hw: Hardware, per_gpu: float) -> float:
    """Whole instances are billed; by GPU only, GPU-hours at the reference price."""
    if hw.instance:
        return _instances(gpus, hw) * per_gpu * hw.gpus_per_instance
    return gpus * per_gpu


def _layout_notes(notes: dict, fits: bool) -> tuple:
    """The best layout per tensor degree, and what the breakdown shows when nothing fits."""
    lines = []
    for t, layout in notes.items():
        if layout is None:
            lines.append(f"TP{t}: no layout fits within the usable memory")
        else:
            lines.append(f"TP{t}: best {layout.describe()} = {layout.gpus} GPUs")
    if not fits:
        lines.append("nothing fits: the breakdown shows the smallest-memory layout tried (with ZeRO-3 over "
                     "an unbounded data-parallel degree, model states shrink toward zero: what remains is "
                     "what no data parallelism can remove)")
    return tuple(lines)


def estimate(inputs: PlanInputs, catalogs: Catalogs, explain: bool = True) -> PlanResult:
    """The detailed plan for one set of inputs. Raises InputError on bad input.

    explain=False skips what only a single plan shows (explanations, assumptions, the
    throughput curve and the GPUs that meet the horizon) for bulk use in sweeps."""
    inputs = inputs.validated()
    arch = resolve_model(inputs, catalogs)
    hw = resolve_hardware(inputs, catalogs)
    gpu = hw.gpu
    if gpu.measured:  # achieved throughput already includes the efficiency
        inputs = inputs.with_(mfu=1.0, mbu=1.0)
    # A bare count is the user's number exactly; the synthesized shape only sizes activations/KV.
    params = arch.published_params if arch.synthesized else sizes(arch).total
    usable = gpu.capacity_bytes * inputs.util_cap
    warnings = []
    if gpu.measured:
        warnings.append(f"{gpu.full_name}: measured throughput ({gpu.as_of}) replaces datasheet peak × MFU/MBU")
    if arch.synthesized:
        warnings.append(f"architecture synthesized from {params / 1e9:.3g}B parameters "
                        f"({arch.n_layers} layers, hidden {arch.hidden}): activations and KV cache are approximate")
    if gpu.capacity_is_marketing:
        warnings.append(f"{gpu.name}: reported memory not verified; fitting uses the marketing {gpu.memory_gb_marketing:g} GB")
    qr = quick_rule(params, inputs.mode, inputs.precision, gpu)
    if qr.ratio > 1 and qr.ratio % 1 > 0:
        warnings.append(f"quick rule ratio {qr.ratio:.2f} rounds up to {qr.gpus} GPUs (it does not fit on {qr.gpus - 1})")
    dtype, dtype_note, blocked = compute_dtype(gpu, inputs.precision, inputs.mode)
    if dtype_note:
        warnings.append(dtype_note)
    peak = gpu.peak(dtype)
    if not math.isfinite(peak) and not blocked:
        warnings.append(f"{gpu.name} has no published {dtype} peak: times and throughput are unknown")
    length = inputs.seq_len if inputs.mode == "train" else inputs.context_len
    if arch.cross_attention_layers:
        warnings.append(f"encoder-decoder ({arch.n_layers - arch.cross_attention_layers} + "
                        f"{arch.cross_attention_layers} layers): memory, KV cache and FLOPs take the encoder input "
                        f"and the decoder output as {length} tokens each")
    if arch.max_positions and length > arch.max_positions:
        warnings.append(f"{arch.name} was trained for {arch.max_positions} positions; {_BEYOND[arch.positions]}")
    common = dict(
        model_name=arch.name, mode=inputs.mode, precision=inputs.precision, gpu_name=gpu.name,
        instance_type=hw.instance.instance_type if hw.instance else "",
        params_total=float(params), params_active=float(sizes(arch).active), quick_rule=qr,
        capacity_bytes=gpu.capacity_bytes, usable_bytes=usable,
        gpus_per_instance=hw.gpus_per_instance, price_as_of=hw.price_as_of, peak_flops=peak,
        gpu_source=gpu.source, gpu_as_of=gpu.as_of,
        inputs={**inputs.as_dict(), "model": arch.name},
    )
    frag = inputs.fragmentation
    check_fixed_layout(arch, hw.max_tp, _fixed_layout(inputs),
                       f"{hw.instance.instance_type} instance" if hw.instance else "node")
    if inputs.mode == "train":
        result = _train(inputs, arch, hw, peak, usable, frag, blocked, warnings, common, explain)
    else:
        result = _infer(inputs, arch, hw, peak, usable, frag, blocked, warnings, common, explain)
    if not explain:
        return result
    return replace(result, assumptions=assumptions_for(inputs, arch, hw),
                   explanations=explanations_for(result, inputs, arch, hw))


def _train(inputs, arch, hw, peak, usable, frag, blocked, warnings, common, with_horizon=True) -> PlanResult:
    """Training: the tuned layout (tuning.py), its time and cost; with_horizon=False skips the
    second search that names the GPUs meeting the horizon (only a single plan shows it)."""
    model_flops = training_flops(arch, inputs.training_tokens, inputs.seq_len, inputs.train_method,
                                 inputs.flop_convention)
    tuned = tune_training(inputs, arch, model_flops, peak, usable, frag, hw.max_tp, _fixed_layout(inputs),
                          hw.gpus_per_instance if hw.instance else 0)
    if tuned is None:
        raise InputError("tp", "no tensor/pipeline degree is allowed for this model "
                         f"({arch.n_heads} heads, {arch.n_kv_heads} KV heads, {arch.n_layers} layers)")
    cand, hw_flops = tuned.best.candidate, tuned.best.hardware_flops
    fits = cand.fits and not blocked
    if blocked:
        warnings.append(blocked)
    elif not cand.fits:
        warnings.append(f"does not fit on {hw.gpu.name}: the smallest layout needs "
                        f"{cand.breakdown.total / GIB:,.1f} GiB per GPU, usable {usable / GIB:,.1f} GiB")
        if cand.breakdown.activations > usable - inputs.overhead_bytes:
            tried = "even with full recomputation" if tuned.best.recompute == "full" else "try full recomputation"
            warnings.append(f"activations alone need {cand.breakdown.activations / GIB:,.1f} GiB per GPU: {tried}; "
                            "try a shorter sequence, a smaller micro-batch, or more tensor parallelism")
    gpus = cand.layout.gpus if fits else 0
    time_s = hw_flops / (gpus * peak * inputs.mfu) if fits and math.isfinite(peak) else math.nan
    hours = time_s / 3600
    if with_horizon and inputs.horizon_days and not inputs.max_training_days \
            and time_s > inputs.horizon_days * SECONDS_PER_DAY:
        warnings.append(_beyond_horizon(inputs, arch, hw, peak, usable, frag, model_flops, time_s))
    runner_up = runner_up_note(tuned)
    return PlanResult(
        **common, breakdown_bytes=cand.breakdown, fits=fits, layout=cand.layout, gpus=gpus,
        min_gpus=tuned.min_gpus if fits else 0,
        instances=_instances(gpus, hw) if fits else math.nan,
        price_usd_per_hour=_hourly(gpus, hw, hw.price_per_gpu_hour) if fits else math.nan,
        spot_price_usd_per_hour=_hourly(gpus, hw, hw.spot_per_gpu_hour) if fits else math.nan,
        training_flops=model_flops, hardware_flops=hw_flops, training_time_s=time_s,
        gpu_hours=gpus * hours if fits else math.nan,
        cost_usd=_hourly(gpus, hw, hw.price_per_gpu_hour) * hours if fits else math.nan,
        spot_cost_usd=_hourly(gpus, hw, hw.spot_per_gpu_hour) * hours if fits else math.nan,
        recompute=tuned.best.recompute, micro_batch=tuned.best.micro_batch,
        warnings=tuple(warnings),
        layout_notes=tuned.reasons + ((runner_up,) if runner_up else ()) + _layout_notes(tuned.best.notes, cand.fits),
    )


def _beyond_horizon(inputs, arch, hw, peak, usable, frag, model_flops, time_s) -> str:
    """A plan longer than the horizon names the plan that meets it: the same search with the
    horizon as the deadline (less recomputation may win there: it needs less compute)."""
    days = inputs.horizon_days
    met = tune_training(inputs.with_(max_training_days=days), arch, model_flops, peak, usable, frag, hw.max_tp,
                        _fixed_layout(inputs), hw.gpus_per_instance if hw.instance else 0).best
    lay = met.candidate.layout
    text = f"training takes {time_s / SECONDS_PER_DAY:,.0f} days, longer than the {days:g}-day horizon: "
    met_s = met.hardware_flops / (lay.gpus * peak * inputs.mfu) if met.candidate.fits else math.inf
    if met_s > days * SECONDS_PER_DAY * (1 + 1e-9):
        return text + "no layout meets it with the parallel degrees fixed as they are"
    return text + (f"{lay.gpus:,} GPUs ({lay.describe()}, {RECOMPUTE_WORDS[met.recompute]}) finish in "
                   f"{met_s / SECONDS_PER_DAY:,.0f} days; set the deadline (max_training_days) to plan for it")


@dataclass(frozen=True)
class _Serving:
    """One replica layout evaluated against the serving load."""

    candidate: object
    decode: DecodeModel
    max_batch: int
    batch: int  # largest batch keeping the per-user floor (1 when even batch 1 misses it)
    floor_met: bool
    replica_tps: float
    prefill_s: float
    replicas: int
    serving_gpus: int


def _serving(cand, inputs, arch, hw, setup, peak, usable, frag) -> _Serving:
    lay = cand.layout
    w, kv_conc, acts = inference_parts(setup, lay.tp, lay.pp, lay.ep, inputs.concurrency)
    kv_seq = kv_conc / math.ceil(inputs.concurrency / lay.ep)
    free = (usable - inputs.overhead_bytes) / (1 + frag) - w - acts
    max_batch = max(0, int(free // kv_seq)) * lay.ep if kv_seq > 0 else 0
    sz = setup.sizes
    dense_bytes = setup.weight_bytes * sz.block_dense + setup.edge_weight_bytes * (sz.embed + sz.head)
    avg_ctx = min(inputs.context_len, inputs.prompt_tokens + inputs.output_tokens // 2)
    parallel = lay.tp * lay.ep  # pipeline stages run one after another for a token
    decode = DecodeModel(arch, hw.gpu, parallel, dense_bytes, setup.weight_bytes * sz.block_experts,
                         setup.kv_dtype, avg_ctx, peak, inputs.mfu, inputs.mbu)
    batch = decode.largest_batch_with_floor(inputs.min_tokens_per_s_per_user, max_batch)
    replica_tps = decode.total(max(batch, 1))
    prefill = prefill_time_s(arch, inputs.prompt_tokens, parallel, peak, inputs.mfu)
    replicas = max(1, math.ceil(inputs.requests_per_s * (prefill + inputs.output_tokens / replica_tps) - 1e-9))
    return _Serving(cand, decode, max_batch, max(batch, 1), batch > 0, replica_tps, prefill, replicas,
                    replicas * lay.gpus)


def _infer(inputs, arch, hw, peak, usable, frag, blocked, warnings, common, with_curve=True) -> PlanResult:
    """Serving: among the replica layouts that fit, the one that carries the load on the
    fewest instances (or GPUs) while keeping the per-user speed floor; then the smaller
    replica. A small replica with deep pipelining can need many more replicas than a wider
    tensor-parallel one."""
    quantized = inputs.precision in ("fp8", "int8", "int4")
    wb = weight_bytes_per_param(inputs.precision)
    edge_b = 2.0 if quantized else DTYPE_BYTES[inputs.precision]
    setup = InferenceSetup(arch, sizes(arch), wb, edge_b, inputs.kv_dtype_effective(), inputs.context_len,
                           inputs.concurrency)
    fitting, fallback, notes = search_inference(setup, usable, inputs.overhead_bytes, frag, hw.max_tp,
                                                _fixed_layout(inputs))
    if not fitting and fallback is None:
        raise InputError("tp", f"no tensor/pipeline degree is allowed for this model ({arch.n_heads} heads)")
    fits = bool(fitting) and not blocked
    if blocked:
        warnings.append(blocked)
    if not fitting:
        warnings.append(f"does not fit on {hw.gpu.name}: weights plus the KV cache of {inputs.concurrency} × "
                        f"{inputs.context_len} tokens need {fallback.breakdown.total / GIB:,.1f} GiB per GPU, "
                        f"usable {usable / GIB:,.1f} GiB")
    min_gpus = min((c.layout.gpus for c in fitting), default=0) if fits else 0
    if not fits or not math.isfinite(peak) or not math.isfinite(hw.gpu.bandwidth_bytes_per_s):
        cand = min(fitting, key=lambda c: (c.layout.gpus, c.layout.pp)) if fitting else fallback
        return PlanResult(**common, breakdown_bytes=cand.breakdown, fits=fits, layout=cand.layout,
                          min_gpus=min_gpus, gpus=cand.layout.gpus if fits else 0,
                          instances=_instances(cand.layout.gpus, hw) if fits else math.nan,
                          price_usd_per_hour=_hourly(cand.layout.gpus, hw, hw.price_per_gpu_hour) if fits else math.nan,
                          spot_price_usd_per_hour=math.nan, layout_notes=_layout_notes(notes, bool(fitting)),
                          warnings=tuple(warnings))
    per = hw.gpus_per_instance if hw.instance else 1

    def key(p: _Serving) -> tuple:
        return (not p.floor_met, math.ceil(p.serving_gpus / per), p.serving_gpus,
                p.candidate.layout.gpus, p.candidate.layout.pp)

    s = None
    for c in sorted(fitting, key=lambda c: c.layout.gpus):
        if s is not None and s.floor_met and math.ceil(c.layout.gpus / per) > math.ceil(s.serving_gpus / per):
            break  # one replica of this size already costs more than the best whole fleet
        plan = _serving(c, inputs, arch, hw, setup, peak, usable, frag)
        if s is None or key(plan) < key(s):
            s = plan
    if not s.floor_met:
        warnings.append(f"{inputs.min_tokens_per_s_per_user:g} tokens/s per user is out of reach: "
                        f"batch 1 gives {s.decode.per_user(1):.1f}; planning with batch 1")
    lay = s.candidate.layout
    replica_hourly = lay.gpus * hw.price_per_gpu_hour
    curve = tuple(ThroughputPoint(b, s.decode.per_user(b), s.decode.total(b),
                                  replica_hourly / (3600 * s.decode.total(b)) * 1e6)
                  for b in batch_points(s.max_batch)) if with_curve else ()
    return PlanResult(
        **common, breakdown_bytes=s.candidate.breakdown, fits=True, layout=lay, min_gpus=min_gpus,
        gpus=lay.gpus, instances=_instances(lay.gpus, hw),
        price_usd_per_hour=_hourly(lay.gpus, hw, hw.price_per_gpu_hour),
        spot_price_usd_per_hour=_hourly(lay.gpus, hw, hw.spot_per_gpu_hour),
        prefill_time_s=s.prefill_s,
        decode_tokens_per_s_per_user=s.decode.per_user(inputs.concurrency),
        decode_tokens_per_s_total=s.decode.total(inputs.concurrency),
        max_batch=s.max_batch, curve=curve,
        usd_per_million_tokens=replica_hourly / (3600 * s.replica_tps) * 1e6,
        serving_batch=s.batch, serving_tokens_per_s_total=s.replica_tps, replicas=s.replicas,
        serving_gpus=s.serving_gpus, serving_instances=_instances(s.serving_gpus, hw),
        monthly_cost_usd=_hourly(s.serving_gpus, hw, hw.price_per_gpu_hour) * HOURS_PER_MONTH,
        spot_monthly_cost_usd=_hourly(s.serving_gpus, hw, hw.spot_per_gpu_hour) * HOURS_PER_MONTH,
        layout_notes=_layout_notes(notes, True), warnings=tuple(warnings),
    )
