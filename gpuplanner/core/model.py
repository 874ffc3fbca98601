"""Model architectures and their parameter counts.

A ModelArch holds what a Hugging Face config.json says about a transformer. The counts are
computed from the architecture (the formulas in resources/models.csv notes, which the tests
check against the published figures), so a user's own config gets the same treatment as a
preset. A bare parameter count gets a synthesized Llama-shaped architecture, flagged as such.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from gpuplanner.core import safe_io
from gpuplanner.core.errors import CatalogError, InputError

GATED_MLPS = {"swiglu", "geglu"}
MLP_KINDS = ("swiglu", "geglu", "gelu", "relu")
POSITIONS = ("rope", "learned", "alibi", "relative")
MAX_PARAMS = 1e16
_DIM = 1 << 20  # widest plausible matrix side (hidden, MLP, head, rank)
# ModelArch field: (config key it comes from, smallest, largest allowed value)
_INT_LIMITS = {
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
        for name, (key, low, high) in _INT_LIMITS.items():
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
        if self.positions == "relative" and not self.relative_buckets:
            raise InputError("relative_attention_num_buckets", "relative positions need at least 1 bucket")
        if self.positions == "learned" and not self.max_positions:
            raise InputError("max_position_embeddings", "a learned position table needs its size (at least 1)")
        if self.total_params() > MAX_PARAMS:
            raise InputError("num_hidden_layers", f"this shape has {self.total_params():.3g} parameters; "
                             f"the planner handles up to {MAX_PARAMS:g}")
        return self

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
        weights = h * a * d + 2 * h * k * d + a * d * h
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


@dataclass(frozen=True, slots=True)
class ModelSizes:
    """Parameter counts of one architecture, computed once (the layout search reuses them)."""

    total: int
    active: int
    block_dense: int  # transformer blocks without routed experts
    block_experts: int  # routed experts
    embed: int
    head: int


@lru_cache(maxsize=256)
def sizes(arch: ModelArch) -> ModelSizes:
    experts = arch.expert_params()
    return ModelSizes(arch.total_params(), arch.active_params(), arch.linear_params() - experts,
                      experts, arch.embedding_params(), arch.head_params())


def synthesize(params: float, name: str = "custom") -> ModelArch:
    """A Llama-shaped architecture with `params` parameters, for a bare count.

    Hidden size from P ≈ 12·L·h² with h/L ≈ 128 (Llama-2-7B: 4096/32), rounded to a multiple
    of 512 (128 for tiny models) so head counts (h/128) split evenly across tensor ranks; the MLP width is then
    solved so the total matches the given count. Good enough for activation and KV
    estimates; the result is flagged as synthesized.
    """
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


# ---- reading a Hugging Face config.json -----------------------------------------------------
@dataclass(frozen=True)
class _Family:
    """How one Hugging Face model_type builds its blocks, from its transformers modeling file;
    `act` and `tied` are its config class defaults, `ffn` the MLP width in multiples of the
    hidden size when the config gives none (0: the config must give it)."""

    gated: bool
    act: str
    norm: str = "rmsnorm"
    bias: str = "none"
    positions: str = "rope"
    tied: bool = False
    ffn: int = 0


_LLAMA = _Family(gated=True, act="silu")
_FALCON = _Family(gated=False, act="gelu", norm="layernorm", tied=True, ffn=4)
_FAMILIES = {
    "llama": _LLAMA, "mistral": _LLAMA, "mixtral": _LLAMA, "deepseek_v3": _LLAMA,
    "qwen2": replace(_LLAMA, bias="qkv"),
    # Same blocks as Llama / DeepSeek-V3; what they add is a per-head RMSNorm on q and k (qwen3*,
    # minimax: 2·d_head weights a layer, under 1e-6 of the total, not counted) or nothing at all
    # (kimi_k2 is DeepSeek-V3's architecture; deepseek_v2 differs only in its router's bias).
    "qwen3": _LLAMA, "qwen3_moe": _LLAMA, "minimax_m2": _LLAMA, "deepseek_v2": _LLAMA, "kimi_k2": _LLAMA,
    "kimi_k25": _LLAMA,
    "phi": _Family(False, "gelu_new", "layernorm", "all"),
    "gemma": _Family(gated=True, act="gelu_pytorch_tanh", tied=True),
    "gpt2": _Family(False, "gelu_new", "layernorm", "all", "learned", tied=True, ffn=4),
    "gpt_bigcode": _Family(False, "gelu_pytorch_tanh", "layernorm", "all", "learned", tied=True, ffn=4),
    "opt": _Family(False, "relu", "layernorm", "all", "learned", tied=True),
    "bert": _Family(False, "gelu", "layernorm", "all", "learned", tied=True),
    "gpt_neox": _Family(False, "gelu", "layernorm", "all"),
    "falcon": _FALCON, "refinedweb": _FALCON, "refinedwebmodel": _FALCON,
    "t5": _Family(False, "relu", positions="relative", tied=True),  # gated or not: feed_forward_proj
}
_GELUS = {"gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_python", "gelu_accurate", "quick_gelu"}
# (activation, gated) -> mlp_kind; anything else is refused rather than guessed
_MLP_KIND = {**{(g, False): "gelu" for g in _GELUS}, **{(g, True): "geglu" for g in _GELUS},
             ("relu", False): "relu", ("silu", True): "swiglu", ("swish", True): "swiglu"}
_FIRST_KEY = {
    "n_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "hidden": ("hidden_size", "n_embd", "d_model"),
    "n_heads": ("num_attention_heads", "n_head", "num_heads"),
    "vocab": ("vocab_size",),
}


class _Reader:
    """Typed access to a config dict; remembers which key each value came from, so a refusal
    names the key the user's file spells."""

    def __init__(self, cfg: dict, path):
        self.cfg, self.path = cfg, path
        self.used: dict[str, str] = {}

    def refuse(self, key: str, message: str):
        return CatalogError(self.path, message, column=key)

    def int(self, keys, default=None, field=None) -> int:
        keys = (keys,) if isinstance(keys, str) else keys
        key = next((k for k in keys if self.cfg.get(k) is not None), None)
        if key is None:
            if default is None:
                raise self.refuse(keys[0], f"needs a whole number for one of {', '.join(keys)}")
            return default
        value = self.cfg[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.refuse(key, f"{value!r} is not allowed; use a whole number")
        self.used[field or key] = key
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.cfg.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.refuse(key, f"{value!r} is not allowed; use true or false")
        return value

    def text(self, keys, default: str) -> str:
        key = next((k for k in keys if self.cfg.get(k) is not None), None)
        return default if key is None else str(self.cfg[key])


def from_hf_config(cfg: dict, name: str = "", path="config.json") -> ModelArch:
    """Build a ModelArch from a Hugging Face config dict, for the model types whose blocks are
    known exactly (_FAMILIES). An unknown model type, activation or option that changes the
    shape is a CatalogError naming the key: the planner never guesses an architecture."""
    if isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg, **cfg["text_config"]}  # multimodal wrappers keep the LM config inside
    r = _Reader(cfg, path)
    model_type = str(cfg.get("model_type", "")).lower()
    family = _FAMILIES.get(model_type)
    if family is None:
        raise r.refuse("model_type", f"{cfg.get('model_type', '(missing)')!r} is not a model type whose "
                       f"architecture is known exactly; supported: {', '.join(sorted(_FAMILIES))}")
    if cfg.get("is_encoder_decoder") and model_type != "t5":
        raise r.refuse("is_encoder_decoder", "encoder-decoder models other than T5 are not supported")
    shape = {field: r.int(keys, field=_INT_LIMITS[field][0]) for field, keys in _FIRST_KEY.items()}
    act_key = "feed_forward_proj" if model_type == "t5" else "hidden_act"
    act = r.text((act_key, "activation_function", "hidden_activation", "activation"), family.act).lower()
    gated = family.gated or act.startswith("gated-")  # T5 v1.1: "gated-gelu"
    mlp_kind = _MLP_KIND.get((act.removeprefix("gated-"), gated))
    if mlp_kind is None:
        raise r.refuse(act_key, f"{act!r} is not an activation this planner maps to an MLP shape for "
                       f"{model_type}; use one of {', '.join(sorted(a for a, g in _MLP_KIND if g == family.gated))}")
    for key in ("mlp_bias",) if family is _LLAMA else ():
        if r.flag(key, False):
            raise r.refuse(key, "MLP biases are not counted by this planner; only false is supported")
    special = _family_options(r, model_type, family, shape)
    n_experts = r.int(("num_local_experts", "n_routed_experts", "num_experts"), 0, "num_local_experts")
    sliding = r.int("sliding_window", 0) if r.flag("use_sliding_window", True) else 0
    values: dict[str, Any] = dict(
        name=name or str(cfg.get("_name_or_path") or model_type), **shape,
        intermediate=r.int(("intermediate_size", "n_inner", "ffn_hidden_size", "ffn_dim", "d_ff"),
                           family.ffn * shape["hidden"] or None, "intermediate_size"),
        n_kv_heads=r.int(("num_key_value_heads", "n_head_kv", "num_kv_heads"), shape["n_heads"],
                         "num_key_value_heads"),
        head_dim=r.int("head_dim", 0),
        max_positions=r.int(("max_position_embeddings", "n_positions", "n_ctx"), 0, "max_position_embeddings"),
        tied_embeddings=r.flag("tie_word_embeddings", family.tied), mlp_kind=mlp_kind, norm=family.norm,
        bias=family.bias, positions=family.positions, sliding_window=sliding, n_experts=n_experts,
        experts_per_token=r.int(("num_experts_per_tok", "moe_topk"), 0, "num_experts_per_tok"),
        expert_intermediate=r.int("moe_intermediate_size", 0), n_shared_experts=r.int("n_shared_experts", 0),
        first_dense_layers=r.int("first_k_dense_replace", 0), router_bias=model_type == "deepseek_v3",
        **{k: r.int(k, 0) for k in ("q_lora_rank", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
                                    "v_head_dim")},
        dtype=r.text(("torch_dtype", "dtype"), ""), source=str(path),
    )
    values.update(special)
    try:
        return ModelArch(**values).check()
    except InputError as e:
        raise r.refuse(r.used.get(e.field, e.field), e.message) from None


def _family_options(r: _Reader, model_type: str, family: _Family, shape: dict) -> dict:
    """The options of a family that change its shape: read exactly, or refused by name."""
    if model_type == "gpt_neox" or family is _LLAMA:
        built = family.bias != "none"  # gpt_neox: every linear biased; llama-like: none
        if r.flag("attention_bias", built) != built:
            raise r.refuse("attention_bias", f"only {str(built).lower()} is supported for {model_type} "
                           "(other biases change the count in ways this planner does not model)")
    if model_type == "opt":
        if r.int("word_embed_proj_dim", shape["hidden"]) != shape["hidden"]:
            raise r.refuse("word_embed_proj_dim", "a projected embedding (different from hidden_size) is not "
                           "supported; OPT-350M is the one such model")
        if not r.flag("do_layer_norm_before", True) or r.flag("_remove_final_layer_norm", False):
            raise r.refuse("do_layer_norm_before", "post-norm OPT (no final LayerNorm) is not supported")
        if not r.flag("enable_bias", True) or not r.flag("layer_norm_elementwise_affine", True):
            raise r.refuse("enable_bias", "OPT without biases or LayerNorm weights is not supported")
        return {"position_offset": 2}  # OPTLearnedPositionalEmbedding keeps 2 extra rows
    if model_type == "bert" and r.int("type_vocab_size", 2) != 2:
        raise r.refuse("type_vocab_size", "only 2 token types (BERT's) are supported")
    if model_type == "bert":
        return {"encoder": True}
    if model_type == "gpt_bigcode":
        return {"n_kv_heads": 1 if r.flag("multi_query", True) else shape["n_heads"]}
    if family is _FALCON:
        return _falcon(r, model_type, shape)
    if model_type == "t5":
        decoder = r.int("num_decoder_layers", shape["n_layers"])
        return {"n_layers": shape["n_layers"] + decoder, "cross_attention_layers": decoder,
                "head_dim": r.int("d_kv", 64), "relative_buckets": r.int("relative_attention_num_buckets", 32)}
    return {}


def _falcon(r: _Reader, model_type: str, shape: dict) -> dict:
    """Falcon's three block shapes: the original 7B (multi-query, one LayerNorm shared by the
    parallel attention and MLP), the "new decoder architecture" of 40B/180B (grouped KV heads,
    two LayerNorms: ln_attn and ln_mlp) and a sequential block (two LayerNorms)."""
    new = model_type == "refinedweb" or (model_type == "falcon" and r.flag("new_decoder_architecture", False))
    if new:
        kv = r.int(("num_kv_heads", "n_head_kv", "num_key_value_heads"), shape["n_heads"], "num_key_value_heads")
        norms = r.int("num_ln_in_parallel_attn", 2)
    else:
        kv = 1 if r.flag("multi_query", True) else shape["n_heads"]
        norms = 1 if r.flag("parallel_attn", True) else 2
    return {"n_kv_heads": kv, "layer_norms": norms, "bias": "all" if r.flag("bias", False) else "none",
            "positions": "alibi" if r.flag("alibi", False) else "rope"}


def load_config_json(path) -> ModelArch:
    path = Path(path)
    cfg = safe_io.load_json(path)  # regular file, size, nesting and number checks
    if not isinstance(cfg, dict):
        raise CatalogError(path, "must hold a JSON object")
    return from_hf_config(cfg, name=path.parent.name or "custom", path=path)


# ---- a local model folder: config.json + safetensors headers ----------------------------------
_SAFETENSORS_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
    "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E8M0": 1, "F4": 0.5,
}


@dataclass(frozen=True, slots=True)
class CheckpointSummary:
    """What the safetensors headers of a folder say, read without loading any weight."""

    params: int
    bytes: int
    params_by_dtype: dict


SAFETENSORS_MAX_HEADER_BYTES = 100 * 1024 * 1024


def safetensors_header_length(prefix: bytes, where) -> int:
    """The header length a safetensors file states in its first 8 bytes (little-endian)."""
    if len(prefix) != 8:
        raise CatalogError(where, "is too short to be a safetensors file")
    (length,) = struct.unpack("<Q", prefix)
    if length > SAFETENSORS_MAX_HEADER_BYTES:
        raise CatalogError(where, f"claims a {length}-byte header; not a safetensors file")
    return length


def parse_safetensors_header(text: bytes, where) -> dict:
    """The JSON header (the bytes after the length), checked like any file the planner reads."""
    try:
        header = safe_io.parse_json(text.decode("utf-8"), where)
    except (UnicodeDecodeError, safe_io.UnsafeFileError) as e:
        why = e.message if isinstance(e, safe_io.UnsafeFileError) else "not UTF-8"
        raise CatalogError(where, f"has an unreadable header ({why}); not a safetensors file",
                           column=getattr(e, "column", None)) from None
    if not isinstance(header, dict):
        raise CatalogError(where, "has a header that is not a JSON object")
    return header


def read_safetensors_header(path) -> dict:
    """The JSON header of one .safetensors file: 8-byte little-endian length, then JSON."""
    path = Path(path)
    try:
        with safe_io.open_regular(path, max_bytes=2**63) as f:  # the weights follow; only the header is read
            text = f.read(safetensors_header_length(f.read(8), path))
    except OSError as e:
        raise CatalogError(path, f"cannot be read: {e.strerror or e}") from None
    return parse_safetensors_header(text, path)


def _natural(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def summarize_headers(headers) -> CheckpointSummary:
    """Count the tensors of safetensors headers, given as (file, header dict) pairs: elements
    and bytes in all, and elements by stored dtype."""
    params = 0
    size = 0
    by_dtype: dict[str, int] = {}
    for file, header in headers:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            try:
                shape, dtype, (start, end) = info["shape"], str(info["dtype"]), info["data_offsets"]
                valid = (isinstance(shape, list) and all(_natural(x) for x in shape)
                         and _natural(start) and _natural(end) and start <= end)
            except (KeyError, TypeError, ValueError):
                valid = False
            if not valid:
                raise CatalogError(file, f"tensor '{name}' has no valid shape/dtype/data_offsets "
                                   "(whole numbers >= 0, offsets [start, end] with start <= end)")
            n = math.prod(shape)
            params += n
            size += int(end) - int(start)
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    return CheckpointSummary(params=params, bytes=size, params_by_dtype=by_dtype)


def summarize_checkpoint(folder) -> CheckpointSummary:
    files = sorted(Path(folder).glob("*.safetensors"))
    return summarize_headers((file, read_safetensors_header(file)) for file in files)


def load_model_folder(folder) -> tuple[ModelArch, CheckpointSummary | None]:
    """Read config.json and, when present, the safetensors headers for the exact count."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CatalogError(folder, "is not a folder")
    config = folder / "config.json"
    if not config.is_file():
        raise CatalogError(folder, "has no config.json")
    arch = load_config_json(config)
    arch = replace(arch, name=folder.name, source=str(folder))
    if not any(folder.glob("*.safetensors")):
        return arch, None
    summary = summarize_checkpoint(folder)
    return replace(arch, published_params=float(summary.params)), summary
