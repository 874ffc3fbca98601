"""Model architectures and their parameter counts.

A ModelArch holds what a Hugging Face config.json says about a transformer. The counts are
computed from the architecture (the formulas in resources/models.csv notes, which the tests
check against the published figures), so a user's own config gets the same treatment as a
preset. A bare parameter count gets a synthesized Llama-shaped architecture, flagged as such.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from gpuplanner.core.errors import CatalogError

GATED_MLPS = {"swiglu", "geglu"}


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
    mlp_kind: str = "swiglu"  # swiglu (3 matrices) or gelu (2 matrices)
    norm: str = "rmsnorm"  # rmsnorm (weight) or layernorm (weight + bias)
    bias: str = "none"  # none, qkv (Qwen2) or all (GPT-2/BERT: every linear layer)
    learned_positions: bool = False  # GPT-2/GPT-3/BERT absolute position table
    encoder: bool = False  # BERT: token types + embedding LayerNorm, no final norm
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
        return 2 * self.hidden * (2 if self.norm == "layernorm" else 1)

    def router_params(self) -> int:
        return self.hidden * self.n_experts + (self.n_experts if self.router_bias else 0)

    def embedding_params(self) -> int:
        """Input embedding plus position/token-type tables and their norm (BERT)."""
        p = self.vocab * self.hidden
        if self.learned_positions:
            p += self.max_positions * self.hidden
        if self.encoder:
            p += 2 * self.hidden + 2 * self.hidden  # token types (2) + embedding LayerNorm
        return p

    def head_params(self) -> int:
        """Output projection (0 when tied to the input embedding) plus the final norm."""
        final_norm = 0 if self.encoder else self.hidden * (2 if self.norm == "layernorm" else 1)
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
        return layers + self.embedding_params() + self.head_params()

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
_FIRST_KEY = {
    "n_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "hidden": ("hidden_size", "n_embd", "d_model"),
    "n_heads": ("num_attention_heads", "n_head"),
    "vocab": ("vocab_size",),
}


def _get(cfg: dict, keys, default=None):
    for k in keys:
        if cfg.get(k) is not None:
            return cfg[k]
    return default


def from_hf_config(cfg: dict, name: str = "", path="config.json") -> ModelArch:
    """Build a ModelArch from a Hugging Face config dict (llama, mistral, mixtral, qwen2,
    gpt2, falcon, bert, deepseek_v3 and lookalikes). Missing required keys are a CatalogError."""
    if "text_config" in cfg and isinstance(cfg["text_config"], dict):
        cfg = {**cfg, **cfg["text_config"]}  # multimodal wrappers keep the LM config inside
    values = {}
    for field, keys in _FIRST_KEY.items():
        v = _get(cfg, keys)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise CatalogError(path, f"needs a positive integer for one of {', '.join(keys)}",
                               column=keys[0])
        values[field] = v
    model_type = str(cfg.get("model_type", "")).lower()
    gpt_style = model_type in {"gpt2", "gpt_neo", "gptj", "opt", "bert", "roberta"}
    hidden = values["hidden"]
    n_heads = values["n_heads"]
    kv = _get(cfg, ("num_key_value_heads", "n_head_kv", "num_kv_heads"))
    if kv is None and cfg.get("multi_query"):
        kv = 1
    inter = _get(cfg, ("intermediate_size", "n_inner", "ffn_hidden_size")) or 4 * hidden
    act = str(_get(cfg, ("hidden_act", "activation_function"), "silu")).lower()
    gated = "gelu" not in act or model_type.startswith("gemma")  # Gemma gates a GELU
    bias = "all" if gpt_style else ("qkv" if (cfg.get("attention_bias") or model_type == "qwen2") else "none")
    n_experts = _get(cfg, ("num_local_experts", "n_routed_experts", "num_experts"), 0) or 0
    tied = cfg.get("tie_word_embeddings")
    if tied is None:
        tied = model_type in {"gpt2", "bert", "roberta", "falcon", "gpt_neo", "opt"}
    try:
        return ModelArch(
            name=name or str(cfg.get("_name_or_path") or model_type or "custom"),
            n_layers=values["n_layers"], hidden=hidden, intermediate=int(inter),
            n_heads=n_heads, n_kv_heads=int(kv or n_heads), vocab=values["vocab"],
            head_dim=int(cfg.get("head_dim") or 0),
            max_positions=int(_get(cfg, ("max_position_embeddings", "n_positions", "n_ctx"), 0) or 0),
            tied_embeddings=bool(tied),
            mlp_kind="swiglu" if gated else "gelu",
            norm="layernorm" if (gpt_style or model_type == "falcon") else "rmsnorm",
            bias=bias, learned_positions=gpt_style,
            encoder=model_type in {"bert", "roberta"},
            sliding_window=int(cfg.get("sliding_window") or 0) if cfg.get("use_sliding_window", True) else 0,
            n_experts=int(n_experts),
            experts_per_token=int(_get(cfg, ("num_experts_per_tok", "moe_topk"), 0) or 0),
            expert_intermediate=int(cfg.get("moe_intermediate_size") or 0),
            n_shared_experts=int(cfg.get("n_shared_experts") or 0),
            first_dense_layers=int(cfg.get("first_k_dense_replace") or 0),
            router_bias=model_type in {"deepseek_v3"},
            q_lora_rank=int(cfg.get("q_lora_rank") or 0),
            kv_lora_rank=int(cfg.get("kv_lora_rank") or 0),
            qk_rope_head_dim=int(cfg.get("qk_rope_head_dim") or 0),
            qk_nope_head_dim=int(cfg.get("qk_nope_head_dim") or 0),
            v_head_dim=int(cfg.get("v_head_dim") or 0),
            dtype=str(cfg.get("torch_dtype") or cfg.get("dtype") or ""),
            source=str(path),
        )
    except (TypeError, ValueError) as e:
        raise CatalogError(path, f"has a value of the wrong type: {e}") from None


def load_config_json(path) -> ModelArch:
    path = Path(path)
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CatalogError(path, f"cannot be read: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise CatalogError(path, f"is not valid JSON: {e}") from None
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


def read_safetensors_header(path) -> dict:
    """The JSON header of one .safetensors file: 8-byte little-endian length, then JSON."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise CatalogError(path, "is too short to be a safetensors file")
            (length,) = struct.unpack("<Q", raw)
            if length > 100 * 1024 * 1024:
                raise CatalogError(path, f"claims a {length}-byte header; not a safetensors file")
            header = json.loads(f.read(length).decode("utf-8"))
    except OSError as e:
        raise CatalogError(path, f"cannot be read: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError):
        raise CatalogError(path, "has a header that is not valid JSON; not a safetensors file") from None
    if not isinstance(header, dict):
        raise CatalogError(path, "has a header that is not a JSON object")
    return header


def summarize_checkpoint(folder) -> CheckpointSummary:
    params = 0
    size = 0
    by_dtype: dict[str, int] = {}
    files = sorted(Path(folder).glob("*.safetensors"))
    for file in files:
        for name, info in read_safetensors_header(file).items():
            if name == "__metadata__":
                continue
            try:
                n = math.prod(int(x) for x in info["shape"])
                dtype = str(info["dtype"])
                start, end = info["data_offsets"]
            except (KeyError, TypeError, ValueError):
                raise CatalogError(file, f"tensor '{name}' has no valid shape/dtype/data_offsets") from None
            params += n
            size += int(end) - int(start)
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    return CheckpointSummary(params=params, bytes=size, params_by_dtype=by_dtype)


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
