"""One serving model: a replica running continuous batching in steady state.

Every engine step runs the decode batch plus a chunk of prompt tokens (chunked prefill,
Agrawal et al. 2024, "Sarathi-Serve"). A step runs two rooflines in turn (Pope et al. 2022 give
the bound): the GEMMs, the larger of the weights and experts the batch touches over bandwidth ×
MBU and their FLOPs over peak × a fitted efficiency (an embedding table is indexed, not
multiplied); then the decode attention, the larger of the KV cache it reads (each tensor rank
its own copy: MLA's latent whole) and its FLOPs (MLA absorbed). Plus tensor/expert-parallel
communication over the link it crosses (NVLink or PCIe inside an instance, the instance network
across instances; NCCL's latency per collective, core.links) and a fixed per-step cost
(scheduling and sampling, plus kernel launches: a fixed number per layer). The fitted parameters
(efficiency and fixed cost per GPU generation) are checked against published measurements by
`scripts/validate_serving.py`.

At a replica arrival rate λ, with n uncached prompt tokens and m output tokens per request:
prompt tokens per step p = λ·n·s and decoding sequences B = λ·m·s solve s = step(B, p);
TTFT = queueing for the step's prompt budget + the prompt's chunks; the concurrency a replica
holds follows from Little's law, λ × (TTFT + m·s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gpuplanner.core.catalogs import GpuSpec
from gpuplanner.core.links import Links
from gpuplanner.core.memo import interned, remembered
from gpuplanner.core.model import ModelArch, sizes
from gpuplanner.core.performance import expert_untouched_share

ACTIVATION_BYTES = 2.0  # 16-bit activations cross the links
CHUNK_TOKENS = 8192  # prompt tokens per step: vLLM's and SGLang's default chunked-prefill budget
BOUND_CELLS = 8  # grid cells of the rate bound below the per-user floor
REACH_ROUNDS = 8  # step evaluations out_of_reach spends before it gives up
REACH_SETTLED = 1e-2  # out_of_reach stops when its lower bound climbs by less than this share
SEARCH_TOLERANCE = 1e-2  # relative precision (of x) of the steady-state searches
# Squared coefficient of variation of the arrivals of a closed-loop benchmark (fixed concurrency,
# requests started together and re-issued as they end): fitted on the aiconfigurator TTFTs by
# scripts/validate_serving.py; open-loop load (a request rate) is Poisson, 1.
CLOSED_LOOP_BURSTINESS = 1.0
# A closed-loop benchmark starts every user at once: in that first wave a prompt waits for half
# the others' prefill; it is one of the requests each user sends, and the measured TTFT is an
# average over them all. Requests per user: fitted by scripts/validate_serving.py likewise.
CLOSED_LOOP_REQUESTS_PER_USER = 10.0
# A prompt chunk's routed-expert GEMMs (many experts, few tokens each: grouped GEMMs) reach this
# share of the prefill efficiency of dense GEMMs; fitted by scripts/validate_serving.py.
EXPERT_PREFILL = 0.3


@dataclass(frozen=True)
class Efficiency:
    """Fitted, per GPU generation: what fraction of the datasheet a serving engine reaches."""

    compute: float  # of dense peak, in the decode batch's GEMMs, one GPU
    step_s: float  # fixed cost of one engine step (scheduling, sampling)
    layer_step_s: float  # and per transformer layer (its kernels' launches)
    tp_loss: float  # GEMMs split t ways are narrower: efficiency / (1 + tp_loss · (t − 1))
    prefill: float  # of dense peak, in prompt chunks (long GEMMs and attention), one GPU
    source: str


# Fitted by scripts/validate_serving.py (TensorRT-LLM offline throughput, SGLang/vLLM and
# aiconfigurator TTFT/TPOT; each source's classes count once, within the ledger's bounds);
# GPU generations without measurements take the Ampere values.
EFFICIENCY = {
    "hopper": Efficiency(0.5, 2e-3, 20e-6, 0.05, 0.6, "fitted: TensorRT-LLM perf-overview (H100/H200), aiconfigurator measurements, SGLang/vLLM ShareGPT runs (H100)"),
    "blackwell": Efficiency(0.5, 0.5e-3, 30e-6, 0.3, 0.5, "fitted: aiconfigurator measurements (B200/GB200)"),
    "ampere": Efficiency(0.5, 2e-3, 30e-6, 0.05, 0.9, "fitted: TensorRT-LLM perf-overview, SGLang/vLLM ShareGPT runs (A100)"),
    "ada": Efficiency(0.4, 4e-3, 150e-6, 0.3, 0.5, "fitted: TensorRT-LLM perf-overview (L40S)"),
}
DEFAULT_GENERATION = "ampere"


@dataclass(frozen=True)
class EngineCost:
    """Fitted, per serving engine: how its prompt kernels compare with the generation's prefill
    efficiency, and its fixed time to a request's first token (API server, tokenizer, scheduler,
    the first sampling and detokenization)."""

    prefill: float  # × the generation's prefill efficiency
    request_s: float


# Fitted by scripts/validate_serving.py on the aiconfigurator TTFTs (vLLM, SGLang, TensorRT-LLM)
# and SGLang 0.3.0 / vLLM 0.6.0 on ShareGPT: SGLang's 0 means its first token costs nothing beyond
# the wait for the step in flight and the prefill (32 ms for Llama 3.1 8B on an A100 at 4 req/s);
# a plan names no engine and takes vLLM's.
ENGINES = {"vllm": EngineCost(1.0, 0.05), "sglang": EngineCost(0.6, 0.0), "trtllm": EngineCost(1.0, 0.15)}
DEFAULT_ENGINE = "vllm"


def efficiency(gpu: GpuSpec) -> Efficiency:
    return EFFICIENCY.get(gpu.generation, EFFICIENCY[DEFAULT_GENERATION])


@dataclass(frozen=True)
class _ArchTerms:
    """The per-step constants of a Replica that depend on the architecture alone."""

    active_flops: float  # a token's GEMMs
    # attention FLOPs per token attended: full layers over the whole context, sliding-window
    # layers over at most the window; decoding (MLA: absorbed) and in prompt chunks
    attn_flops: float
    window_flops: float
    prefill_attn_flops: float
    prefill_window_flops: float
    prefill_token_flops: float  # one prompt token's GEMMs at dense efficiency, attention aside (EXPERT_PREFILL)
    untouched: float | None  # performance.expert_untouched_share (None: no routing)


_TERMS: dict = {}  # id(arch) → (arch, its _ArchTerms); the entry keeps the arch alive, so its id stays its own


def _arch_terms(arch: ModelArch) -> _ArchTerms:
    """Computed once per architecture: a sweep builds a Replica for every layout it tries.
    Looked up by identity, as hashing a ModelArch (every field) costs more than the lookup saves."""
    entry = _TERMS.get(id(arch))
    if entry is None or entry[0] is not arch:
        if len(_TERMS) >= 256:
            _TERMS.clear()
        entry = _TERMS[id(arch)] = (arch, _terms(arch))
    return entry[1]


def _terms(arch: ModelArch) -> _ArchTerms:
    sz, sliding = sizes(arch), arch.sliding_layers()
    decode, prefill = arch.attention_flops_per_pair(absorbed=True), arch.attention_flops_per_pair()
    routed = sz.block_experts * arch.experts_per_token / arch.n_experts if arch.is_moe else 0.0
    return _ArchTerms(
        2.0 * sz.matmul_active, float((arch.n_layers - sliding) * decode), float(sliding * decode),
        float((arch.n_layers - sliding) * prefill), float(sliding * prefill),
        2.0 * (sz.matmul_active - routed) + 2.0 * routed / EXPERT_PREFILL,
        expert_untouched_share(arch) if arch.is_moe else None)


@dataclass(frozen=True)
class Replica:
    """What the physics needs about one serving replica (t·p·e GPUs)."""

    arch: ModelArch
    gpu: GpuSpec
    tp: int
    pp: int
    ep: int
    dense_weight_bytes: float  # read per step, one copy (with expert parallelism each attention group reads one)
    expert_weight_bytes: float  # whole replica
    kv_bytes_per_token: float  # all layers, one sequence
    peak_flops: float  # per GPU, dtype the math runs in
    mbu: float
    compute_efficiency: float  # at this tensor degree
    step_s: float
    links: Links
    prefill_efficiency: float = 0.0  # at this tensor degree, in prompt chunks (0: compute_efficiency)
    request_s: float = 0.0  # fixed time to each request's first token
    # decode steps the engine runs per scheduling pass (vLLM's --num-scheduler-steps, multi-step
    # scheduling): a new prompt is admitted only between passes
    scheduler_steps: int = 1
    # prompt chunks share steps with decoding (vLLM V1, TensorRT-LLM); False: a prefill is a step of
    # its own while decoding waits (vLLM before V1 at contexts up to 32k, SGLang without --enable-mixed-chunk)
    mixed_prefill: bool = True
    # per-step constants, set once by __post_init__ (not inputs: left out of init, repr and ==)
    _active_flops: float = field(init=False, repr=False, compare=False)
    _attn_flops: float = field(init=False, repr=False, compare=False)
    _window_flops: float = field(init=False, repr=False, compare=False)
    _prefill_attn_flops: float = field(init=False, repr=False, compare=False)
    _prefill_window_flops: float = field(init=False, repr=False, compare=False)
    _kv_read: float = field(init=False, repr=False, compare=False)
    _bandwidth: float = field(init=False, repr=False, compare=False)
    _compute: float = field(init=False, repr=False, compare=False)
    _prefill_compute: float = field(init=False, repr=False, compare=False)
    _prefill_token_s: float = field(init=False, repr=False, compare=False)
    _dense_read: float = field(init=False, repr=False, compare=False)
    _untouched: float | None = field(init=False, repr=False, compare=False)
    _comm: tuple = field(init=False, repr=False, compare=False)
    _key: tuple | None = field(init=False, default=None, repr=False, compare=False)  # physics_key(), once asked

    def __post_init__(self):
        """Per-step constants, computed once: the search probes thousands of steps."""
        arch, t, e = self.arch, self.tp, self.ep
        const = object.__setattr__
        terms = _arch_terms(arch)
        const(self, "_active_flops", terms.active_flops)
        const(self, "_attn_flops", terms.attn_flops)
        const(self, "_window_flops", terms.window_flops)
        const(self, "_prefill_attn_flops", terms.prefill_attn_flops)
        const(self, "_prefill_window_flops", terms.prefill_window_flops)
        # the KV a decode step reads: every tensor rank reads its own copy (MLA's whole latent)
        const(self, "_kv_read", self.kv_bytes_per_token * arch.kv_copies(t))
        const(self, "_bandwidth", t * e * self.gpu.bandwidth_bytes_per_s * self.mbu)
        const(self, "_compute", t * e * self.peak_flops * self.compute_efficiency)
        const(self, "_prefill_compute", t * e * self.peak_flops * (self.prefill_efficiency or self.compute_efficiency))
        const(self, "_prefill_token_s", terms.prefill_token_flops / self._prefill_compute)
        const(self, "_dense_read", self.dense_weight_bytes * e)
        # a step with B tokens reads 1 − untouched^B of the routed experts (all of them without routing)
        const(self, "_untouched", terms.untouched if self.expert_weight_bytes else None)
        # communication = latency + bytes_per_token × tokens, per step
        # (latency: NCCL's for the small buffers of a step, core.links)
        latency, per_token = 0.0, 0.0
        links = self.links
        if t > 1:
            latency += 2 * arch.n_layers * links.collective_latency_s(t, "ll")
            per_token += 2 * arch.n_layers * 2 * (t - 1) / t * arch.hidden * ACTIVATION_BYTES / self.link_bytes_per_s(t)
        if e > 1 and arch.is_moe:
            moe_layers = arch.n_layers - arch.first_dense_layers
            latency += 2 * moe_layers * links.collective_latency_s(t * e, "ll", "all_to_all")
            per_token += 2 * moe_layers * (e - 1) / e / e * arch.experts_per_token * arch.hidden * ACTIVATION_BYTES \
                / self.link_bytes_per_s(t * e)
        if self.pp > 1:
            latency += (self.pp - 1) * links.collective_latency_s(t * self.pp * e, "ll", "send")
            per_token += (self.pp - 1) * arch.hidden * ACTIVATION_BYTES / self.link_bytes_per_s(t * self.pp * e)
        const(self, "_comm", (latency, per_token))

    @property
    def crosses_network(self) -> bool:
        """Its GPUs span more than one instance and NVLink domain: traffic crosses the network."""
        return self.links.crosses_network(self.tp * self.pp * self.ep)

    def physics_key(self) -> tuple:
        """Everything its steps depend on: the per-step constants step() reads, so the same
        replica on a 4- or an 8-GPU NVLink instance (or of two equal architectures) is one key.
        Built when first asked: most replicas a search sizes are ruled out without a memo lookup."""
        key = self._key
        if key is None:
            key = self._physics_key()
            object.__setattr__(self, "_key", key)
        return key

    def _physics_key(self) -> tuple:
        key = (self.pp, self._dense_read, self._kv_read, self.expert_weight_bytes, self._untouched,
               self._active_flops, self._attn_flops, self._window_flops, self._prefill_attn_flops,
               self._prefill_window_flops, self._bandwidth, self._compute, self._prefill_compute,
               self._prefill_token_s, self._comm, self.step_s, self.compute_efficiency, self.prefill_efficiency,
               self.request_s, self.scheduler_steps, self.mixed_prefill)
        return tuple([None if v != v else v for v in key])  # NaN (only NaN differs from itself) as None

    def link_bytes_per_s(self, group: int) -> float:
        """One direction of the link a group of `group` GPUs talks over (core.links)."""
        return self.links.bytes_per_s(group)

    def comm_s(self, tokens: float) -> float:
        """Tensor-parallel all-reduces (two per layer), expert-parallel all-to-alls (dispatch and
        combine per MoE layer) and pipeline hand-offs for `tokens` tokens in one step."""
        latency, per_token = self._comm
        return latency + per_token * tokens

    def step(self, batch: float, prompt_tokens: float, context: float) -> float:
        """One engine step: `batch` sequences decoding at average `context` tokens plus
        `prompt_tokens` of prefill. Pipeline stages work on `pp` micro-batches at once, so a
        sequence's step covers all stages with 1/pp of the batch in each."""
        return self.steps(batch, (prompt_tokens,), context)[0]

    def steps(self, batch: float, prompts: tuple, context: float) -> list[float]:
        """step() of one decode batch with each prompt size in `prompts`: the decode batch's
        bytes and FLOPs are computed once for all of them (a steady state asks for four)."""
        # the hottest function of a sweep: constants come from __post_init__, no helper calls
        pp = self.pp
        b = batch / pp
        # Two rooflines in turn, as the kernels run: the GEMMs (weights read, or their FLOPs) and
        # the decode attention (KV read, or its FLOPs); each of the ep attention groups reads the
        # dense weights itself (attention data parallel). The attention roofline is the decode
        # batch's alone: computed once for every prompt size.
        attn, window, w = self._attn_flops, self._window_flops, self.arch.sliding_window
        attended = attn * context + window * (context if context < w else w) if window else attn * context
        attn_s = b * attended / self._compute
        kv_s = b * context * self._kv_read / self._bandwidth
        attention_s = kv_s if kv_s > attn_s else attn_s
        decode_gemm_s = b * self._active_flops / self._compute
        experts, untouched, bandwidth = self.expert_weight_bytes, self._untouched, self._bandwidth
        full, windowed = self._prefill_attn_flops, self._prefill_window_flops
        token_s, prefill_compute, fixed_s = self._prefill_token_s, self._prefill_compute, self.step_s
        latency, per_token = self._comm
        times = []
        for prompt_tokens in prompts:
            p = prompt_tokens / pp
            weights = self._dense_read
            if experts:
                tokens = math.ceil(b + p)
                read = 1.0 - untouched ** (tokens if tokens > 1 else 1) if untouched is not None else 1.0
                weights += experts * read
            span = (context if context < p else p) / 2  # tokens a prompt token attends, on average
            span_flops = full * span + windowed * (span if span < w else w) if window else full * span
            gemm_s = decode_gemm_s + p * (token_s + span_flops / prefill_compute)
            weights_s = weights / bandwidth
            times.append((weights_s if weights_s > gemm_s else gemm_s) + attention_s
                         + (latency + per_token * (b + p)) + fixed_s)
        return times

    def chunk_step(self, batch: float, chunk_tokens: float, context: float) -> float:
        """The step that carries one prompt chunk, seen by that prompt."""
        return self.step(batch, self.chunk_prompt(chunk_tokens), context)

    def chunk_prompt(self, chunk_tokens: float) -> float:
        """A prompt chunk as step() counts it: a chunk is one micro-batch, so it crosses every
        pipeline stage at full size."""
        return chunk_tokens * self.pp


@dataclass(frozen=True)
class Load:
    """The shape of each request; the rate is what the searches vary."""

    prompt_tokens: int
    output_tokens: int
    prefix_hit_rate: float = 0.0

    @property
    def uncached_prompt_tokens(self) -> float:
        return self.prompt_tokens * (1.0 - self.prefix_hit_rate)


@dataclass(frozen=True)
class OperatingPoint:
    """One replica in steady state at `requests_per_s`."""

    requests_per_s: float
    tpot_s: float  # time per output token (one decode step)
    ttft_s: float  # queueing + the prompt's chunks
    concurrency: float  # requests held (Little's law)
    within: bool  # the state passed the test it was searched for (False: even an idle replica fails)

    @property
    def decode_tokens_per_s_per_user(self) -> float:
        return 1.0 / self.tpot_s

    def output_tokens_per_s(self, load: Load) -> float:
        return self.requests_per_s * load.output_tokens


class ServingModel:
    """A replica under a load shape (prompt/output lengths): its steady state at any rate, the
    most it carries within service levels, and its offline maximum.

    States are indexed by x = λ·s, requests arriving per step: then B = m·x sequences decode,
    p = n·x prompt tokens join each step, s = step(B, p) directly and λ = x / s, which grows
    with x; so every search is a bisection over x with one step evaluation per probe."""

    def __init__(self, replica: Replica, load: Load, max_concurrency: int):
        self.replica = replica
        self.load = load
        self.max_concurrency = max_concurrency
        self._number: int | None = None  # key(), once asked
        self.context = load.prompt_tokens + load.output_tokens / 2  # average while decoding
        self._prompt = load.uncached_prompt_tokens
        self._chunk = min(self._prompt, CHUNK_TOKENS)  # a prompt's first chunk
        self._chunks = max(1, math.ceil(self._prompt / CHUNK_TOKENS))  # a prompt's chunks, each one step
        self._x_max = CHUNK_TOKENS / max(self._prompt, 1e-9)  # prompt budget full
        self._chunk_prompt = replica.chunk_prompt(self._chunk)  # the first chunk as step() counts it
        self._offline: ServingModel | None = None  # the same replica without the API server (max_throughput)

    def key(self) -> int:
        """What every search depends on, as a small number (the searches' memo keys hash it
        often); built when first asked, as most models a search builds are never searched."""
        if self._number is None:
            self._number = interned((self.replica.physics_key(), self.load, self.max_concurrency))
        return self._number

    def for_engine(self, engine: str) -> ServingModel:
        """The same replica run by `engine` (ENGINES; an unknown engine is the default's)."""
        cost = ENGINES.get(engine, ENGINES[DEFAULT_ENGINE])
        base = ENGINES[DEFAULT_ENGINE]
        r = self.replica
        replica = replace(r, request_s=cost.request_s,
                          prefill_efficiency=(r.prefill_efficiency or r.compute_efficiency) * cost.prefill / base.prefill)
        return ServingModel(replica, self.load, self.max_concurrency)

    def prefill_s(self) -> float:
        """One prompt alone: its chunks, each one engine step."""
        return self._chunks * self.replica.chunk_step(0, self._chunk, self.context)

    def rate_upper_bound(self, min_tokens_per_s_per_user: float = 0.0) -> float:
        return remembered(("bound", self.key(), min_tokens_per_s_per_user),
                          lambda: self._rate_upper_bound(min_tokens_per_s_per_user))

    def _rate_upper_bound(self, min_tokens_per_s_per_user: float) -> float:
        """A rate this replica can never exceed within the floor (a few step evaluations): its
        KV pool over the shortest time in system; a full prompt budget at the fastest step; and,
        below the x_f whose step reaches 1 / floor, rate = x / step(x) ≤ x_(k+1) / step(x_k) on
        each cell of a grid (the step grows with x, though not always in proportion: experts)."""
        r, n, m = self.replica, self._prompt, self.load.output_tokens
        s_min = r.step(0, 0, self.context)
        bound = min(self.max_concurrency / (self.prefill_s() + m * s_min), self._x_max / s_min)
        if min_tokens_per_s_per_user > 0:
            limit = 1.0 / min_tokens_per_s_per_user
            if s_min > limit:
                return 0.0
            lo, hi = 0.0, min(self._x_max, self.max_concurrency / m)
            if r.step(m * hi, n * hi, self.context) > limit:  # the floor binds inside the range
                for _ in range(8):  # bisect to 1/256 of the range: an upper bound needs no more
                    mid = (lo + hi) / 2
                    lo, hi = (mid, hi) if r.step(m * mid, n * mid, self.context) <= limit else (lo, mid)
                cells = [hi * k / BOUND_CELLS for k in range(BOUND_CELLS + 1)]
                at = [s_min] + [r.step(m * x, n * x, self.context) for x in cells[1:-1]]  # cells[0] = 0: idle
                bound = min(bound, max(cells[k + 1] / at[k] for k in range(BOUND_CELLS)))
        return bound

    def out_of_reach(self, rate: float, min_tokens_per_s_per_user: float = 0.0) -> bool:
        """True when no state within the KV pool and the per-user floor (0: none) carries `rate`
        requests/s (False: not shown within REACH_ROUNDS step evaluations). A state x carrying
        it has x ≥ rate × step(x), and holds rate × (TTFT + m·step) ≥ rate·m·step sequences
        (Little's law), so its step is at most pool / (rate·m). The step grows with x, so
        x ≥ rate × step(x_i) for any x_i below it: from x_0 = 0 these lower bounds climb until
        the step breaks a limit or x leaves the range the searches cover (out of reach), or
        stop climbing (a state may carry it)."""
        if not rate > 0:
            return False
        r, n, m = self.replica, self._prompt, self.load.output_tokens
        limit = self.max_concurrency / (rate * m)
        if min_tokens_per_s_per_user > 0:
            limit = min(limit, 1.0 / min_tokens_per_s_per_user)
        limit *= 1 + 1e-9  # margins: float rounding never decides
        x_top = min(self._x_max, self.max_concurrency / m) * (1 + 1e-9)
        x = 0.0
        for _ in range(REACH_ROUNDS):
            s = r.step(m * x, n * x, self.context)
            if s > limit:
                return True
            lower = rate * s * (1 - 1e-9)
            if lower > x_top:
                return True
            if lower <= x * (1 + REACH_SETTLED):
                return False
            x = lower
        return False

    def at_x(self, x: float, burstiness: float = 1.0) -> OperatingPoint:
        """The steady state at x requests per step (below the full prompt budget). A prompt
        waits for the step in flight (with multi-step scheduling, for the pass of
        scheduler_steps decode steps in flight: half of it on average), then behind the prompts
        queued before it: the prefill
        work is a single server of utilisation rho = rate × (a prompt's prefill time), whose
        wait Kingman's G/D/1 approximation gives as rho / (1 − rho) × burstiness / 2 × that
        time (burstiness: squared coefficient of variation of the arrivals, 1 for Poisson);
        then its own chunks, and the engine's fixed time per request."""
        if not self.replica.mixed_prefill:
            return self._apart(x, burstiness)
        r, n, m, chunk, chunks = self.replica, self._prompt, self.load.output_tokens, self._chunk, self._chunks
        # the steady step, the decode alone, a prompt chunk's step (chunk_step) and this prompt's own
        s, decode, chunk_s, own = r.steps(m * x, (n * x, 0, self._chunk_prompt,
                                                  r.chunk_prompt(chunk + n * x / r.pp)), self.context)
        rate = x / s
        prefill = chunks * (chunk_s - decode)
        rho = rate * prefill
        queue = 0.5 * r.scheduler_steps * s + (rho / (1 - rho) * burstiness / 2 * prefill if rho < 1 else math.inf)
        ttft = r.request_s + queue + chunks * own
        return OperatingPoint(rate, s, ttft, rate * (ttft + m * s), True)

    def _apart(self, x: float, burstiness: float) -> OperatingPoint:
        """at_x for an engine that runs prompts in steps of their own while decoding waits: the
        q = max(1, x) prompts waiting are prefilled together (in chunks of at most CHUNK_TOKENS),
        so each decode step also pays x / q such prefill steps; a prompt queues as at_x says,
        behind a prefill server busy rate × (the batch's time / q), then waits for its batch."""
        r, n, m = self.replica, self._prompt, self.load.output_tokens
        tokens = n * max(1.0, x)
        chunks = max(1, math.ceil(tokens / CHUNK_TOKENS))
        batch = chunks * r.step(0, r.chunk_prompt(tokens / chunks), self.context)
        per_prompt = batch * n / tokens
        s = r.step(m * x, 0, self.context) + x * per_prompt
        rate = x / s
        rho = rate * per_prompt
        queue = 0.5 * r.scheduler_steps * s + (rho / (1 - rho) * burstiness / 2 * per_prompt if rho < 1 else math.inf)
        ttft = r.request_s + queue + batch
        return OperatingPoint(rate, s, ttft, rate * (ttft + m * s), True)

    def at_rate(self, rate: float) -> OperatingPoint:
        return self._largest(lambda p: p.requests_per_s / rate)

    def capacity(self, ttft_target_s: float = 0.0, min_tokens_per_s_per_user: float = 0.0) -> OperatingPoint:
        """The largest rate kept within the KV pool and the service levels (0 = no target);
        remembered, since a sweep asks for the same replica on every size of an instance."""
        return remembered(("capacity", self.key(), ttft_target_s, min_tokens_per_s_per_user),
                          lambda: self._capacity(ttft_target_s, min_tokens_per_s_per_user))

    def _capacity(self, ttft_target_s: float, min_tokens_per_s_per_user: float) -> OperatingPoint:
        def ratio(p: OperatingPoint) -> float:
            worst = max(p.concurrency / max(self.max_concurrency, 1e-9), p.tpot_s * min_tokens_per_s_per_user)
            return max(worst, p.ttft_s / ttft_target_s) if ttft_target_s else worst
        # concurrency = rate × (TTFT + m·step) ≥ m·x, so x never exceeds the pool over m
        return self._largest(ratio, x_hi=self.max_concurrency / self.load.output_tokens)

    def closed_loop(self, users: int) -> OperatingPoint:
        """What a benchmark at fixed concurrency measures: `users` requests of equal lengths,
        each re-issued when it ends. The replica settles at the rate whose concurrency (Little's
        law) is `users`; the re-issued requests arrive in bursts (they were started together),
        so their prompts queue as CLOSED_LOOP_BURSTINESS says. More users than the KV pool holds
        wait in the engine's queue: each request's time in system is users / rate, that wait
        included in TTFT. The run's first wave (every user at once) adds its queue, averaged over
        CLOSED_LOOP_REQUESTS_PER_USER requests per user."""
        return remembered(("closed", self.key(), users, CLOSED_LOOP_BURSTINESS, CLOSED_LOOP_REQUESTS_PER_USER),
                          lambda: self._closed_loop(users))

    def _closed_loop(self, users: int) -> OperatingPoint:
        running = max(1, min(users, self.max_concurrency))
        point = self._largest(lambda p: p.concurrency / running, burstiness=CLOSED_LOOP_BURSTINESS)
        short = running - point.concurrency  # > 0 only when the prompt budget caps the rate
        waiting = max(0, users - running) + (short if short > 2 * SEARCH_TOLERANCE * running else 0.0)
        ttft = point.ttft_s + waiting / point.requests_per_s if waiting and point.requests_per_s > 0 else point.ttft_s
        ttft += (running - 1) / 2 * self.prefill_s() / CLOSED_LOOP_REQUESTS_PER_USER  # the first wave
        return OperatingPoint(point.requests_per_s, point.tpot_s, ttft, users, True)

    def max_throughput(self) -> OperatingPoint:
        """One replica, the largest concurrency that fits, no per-user floor: what an offline
        benchmark (all requests queued in the engine at once, no API server) measures."""
        if self._offline is None:  # built once: models are shared across a sweep (core.estimate)
            self._offline = self if not self.replica.request_s else \
                ServingModel(replace(self.replica, request_s=0.0), self.load, self.max_concurrency)
        return self._offline.closed_loop(max(1, self.max_concurrency))

    def _largest(self, ratio, x_hi: float = math.inf, rel: float = SEARCH_TOLERANCE,
                 burstiness: float = 1.0) -> OperatingPoint:
        """The state with the largest x whose `ratio` (load over limit, growing with x) is at
        most 1, below `x_hi` (a bound the caller knows) and the full prompt budget: false
        position (Illinois) on ratio − 1, nearly linear in x away from saturation, until the
        binding limit or the bracket is within `rel`."""
        first = self.at_x(0.0, burstiness)
        f_lo = ratio(first) - 1
        if f_lo > 0:
            return OperatingPoint(0.0, first.tpot_s, first.ttft_s, 0.0, False)
        lo, hi = 0.0, min(x_hi, self._x_max * (1 - 1e-6))
        best = first
        top = self.at_x(hi, burstiness)
        f_hi = ratio(top) - 1
        if f_hi <= 0:
            return top
        while hi - lo > rel * hi:
            x = hi - f_hi * (hi - lo) / (f_hi - f_lo) if math.isfinite(f_hi) else (lo + hi) / 2
            x = min(max(x, lo + 0.01 * (hi - lo)), hi - 0.01 * (hi - lo))
            point = self.at_x(x, burstiness)
            f = ratio(point) - 1
            if f <= 0:
                lo, f_lo, best = x, f, point
                if f >= -rel:  # within the tolerance of the binding limit
                    break
                f_hi /= 2  # Illinois: the end that did not move counts half
            else:
                hi, f_hi = x, f
                f_lo /= 2
        return best
