"""One estimate: inputs + catalogs → PlanResult. The glue between model, memory, layout,
performance and prices; every figure is computed here once."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from gpuplanner.core.catalogs import Catalogs, GpuSpec
from gpuplanner.core.energy import power_model
from gpuplanner.core.engines import launches, pool_warning
from gpuplanner.core.errors import InputError
from gpuplanner.core.explain import assumptions_for, explanations_for
from gpuplanner.core.frontier import FRONTIER_ATTR, Frontier, frontier
from gpuplanner.core.inputs import MODES, PlanInputs
from gpuplanner.core.memo import remembered
from gpuplanner.core.memory import (
    DTYPE_BYTES,
    activation_offload_bytes,
    lora_adapter_params,
    weight_bytes,
)
from gpuplanner.core.model import ModelArch, sizes, synthesize
from gpuplanner.core.money import (
    api_usd_per_request,
    breakeven_requests_per_s,
    hourly_rates,
    mean_rate,
    spot_run,
)
from gpuplanner.core.offload import host_memory_bytes
from gpuplanner.core.parallelism import (
    Candidate,
    InferenceSetup,
    check_fixed_layout,
    inference_candidate,
    inference_setup,
    pp_choices,
    search_inference,
)
from gpuplanner.core.performance import batch_points, compute_dtype, training_flops
from gpuplanner.core.pricing import (
    SECONDS_PER_MONTH,
    DailyBill,
    Fleet,
    Hardware,
    billed_instances,
    daily_bill,
    hourly_usd,
    reserved_cost_usd,
    resolve_hardware,
    serving_fleet,
    usd_per_million_tokens,
)
from gpuplanner.core.result import PlanResult, QuickRule, ThroughputPoint
from gpuplanner.core.serving import DEFAULT_ENGINE, ENGINES, Load, OperatingPoint, Replica, ServingModel, efficiency
from gpuplanner.core.steptime import StepTime, kernel_efficiency, step_setup, step_time
from gpuplanner.core.text import Text
from gpuplanner.core.tuning import RECOMPUTE_WORDS, Tuned, runner_up_note, setup_for, tune_training
from gpuplanner.core.units import HOURS_PER_MONTH, SECONDS_PER_DAY, fmt_count

QUICK_TRAIN_BYTES = 18.0  # 2 half weights + 4 fp32 weights + 4 fp32 grads + 8 AdamW states
QUICK_FACTOR = 1.25  # 25 % extra for activations
FRONTIER_MAX_GPUS = 64  # the serving frontier's largest replica, unless the NVLink domain or the model needs more
DEADLINE_ROUNDS = 4  # layout searches a deadline may take under the step model
# What a sequence longer than the trained positions needs, by position scheme
_BEYOND = {
    "rope": "longer sequences need RoPE scaling (position interpolation or YaRN) and fine-tuning at that length",
    "learned": "its learned position table has no rows beyond that: longer sequences cannot run without "
               "extending the table and training it",
    "alibi": "ALiBi extrapolates past it, with quality falling off the further it goes",
    "relative": "its relative-position buckets extrapolate past it, with quality falling off the further it goes",
}


def resolve_model(inputs: PlanInputs, catalogs: Catalogs) -> ModelArch:
    if isinstance(inputs.model, ModelArch):
        return inputs.model
    if inputs.model:
        try:
            return catalogs.models[inputs.model]
        except KeyError:
            raise InputError("model", f"'{inputs.model}' is not a preset; use one of "
                             f"{', '.join(sorted(catalogs.models))}, or give a parameter count") from None
    if inputs.experts:
        return synthesize(inputs.params, name=f"{fmt_count(inputs.params)} parameters, {inputs.experts} experts",
                          experts=inputs.experts, experts_per_token=inputs.experts_per_token)
    return synthesize(inputs.params, name=f"{fmt_count(inputs.params)} parameters")


def quick_rule(params: float, mode: str, precision: str, gpu: GpuSpec, train_method: str = "full") -> QuickRule:
    """The rule of thumb: full training 18 bytes/param; serving and LoRA the weights' bytes (the
    frozen base dominates); QLoRA its 4-bit base (0.5 byte/param)."""
    if mode == "train" and train_method == "full":
        bpp = QUICK_TRAIN_BYTES
    elif mode == "train" and train_method == "qlora":
        bpp = DTYPE_BYTES["int4"]
    else:
        bpp = DTYPE_BYTES[precision]
    gb = gpu.memory_gb_marketing
    ratio = params / 1e9 * bpp * QUICK_FACTOR / gb
    gpus = max(1, math.ceil(ratio - 1e-12))
    formula = f"{params / 1e9:.3g} × {bpp:g} × {QUICK_FACTOR:g} / {gb:g} GB = {ratio:.3g} → {gpus} GPU{'s' * (gpus > 1)}"
    return QuickRule(bpp, QUICK_FACTOR, gb, ratio, gpus, formula)


def _fixed_layout(inputs: PlanInputs) -> dict:
    return {"dp": inputs.dp, "tp": inputs.tp, "pp": inputs.pp, "ep": inputs.ep, "zero": inputs.zero_stage}


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
    return estimate_validated(inputs.validated(), catalogs, explain)


def both_modes(inputs: PlanInputs, catalogs: Catalogs) -> dict[str, PlanResult | InputError] | InputError:
    """The plan of the chosen mode and of the other one (the window's cards show both): an
    InputError in place of the other mode's plan when that one cannot be made, or in place of
    the whole answer when the chosen mode's cannot. Returned, not raised, so that the answer
    crosses a process boundary as it is (ui.plan.state runs this in a process of its own)."""
    try:
        answer: dict[str, PlanResult | InputError] = {inputs.mode: estimate(inputs, catalogs)}
    except InputError as e:
        return e
    for mode in MODES:
        if mode != inputs.mode:
            try:
                answer[mode] = estimate(inputs.with_(mode=mode), catalogs)
            except InputError as e:
                answer[mode] = e
    return answer


def estimate_validated(inputs: PlanInputs, catalogs: Catalogs, explain: bool = True) -> PlanResult:
    """estimate() for inputs that passed PlanInputs.validated(): a sweep validates each block of
    rows once rather than every row (they differ only in the instance type)."""
    ctx = _context(inputs, catalogs)
    result = _train(ctx, explain) if ctx.inputs.mode == "train" else _infer(ctx, explain)
    if not explain:
        return result
    return replace(result, assumptions=assumptions_for(ctx.inputs, ctx.arch, ctx.hw),
                   explanations=explanations_for(result, ctx.inputs, ctx.arch, ctx.hw))


def row_estimate(inputs: PlanInputs, catalogs: Catalogs) -> tuple[PlanResult, bool]:
    """What a comparison row (core.sweep COLUMNS) reads of estimate_validated(explain=False),
    and whether the instance network could have changed it.

    Left out (row_only): the engines' flags, the offline maximum, the API, break-even and
    energy figures, and for training the money options and host memory; those fields keep
    their defaults and the warnings only they raise are not given. A serving plan reads the
    network only through the links of a replica spanning instances, a training plan only through
    those of a layout spanning them (core.links), so a plan that costed no such group is the plan
    of every instance of the same GPU, size and NVLink domain."""
    ctx = _context(inputs, catalogs)
    result = _train(ctx, with_horizon=False, row_only=True) if ctx.inputs.mode == "train" else \
        _infer(ctx, with_curve=False, row_only=True)
    return result, any(ctx.hw.links.crosses_network(gpus) for gpus in ctx.link_groups)


def serving_model(inputs: PlanInputs, catalogs: Catalogs) -> ServingModel | None:
    """The serving model of the replica a serving plan chooses (None when nothing fits), to
    ask it about other operating points (a request rate, a concurrency): validation uses it."""
    ctx = _context(inputs.with_(mode="infer").validated(), catalogs)
    setup, fitting, _, _ = _inference_search(ctx)
    known = math.isfinite(ctx.peak) and math.isfinite(ctx.hw.gpu.bandwidth_bytes_per_s)
    chosen = _best_serving(ctx, setup, fitting) if fitting and known and not ctx.blocked else None
    return chosen.model if chosen else None


def serving_frontier(inputs: PlanInputs, catalogs: Catalogs) -> Frontier:
    """The throughput-per-GPU against tokens/s-per-user frontier of the inputs' hardware over
    every replica layout the serving search tries (core.frontier), the plan's own marked; empty
    when nothing fits or the hardware has no published peak or bandwidth."""
    inputs = inputs.with_(mode="infer").validated()
    ctx = _context(inputs, catalogs)
    hardware = ctx.hw.instance.instance_type if ctx.hw.instance else ctx.hw.gpu.name
    known = math.isfinite(ctx.peak) and math.isfinite(ctx.hw.gpu.bandwidth_bytes_per_s)
    setup, fitting, _, _ = _inference_search(ctx)
    if not fitting or not known or ctx.blocked:
        return frontier((), None, hardware)
    replica_model = _replica_models(ctx, setup)
    # replicas up to 64 GPUs (the seed's comparison), a whole NVLink domain, or the smallest that fits
    limit = max(FRONTIER_MAX_GPUS, ctx.hw.max_tp, min(c.layout.gpus for c in fitting))
    layouts = {(d.layout.tp, d.layout.pp, d.layout.ep): d for c in fitting for d in _deepening(c, ctx, setup)
               if d.layout.gpus <= limit}
    models = [(c.layout, replica_model(c)) for c in layouts.values()]
    plan = _infer(ctx, with_curve=False)
    return frontier(models, (plan.layout, plan.serving_batch), hardware)


def attach_frontier(table, inputs: PlanInputs, catalogs: Catalogs):
    """A comparison table (core.sweep) carrying the serving frontier of the inputs' hardware in
    `table.attrs[FRONTIER_ATTR]` (None when the inputs cannot be served), so the table and its
    frontier are computed, cached and handed to the window and the report together."""
    try:
        table.attrs[FRONTIER_ATTR] = serving_frontier(inputs, catalogs)
    except InputError:
        table.attrs[FRONTIER_ATTR] = None
    return table


def serving_curves(inputs: PlanInputs, wanted: list, *, catalogs: Catalogs) -> dict:
    """{(instance type, precision): the serving curve (PlanResult.curve)} of each pair in `wanted`,
    () where the plan cannot be served."""
    curves = {}
    for instance, precision in wanted:
        try:
            curves[(instance, precision)] = estimate(inputs.with_(mode="infer", precision=precision,
                                                                  instance=instance, gpu=""), catalogs).curve
        except InputError:
            curves[(instance, precision)] = ()
    return curves


def _context(inputs: PlanInputs, catalogs: Catalogs) -> _Context:
    """Everything both modes resolve first (for validated inputs), with the warnings that apply to both."""
    arch = resolve_model(inputs, catalogs)
    hw = resolve_hardware(inputs, catalogs)
    if inputs.network_gbit_s:
        hw = replace(hw, network_bytes_per_s=inputs.network_gbit_s * 1e9 / 8)
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
        warnings.append(f"architecture synthesized from {fmt_count(params)} parameters "
                        f"({arch.n_layers} layers, hidden {arch.hidden}): activations and KV cache are approximate")
    if gpu.capacity_is_marketing:
        warnings.append(f"{gpu.name}: reported memory not verified; fitting uses the marketing {gpu.memory_gb_marketing:g} GB")
    qr = quick_rule(params, inputs.mode, inputs.precision, gpu, inputs.train_method)
    dtype, dtype_note, blocked = compute_dtype(gpu, inputs.precision, inputs.mode)
    if dtype_note:
        warnings.append(dtype_note)
    peak = gpu.peak(dtype)
    unknown = f"{gpu.name} has no published {dtype} peak: times and throughput are unknown" \
        if not math.isfinite(peak) and not blocked else ""
    if unknown:
        warnings.append(unknown)
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
        gpu_source=gpu.source, gpu_as_of=gpu.as_of, discount_fraction=hw.discount,
        inputs=inputs,
    )
    check_fixed_layout(arch, hw.max_tp, _fixed_layout(inputs),
                       f"{hw.instance.instance_type} instance" if hw.instance else "node")
    return _Context(inputs, arch, hw, peak, usable, blocked, unknown, warnings, common, set(), {}, {})


@dataclass(frozen=True)
class _Context:
    """What every estimate resolves before planning one mode."""

    inputs: PlanInputs
    arch: ModelArch
    hw: Hardware
    peak: float  # dense peak FLOP/s per GPU of the compute dtype
    usable: float  # bytes per GPU the plan may fill
    blocked: str  # why the precision cannot run on this GPU ('' if it can)
    unknown: str  # why speed and time are unknown ('' when they are known)
    warnings: list
    common: dict  # PlanResult fields shared by both modes
    link_groups: set  # GPU groups whose links a step was costed over (row_estimate: did one cross the network?)
    fleets: dict  # (replicas, replica GPUs) → its Fleet on this hardware, built once per estimate
    to_beat: dict  # (replica GPUs, best's billed GPUs and capacity) → _rate_to_beat, once per estimate

    @property
    def frag(self) -> float:
        return self.inputs.fragmentation


def _train(ctx: _Context, with_horizon: bool = True, row_only: bool = False) -> PlanResult:
    """Training: the tuned layout (tuning.py), its time and cost; with_horizon=False skips the
    second search that names the GPUs meeting the horizon (only a single plan shows it);
    row_only=True the money options and host memory (row_estimate)."""
    inputs, arch, hw, peak, usable = ctx.inputs, ctx.arch, ctx.hw, ctx.peak, ctx.usable
    blocked, warnings, common = ctx.blocked, ctx.warnings, ctx.common
    model_flops = training_flops(arch, inputs.training_tokens, inputs.seq_len, inputs.train_method,
                                 inputs.flop_convention)
    tuned, step = _tuned(ctx, model_flops, inputs.max_training_days)
    if tuned is None:
        raise InputError("tp", "no tensor/pipeline degree is allowed for this model "
                         f"({arch.n_heads} heads, {arch.n_kv_heads} KV heads, {arch.n_layers} layers)")
    cand, hw_flops = tuned.best.candidate, tuned.best.hardware_flops
    fits = cand.fits and not blocked
    if blocked:
        warnings.append(blocked)
    elif not cand.fits:
        warnings.append(Text(f"does not fit on {hw.gpu.name}: the smallest layout needs {{need}} per GPU, "
                             "usable {usable}", need=cand.breakdown.total, usable=usable))
        if cand.breakdown.activations > usable - inputs.overhead_bytes:
            tried = "even with full recomputation" if tuned.best.recompute == "full" else "try full recomputation"
            warnings.append(Text(f"activations alone need {{act}} per GPU: {tried}; try a shorter sequence, "
                                 "a smaller micro-batch, or more tensor parallelism", act=cand.breakdown.activations))
    gpus = cand.layout.gpus if fits else 0
    time_s = _time_s(ctx, tuned, step) if fits else math.nan
    hours = time_s / 3600
    deadline_met = not inputs.max_training_days or time_s <= inputs.max_training_days * SECONDS_PER_DAY * (1 + 1e-9)
    if with_horizon and inputs.horizon_days and not inputs.max_training_days \
            and time_s > inputs.horizon_days * SECONDS_PER_DAY:
        warnings.append(_beyond_horizon(ctx, model_flops, time_s))
    runner_up = runner_up_note(tuned)
    if fits and not deadline_met:
        warnings.append(f"training takes {time_s / SECONDS_PER_DAY:,.1f} days, more than the "
                        f"{inputs.max_training_days:g}-day deadline: no layout meets it")
    reason = _first_reason(warnings, fits, ctx.unknown, deadline_met)
    extra = _training_options(ctx, gpus, hours, warnings) if fits and not row_only else {}
    return PlanResult(
        **common, breakdown_bytes=cand.breakdown, fits=fits, layout=cand.layout, gpus=gpus, reason=reason,
        min_gpus=tuned.min_gpus if fits else 0, meets_slo=fits and deadline_met,
        instances=billed_instances(gpus, hw) if fits else math.nan,
        price_usd_per_hour=hourly_usd(gpus, hw) if fits else math.nan,
        spot_price_usd_per_hour=hourly_usd(gpus, hw, spot=True) if fits else math.nan,
        training_flops=model_flops, hardware_flops=hw_flops, training_time_s=time_s,
        gpu_hours=gpus * hours if fits else math.nan,
        cost_usd=hourly_usd(gpus, hw) * hours if fits else math.nan,
        spot_cost_usd=hourly_usd(gpus, hw, spot=True) * hours if fits else math.nan,
        recompute=tuned.best.recompute, micro_batch=tuned.best.micro_batch, **extra,
        mfu=model_flops / (gpus * peak * time_s) if fits else math.nan,
        tokens_per_s_per_gpu=inputs.training_tokens / (gpus * time_s) if fits else math.nan,
        step_time_s=step.tokens_per_step * time_s / inputs.training_tokens if fits and step else math.nan,
        step_breakdown_s=step.breakdown() if fits and step else {},
        host_memory_bytes=math.nan if row_only else _host_memory(ctx, tuned),
        warnings=tuple(warnings),
        layout_notes=tuned.reasons + ((runner_up,) if runner_up else ()) + _layout_notes(tuned.best.notes, cand.fits),
    )


def _tuned(ctx: _Context, model_flops: float, deadline_days: float) -> tuple[Tuned | None, StepTime | None]:
    """The tuned layout (tuning.py) and its step (steptime.py). With a deadline and no pinned
    MFU, the search first assumes the kernel efficiency as MFU (no layout does better), then
    the MFU the step model gives its layout, until the layout meets the deadline (a few rounds:
    more GPUs add communication, so it converges from below)."""
    inputs, hw = ctx.inputs, ctx.hw
    guess = inputs.mfu or kernel_efficiency(hw.gpu.generation)
    tuned, step = None, None
    for _ in range(DEADLINE_ROUNDS):
        tuned = tune_training(inputs.with_(mfu=guess, max_training_days=deadline_days), ctx.arch, model_flops,
                              ctx.peak, ctx.usable, ctx.frag, hw.max_tp, _fixed_layout(inputs),
                              hw.gpus_per_instance if hw.instance else 0)
        if tuned is None or not tuned.best.candidate.fits or not math.isfinite(ctx.peak):
            return tuned, None
        step = _step(ctx, tuned)
        time_s = _time_s(ctx, tuned, step)
        if inputs.mfu or not deadline_days or time_s <= deadline_days * SECONDS_PER_DAY * (1 + 1e-9):
            break
        achieved = tuned.best.hardware_flops / (tuned.best.candidate.layout.gpus * ctx.peak * time_s)
        guess = min(guess, achieved) * (1 - 1e-3)
    return tuned, step


def _step(ctx: _Context, tuned: Tuned) -> StepTime:
    inputs, best = ctx.inputs, tuned.best
    lay = best.candidate.layout
    adapters = 0.0 if inputs.train_method == "full" else lora_adapter_params(ctx.arch, inputs.lora_rank)
    setup = step_setup(inputs, ctx.arch, ctx.hw.gpu, ctx.hw.links, ctx.peak, best.recompute, best.micro_batch,
                       adapters)
    ctx.link_groups.update((lay.gpus, lay.tp * lay.ep))  # the widest groups step_time costs: data, expert
    return step_time(setup, lay.dp, lay.tp, lay.pp, lay.ep, lay.zero_stage)


def _time_s(ctx: _Context, tuned: Tuned, step: StepTime | None) -> float:
    """The whole run: training tokens at the step model's tokens per second, or (MFU pinned)
    the hardware FLOPs at that share of the peak."""
    gpus = tuned.best.candidate.layout.gpus
    if ctx.inputs.mfu or step is None:
        return tuned.best.hardware_flops / (gpus * ctx.peak * (ctx.inputs.mfu or math.nan))
    return ctx.inputs.training_tokens * step.step_s / step.tokens_per_step


def _host_memory(ctx: _Context, tuned: Tuned) -> float:
    """Host memory one node needs for the model states (core/offload.py) and offloaded
    activations: whole instances, or nodes of gpus_per_instance GPUs when planning by GPU."""
    inputs, best = ctx.inputs, tuned.best
    lay, per = best.candidate.layout, ctx.hw.gpus_per_instance
    setup = setup_for(inputs, ctx.arch, best.recompute, best.micro_batch)
    gpus = max(lay.gpus, 1)
    states = host_memory_bytes(inputs.framework, lay.zero_stage, sizes(ctx.arch).total, setup.largest_tensor(),
                               inputs.offload_optimizer, inputs.offload_params, min(gpus, per), math.ceil(gpus / per),
                               setup.offloaded_bytes_per_param())
    if not inputs.activation_offload:
        return states
    acts = activation_offload_bytes(ctx.arch, inputs.seq_len, best.micro_batch, lay.tp, best.recompute,
                                    inputs.flash_attention, 4.0 if inputs.precision == "fp32" else 2.0)
    return states + min(gpus, per) * acts


def _training_options(ctx: _Context, gpus: int, hours: float, warnings: list) -> dict:
    """The money options and the energy of a training run that fits, from its GPUs and hours."""
    inputs, hw = ctx.inputs, ctx.hw
    units = math.ceil(gpus / hw.unit_gpus)
    spot = spot_run(hours, units, inputs.spot_interruptions_per_hour, inputs.checkpoint_interval_h, inputs.restart_h)
    if spot.never_finishes:
        warnings.append(spot.note)
    _reserved_warning(ctx, warnings)
    power, note = _power(ctx, warnings)
    billed = units * hw.unit_gpus  # whole instances draw power; GPUs the layout leaves free idle
    kwh = (gpus * power.facility_w(1.0) + (billed - gpus) * power.facility_w(0.0)) * hours / 1000
    return dict(reserved_price_usd_per_hour=hourly_usd(gpus, hw, kind="reserved_1y"),
                reserved_cost_usd=reserved_cost_usd(gpus, hw, hours),
                spot_expected_training_time_s=spot.expected_hours * 3600,
                spot_expected_cost_usd=hourly_usd(gpus, hw, spot=True) * spot.expected_hours,
                gpu_power_w=power.gpu_busy_w, pue=power.pue, grid_intensity_g_per_kwh=power.grid.g_per_kwh,
                energy_kwh=kwh, co2e_kg=power.co2e_kg(kwh), energy_note=note)


def _reserved_warning(ctx: _Context, warnings: list) -> None:
    if ctx.inputs.price_kind == "reserved_1y" and not math.isfinite(ctx.hw.unit_reserved_price_usd_per_hour):
        warnings.append(f"no reserved price in the catalog for {ctx.hw.price_note}: the 1-year reserved "
                        "figures are unknown (add a reserved_1y_price_usd_per_hour column in a catalog file)")


def _power(ctx: _Context, warnings: list):
    """The power model of the plan's hardware and why a figure is unknown ('' when none is),
    which is also a warning."""
    power = power_model(ctx.inputs, ctx.hw)
    note = ""
    if not math.isfinite(power.gpu_busy_w):
        note = f"{ctx.hw.gpu.name} has no datasheet TDP: energy and CO2e are unknown (give the GPU power)"
    elif not math.isfinite(power.grid.g_per_kwh):
        note = f"CO2e unknown: {power.grid.source}"
    if note:
        warnings.append(note)
    return power, note


def _beyond_horizon(ctx: _Context, model_flops: float, time_s: float) -> str:
    """A plan longer than the horizon names the plan that meets it: the same search with the
    horizon as the deadline (less recomputation may win there: it needs less compute)."""
    days = ctx.inputs.horizon_days
    tuned, step = _tuned(ctx, model_flops, days)
    text = f"training takes {time_s / SECONDS_PER_DAY:,.0f} days, longer than the {days:g}-day horizon: "
    met = tuned.best if tuned is not None else None
    lay = met.candidate.layout if met is not None else None
    met_s = _time_s(ctx, tuned, step) if tuned and met and lay and met.candidate.fits else math.inf
    if met is None or lay is None or met_s > days * SECONDS_PER_DAY * (1 + 1e-9):
        return text + "no layout meets it with the parallel degrees fixed as they are"
    return text + (f"{lay.gpus:,} GPUs ({lay.describe()}, {RECOMPUTE_WORDS[met.recompute]}) finish in "
                   f"{met_s / SECONDS_PER_DAY:,.0f} days; set the deadline (Finish within, --max-training-days) "
                   "to plan for it")


@dataclass(frozen=True)
class _Serving:
    """One replica layout evaluated against the serving load, packed into billed instances."""

    candidate: Candidate
    model: ServingModel
    capacity: OperatingPoint  # the most one replica carries within the service levels
    slo_met: bool  # False: even an idle replica misses a service level (capacity then ignores them)
    fleet: Fleet

    @property
    def capacity_requests_per_s(self) -> float:
        """The billed fleet's capacity: every replica slot it holds."""
        return self.fleet.replica_slots * self.capacity.requests_per_s

    def key(self) -> tuple:
        """The search's objective: the service levels, then the bill (billed GPUs), then the
        most capacity for that bill, then fewer GPUs in use and the smaller, shallower replica."""
        lay = self.candidate.layout
        return (not self.slo_met, self.fleet.billed_gpus, -self.capacity_requests_per_s,
                self.fleet.replicas * lay.gpus, lay.gpus, lay.pp)


def _replica_models(ctx: _Context, setup: InferenceSetup):
    """A function from a replica layout to its serving model (its physics and its KV pool).
    What does not depend on the layout (weight bytes, KV bytes per token, the load, the fitted
    efficiency) is computed once here: a search builds a model for every layout it tries."""
    inputs, hw = ctx.inputs, ctx.hw
    held = setup.held_tokens  # a sequence's average context while it decodes
    _, experts = setup.weights.replica(setup.sizes)
    eff = efficiency(hw.gpu)
    per_replica: dict[str, Any] = dict(
        dense_weight_bytes=setup.weights.step_read(setup.sizes, ctx.arch.tied_embeddings), expert_weight_bytes=experts,
        kv_bytes_per_token=setup.held_kv_bytes(1, 1) / held,
        peak_flops=ctx.peak, mbu=inputs.mbu, step_s=eff.step_s + eff.layer_step_s * ctx.arch.n_layers, links=hw.links,
        request_s=ENGINES[DEFAULT_ENGINE].request_s, scheduler_steps=inputs.scheduler_steps,
        mixed_prefill=inputs.mixed_prefill)
    load = Load(inputs.prompt_tokens, inputs.output_tokens, inputs.prefix_cache_hit_rate)
    room = (ctx.usable - inputs.overhead_bytes) / (1 + ctx.frag)
    # Models already built for this GPU, model, load and per-replica figures (core.memo), by layout
    # and KV pool: every instance size of a GPU, and every repeat sweep, asks for the same ones. The
    # GPU (a catalog row, not hashable) is keyed by identity, which the entry keeps alive and so
    # unique; repr keys the figures so that an unknown (NaN) bandwidth matches itself.
    built: dict = remembered(("replica models", id(hw.gpu), ctx.arch, load, repr(per_replica)),
                             lambda: {"gpu": hw.gpu})

    def model(cand) -> ServingModel:
        lay, b = cand.layout, cand.breakdown  # the layout's memory at the requested concurrency
        kv_seq = setup.held_kv_bytes(lay.tp, lay.pp)  # paged: what it holds
        free = room - b.weights - b.activations
        max_batch = max(0, int(free // kv_seq)) * lay.ep if kv_seq > 0 else 0
        if inputs.max_num_seqs:  # the engine's cap, one per attention group (each runs its own scheduler)
            max_batch = min(max_batch, inputs.max_num_seqs * lay.ep)
        key = (lay.tp, lay.pp, lay.ep, max_batch)
        if key not in built:
            narrower = 1 + eff.tp_loss * (lay.tp - 1)
            compute, prefill = (1.0, 1.0) if hw.gpu.measured else \
                (eff.compute / narrower, eff.prefill * ENGINES[DEFAULT_ENGINE].prefill / narrower)
            replica = Replica(ctx.arch, hw.gpu, lay.tp, lay.pp, lay.ep, compute_efficiency=compute,
                              prefill_efficiency=prefill, **per_replica)
            built[key] = ServingModel(replica, load, max_batch)
        return built[key]
    return model


def _fleet_for(rate_per_replica: float, cand, ctx: _Context) -> Fleet:
    replicas = max(1, math.ceil(ctx.inputs.requests_per_s / rate_per_replica - 1e-9)) if rate_per_replica > 0 else 1
    return _fleet(replicas, cand, ctx)


def _fleet(replicas: int, cand, ctx: _Context) -> Fleet:
    key = (replicas, cand.layout.gpus)  # the search asks for the same few fleets many times
    if key not in ctx.fleets:
        ctx.fleets[key] = serving_fleet(replicas, cand.layout.gpus, ctx.hw)
    return ctx.fleets[key]


def _cannot_beat(bound: float, cand, ctx: _Context, best: _Serving) -> bool:
    """Whether a replica whose rate is at most `bound` loses to `best` on the bill and then the
    capacity: fewer replicas than the bound allows are never enough, so its fleet bills at least
    what the bound's fleet bills and carries at most what that fleet's slots carry at the bound."""
    fleet = _fleet_for(bound, cand, ctx)
    return (fleet.billed_gpus, -fleet.replica_slots * bound) > (best.fleet.billed_gpus, -best.capacity_requests_per_s)


def _rate_to_beat(cand, ctx: _Context, best: _Serving) -> float:
    """A rate per replica below which the layout loses to `best` (0: none found): below it
    the fleet needs more replicas than the GPUs `best` bills hold, or fills them and carries
    less. Each is checked with _cannot_beat, which then holds for every smaller rate too
    (fewer replicas never suffice at a lower rate). Remembered by what it reads: a search asks
    for each replica size again at every layout until the best changes."""
    key = (cand.layout.gpus, best.fleet.billed_gpus, best.capacity_requests_per_s)
    if key not in ctx.to_beat:
        ctx.to_beat[key] = _find_rate_to_beat(cand, ctx, best)
    return ctx.to_beat[key]


def _find_rate_to_beat(cand, ctx: _Context, best: _Serving) -> float:
    unit = _fleet(1, cand, ctx)  # the smallest billed unit holding whole replicas
    most = best.fleet.billed_gpus // unit.billed_gpus * unit.replica_slots  # replicas within best's bill
    more = ctx.inputs.requests_per_s / (most + 1e-9) * (1 - 1e-9)
    less = best.capacity_requests_per_s / _fleet(max(most, 1), cand, ctx).replica_slots * (1 - 1e-9)
    return max((rate for rate in (more, less) if _cannot_beat(rate, cand, ctx, best)), default=0.0)


def _hopeless(model: ServingModel, cand, ctx: _Context, best: _Serving | None) -> bool:
    """True when cheap rate bounds show the layout cannot beat `best`, so its capacity need not
    be solved (the searches are most of a sweep's time). A replica with no rate within the
    per-user floor (its bound is 0) never keeps the service levels: it loses to a `best` that
    does, and against one that does not, only its capacity without levels counts. Where a rate
    it needs to beat `best` is known, the question is only whether it can reach it
    (ServingModel.out_of_reach, a few steps): when it may, the grid bound
    (ServingModel.rate_upper_bound, some twenty steps) rules out too few such layouts to pay."""
    if best is None:
        return False
    if best.slo_met:
        needed = _rate_to_beat(cand, ctx, best)
        if needed:  # below `needed` it loses: is it out of reach? (if not, the grid bound seldom rules it out)
            return model.out_of_reach(needed, ctx.inputs.min_tokens_per_s_per_user)
        within = model.rate_upper_bound(ctx.inputs.min_tokens_per_s_per_user)
        return within <= 0 or _cannot_beat(within, cand, ctx, best)
    if model.rate_upper_bound(ctx.inputs.min_tokens_per_s_per_user) > 0:
        return False
    needed = _rate_to_beat(cand, ctx, best)
    return bool(needed) and model.out_of_reach(needed) or _cannot_beat(model.rate_upper_bound(), cand, ctx, best)


def _serving(cand, ctx: _Context, replica_model, best: _Serving | None = None) -> _Serving | None:
    """The layout against the load, or None when a cheap bound shows it cannot beat `best`."""
    inputs = ctx.inputs
    ctx.link_groups.add(cand.layout.gpus)  # its links: tensor, expert, pipeline groups, all within the replica
    model = replica_model(cand)
    if _hopeless(model, cand, ctx, best):
        return None
    cap = model.capacity(inputs.max_ttft_s, inputs.min_tokens_per_s_per_user)
    met = cap.within and cap.requests_per_s > 0
    if not met:
        cap = model.capacity()
    return _Serving(cand, model, cap, met, _fleet_for(cap.requests_per_s, cand, ctx))


def _deepening(cand, ctx: _Context, setup: InferenceSetup):
    """One fitting (tensor, expert) layout at its shallowest pipeline, then deeper ones. Each
    stage adds memory for KV cache; otherwise p stages with p micro-batches in flight carry
    what p shallower replicas would. So deeper pipelines are tried where they pack whole
    instances (replica GPUs dividing, or a multiple of, the instance), or, billed by GPU,
    while memory still limits the batch. Yields candidates; the caller evaluates them."""
    yield cand
    lay, per = cand.layout, ctx.hw.gpus_per_instance
    for p in (() if ctx.inputs.pp else pp_choices(ctx.arch)):
        gpus = lay.tp * p * lay.ep
        if p <= lay.pp or (ctx.hw.instance and per % gpus and gpus % per):
            continue
        yield inference_candidate(setup, ctx.inputs.overhead_bytes, ctx.frag, lay.tp, p, lay.ep, True)


def _inference_search(ctx: _Context):
    """(setup, fitting replica layouts, the smallest-memory fallback, notes per tensor degree)."""
    inputs, arch = ctx.inputs, ctx.arch
    setup = inference_setup(arch, weight_bytes(arch, inputs.precision), inputs.kv_dtype_effective(),
                            inputs.context_len, inputs.concurrency,
                            inputs.prompt_tokens + inputs.output_tokens // 2)
    fitting, fallback, notes = search_inference(setup, ctx.usable, inputs.overhead_bytes, ctx.frag, ctx.hw.max_tp,
                                                _fixed_layout(inputs))
    return setup, fitting, fallback, notes


def _best_serving(ctx: _Context, setup: InferenceSetup, fitting) -> _Serving | None:
    s = None
    replica_model = _replica_models(ctx, setup)
    for cand in sorted(fitting, key=lambda c: c.layout.gpus):
        if s is not None and s.slo_met and cand.layout.gpus > s.fleet.billed_gpus:
            break
        for deeper in _deepening(cand, ctx, setup):
            if s is not None and s.slo_met and deeper.layout.gpus > s.fleet.billed_gpus:
                break  # one replica of this size already needs more GPUs than the best whole fleet bills
            plan = _serving(deeper, ctx, replica_model, s)
            if plan is not None and (s is None or plan.key() < s.key()):
                s = plan
    return s


def _infer(ctx: _Context, with_curve: bool = True, row_only: bool = False) -> PlanResult:
    """Serving: among the replica layouts that fit, the one whose fleet carries the load on
    the smallest bill while keeping the service levels; then the one with the most capacity
    for that bill; then the smaller replica. row_only=True: what a comparison row reads
    (row_estimate)."""
    inputs, arch, hw, warnings, common = ctx.inputs, ctx.arch, ctx.hw, ctx.warnings, ctx.common
    setup, fitting, fallback, notes = _inference_search(ctx)
    if inputs.dp:
        warnings.append(f"a data-parallel degree of {inputs.dp} does not apply to serving: the number of "
                        "replicas follows from the request rate")
    if not fitting and fallback is None:
        raise InputError("tp", f"no tensor/pipeline degree is allowed for this model ({arch.n_heads} heads)")
    fits = bool(fitting) and not ctx.blocked
    if ctx.blocked:
        warnings.append(ctx.blocked)
    if not fitting:
        warnings.append(Text(f"does not fit on {hw.gpu.name}: weights plus the KV cache of {inputs.concurrency} "
                             f"sequences of {setup.held_tokens} tokens on average (a paged pool that also holds "
                             f"one {inputs.context_len}-token sequence) need {{need}} per GPU, usable {{usable}}",
                             need=fallback.breakdown.total, usable=ctx.usable))
    min_gpus = min((c.layout.gpus for c in fitting), default=0) if fits else 0
    unknown = ctx.unknown or (f"{hw.gpu.name} has no published memory bandwidth: speed, replicas and costs "
                              "are unknown" if not math.isfinite(hw.gpu.bandwidth_bytes_per_s) else "")
    if fits and unknown and not ctx.unknown:
        warnings.append(unknown)
    if not fits or unknown:
        cand = min(fitting, key=lambda c: (c.layout.gpus, c.layout.pp)) if fitting else fallback
        return PlanResult(**common, breakdown_bytes=cand.breakdown, fits=fits, layout=cand.layout,
                          reason=_first_reason(warnings, fits, unknown, False),
                          min_gpus=min_gpus, gpus=cand.layout.gpus if fits else 0,
                          instances=billed_instances(cand.layout.gpus, hw) if fits else math.nan,
                          price_usd_per_hour=hourly_usd(cand.layout.gpus, hw) if fits else math.nan,
                          spot_price_usd_per_hour=hourly_usd(cand.layout.gpus, hw, spot=True) if fits else math.nan,
                          layout_notes=_layout_notes(notes, bool(fitting)), warnings=tuple(warnings))
    s = _best_serving(ctx, setup, fitting)
    assert s is not None  # `fitting` is not empty here, and every fitting layout is evaluated
    model, lay = s.model, s.candidate.layout
    engines = {} if row_only else launches(arch, inputs.precision, inputs.kv_dtype_effective(), lay.tp, lay.pp,
                                           lay.ep, inputs.context_len, inputs.concurrency, inputs.util_cap,
                                           hw.gpu.capacity_bytes, inputs.max_num_seqs, inputs.scheduler_steps,
                                           inputs.mixed_prefill)
    warnings.extend(w for w in (pool_warning(e, arch, inputs.concurrency, inputs.context_len, setup.held_tokens)
                                for e in engines.values()) if w)
    if model.replica.crosses_network:
        net = model.replica.links.network_bytes_per_s  # by GPU only: the assumed cluster fabric
        warnings.append(f"a replica spans {math.ceil(lay.gpus / hw.gpus_per_instance)} instances: its traffic crosses "
                        "the instance network (" + (f"{net * 8 / 1e9:,.0f} Gb/s" if math.isfinite(net) else
                                                    "bandwidth unknown; 100 Gb/s assumed") + ")")
    idle = model.at_x(0.0)
    if not s.slo_met:
        warnings.append(_missed_levels(inputs, idle))
    reason = _first_reason(warnings, True, "", s.slo_met)
    at_users = model.closed_loop(inputs.concurrency)
    offline = None if row_only else model.max_throughput()
    day = _serving_day(ctx, s, warnings, with_figures=not row_only)
    bill, fleet = day.bill, day.bill.peak
    load_tps = day.mean_rps * inputs.output_tokens
    capacity_tps = day.mean_capacity_rps * inputs.output_tokens
    replica_price = fleet.replica_price_usd_per_hour
    curve = tuple(_curve_point(model.closed_loop(b), b, inputs.output_tokens, replica_price)
                  for b in batch_points(model.max_concurrency)) if with_curve else ()
    return PlanResult(
        **common, breakdown_bytes=s.candidate.breakdown, fits=True, meets_slo=s.slo_met, layout=lay, reason=reason,
        min_gpus=min_gpus, gpus=lay.gpus, instances=billed_instances(lay.gpus, hw),
        price_usd_per_hour=hourly_usd(lay.gpus, hw), spot_price_usd_per_hour=hourly_usd(lay.gpus, hw, spot=True),
        prefill_time_s=model.prefill_s(),
        ttft_s=at_users.ttft_s, tpot_s=at_users.tpot_s,
        decode_tokens_per_s_per_user=at_users.decode_tokens_per_s_per_user,
        decode_tokens_per_s_total=at_users.output_tokens_per_s(model.load),
        max_throughput_tokens_per_s=offline.output_tokens_per_s(model.load) if offline else math.nan,
        max_throughput_concurrency=offline.concurrency if offline else math.nan,
        max_batch=model.max_concurrency, curve=curve,
        usd_per_million_tokens=usd_per_million_tokens(bill.monthly_cost_usd, load_tps),
        usd_per_million_tokens_at_capacity=usd_per_million_tokens(bill.monthly_cost_usd, capacity_tps),
        fleet_capacity_requests_per_s=fleet.replica_slots * s.capacity.requests_per_s,
        fleet_utilization=day.mean_rps / day.mean_capacity_rps,
        replica_price_usd_per_hour=replica_price, replicas_per_instance=fleet.replica_slots / fleet.instances
        if hw.instance else math.nan,
        serving_batch=math.ceil(s.capacity.concurrency),
        serving_tokens_per_s_total=s.capacity.output_tokens_per_s(model.load), replicas=fleet.replicas,
        serving_gpus=fleet.replicas * lay.gpus, serving_instances=fleet.instances,
        monthly_cost_usd=bill.monthly_cost_usd, spot_monthly_cost_usd=bill.spot_monthly_cost_usd,
        reserved_price_usd_per_hour=hourly_usd(lay.gpus, hw, kind="reserved_1y"),
        reserved_monthly_cost_usd=bill.reserved_monthly_cost_usd,
        replicas_by_hour=tuple(f.replicas for f in bill.fleets), **day.figures,
        engine_flags=engines, layout_notes=_layout_notes(notes, True), warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class _Day:
    """The chosen replica's fleet over a day of the load profile, and the figures it gives."""

    bill: DailyBill
    mean_rps: float  # the day's mean request rate
    mean_capacity_rps: float  # the day's mean capacity of the fleet in service
    figures: dict  # PlanResult fields: the API beside the bill, and the energy


def _serving_day(ctx: _Context, s: _Serving, warnings: list, with_figures: bool = True) -> _Day:
    """The chosen replica over the day: replicas scaled per hour of the load profile (at the
    replica's capacity within the service levels), the bill, and (with_figures) the API beside
    it and the energy."""
    inputs, hw, lay = ctx.inputs, ctx.hw, s.candidate.layout
    cap = s.capacity.requests_per_s
    rates = hourly_rates(inputs.load_profile, inputs.requests_per_s)
    replicas = tuple(0 if rate == 0 and inputs.scale_to_zero else
                     max(1, math.ceil(rate / cap - 1e-9)) if cap > 0 else 1 for rate in rates)
    bill = daily_bill(replicas, lay.gpus, hw)
    capacities = tuple(f.replica_slots * cap for f in bill.fleets)
    mean_rps, mean_capacity = mean_rate(rates), mean_rate(capacities)
    if not with_figures:
        return _Day(bill, mean_rps, mean_capacity, {})
    _reserved_warning(ctx, warnings)
    per_request = api_usd_per_request(inputs.prompt_tokens, inputs.output_tokens, inputs.api_usd_per_million_input,
                                      inputs.api_usd_per_million_output)
    block = serving_fleet(1, lay.gpus, hw)  # the smallest billed unit holding whole replicas
    power, note = _power(ctx, warnings)
    kwh = math.fsum(f.billed_gpus * power.facility_w(rate / c if c else 0.0)
                    for f, rate, c in zip(bill.fleets, rates, capacities)) * (HOURS_PER_MONTH / len(rates)) / 1000
    million_tokens = mean_rps * inputs.output_tokens * SECONDS_PER_MONTH / 1e6  # output tokens a month
    figures = dict(
        api_monthly_cost_usd=mean_rps * SECONDS_PER_MONTH * per_request if per_request > 0 else math.nan,
        breakeven_requests_per_s=breakeven_requests_per_s(block.monthly_cost_usd, block.replica_slots * cap,
                                                          per_request, SECONDS_PER_MONTH),
        gpu_power_w=power.gpu_busy_w, pue=power.pue, grid_intensity_g_per_kwh=power.grid.g_per_kwh,
        energy_kwh=kwh, co2e_kg=power.co2e_kg(kwh), energy_kwh_per_million_tokens=kwh / million_tokens,
        co2e_kg_per_million_tokens=power.co2e_kg(kwh) / million_tokens, energy_note=note)
    return _Day(bill, mean_rps, mean_capacity, figures)


def _curve_point(point: OperatingPoint, users: int, output_tokens: int, replica_usd_per_hour: float):
    total = point.requests_per_s * output_tokens
    return ThroughputPoint(users, point.decode_tokens_per_s_per_user, total,
                           replica_usd_per_hour / (3600 * total) * 1e6 if total > 0 else math.nan)


def _first_reason(warnings: list, fits: bool, unknown: str, met: bool) -> str:
    """Why the plan cannot be bought as it is ('' when it can), decided where the plan decides:
    not fitting (the last sentence added, the advice after the verdict), then a figure that is
    unknown, then a missed service level or deadline (the sentence just added for it)."""
    if not fits:
        return warnings[-1] if warnings else "does not fit"
    if unknown:
        return unknown
    return "" if met else warnings[-1]


def _missed_levels(inputs: PlanInputs, idle: OperatingPoint) -> str:
    """Why even an idle replica misses the service levels; the plan then ignores them."""
    missed = []
    if idle.decode_tokens_per_s_per_user < inputs.min_tokens_per_s_per_user:
        missed.append(f"{inputs.min_tokens_per_s_per_user:g} tokens/s per user is out of reach (one user alone "
                      f"gets {idle.decode_tokens_per_s_per_user:.1f})")
    if inputs.max_ttft_s and idle.ttft_s > inputs.max_ttft_s:
        missed.append(f"a first token within {inputs.max_ttft_s:g} s is out of reach (an idle replica takes "
                      f"{idle.ttft_s:.2f} s)")
    return "; ".join(missed) + ": planning without them"
