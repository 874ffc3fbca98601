"""Parallel layouts (tensor × pipeline × expert × data parallelism, ZeRO stage) a model can take,
and the search for the smallest that fits.

Memory per GPU has the form overhead + (1 + fragmentation)·(fixed + sharded/dp), so for each
tensor (t), pipeline (p), expert (e) degree and ZeRO stage the smallest data-parallel degree
is solved in closed form instead of by trial. The search keeps, per t, the best layout and
the reason the others failed, so the result can say why.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

from gpuplanner.core.errors import InputError
from gpuplanner.core.frameworks import State, buffer_bytes, frozen_gather_bytes, full_training_states
from gpuplanner.core.frameworks import framework as framework_spec  # `framework` names an argument here
from gpuplanner.core.memo import remembered
from gpuplanner.core.memory import (
    DTYPE_BYTES,
    LORA_PARAM_BYTES,
    QLORA_BYTES,
    WeightBytes,
    edge_params,
    kv_bytes_per_sequence,
    lora_adapter_params,
    optimizer_bytes_per_param,
    prefill_activation_bytes,
    replicated_activation_bytes,
    stage_share,
    training_activation_bytes,
    weight_bytes_per_param,
)
from gpuplanner.core.model import ModelArch, ModelSizes, sizes
from gpuplanner.core.offload import gpu_states, offloaded_bytes_per_param
from gpuplanner.core.result import Layout, MemoryBreakdown

TP_CHOICES = (1, 2, 4, 8, 16, 32, 64)  # above 8 only within a rack-scale NVLink domain (Hardware.max_tp)
# Pipeline degrees tried; stages may be uneven (the heaviest holds ceil(L/p) blocks), so the
# same set serves every depth and a deeper model never gets a better split than a shallower one.
PP_CHOICES = tuple(range(1, 17)) + (20, 24, 32, 40, 48, 64)
MAX_EP = 64
MAX_DP = 1 << 20


@dataclass(frozen=True, slots=True)
class Candidate:
    layout: Layout
    breakdown: MemoryBreakdown
    fits: bool
    min_gpus: int  # fewest GPUs that hold the job (before deadlines and instance filling)


def _layout(c):
    return Layout(*c) if c else None


@lru_cache(maxsize=256)
def pp_choices(arch: ModelArch) -> tuple:
    return tuple(p for p in PP_CHOICES if p <= arch.n_layers)


def _splits_heads(arch: ModelArch, t: int) -> bool:
    k = arch.n_heads if arch.is_mla else arch.n_kv_heads
    return arch.n_heads % t == 0 and (k % t == 0 or t % k == 0)


def tp_choices(arch: ModelArch, max_tp: int) -> tuple:
    """Tensor degrees that split the query heads evenly and the KV heads sensibly."""
    return tuple(t for t in TP_CHOICES if t <= max_tp and _splits_heads(arch, t))


def check_fixed_layout(arch: ModelArch, max_tp: int, fixed_layout: dict, where: str) -> None:
    """A degree the user fixed must be one the model and the hardware allow; say which and why."""
    t, p, e, dp = fixed_layout["tp"], fixed_layout["pp"], fixed_layout["ep"], fixed_layout["dp"]
    k = arch.n_heads if arch.is_mla else arch.n_kv_heads
    if t and t > max_tp:
        raise InputError("tp", f"{t} is more than the {max_tp} GPUs of one {where}'s NVLink domain; tensor "
                         "parallelism stays on NVLink (use pipeline or data parallelism across instances)")
    if t and not _splits_heads(arch, t):
        raise InputError("tp", f"{t} must divide the {arch.n_heads} attention heads and the {k} KV heads "
                         "(or be a multiple of the KV heads)")
    if p > arch.n_layers:
        raise InputError("pp", f"{p} is more than the model's {arch.n_layers} layers")
    if e > 1 and not arch.is_moe:
        raise InputError("ep", f"{e}: expert parallelism needs a mixture-of-experts model; use 0 or 1")
    if e and arch.is_moe and arch.n_experts % e:
        raise InputError("ep", f"{e} must divide the model's {arch.n_experts} experts")
    if dp and e and dp % e:
        raise InputError("dp", f"{dp} must be a multiple of the expert-parallel degree {e}")


def degree_choices(arch: ModelArch, max_tp: int, fixed_layout: dict) -> tuple[list, list, list]:
    """Tensor, pipeline and expert degrees to search: the fixed one, or every sensible one."""
    return ([fixed_layout["tp"]] if fixed_layout["tp"] else list(tp_choices(arch, max_tp)),
            [fixed_layout["pp"]] if fixed_layout["pp"] else list(pp_choices(arch)),
            [fixed_layout["ep"]] if fixed_layout["ep"] else list(ep_choices(arch)))


def ep_choices(arch: ModelArch) -> tuple:
    if not arch.is_moe:
        return (1,)
    return tuple(e for e in (1, 2, 4, 8, 16, 32, 64) if e <= min(arch.n_experts, MAX_EP)
                 and arch.n_experts % e == 0)


_PARTS = ("weights", "master_weights", "gradients", "optimizer")
_PHASE_KEYS = _PARTS + ("buffers",)
_GRADIENTS = _PARTS.index("gradients")


@dataclass(frozen=True)
class TrainingSetup:
    """Per-parameter byte costs and the model's sizes for one training configuration,
    computed once per estimate so the layout search is plain arithmetic."""

    arch: ModelArch
    method: str
    framework: str
    compute_bytes: float  # width of the math: 2 (16-bit, also fp8 training's weights) or 4
    full_states: tuple  # frameworks.State of full training (empty for LoRA/QLoRA)
    weight_bytes: float  # per frozen base parameter (LoRA/QLoRA)
    edge_weight_bytes: float  # embedding/head (kept 16-bit under QLoRA)
    optimizer_bytes: float
    activations_tp1: float  # activation bytes on the busiest GPU at t = 1
    activations_replicated: float  # of which tensor parallelism does not divide (0 with sequence parallelism)
    adapters: float  # LoRA adapter parameters (0 for full training)
    sizes: ModelSizes
    offload_optimizer: str = "none"  # offload.OFFLOAD_DEVICES
    offload_params: str = "none"
    adapter_bytes: float = LORA_PARAM_BYTES  # per LoRA adapter parameter, and again for its gradient
    adapter_optimizer_bytes: float = 0.0  # optimizer state per adapter parameter
    optimizer_in_backward: bool = False  # gradients applied and freed one tensor at a time (full training)
    transient_gradients: bool = False  # frameworks.Framework.transient_gradients, full training
    _memo: dict = field(default_factory=dict, compare=False, repr=False)  # of _held and zero_terms

    def states(self) -> tuple:
        """The model states on the GPU as frameworks.State (LoRA: the frozen base, sharded by
        ZeRO-3); offloaded ones live in host memory (core/offload.py)."""
        if self.method == "full":
            return gpu_states(self.full_states, self.offload_optimizer, self.offload_params)
        return (State("weights", self.weight_bytes, 3),)

    def state_amounts(self, tp: int, pp: int, ep: int) -> tuple:
        """((State, bytes if sharded at dp = 1, bytes if not), ...) on the busiest GPU; memoized,
        as every ZeRO stage of a layout reads them (_held).

        The heaviest pipeline stage holds ceil(L/p) blocks plus the larger of embedding and
        head. Routed experts are split over e ranks; ZeRO shards them over the expert
        data-parallel group dp/e, so sharded they divide by dp like the rest."""
        key = ("amounts", tp, pp, ep)
        if key not in self._memo:
            self._memo[key] = self._state_amounts(tp, pp, ep)
        return self._memo[key]

    def _state_amounts(self, tp: int, pp: int, ep: int) -> tuple:
        sz = self.sizes
        share = stage_share(self.arch.n_layers, pp)
        dense = sz.block_dense * share / tp
        experts = sz.block_experts * share / tp
        edge = edge_params(sz, pp) / tp
        edge_bytes = None if self.method == "full" else self.edge_weight_bytes
        return tuple((st, st.bytes * (dense + experts) + (edge_bytes or st.bytes) * edge,
                      st.bytes * (dense + experts / ep) + (edge_bytes or st.bytes) * edge) for st in self.states())

    def largest_tensor(self) -> float:
        """Parameters of the largest weight matrix (embedding, MLP or attention projection)."""
        arch = self.arch
        return max(arch.vocab * arch.hidden, arch.hidden * max(arch.intermediate, arch.expert_width),
                   arch.hidden * arch.attn_width)

    def offloaded_bytes_per_param(self) -> float:
        """Bytes per parameter of the states kept in host memory (core/offload.py)."""
        if self.method != "full":
            return 0.0
        return offloaded_bytes_per_param(self.full_states, self.offload_optimizer, self.offload_params)

    def buffers(self, tp: int, pp: int, ep: int, zero: int) -> float:
        """The framework's transient buffers on the busiest GPU (frameworks.buffer_bytes and
        frozen_gather_bytes)."""
        arch, sz = self.arch, self.sizes
        block = (sz.block_dense + sz.block_experts / ep) / arch.n_layers
        if self.method != "full":
            return frozen_gather_bytes(self.framework, zero, self.weight_bytes, block / tp)
        largest = self.largest_tensor()
        linear = (sz.block_dense + sz.block_experts / ep) * stage_share(arch.n_layers, pp)
        return buffer_bytes(self.framework, zero, self.compute_bytes, largest / tp, block / tp, linear / tp,
                            self.optimizer_in_backward)

    def _transient(self, st: State) -> bool:
        return self.transient_gradients and st.component == "gradients"

    def _held(self, tp: int, pp: int, ep: int, zero: int) -> tuple:
        """({component: [bytes that stay, bytes that divide by dp]} of the states held through
        the step, the same pair for gradients freed every step, the buffers, the activations).
        LoRA adds small adapters with their own gradients and optimizer states, never sharded.
        Memoized: the search asks for every layout of every GPU type."""
        key = ("held", tp, pp, ep, zero)
        if key not in self._memo:
            parts = {k: [0.0, 0.0] for k in _PARTS}
            transient = [0.0, 0.0]
            for st, sharded, whole in self.state_amounts(tp, pp, ep):
                if st.held_at(zero):
                    slot = transient if self._transient(st) else parts[st.component]
                    if zero >= st.stage:
                        slot[1] += sharded
                    else:
                        slot[0] += whole
            adapters = self.adapters * stage_share(self.arch.n_layers, pp) / tp
            parts["weights"][0] += self.adapter_bytes * adapters
            parts["gradients"][0] += self.adapter_bytes * adapters
            parts["optimizer"][0] += self.adapter_optimizer_bytes * adapters
            self._memo[key] = parts, transient, self.buffers(tp, pp, ep, zero), self.activations(tp)
        return self._memo[key]

    def phases(self, tp: int, pp: int, ep: int, zero: int, dp: float) -> tuple[dict, dict]:
        """The busiest GPU's tensors ({MemoryBreakdown field: bytes}) at the two moments a step can
        peak: the end of forward (every activation held) and the end of backward (gradients freed
        every step all built, the activations freed); without such gradients the second is the
        first without activations. The one accounting of a layout's memory: the search's fit
        test and the plan's breakdown both read it (through breakdown()). dp may be math.inf: every
        sharded state gone."""
        forward_end, backward_end = self._phase_values(tp, pp, ep, zero, dp)
        return dict(zip(_PHASE_KEYS + ("activations",), forward_end, strict=True)), \
            dict(zip(_PHASE_KEYS, backward_end, strict=True))

    def _phase_values(self, tp: int, pp: int, ep: int, zero: int, dp: float) -> tuple[tuple, tuple]:
        """phases() as bytes in the order of _PHASE_KEYS (then the activations at the end of
        forward); zero_terms sums them without building the dicts."""
        parts, (stay, divides), buffers, acts = self._held(tp, pp, ep, zero)
        held = [whole + sharded / dp for whole, sharded in parts.values()]
        forward_end = (*held, buffers, acts)
        held[_GRADIENTS] += stay + divides / dp
        return forward_end, (*held, buffers)

    def _peak(self, tp: int, pp: int, ep: int, zero: int, dp: float) -> dict:
        """The tensors at the step's peak: the larger of phases() (the end of forward on a tie)."""
        forward_end, backward_end = self.phases(tp, pp, ep, zero, dp)
        return backward_end if sum(backward_end.values()) > sum(forward_end.values()) else forward_end

    def breakdown(self, layout: Layout, overhead: float, frag: float) -> MemoryBreakdown:
        """The layout's bytes per GPU as the plan shows them: the tensors at the step's peak plus the
        runtime overhead and the allocator's fragmentation margin on every tensor. A layout fits when this total does
        (fits_memory)."""
        tensors = self._peak(layout.tp, layout.pp, layout.ep, layout.zero_stage, layout.dp)
        return MemoryBreakdown(**tensors, overhead=overhead + frag * sum(tensors.values()))

    def zero_terms(self, tp: int, pp: int, ep: int) -> tuple:
        """For ZeRO stages 0..3, per phase, (bytes that stay, bytes that divide by dp): the
        tensors of phases() are affine in 1/dp, so its figures at dp = inf and dp = 1 give both,
        and the search solves for the smallest dp in closed form. Memoized because the search
        asks for every layout of every GPU type."""
        key = ("terms", tp, pp, ep)
        if key not in self._memo:
            def terms(z):
                stay = [sum(b) for b in self._phase_values(tp, pp, ep, z, math.inf)]
                whole = [sum(b) for b in self._phase_values(tp, pp, ep, z, 1)]
                return tuple((f, w - f) for f, w in zip(stay, whole, strict=True))
            self._memo[key] = tuple(terms(z) for z in range(4))
        return self._memo[key]

    def activations(self, tp: int) -> float:
        """Activation bytes on the busiest GPU at tensor degree tp."""
        return (self.activations_tp1 - self.activations_replicated) / tp + self.activations_replicated


@lru_cache(maxsize=128)
def training_setup(arch: ModelArch, precision: str, method: str, optimizer: str, grad_dtype: str, seq_len: int,
                   micro_batch: int, recompute: str, flash_attention: bool, lora_rank: int,
                   framework: str = "zero", sequence_parallel: bool = True, offload_optimizer: str = "none",
                   offload_params: str = "none", chunked_loss: bool = False,
                   activation_offload: bool = False, optimizer_in_backward: bool = False) -> TrainingSetup:
    """The byte costs of one training configuration; cached, because a sweep plans the same
    configuration on every GPU."""
    full = method == "full"
    compute = 2.0 if precision in ("fp8", "int8", "int4") else DTYPE_BYTES[precision]
    if method == "qlora":
        base, edge = QLORA_BYTES, 2.0
    elif method == "lora":
        base = weight_bytes_per_param(precision)
        edge = 2.0 if precision in ("fp8", "int8", "int4") else DTYPE_BYTES[precision]
    else:
        base = edge = compute  # fp8 training keeps bf16 weights
    opt = optimizer_bytes_per_param(optimizer, arch)
    act_bytes = 4.0 if precision == "fp32" else 2.0
    spec = framework_spec(framework)
    # PEFT keeps adapters (and so their gradients and optimizer states) in fp32; torchtune builds
    # the whole model, adapters included, in the training dtype (its recipes' set_default_dtype).
    adapter = compute if framework == "torchtune" else LORA_PARAM_BYTES
    in_backward = optimizer_in_backward and full
    states = full_training_states(framework, compute, precision, grad_dtype == "fp32", opt) if full else ()
    if in_backward:  # no set of gradients is ever kept: only the one being applied (frameworks.buffer_bytes)
        states = tuple(st for st in states if st.component != "gradients")
    return TrainingSetup(
        arch=arch, method=method, framework=framework, compute_bytes=compute, full_states=states,
        weight_bytes=base, edge_weight_bytes=edge, optimizer_bytes=opt,
        activations_tp1=training_activation_bytes(arch, seq_len, micro_batch, 1, recompute, flash_attention, act_bytes,
                                                  spec.dropout, chunked_loss, activation_offload, spec.eager_loss),
        activations_replicated=0.0 if sequence_parallel or activation_offload else
        replicated_activation_bytes(arch, seq_len, micro_batch, recompute, act_bytes, spec.dropout),
        adapters=0.0 if full else lora_adapter_params(arch, lora_rank),
        sizes=sizes(arch), offload_optimizer=offload_optimizer, offload_params=offload_params,
        adapter_bytes=adapter, adapter_optimizer_bytes=opt * adapter / LORA_PARAM_BYTES,
        optimizer_in_backward=in_backward, transient_gradients=full and spec.transient_gradients,
    )


def search_training(setup: TrainingSetup, usable: float, overhead: float, frag: float, max_tp: int,
                    fixed_layout: dict, min_gpus: int = 1, gpus_per_instance: int = 0, max_gpus: float = math.inf):
    """_search_training, remembered (core.memo): a sweep asks the same search for every instance
    type with the same GPU and size, and again on every repeat; the result depends only on these
    arguments."""
    key = ("training", setup, usable, overhead, frag, max_tp, tuple(sorted(fixed_layout.items())), min_gpus,
           gpus_per_instance, max_gpus)
    return remembered(key, lambda: _search_training(setup, usable, overhead, frag, max_tp, fixed_layout, min_gpus,
                                                    gpus_per_instance, max_gpus))


def search_space(setup: TrainingSetup, max_tp: int, fixed_layout: dict) -> tuple[list, list, list, list]:
    """The tensor, pipeline and expert degrees and the ZeRO stages the training search walks:
    the fixed ones or every one the model and the framework allow."""
    tps, pps, eps = degree_choices(setup.arch, max_tp, fixed_layout)
    fw = framework_spec(setup.framework)
    if fw.data_parallel_only:  # no tensor, pipeline or expert parallelism
        tps, pps, eps = [1], [1], [1]
    zeros = [fixed_layout["zero"]] if fixed_layout["zero"] >= 0 else list(fw.zero_stages)
    if setup.offload_params != "none":
        zeros = [3]  # parameter offload is a ZeRO-3 option
    return tps, pps, eps, zeros


def fits_memory(total: float, usable: float) -> bool:
    """Whether a breakdown's total fits the usable bytes (to rounding): the one fit test."""
    return total <= usable * (1 + 1e-9)


# The search's quick total of a layout, overhead + (1 + frag)·max over the two phases of
# stay + divides/dp (TrainingSetup.zero_terms), differs from TrainingSetup.breakdown(...).total
# only by rounding: both sum a dozen non-negative terms (zero_terms' divides is a difference of
# such sums, at most the dp = 1 total), so they agree to well under 1e-13 relative. Where the
# quick total is farther than this from a decision's threshold it decides as the breakdown
# would; nearer, the breakdown decides (_Fit, _smallest_memory).
_ROUNDING = 1e-11


def _quick_total(phases: tuple, dp: int, overhead: float, scale: float) -> float:
    """The quick total at dp of one ZeRO stage's zero_terms (see _ROUNDING)."""
    (fs, fd), (bs, bd) = phases
    return overhead + scale * max(fs + fd / dp, bs + bd / dp)


class _Fit:
    """The fit test of one search: fits_memory of the layout's breakdown, decided from the quick
    total (_quick_total) unless that is within rounding of the usable bytes."""

    __slots__ = ("setup", "usable", "overhead", "frag", "low", "high")

    def __init__(self, setup: TrainingSetup, usable: float, overhead: float, frag: float):
        self.setup, self.usable, self.overhead, self.frag = setup, usable, overhead, frag
        limit = usable * (1 + 1e-9)  # fits_memory's
        self.low, self.high = limit * (1 - _ROUNDING), limit * (1 + _ROUNDING)

    def __call__(self, quick: float, c: tuple) -> bool:
        if quick < self.low:
            return True
        if quick > self.high:
            return False
        return fits_memory(self.total(c), self.usable)

    def total(self, c: tuple) -> float:
        """The breakdown's total of the layout c = (dp, t, p, e, z): what the plan shows."""
        return self.setup.breakdown(Layout(*c), self.overhead, self.frag).total


def _smallest_dp(phases: tuple, room: float, scale: float, e: int) -> int:
    """The smallest multiple of e at which both phases' stay + (1 + frag)·divides/dp of one ZeRO
    stage's zero_terms fit the room left by the overhead, in closed form; MAX_DP when no degree
    is enough."""
    (fs, fd), (bs, bd) = phases
    free_f, free_b = room - scale * fs, room - scale * bs
    if free_f <= 0 or free_b <= 0:
        return MAX_DP
    dp = max(1, math.ceil(scale * fd / free_f - 1e-9), math.ceil(scale * bd / free_b - 1e-9))
    return min(math.ceil(dp / e) * e, MAX_DP)


def _first_billed(setup: TrainingSetup, tps: list, pps: list, eps: list, zeros: list, fit: _Fit, room: float,
                  scale: float, per: int, max_gpus: float) -> float:
    """The GPUs (whole instances) of the fewest-instance layout among the first the search tests at
    each tensor degree (first pipeline and expert degree, ZeRO stages up to the one where memory
    no longer binds; dp free, no deadline): the search tests them all, so its best needs no more."""
    best = math.inf
    p, e = pps[0], eps[0]
    for t in tps:
        if t * p > max_gpus or fit.overhead + scale * setup.activations(t) > fit.usable:
            continue  # the search does not test this tensor degree
        terms = setup.zero_terms(t, p, e)
        for z in zeros:
            dp = _smallest_dp(terms[z], room, scale, e)
            if dp < MAX_DP and fit(_quick_total(terms[z], dp, fit.overhead, scale), (dp, t, p, e, z)):
                best = min(best, math.ceil(t * p * dp / per) * per)
            if dp == e:
                break  # memory no longer binds: the search goes no further
    return best


def _least_gpus(setup: TrainingSetup, t: int, p: int, e: int, zeros: list, skip_expert_zero3: bool, room: float,
                scale: float) -> int:
    """The fewest GPUs, t·p·dp at the closed form's dp, of the ZeRO stages the search tries at
    (t, p, e) with dp free and no deadline."""
    terms = setup.zero_terms(t, p, e)
    least = t * p * MAX_DP
    for z in zeros:
        if z == 3 and e > 1 and skip_expert_zero3 and terms[3] == setup.zero_terms(t, p, 1)[3]:
            continue
        dp = _smallest_dp(terms[z], room, scale, e)
        least = min(least, t * p * dp)
        if dp == e:
            break
    return least


def _smallest_memory(tried: list, fit: _Fit) -> tuple | None:
    """The layout of least memory among `tried` [(quick total or exact floor, exact?, layout
    tuple)], the first in walk order on a tie, by exact totals: only layouts whose quick total is
    within rounding of the least can be it, and only theirs are computed."""
    if not tried:
        return None
    low = min(q for q, _, _ in tried) * (1 + 2 * _ROUNDING)
    least, best = math.inf, None
    for quick, exact, c in tried:
        if quick <= low:
            mem = quick if exact else fit.total(c)
            if best is None or mem < least:
                least, best = mem, c
    return best


def _search_training(setup: TrainingSetup, usable: float, overhead: float, frag: float, max_tp: int,
                     fixed_layout: dict, min_gpus: int, gpus_per_instance: int, max_gpus: float):
    """Best Candidate over all allowed layouts, plus the best layout per tensor degree.
    Layouts whose tensor × pipeline degree alone exceeds max_gpus (a plan found elsewhere)
    are not tried. A layout fits when its breakdown (TrainingSetup.breakdown, what the plan
    shows) does (_Fit); the closed form only proposes the data-parallel degree to test.

    Fewest GPUs wins; with an instance type, fewest instances wins and the layout then fills
    those instances (whole instances are billed, and more data parallelism finishes sooner).
    Ties go to the lower ZeRO stage, then less pipeline, then less tensor parallelism."""
    tps, pps, eps, zeros = search_space(setup, max_tp, fixed_layout)
    fixed_dp = fixed_layout["dp"]
    scale = 1.0 + frag
    room = usable - overhead
    fit = _Fit(setup, usable, overhead, frag)
    fitting: list = []  # Layouts at the smallest dp that fits (and meets min_gpus)
    memory_min = 0  # fewest GPUs that hold the job, whatever the deadline
    tried: list = []  # layouts that may hold the least memory, reported when nothing fits (_smallest_memory)
    least = math.inf  # the least quick total in `tried`
    bound = max_gpus  # GPUs of the best layout so far (rounded up to whole instances)
    # The same found by this search, billed by the instance (no max_gpus): a layout of more GPUs
    # (dp is a multiple of e) would be dropped anyway when the layouts fill the fewest instances.
    billed = math.inf
    per = gpus_per_instance or 1
    skip_expert_zero3 = not fixed_layout["ep"]
    # Billed by the instance with dp free, a layout changes nothing once it needs more GPUs than
    # the fewest instances found so far hold and its smallest dp at least the fewest GPUs found
    # to hold the job: filling the fewest instances drops it, it lowers neither bound nor those
    # fewest GPUs, and the smallest memory is reported only when nothing fits. It is not tested.
    prune = bool(gpus_per_instance) and not fixed_dp
    rows = None  # {(t, p, e): _least_gpus}, shared by the searches of every instance size of the GPU
    if prune and min_gpus <= 1 and pps and eps:  # so it skips from the start
        billed = _first_billed(setup, tps, pps, eps, zeros, fit, room, scale, per, max_gpus)
        rows = remembered(("least gpus", setup, usable, overhead, frag, tuple(zeros), skip_expert_zero3), dict)
    for t in tps:
        floor = overhead + scale * setup.activations(t)  # a lower bound: all states sharded away
        if floor > usable:  # activations alone do not fit at this tensor degree
            if not fitting and floor <= least * (1 + 2 * _ROUNDING):
                least = min(least, floor)
                tried.append((floor, True, (MAX_DP, t, pps[-1] if pps else 1, eps[-1] if eps else 1, 3)))
            continue
        for e in eps:
            for p in pps:
                if (t * p > bound or t * p * e > billed) and not fixed_dp:
                    break  # even dp = 1 (dp = e) would need more GPUs than a layout already found
                if rows is not None:
                    least_gpus = rows.get((t, p, e))
                    if least_gpus is None:
                        least_gpus = rows[t, p, e] = _least_gpus(setup, t, p, e, zeros, skip_expert_zero3, room, scale)
                    if least_gpus > billed:
                        continue  # every stage here changes nothing (see `prune`)
                terms = setup.zero_terms(t, p, e)
                unbound = False  # memory no longer binds: deeper pipelines only add GPUs
                for z in zeros:
                    if z == 3 and e > 1 and skip_expert_zero3 and terms[3] == setup.zero_terms(t, p, 1)[3]:
                        continue  # ZeRO-3 shards the experts anyway: here e > 1 only constrains dp
                    phases = terms[z]
                    dp_memory = 0
                    if fixed_dp:
                        if fixed_dp % e:
                            continue
                        dp = fixed_dp
                    else:
                        dp_memory = _smallest_dp(phases, room, scale, e)
                        dp = dp_memory if min_gpus <= 1 else math.ceil(max(dp_memory, math.ceil(min_gpus / (t * p)))
                                                                       / e) * e
                        unbound = dp_memory == e and min_gpus <= 1
                    if prune and t * p * dp > billed and t * p * dp_memory >= memory_min:
                        continue  # changes nothing (see `prune`); not unbound, or dp = e would have broken off
                    c = (min(dp, MAX_DP), t, p, e, z)
                    quick = _quick_total(phases, c[0], overhead, scale)
                    if not fitting and quick <= least * (1 + 2 * _ROUNDING):  # once one fits, none is reported
                        least = min(least, quick)
                        tried.append((quick, False, c))
                    if dp < MAX_DP and fit(quick, c):
                        fitting.append(c)
                        gpus = math.ceil(t * p * dp / per) * per
                        bound = min(bound, gpus)
                        if gpus_per_instance:
                            billed = min(billed, gpus)
                        fewest = dp if dp == dp_memory or fixed_dp else dp_memory  # below a deadline's dp
                        if fewest != dp and not fit(_quick_total(phases, fewest, overhead, scale),
                                                    (fewest, t, p, e, z)):
                            fewest = dp
                        if not memory_min or t * p * fewest < memory_min:
                            memory_min = t * p * fewest
                    if unbound:
                        break  # a higher ZeRO stage gives the same GPUs with more traffic
                if unbound and not fixed_layout["pp"]:
                    break
    # Candidates are (dp, t, p, e, z) tuples; keys sort by GPUs, then ZeRO stage, pp, tp, ep.
    if fitting and gpus_per_instance and not fixed_dp:
        budget = min(math.ceil(dp * t * p / gpus_per_instance) for dp, t, p, e, z in fitting) * gpus_per_instance
        filled = ((budget // (t * p) // e * e, t, p, e, z) for dp, t, p, e, z in fitting)
        fitting = [f for f, c in zip(filled, fitting, strict=True) if f[0] >= c[0]]  # more dp only frees memory

        def key(c):
            return (-c[0] * c[1] * c[2], c[4], c[2], c[1], c[3])
    else:
        def key(c):
            return (c[0] * c[1] * c[2], c[4], c[2], c[1], c[3])
    notes = {t: _layout(min((c for c in fitting if c[1] == t), key=key, default=None)) for t in tps}
    if fitting:
        lay = _layout(min(fitting, key=key))
    else:
        lay = _layout(_smallest_memory(tried, fit))
        if lay is None:
            return None, notes
    breakdown = setup.breakdown(lay, overhead, frag)
    if not fitting and lay.dp >= MAX_DP:  # nothing fits even with unbounded sharding
        lay = replace(lay, dp=0)
    return Candidate(lay, breakdown, bool(fitting), memory_min if fitting else 0), notes


@dataclass(frozen=True)
class InferenceSetup:
    arch: ModelArch
    sizes: ModelSizes
    weights: WeightBytes  # stored bytes per parameter of each part
    kv_dtype: str
    context: int
    concurrency: int
    held_tokens: int  # tokens one sequence holds on average in the paged KV pool
    _memo: dict = field(default_factory=dict, compare=False, repr=False)  # layouts sized, candidates built

    def parts(self, tp: int, pp: int, ep: int) -> tuple:
        """(weights, kv_cache, activations) bytes on one GPU of a replica of t·p·e GPUs; expert
        parallelism also splits the batch (attention data parallel across the e groups).
        Memoized: they do not depend on the GPU, and a sweep sizes every layout on every GPU."""
        key = (tp, pp, ep)
        if key not in self._memo:
            self._memo[key] = self._parts(tp, pp, ep)
        return self._memo[key]

    def held_kv_bytes(self, tp: int, pp: int) -> float:
        """KV cache one sequence holds on average (held_tokens) on one GPU of a t·p replica (the
        heaviest stage; core.memory): the paged pool's unit. Memoized like parts()."""
        key = ("held kv", tp, pp)
        if key not in self._memo:
            self._memo[key] = kv_bytes_per_sequence(self.arch, self.held_tokens, self.kv_dtype, tp, pp)
        return self._memo[key]

    def _parts(self, tp: int, pp: int, ep: int) -> tuple:
        sz, share = self.sizes, stage_share(self.arch.n_layers, pp)
        wb = self.weights
        weights = (wb.dense * sz.block_dense * share + wb.edge * edge_params(sz, pp)) / tp \
            + wb.experts * sz.block_experts * share / (tp * ep)
        seqs = math.ceil(self.concurrency / ep)
        # a paged pool (vLLM, SGLang, TensorRT-LLM): sequences hold the blocks they use, and the
        # pool must still hold one sequence of the full context (engines refuse to start otherwise)
        kv = max(seqs * self.held_kv_bytes(tp, pp),
                 kv_bytes_per_sequence(self.arch, self.context, self.kv_dtype, tp, pp))
        acts = prefill_activation_bytes(self.arch, seqs, tp)
        return weights, kv, acts


@lru_cache(maxsize=128)
def inference_setup(arch: ModelArch, weights: WeightBytes, kv_dtype: str, context: int,
                    concurrency: int, held_tokens: int) -> InferenceSetup:
    """One serving configuration; cached, so a sweep sizes each layout once for every GPU."""
    return InferenceSetup(arch, sizes(arch), weights, kv_dtype, context, concurrency,
                          min(held_tokens, context))


def inference_candidate(setup: InferenceSetup, overhead: float, frag: float, t: int, p: int, e: int,
                        fits: bool) -> Candidate:
    """The replica layout t·p·e with its memory on the busiest GPU; memoized with the setup's
    parts, since every GPU of a sweep tries the same layouts (the Candidate is immutable)."""
    key = ("candidate", overhead, frag, t, p, e, fits)
    if key not in setup._memo:
        setup._memo[key] = _inference_candidate(setup, overhead, frag, t, p, e, fits)
    return setup._memo[key]


def _inference_candidate(setup: InferenceSetup, overhead: float, frag: float, t: int, p: int, e: int,
                         fits: bool) -> Candidate:
    w, kv, a = setup.parts(t, p, e)
    breakdown = MemoryBreakdown(weights=w, kv_cache=kv, activations=a, overhead=overhead + frag * (w + kv + a))
    layout = Layout(e, t, p, e, 0)  # the e groups are attention data parallel
    return Candidate(layout, breakdown, fits, layout.gpus if fits else 0)


def search_inference(setup: InferenceSetup, usable: float, overhead: float, frag: float, max_tp: int,
                     fixed_layout: dict):
    """Replica layouts (t·p·e GPUs) that hold the weights plus the KV cache the requested
    concurrent sequences hold on average (InferenceSetup.held_tokens): for each tensor and expert degree, the shallowest pipeline that fits
    (deeper ones only add GPUs and latency). Returns (fitting Candidates, the smallest-memory
    Candidate when none fits, the fewest-GPU layout per tensor degree)."""
    arch = setup.arch
    tps, pps, eps = degree_choices(arch, max_tp, fixed_layout)
    scale = 1.0 + frag

    fitting, smallest = [], None  # smallest: (memory, t, p, e)
    for t in tps:
        for e in eps:
            for i, p in enumerate(pps):
                w, kv, a = setup.parts(t, p, e)
                mem = overhead + scale * (w + kv + a)
                if smallest is None or mem < smallest[0]:
                    smallest = (mem, t, p, e)
                if fits_memory(mem, usable):
                    fitting.append(inference_candidate(setup, overhead, frag, t, p, e, True))
                    break
                if i == 0 and len(pps) > 1:  # the deepest split needs the least memory:
                    deepest = setup.parts(t, pps[-1], e)  # if it fails, all do
                    if not fits_memory(overhead + scale * sum(deepest), usable):
                        break
    notes = {t: min((c.layout for c in fitting if c.layout.tp == t), key=lambda x: (x.gpus, x.pp), default=None)
             for t in tps}
    fallback = inference_candidate(setup, overhead, frag, *smallest[1:], False) if smallest and not fitting else None
    return fitting, fallback, notes
