"""Readers that turn published files into a ModelArch: a Hugging Face config dict (config.json,
a Hub download, or a models.csv row, whose columns are the same keys), and safetensors headers
for the exact stored count.

One mapping from config keys to an architecture, with a table of the model types whose blocks
are known exactly; anything else is refused by name rather than guessed (core.model holds the
counting these feed).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gpuplanner.core import safe_io
from gpuplanner.core.errors import CatalogError, InputError
from gpuplanner.core.model import INT_LIMITS, ModelArch


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
    # gpt-oss: q/k/v/o biases, experts with biases around a clamped SwiGLU (gated, width
    # intermediate_size), router with a bias, attention sinks (_gpt_oss)
    "gpt_oss": _Family(gated=True, act="silu", bias="all"),
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
    shape = {field: r.int(keys, field=INT_LIMITS[field][0]) for field, keys in _FIRST_KEY.items()}
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
    if model_type == "gpt_oss":
        return _gpt_oss(r, shape)
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


# GptOssConfig defaults (transformers configuration_gpt_oss.py), for keys a config may leave out
_GPT_OSS_HEAD_DIM = 64
_GPT_OSS_WINDOW = 128
_MXFP4_KEEPS = ("experts",)  # transformers' MXFP4 integration converts only GptOssExperts


def _gpt_oss(r: _Reader, shape: dict) -> dict:
    """gpt-oss as transformers' modeling_gpt_oss.py builds it: every layer MoE (the experts' width
    is intermediate_size; no shared experts, no dense layers), q/k/v/o and expert biases, a router
    bias, one sink logit per head, and `layer_types` alternating sliding (from the first layer)
    and full attention when the config gives none. quantization_config mxfp4 stores the experts'
    matrices in MXFP4 and leaves everything else 16-bit."""
    if not r.flag("attention_bias", True):
        raise r.refuse("attention_bias", "gpt-oss without attention biases keeps its expert biases, which this "
                       "planner's bias scheme cannot express; only true is supported")
    n_layers = shape["n_layers"]
    types = r.cfg.get("layer_types")
    if types is None:  # (a layer count out of range is refused by ModelArch.check, not built here)
        count = n_layers if INT_LIMITS["n_layers"][1] <= n_layers <= INT_LIMITS["n_layers"][2] else 0
        types = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(count)]
    elif not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise r.refuse("layer_types", f"{types!r} is not allowed; use a list of sliding_attention/full_attention")
    values = {
        "n_experts": r.int(("num_local_experts", "num_experts"), field="num_local_experts"),
        "experts_per_token": r.int("num_experts_per_tok"),
        "expert_intermediate": 0, "n_shared_experts": 0, "first_dense_layers": 0, "router_bias": True,
        "attention_sinks": True, "head_dim": r.int("head_dim", _GPT_OSS_HEAD_DIM),
        "layer_types": tuple(types), "sliding_window": r.int("sliding_window", _GPT_OSS_WINDOW),
    }
    quant = r.cfg.get("quantization_config")
    if quant is None:
        return values
    if not isinstance(quant, dict) or str(quant.get("quant_method", "")).lower() != "mxfp4":
        method = quant.get("quant_method") if isinstance(quant, dict) else quant
        raise r.refuse("quantization_config", f"quant_method {method!r} is not one this planner maps for gpt-oss; "
                       "supported: mxfp4 (the published checkpoints)")
    kept = quant.get("modules_to_not_convert") or []
    if not isinstance(kept, list) or any(not isinstance(m, str) or any(k in m for k in _MXFP4_KEEPS) for m in kept):
        raise r.refuse("quantization_config", f"modules_to_not_convert {kept!r} leaves experts unquantized: "
                       "only the published layout (experts in MXFP4) is supported")
    return {**values, "checkpoint_quantization": "mxfp4"}


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
