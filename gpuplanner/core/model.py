"""Model architectures and their parameter counts.

A ModelArch holds what a Hugging Face config.json says about a transformer (core.model_readers
builds it from the config, for presets and users' files alike). The counts are computed from the
architecture (the formulas in resources/models.csv notes, which the tests check against the
published figures). A bare parameter count gets a synthesized Llama-shaped architecture, flagged
as such.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from gpuplanner.core.errors import InputError

GATED_MLPS = {"swiglu", "geglu"}
MLP_KINDS = ("swiglu", "geglu", "gelu", "relu")
POSITIONS = ("rope", "learned", "alibi", "relative")
LAYER_TYPES = ("sliding_attention", "full_attention")  # Hugging Face `layer_types` values
# Checkpoint formats that store only some weights quantized: the routed experts' matrices in
# MXFP4 (OCP Microscaling spec v1.0; gpt-oss), everything else (attention, router, biases,
# norms, sinks, embeddings) 16-bit.
CHECKPOINT_QUANTIZATIONS = ("", "mxfp4")
MAX_PARAMS = 1e16
_DIM = 1 << 20  # widest plausible matrix side (hidden, MLP, head, rank)
# ModelArch field: (config key it comes from, smallest, largest allowed value)
INT_LIMITS = {
    "n_layers": ("num_hidden_layers", 1, 1 << 14), "hidden": ("hidden_size", 1, _DIM),
    "intermediate": ("intermediate_size", 1, _DIM), "n_heads": ("num_attention_heads", 1, 1 << 16),
    "n_kv_heads": ("num_key_value_heads", 1, 1 << 16), "vocab": ("vocab_size", 1, 1 << 24),
    "head_dim": ("head_dim", 0, _DIM), "max_positions": ("max_position_embeddings", 0, 1 << 30),
    "position_offset": ("position_offset", 0, 1 << 10), "layer_norms": ("layer_norms", 1, 2),
    "cross_attention_layers": ("num_decoder_layers", 0, 1 << 14),
    "relative_buckets": ("relative_attention_num_buckets", 0, 1 << 16),
    "sliding_window": ("sliding_window", 0, 1 << 30), "n_experts": ("num_local_experts", 0, 1 << 16),
    "experts_per_token": ("num_experts_per_tok", 0, 1 << 16),
    "expert_intermediate": ("moe_intermediate_size", 0, _DIM), "n_shared_experts": ("n_shared_experts", 0, 1 << 10),
    "first_dense_layers": ("first_k_dense_replace", 0, 1 << 14), "q_lora_rank": ("q_lora_rank", 0, _DIM),
    "kv_lora_rank": ("kv_lora_rank", 0, _DIM), "qk_rope_head_dim": ("qk_rope_head_dim", 0, _DIM),
    "qk_nope_head_dim": ("qk_nope_head_dim", 0, _DIM), "v_head_dim": ("v_head_dim", 0, _DIM),
}


@dataclass(frozen=True, slots=True)
class ModelArch:
    """A decoder (or encoder) transformer. Names follow Hugging Face config keys."""

    name: str
    n_layers: int
    hidden: int
    intermediate: int
    n_heads: int
    n_kv_heads: int
    vocab: int
    head_dim: int = 0  # 0 = hidden / n_heads
    max_positions: int = 0
    tied_embeddings: bool = False
    mlp_kind: str = "swiglu"  # swiglu/geglu (gated: 3 matrices) or gelu/relu (plain: 2 matrices)
    norm: str = "rmsnorm"  # rmsnorm (weight) or layernorm (weight + bias)
    bias: str = "none"  # none, qkv (Qwen2) or all (GPT-2/BERT: every linear layer)
    positions: str = "rope"  # rope, learned (GPT-2/GPT-3/BERT/OPT table), alibi (BLOOM, some Falcons), relative (T5)
    position_offset: int = 0  # extra rows of a learned table (OPT reserves 2)
    layer_norms: int = 2  # norms per block: 2, or 1 (Falcon-7B's parallel attention shares one)
    encoder: bool = False  # BERT: token types + embedding LayerNorm, no final norm
    # Encoder-decoder (T5): n_layers counts both stacks; decoder layers add cross-attention
    cross_attention_layers: int = 0  # decoder layers (each: one more attention block and norm)
    relative_buckets: int = 0  # T5 relative-position buckets (a table per stack, first layer)
    sliding_window: int = 0
    # per layer "sliding_attention" or "full_attention" (gpt-oss, Gemma 2); () = every layer
    # slides when sliding_window > 0
    layer_types: tuple[str, ...] = ()
    attention_sinks: bool = False  # gpt-oss: one learned softmax-sink logit per head per layer
    # Mixture of experts (0 = dense)
    n_experts: int = 0
    experts_per_token: int = 0
    expert_intermediate: int = 0  # 0 = intermediate
    n_shared_experts: int = 0
    first_dense_layers: int = 0
    router_bias: bool = False
    # Multi-head latent attention (DeepSeek-V2/V3); 0 = ordinary attention
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    qk_nope_head_dim: int = 0
    v_head_dim: int = 0
    dtype: str = ""
    checkpoint_quantization: str = ""  # '' or one of CHECKPOINT_QUANTIZATIONS (what the checkpoint stores)
    published_params: float = math.nan
    published_active_params: float = math.nan
    source: str = ""
    synthesized: bool = False  # architecture guessed from a bare parameter count
    hf_repo: str = ""  # the Hugging Face repository an engine loads it from ('' = unknown)
    hf_revision: str = ""  # the Hub commit its config was read at ('' = not read from the Hub)

    # ---- consistency ------------------------------------------------------------------
    def check(self) -> ModelArch:
        """Return self if the architecture is one a model can have, else raise InputError
        naming the config key (Hugging Face spelling) and what is allowed. Every count and
        memory figure is then positive and finite."""
        for name, (key, low, high) in INT_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(key, f"{value!r} is not allowed; use a whole number from {low} to {high:,}")
        for name, allowed in (("mlp_kind", MLP_KINDS), ("norm", ("rmsnorm", "layernorm")),
                              ("bias", ("none", "qkv", "all")), ("positions", POSITIONS)):
            if getattr(self, name) not in allowed:
                raise InputError(name, f"{getattr(self, name)!r} is not allowed; use one of {', '.join(allowed)}")
        if not (math.isnan(self.published_params) or 0 < self.published_params <= MAX_PARAMS):
            raise InputError("published_params", f"{self.published_params!r} must be a positive count up to {MAX_PARAMS:g}")
        if not self.head_dim and self.hidden % self.n_heads:
            raise InputError("num_attention_heads", f"{self.n_heads} heads do not divide hidden_size {self.hidden}; "
                             "use a divisor of it, or give head_dim")
        if not self.is_mla and (self.n_kv_heads > self.n_heads or self.n_heads % self.n_kv_heads):
            raise InputError("num_key_value_heads", f"{self.n_kv_heads} must divide the {self.n_heads} attention heads")
        if self.is_mla and not (self.qk_rope_head_dim and self.v_head_dim):
            raise InputError("qk_rope_head_dim", "multi-head latent attention (kv_lora_rank > 0) needs "
                             "qk_rope_head_dim and v_head_dim of at least 1")
        if self.first_dense_layers >= self.n_layers and self.is_moe:
            raise InputError("first_k_dense_replace", f"{self.first_dense_layers} must be less than the "
                             f"{self.n_layers} layers (at least one layer has experts)")
        if self.is_moe and not 1 <= self.experts_per_token <= self.n_experts:
            raise InputError("num_experts_per_tok", f"{self.experts_per_token} must be from 1 to the "
                             f"{self.n_experts} experts")
        if self.cross_attention_layers >= self.n_layers:
            raise InputError("num_decoder_layers", f"{self.cross_attention_layers} decoder layers leave no encoder "
                             f"layer among the {self.n_layers}")
        self._check_layer_types()
        if self.checkpoint_quantization not in CHECKPOINT_QUANTIZATIONS:
            raise InputError("quantization_config", f"{self.checkpoint_quantization!r} is not allowed; use one of "
                             f"{', '.join(repr(q) for q in CHECKPOINT_QUANTIZATIONS)}")
        if self.checkpoint_quantization and not self.is_moe:
            raise InputError("quantization_config", f"{self.checkpoint_quantization} stores routed experts; "
                             "this model has none")
        if self.positions == "relative" and not self.relative_buckets:
            raise InputError("relative_attention_num_buckets", "relative positions need at least 1 bucket")
        if self.positions == "learned" and not self.max_positions:
            raise InputError("max_position_embeddings", "a learned position table needs its size (at least 1)")
        if self.total_params() > MAX_PARAMS:
            raise InputError("num_hidden_layers", f"this shape has {self.total_params():.3g} parameters; "
                             f"the planner handles up to {MAX_PARAMS:g}")
        return self

    def _check_layer_types(self) -> None:
        if not self.layer_types:
            return
        if len(self.layer_types) != self.n_layers:
            raise InputError("layer_types", f"{len(self.layer_types)} entries for {self.n_layers} layers; "
                             "give one per layer")
        unknown = sorted(set(self.layer_types) - set(LAYER_TYPES))
        if unknown:
            raise InputError("layer_types", f"{unknown[0]!r} is not allowed; use {' or '.join(LAYER_TYPES)}")
        if "sliding_attention" in self.layer_types and not self.sliding_window:
            raise InputError("sliding_window", "sliding_attention layers need a window of at least 1 token")

    # ---- derived shapes -------------------------------------------------------------
    @property
    def d_head(self) -> int:
        return self.head_dim or self.hidden // self.n_heads

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def moe_layers(self) -> int:
        return self.n_layers - self.first_dense_layers if self.is_moe else 0

    @property
    def expert_width(self) -> int:
        return self.expert_intermediate or self.intermediate

    def sliding_layers(self, start: int = 0, stop: int | None = None) -> int:
        """How many of layers [start, stop) attend over a sliding window only."""
        stop = self.n_layers if stop is None else stop
        if self.layer_types:
            return self.layer_types[start:stop].count("sliding_attention")
        return max(0, stop - start) if self.sliding_window else 0

    @property
    def attn_width(self) -> int:
        """a·d: width of the attention output (query heads × head dim)."""
        return self.n_heads * (self.v_head_dim if self.is_mla else self.d_head)

    # ---- parameter counts ---------------------------------------------------------------
    def attention_params(self) -> int:
        h, a = self.hidden, self.n_heads
        if self.is_mla:
            qr, kvr = self.q_lora_rank, self.kv_lora_rank
            rope, nope, v = self.qk_rope_head_dim, self.qk_nope_head_dim, self.v_head_dim
            q = (h * qr + qr + qr * a * (nope + rope)) if qr else h * a * (nope + rope)
            kv = h * (kvr + rope) + kvr + kvr * a * (nope + v)
            return q + kv + a * v * h
        d, k = self.d_head, self.n_kv_heads
        weights = h * a * d + 2 * h * k * d + a * d * h + (a if self.attention_sinks else 0)
        if self.bias == "qkv":
            return weights + (a + 2 * k) * d
        if self.bias == "all":
            return weights + (a + 2 * k) * d + h
        return weights

    def mlp_params(self, width: int) -> int:
        matrices = 3 if self.mlp_kind in GATED_MLPS else 2
        p = matrices * self.hidden * width
        if self.bias == "all":
            p += width * (matrices - 1) + self.hidden
        return p

    def norm_params_per_layer(self) -> int:
        return self.layer_norms * self.hidden * (2 if self.norm == "layernorm" else 1)

    def router_params(self) -> int:
        return self.hidden * self.n_experts + (self.n_experts if self.router_bias else 0)

    def embedding_params(self) -> int:
        """Input embedding plus position/token-type tables and their norm (BERT)."""
        p = self.vocab * self.hidden
        if self.positions == "learned":
            p += (self.max_positions + self.position_offset) * self.hidden
        if self.encoder:
            p += 2 * self.hidden + 2 * self.hidden  # token types (2) + embedding LayerNorm
        if self.positions == "relative":  # one bias table per stack
            p += (2 if self.cross_attention_layers else 1) * self.relative_buckets * self.n_heads
        return p

    def head_params(self) -> int:
        """Output projection (0 when tied to the input embedding) plus the final norm."""
        final_norm = 0 if self.encoder else self.hidden * (2 if self.norm == "layernorm" else 1)
        if self.cross_attention_layers:
            final_norm *= 2  # the encoder stack ends with its own norm
        return final_norm + (0 if self.tied_embeddings else self.vocab * self.hidden)

    def expert_params(self) -> int:
        """Routed-expert weights over all layers: the part expert parallelism divides."""
        return self.moe_layers * self.n_experts * self.mlp_params(self.expert_width)

    def _layer_params(self, experts: int) -> tuple[int, int]:
        """(dense layer, MoE layer) parameter counts with `experts` routed experts."""
        base = self.attention_params() + self.norm_params_per_layer()
        dense = base + self.mlp_params(self.intermediate)
        moe = base + (experts + self.n_shared_experts) * self.mlp_params(self.expert_width)
        return dense, moe + self.router_params()

    def _count(self, experts: int) -> int:
        dense, moe = self._layer_params(experts)
        layers = (self.n_layers - self.moe_layers) * dense + self.moe_layers * moe
        cross = self.cross_attention_layers * (self.attention_params() + self.norm_params_per_layer() // self.layer_norms)
        return layers + cross + self.embedding_params() + self.head_params()

    def total_params(self) -> int:
        return self._count(self.n_experts)

    def active_params(self) -> int:
        """Parameters a token passes through (MoE: routed top-k + shared experts)."""
        return self._count(self.experts_per_token) if self.is_moe else self.total_params()

    def linear_params(self) -> int:
        """Weights of the transformer blocks' linear layers: what weight quantization shrinks."""
        return self.total_params() - self.embedding_params() - self.head_params()

    # ---- per-token sizes ------------------------------------------------------------------
    def kv_values_per_token_per_layer(self) -> int:
        """Cached values per token per layer: 2·k·d, or the MLA latent (kv_lora_rank + rope)."""
        if self.is_mla:
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.n_kv_heads * self.d_head

    def kv_values_per_rank(self, tp: int) -> int:
        """Cached values per token per layer on one of `tp` tensor ranks: the k heads split over
        the ranks (replicated when k < t); MLA's latent is not split, every rank holds it all."""
        if self.is_mla:
            return self.kv_values_per_token_per_layer()
        return 2 * math.ceil(self.n_kv_heads / tp) * self.d_head

    def kv_copies(self, tp: int) -> float:
        """Copies of each token's cache that `tp` tensor ranks hold (and read) together: 1 when
        the heads split evenly, t for MLA."""
        return tp * self.kv_values_per_rank(tp) / self.kv_values_per_token_per_layer()

    def attention_flops_per_pair(self, absorbed: bool = False) -> int:
        """FLOPs of one query token attending one cached token in one layer: q·k and p·v, 2·a·d
        each. MLA decode with the up-projections absorbed into the query and output (DeepSeek-AI
        2024, DeepSeek-V2 §2.1.2) works on the latent: 2·a·(r + rope) + 2·a·r; MLA prefill
        expands it: 2·a·(nope + rope) + 2·a·v."""
        a = self.n_heads
        if self.is_mla and absorbed:
            return 2 * a * (self.kv_lora_rank + self.qk_rope_head_dim) + 2 * a * self.kv_lora_rank
        if self.is_mla:
            return 2 * a * (self.qk_nope_head_dim + self.qk_rope_head_dim) + 2 * a * self.v_head_dim
        return 4 * self.attn_width


@dataclass(frozen=True, slots=True)
class ModelSizes:
    """Parameter counts of one architecture, computed once (the layout search reuses them)."""

    total: int
    active: int
    block_dense: int  # transformer blocks without routed experts
    block_experts: int  # routed experts
    embed: int
    head: int
    # parameters a token multiplies (2 FLOPs each): the active ones but the embedding and
    # position tables, which are indexed (a row per token); a tied output head multiplies the table
    matmul_active: int


@lru_cache(maxsize=256)
def sizes(arch: ModelArch) -> ModelSizes:
    experts = arch.expert_params()
    embed, active = arch.embedding_params(), arch.active_params()
    tied_head = arch.vocab * arch.hidden if arch.tied_embeddings else 0
    return ModelSizes(arch.total_params(), active, arch.linear_params() - experts,
                      experts, embed, arch.head_params(), active - embed + tied_head)


def synthesize(params: float, name: str = "custom", experts: int = 0, experts_per_token: int = 0) -> ModelArch:
    """A Llama-shaped architecture with `params` parameters, for a bare count.

    Hidden size from P ≈ 12·L·h² with h/L ≈ 128 (Llama-2-7B: 4096/32), rounded to a multiple
    of 512 (128 for tiny models) so head counts (h/128) split evenly across tensor ranks; the MLP width is then
    solved so the total matches the given count. Good enough for activation and KV
    estimates; the result is flagged as synthesized.

    With `experts` (and `experts_per_token`, default 2) it is a mixture of experts in every
    layer (GShard/Switch style): the layers and hidden size are those of the dense model as large
    as the attention plus the experts a token uses (P·k/E), hidden rounded to a multiple of 2048
    so the heads split over up to 16 tensor ranks; each expert's width then makes the total P.
    """
    if experts:
        return _synthesize_moe(params, name, experts, experts_per_token or min(2, experts))
    ideal = (params * 128 / 12) ** (1 / 3)
    step = 512 if ideal >= 1024 else 128
    hidden = max(128, int(round(ideal / step)) * step)
    layers = max(1, int(round(params / (12 * hidden * hidden))))
    vocab = max(1, min(32000, int(params / (8 * hidden))))  # embeddings ≤ 1/4 of a small model
    rest = params - 2 * vocab * hidden - hidden - layers * (4 * hidden * hidden + 2 * hidden)
    intermediate = max(1, int(round(rest / (3 * hidden * layers))))
    heads = hidden // 128
    return ModelArch(
        name=name, n_layers=layers, hidden=hidden, intermediate=intermediate,
        n_heads=heads, n_kv_heads=heads, vocab=vocab, max_positions=4096,
        published_params=params, synthesized=True,
        source="synthesized from the parameter count (P ≈ 12·L·h², h/L ≈ 128)",
    )


def _synthesize_moe(params: float, name: str, experts: int, per_token: int) -> ModelArch:
    if not 1 <= per_token <= experts:
        raise InputError("experts_per_token", f"{per_token} must be from 1 to the {experts} experts")
    shape = params * per_token / experts  # the dense model a token sees
    ideal = (shape * 128 / 12) ** (1 / 3)
    step = 2048 if ideal >= 4096 else 128
    hidden = max(128, int(round(ideal / step)) * step)
    layers = max(1, int(round(shape / (12 * hidden * hidden))))
    vocab = max(1, min(32000, int(shape / (8 * hidden))))
    rest = params - 2 * vocab * hidden - hidden - layers * (4 * hidden * hidden + 2 * hidden + hidden * experts)
    width = int(round(rest / (3 * hidden * layers * experts)))
    if width < 1:
        raise InputError("experts", f"{experts} experts leave no room for expert weights in "
                         f"{params / 1e9:.3g}B parameters; use fewer experts")
    heads = hidden // 128
    return ModelArch(
        name=name, n_layers=layers, hidden=hidden, intermediate=width, n_heads=heads, n_kv_heads=heads,
        vocab=vocab, max_positions=4096, n_experts=experts, experts_per_token=per_token,
        expert_intermediate=width, published_params=params, synthesized=True,
        source=f"synthesized from the parameter count and {experts} experts, {per_token} per token "
               "(layers and hidden size of the dense model a token sees, P·k/E ≈ 12·L·h²)",
    )
