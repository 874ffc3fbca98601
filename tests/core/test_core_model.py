"""Parameter counts from the architecture against the published figures and against the
exact counts derived independently in resources/models.csv (its notes) from each config."""
import csv
import dataclasses
import json
import math
import re
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplanner.core import CatalogError, load_catalogs
from gpuplanner.core.memory import kv_bytes_per_sequence
from gpuplanner.core.model import sizes, synthesize
from gpuplanner.core.model_readers import from_hf_config, load_config_json, load_model_folder
from gpuplanner.core.resource_files import resource_path

CATALOGS = load_catalogs()

# Exact counts as the data notes derive them (formulas written out per family there).
EXACT_TOTAL = {
    "llama-2-7b": 6_738_415_616, "llama-2-13b": 13_015_864_320, "llama-2-70b": 68_976_648_192,
    "llama-3.1-8b": 8_030_261_248, "llama-3.1-70b": 70_553_706_496, "llama-3.1-405b": 405_853_388_800,
    "mistral-7b-v0.1": 7_241_732_096, "mixtral-8x7b-v0.1": 46_702_792_704, "qwen2.5-7b": 7_615_616_512,
    "qwen2.5-72b": 72_706_203_648, "gpt-3-175b": 174_604_259_328, "falcon-40b": 41_303_293_952,
    "deepseek-v3": 671_026_419_200, "bert-large-uncased": 334_092_288, "gpt2": 124_439_808,
}
EXACT_ACTIVE = {"mixtral-8x7b-v0.1": 12_879_925_248, "deepseek-v3": 37_552_297_472}
# The published totals these round to, and where (models.csv quotes each source in full)
PUBLISHED = {
    "llama-2-7b": (7e9, "Llama 2 model card, Params column"),
    "llama-2-13b": (13e9, "Llama 2 model card, Params column"),
    "llama-2-70b": (70e9, "Llama 2 model card, Params column"),
    "llama-3.1-8b": (8e9, "Llama 3.1 model card, Params column"),
    "llama-3.1-70b": (70e9, "Llama 3.1 model card, Params column"),
    "llama-3.1-405b": (405e9, "Llama 3.1 model card, Params column"),
    "mistral-7b-v0.1": (7e9, "Mistral-7B-v0.1 model card: 7 billion parameters"),
    "mixtral-8x7b-v0.1": (47e9, "Mixtral of Experts, arXiv:2401.04088, abstract: 47B (13B active)"),
    "qwen2.5-7b": (7.61e9, "Qwen2.5-7B model card: 7.61B"),
    "qwen2.5-72b": (72.7e9, "Qwen2.5-72B model card: 72.7B"),
    "gpt-3-175b": (175e9, "Brown et al. 2020, arXiv:2005.14165, Table 2.1: 175.0B"),
    "falcon-40b": (40e9, "Falcon-40B model card: 40B"),
    "deepseek-v3": (671e9, "DeepSeek-V3 README: 671B total, 37B activated"),
    "bert-large-uncased": (340e6, "google-research/bert README: 340M"),
    "gpt2": (124e6, "openai/gpt-2 model card: 124 million"),
}


@pytest.mark.parametrize("model_id", sorted(EXACT_TOTAL))
def test_total_params_match_the_exact_count(model_id):
    assert sizes(CATALOGS.models[model_id]).total == EXACT_TOTAL[model_id]


@pytest.mark.parametrize("model_id", sorted(EXACT_TOTAL))
def test_total_params_match_the_published_count_at_its_precision(model_id):
    """Published counts are rounded ("7B" for 6.74B): within 5 %, the spread of that rounding."""
    arch = CATALOGS.models[model_id]
    assert sizes(arch).total == pytest.approx(arch.published_params, rel=0.05)


@pytest.mark.parametrize("model_id", sorted(EXACT_ACTIVE))
def test_moe_active_params(model_id):
    arch = CATALOGS.models[model_id]
    assert sizes(arch).active == EXACT_ACTIVE[model_id]
    assert sizes(arch).active == pytest.approx(arch.published_active_params, rel=0.05)


def test_published_counts_are_the_sourced_figures():
    assert {k: a.published_params for k, a in CATALOGS.models.items()} == {k: p for k, (p, _) in PUBLISHED.items()}


def test_the_notes_formula_text_agrees_with_the_exact_table():
    """The catalog notes carry the computed count; the test table above must match them."""
    for model_id in CATALOGS.models:
        counts = [int(x.replace(",", "")) for x in re.findall(r"\d{1,3}(?:,\d{3}){2,}", arch_notes(model_id))]
        assert EXACT_TOTAL[model_id] in counts, model_id


def arch_notes(model_id):
    import pandas as pd

    from gpuplanner.core.resource_files import resource_path
    frame = pd.read_csv(resource_path("models.csv"), dtype=str)
    return frame.set_index("model_id").loc[model_id, "notes"]


LLAMA2_7B_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 11008, "num_attention_heads": 32, "num_hidden_layers": 32,
    "num_key_value_heads": 32, "vocab_size": 32000, "max_position_embeddings": 4096,
    "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float16",
}


def test_hf_config_gives_the_preset_count():
    assert sizes(from_hf_config(LLAMA2_7B_CONFIG)).total == EXACT_TOTAL["llama-2-7b"]


def test_gpt2_style_config():
    cfg = {"model_type": "gpt2", "n_layer": 12, "n_embd": 768, "n_head": 12, "vocab_size": 50257,
           "n_positions": 1024, "activation_function": "gelu_new"}
    assert sizes(from_hf_config(cfg)).total == EXACT_TOTAL["gpt2"]


def _write_safetensors(path, tensors):
    header, offset = {}, 0
    sizes_by_dtype = {"F16": 2, "BF16": 2, "F32": 4}
    for name, (dtype, shape) in tensors.items():
        n = math.prod(shape) * sizes_by_dtype[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(offset))


def test_model_folder_counts_from_safetensors_headers(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA2_7B_CONFIG))
    _write_safetensors(tmp_path / "model-00001-of-00002.safetensors",
                       {"a": ("BF16", [64, 32]), "b": ("F32", [10])})
    _write_safetensors(tmp_path / "model-00002-of-00002.safetensors", {"c": ("F16", [3, 5, 7])})
    arch, summary = load_model_folder(tmp_path)
    assert summary.params == 64 * 32 + 10 + 105
    assert summary.params_by_dtype == {"BF16": 2048, "F32": 10, "F16": 105}
    assert summary.bytes == 2048 * 2 + 40 + 210
    assert arch.published_params == summary.params
    assert arch.name == tmp_path.name


def test_bad_config_names_the_file_and_key(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({**LLAMA2_7B_CONFIG, "hidden_size": "wide"}))
    with pytest.raises(CatalogError, match=r"config\.json.*hidden_size"):
        load_config_json(bad)
    bad.write_text("{not json")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_config_json(bad)


def test_corrupt_safetensors_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA2_7B_CONFIG))
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", 10) + b"not json!!")
    with pytest.raises(CatalogError, match=r"model\.safetensors.*not a safetensors"):
        load_model_folder(tmp_path)


def test_folder_without_config(tmp_path):
    with pytest.raises(CatalogError, match="has no config.json"):
        load_model_folder(tmp_path)


@pytest.mark.parametrize("params", [1e6, 3e7, 1e8, 1e9, 7e9, 7e10, 4e11, 1.8e12, 1e13])
def test_synthesized_architecture_matches_the_count(params):
    arch = synthesize(params)
    assert arch.synthesized
    assert sizes(arch).total == pytest.approx(params, rel=1e-3)
    assert arch.n_heads * 128 == arch.hidden


# ---- config readers that never guess ------------------------------------------------------------
FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"  # sources: SOURCES.md there


def test_opt_13b_published_config_is_a_relu_mlp_with_learned_positions():
    """OPT-13B (relu, 2-matrix MLP, every linear biased, LayerNorm, learned positions with
    OPT's 2 reserved rows, tied head). Derived by hand from the config:
    40·(4h² + 4h + 2·h·i + i + h + 4h) + V·h + (2048 + 2)·h + 2h, h = 5120, i = 20480, V = 50272.
    Published: "13B" (OPT paper, Table 1), a rounding that this count is 1.1 % under."""
    arch = load_config_json(FIXTURES / "opt-13b.json")
    h, i, v = 5120, 20480, 50272
    expected = 40 * (4 * h * h + 4 * h + 2 * h * i + i + h + 4 * h) + v * h + 2050 * h + 2 * h
    assert (arch.mlp_kind, arch.positions, arch.bias) == ("relu", "learned", "all")
    assert sizes(arch).total == expected == 12_853_473_280
    assert sizes(arch).total == pytest.approx(13e9, rel=0.012)  # was 17.05B (+31 %) read as gated


def test_falcon_40b_published_config_matches_its_checkpoint():
    """The original RefinedWeb config.json: grouped KV heads (n_head_kv = 8), two LayerNorms
    per block (ln_attn, ln_mlp), 4h GELU MLP, no biases, tied head. Its published checkpoint
    holds 83,671,941,120 bytes of bf16 = 41,835,970,560 values, of which 65024 × 8192 are the
    stored copy of the tied head: the rest is the count, exactly, and the preset's."""
    arch = load_config_json(FIXTURES / "falcon-40b.json")
    assert (arch.n_kv_heads, arch.layer_norms, arch.mlp_kind, arch.intermediate) == (8, 2, "gelu", 4 * 8192)
    assert sizes(arch).total == 83_671_941_120 // 2 - 65024 * 8192 == EXACT_TOTAL["falcon-40b"]


def test_falcon_7b_shape_multi_query_and_one_shared_layernorm():
    """Falcon-7B's block: multi-query (one K/V head), parallel attention sharing one LayerNorm.
    qkv h·(h + 2·64), dense h², MLP 2·h·4h, LayerNorm 2h per block; tied head. Its checkpoint's
    7.22B includes the stored copy of the 65024 × 4544 head."""
    cfg = {"model_type": "falcon", "hidden_size": 4544, "num_attention_heads": 71, "num_hidden_layers": 32,
           "vocab_size": 65024, "multi_query": True, "parallel_attn": True, "bias": False}
    arch = from_hf_config(cfg)
    h = 4544
    per_layer = h * (h + 128) + h * h + 8 * h * h + 2 * h
    assert (arch.n_kv_heads, arch.layer_norms) == (1, 1)
    assert sizes(arch).total == 32 * per_layer + 65024 * h + 2 * h
    assert sizes(arch).total + 65024 * h == pytest.approx(7.22e9, rel=1e-3)


def test_gpt_bigcode_starcoder_shape():
    """StarCoder (gpt_bigcode): multi-query, learned positions, biases everywhere; 15.5B."""
    cfg = {"model_type": "gpt_bigcode", "n_embd": 6144, "n_layer": 40, "n_head": 48, "n_positions": 8192,
           "vocab_size": 49152, "n_inner": 24576, "multi_query": True, "activation_function": "gelu_pytorch_tanh"}
    arch = from_hf_config(cfg)
    assert (arch.n_kv_heads, arch.positions) == (1, "learned")
    assert sizes(arch).total == pytest.approx(15.5e9, rel=2e-3)


@pytest.mark.parametrize("act,kind", [("silu", "swiglu"), ("gelu_pytorch_tanh", "geglu")])
def test_gated_families_read_their_activation(act, kind):
    assert from_hf_config({**LLAMA2_7B_CONFIG, "hidden_act": act}).mlp_kind == kind


@pytest.mark.parametrize("change,key", [
    ({"model_type": "mpt"}, "model_type"),
    ({"model_type": None}, "model_type"),
    ({"hidden_act": "relu"}, "hidden_act"),  # a gated llama MLP with ReLU: not a known shape
    ({"attention_bias": True}, "attention_bias"),
    ({"mlp_bias": True}, "mlp_bias"),
    ({"is_encoder_decoder": True}, "is_encoder_decoder"),  # T5 is the one encoder-decoder read
    ({"intermediate_size": -11008}, "intermediate_size"),
    ({"intermediate_size": 0}, "intermediate_size"),
    ({"num_key_value_heads": -8}, "num_key_value_heads"),
    ({"num_key_value_heads": 5}, "num_key_value_heads"),
    ({"num_key_value_heads": 64}, "num_key_value_heads"),
    ({"head_dim": -128}, "head_dim"),
    ({"sliding_window": -4096}, "sliding_window"),
    ({"num_attention_heads": 31}, "num_attention_heads"),  # does not divide 4096 and no head_dim
    ({"num_hidden_layers": 10 ** 400}, "num_hidden_layers"),
    ({"hidden_size": float("inf")}, "hidden_size"),
    ({"hidden_size": 4096.0}, "hidden_size"),
    ({"num_local_experts": 8, "num_experts_per_tok": 9}, "num_experts_per_tok"),
    ({"num_local_experts": 8, "num_experts_per_tok": 0}, "num_experts_per_tok"),
    ({"num_local_experts": 8, "num_experts_per_tok": 2, "first_k_dense_replace": 40}, "first_k_dense_replace"),
    ({"vocab_size": 1 << 30}, "vocab_size"),
])
def test_a_config_that_cannot_be_mapped_exactly_is_refused_by_key(change, key):
    cfg = {**LLAMA2_7B_CONFIG, **change}
    with pytest.raises(CatalogError) as info:
        from_hf_config(cfg)
    assert info.value.column == key and info.value.message


def test_refusal_names_the_key_the_file_spells():
    cfg = {"model_type": "falcon", "hidden_size": 8192, "num_attention_heads": 128, "num_hidden_layers": 60,
           "vocab_size": 65024, "new_decoder_architecture": True, "num_kv_heads": 7}
    with pytest.raises(CatalogError) as info:
        from_hf_config(cfg)
    assert info.value.column == "num_kv_heads" and "divide the 128" in info.value.message


@pytest.mark.parametrize("model_type,positions", [("gpt2", "learned"), ("bert", "learned"), ("opt", "learned"),
                                                  ("llama", "rope"), ("falcon", "rope")])
def test_position_scheme_comes_from_the_family(model_type, positions):
    cfg = {"model_type": model_type, "hidden_size": 256, "num_attention_heads": 4, "num_hidden_layers": 2,
           "vocab_size": 1000, "intermediate_size": 1024, "ffn_dim": 1024, "max_position_embeddings": 512}
    assert from_hf_config(cfg).positions == positions


def test_every_preset_passes_the_consistency_check():
    for arch in CATALOGS.models.values():
        assert arch.check() is arch


T5_SMALL = {"model_type": "t5", "d_model": 512, "d_kv": 64, "d_ff": 2048, "num_layers": 6, "num_heads": 8,
            "vocab_size": 32128, "is_encoder_decoder": True, "feed_forward_proj": "relu", "n_positions": 512}


@pytest.mark.parametrize("change,expected", [
    ({}, 60_506_624),  # t5-small
    ({"d_model": 768, "d_ff": 3072, "num_layers": 12, "num_heads": 12}, 222_903_552),  # t5-base
    ({"d_model": 768, "d_ff": 2048, "num_layers": 12, "num_heads": 12, "feed_forward_proj": "gated-gelu",
      "tie_word_embeddings": False}, 247_577_856),  # t5-v1_1-base: GeGLU, untied head
])
def test_t5_encoder_decoder_counts(change, expected):
    """Encoder layers: attention + MLP + 2 RMS norms; decoder layers add cross-attention and a
    third norm; one relative-position table (32 buckets × heads) per stack, a final norm per
    stack, a shared embedding. Derived by hand: t5-small = 6·3,146,752 + 6·4,195,840 + 2·256
    + 2·512 + 32128·512."""
    arch = from_hf_config({**T5_SMALL, **change})
    assert sizes(arch).total == expected
    assert arch.cross_attention_layers * 2 == arch.n_layers and arch.positions == "relative"


def test_t5_plans_with_an_encoder_decoder_warning():
    from gpuplanner.core import PlanInputs, estimate
    arch = from_hf_config(T5_SMALL, name="t5-small")
    r = estimate(PlanInputs(model=arch, seq_len=512, instance="g6e.xlarge"), CATALOGS)
    assert r.fits and any("encoder-decoder (6 + 6 layers)" in w for w in r.warnings)
    with pytest.raises(CatalogError) as info:
        from_hf_config({**T5_SMALL, "feed_forward_proj": "gated-tanh"})
    assert info.value.column == "feed_forward_proj"


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10, 10 ** 6), st.integers(10 ** 18, 10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                    st.sampled_from(["silu", "gelu", "relu", "gated-gelu", "gelu_new"]))
_KEYS = ["num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
         "head_dim", "vocab_size", "sliding_window", "num_local_experts", "num_experts_per_tok",
         "first_k_dense_replace", "moe_intermediate_size", "n_shared_experts", "kv_lora_rank", "q_lora_rank",
         "qk_rope_head_dim", "v_head_dim", "hidden_act", "tie_word_embeddings", "max_position_embeddings",
         "multi_query", "new_decoder_architecture", "num_kv_heads", "ffn_dim", "d_ff", "num_decoder_layers"]


@settings(max_examples=300, deadline=None)
@given(model_type=st.sampled_from(["llama", "mixtral", "deepseek_v3", "falcon", "opt", "gpt2", "t5", "bert", "gpt_oss",
                                   "gpt_bigcode", "x"]),
       changes=st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=6))
def test_any_config_gives_a_positive_count_or_a_refusal_naming_a_key(model_type, changes):
    """Never a traceback, never a negative or absurd count: a CatalogError naming the key."""
    cfg = {**LLAMA2_7B_CONFIG, "model_type": model_type, "ffn_dim": 11008, "d_ff": 11008, **changes}
    try:
        arch = from_hf_config(cfg)
    except CatalogError as e:
        assert e.column and e.message
        return
    total = sizes(arch).total
    assert 0 < sizes(arch).active <= total <= 1e16
    assert arch.kv_values_per_token_per_layer() > 0


# ---- one mapping: a preset is its config.json read by from_hf_config -----------------------------
# What each preset was before the catalog read its rows through from_hf_config (the catalog had
# rules of its own then): MLP, norm, biases, positions, tied head, norms per block, KV heads,
# encoder, router bias, sliding window.
PRESET_SHAPES = {
    "bert-large-uncased": ("gelu", "layernorm", "all", "learned", True, 2, 16, True, False, 0),
    "deepseek-v3": ("swiglu", "rmsnorm", "none", "rope", False, 2, 128, False, True, 0),
    "falcon-40b": ("gelu", "layernorm", "none", "rope", True, 2, 8, False, False, 0),
    "gpt-3-175b": ("gelu", "layernorm", "all", "learned", True, 2, 96, False, False, 0),
    "gpt2": ("gelu", "layernorm", "all", "learned", True, 2, 12, False, False, 0),
    "llama-2-13b": ("swiglu", "rmsnorm", "none", "rope", False, 2, 40, False, False, 0),
    "llama-2-70b": ("swiglu", "rmsnorm", "none", "rope", False, 2, 8, False, False, 0),
    "llama-2-7b": ("swiglu", "rmsnorm", "none", "rope", False, 2, 32, False, False, 0),
    "llama-3.1-405b": ("swiglu", "rmsnorm", "none", "rope", False, 2, 8, False, False, 0),
    "llama-3.1-70b": ("swiglu", "rmsnorm", "none", "rope", False, 2, 8, False, False, 0),
    "llama-3.1-8b": ("swiglu", "rmsnorm", "none", "rope", False, 2, 8, False, False, 0),
    "mistral-7b-v0.1": ("swiglu", "rmsnorm", "none", "rope", False, 2, 8, False, False, 4096),
    "mixtral-8x7b-v0.1": ("swiglu", "rmsnorm", "none", "rope", False, 2, 8, False, False, 0),
    "qwen2.5-72b": ("swiglu", "rmsnorm", "qkv", "rope", False, 2, 8, False, False, 0),
    "qwen2.5-7b": ("swiglu", "rmsnorm", "qkv", "rope", False, 2, 4, False, False, 0),
}
_SHAPE_FIELDS = ("mlp_kind", "norm", "bias", "positions", "tied_embeddings", "layer_norms", "n_kv_heads",
                 "encoder", "router_bias", "sliding_window")
_CATALOG_ONLY = {"name", "source", "published_params", "published_active_params", "hf_repo"}


def _preset_configs() -> dict:
    """models.csv rows as config.json dicts, each cell read as JSON (text when it is not), apart
    from the catalog's own columns: read here with csv and json, not by the catalog's reader."""
    own = {"model_id", "hf_repo", "published_params", "published_params_source", "active_params",
           "config_source", "notes"}

    def value(cell):
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    with open(resource_path("models.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["model_id"]: {("model_type" if k == "architecture" else k): value(v)
                            for k, v in r.items() if v and k not in own} for r in rows}


def _architecture(arch) -> tuple:
    return tuple(getattr(arch, f.name) for f in dataclasses.fields(arch) if f.name not in _CATALOG_ONLY)


@pytest.mark.parametrize("model_id", sorted(EXACT_TOTAL))
def test_every_preset_is_its_config_read_by_from_hf_config(model_id):
    """The catalog adds its published counts and sources, and nothing else, to the mapping a
    user's config.json goes through; the preset keeps its earlier shape and count."""
    arch = CATALOGS.models[model_id]
    assert _architecture(arch) == _architecture(from_hf_config(_preset_configs()[model_id]))
    assert tuple(getattr(arch, f) for f in _SHAPE_FIELDS) == PRESET_SHAPES[model_id]
    assert sizes(arch).total == EXACT_TOTAL[model_id]
    assert arch.hf_repo and arch.hf_repo in arch.source or model_id == "gpt-3-175b"


def test_falcon_preset_is_the_published_refinedweb_config():
    """The preset row (model_type falcon + new_decoder_architecture) and the original RefinedWeb
    config.json give one architecture; only the context length is missing from the latter."""
    published = load_config_json(FIXTURES / "falcon-40b.json")
    preset = dataclasses.replace(CATALOGS.models["falcon-40b"], max_positions=0)
    assert _architecture(preset) == _architecture(published)


def _user_catalog(tmp_path, preset, **cells):
    """A one-row models catalog: a bundled row with some cells changed (None: column removed)."""
    with open(resource_path("models.csv"), newline="", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["model_id"] == preset)
    row = {k: v for k, v in {**row, **cells}.items() if v is not None}
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    return path


@pytest.mark.parametrize("model_id,cells,column", [
    ("falcon-40b", {"new_decoder_architecture": None}, "num_key_value_heads"),  # read as Falcon-7B's block
    ("gpt-3-175b", {"architecture": ""}, "architecture"),
    ("llama-2-7b", {"architecture": "mpt"}, "architecture"),
    ("llama-2-7b", {"hidden_act": "relu"}, "hidden_act"),
    ("llama-2-7b", {"attention_bias": "true"}, "attention_bias"),
    ("llama-2-7b", {"num_hidden_layers": "32.5"}, "num_hidden_layers"),
    ("gpt2", {"mlp_kind": "swiglu"}, "mlp_kind"),  # an older catalog's column, contradicting the family
    ("bert-large-uncased", {"norm": "rmsnorm"}, "norm"),
])
def test_a_row_that_cannot_be_mapped_exactly_names_row_and_column(tmp_path, model_id, cells, column):
    path = _user_catalog(tmp_path, model_id, **cells)
    with pytest.raises(CatalogError) as info:
        CATALOGS.with_user_file(path)
    assert (info.value.row, info.value.column) == (1, column) and info.value.message


def test_a_row_agreeing_with_its_family_and_spreadsheet_numbers_are_read(tmp_path):
    path = _user_catalog(tmp_path, "gpt2", model_id="my-gpt2", mlp_kind="gelu", norm="layernorm",
                         num_hidden_layers="24.0")
    arch = CATALOGS.with_user_file(path).models["my-gpt2"]
    assert arch.n_layers == 24 and sizes(arch).total > EXACT_TOTAL["gpt2"]


@pytest.mark.parametrize("model_id", ["llama-3.1-8b", "deepseek-v3", "gpt2"])
def test_a_token_multiplies_its_active_weights_but_only_indexes_the_embedding(model_id):
    arch = CATALOGS.models[model_id]
    s = sizes(arch)
    head_matrix = arch.vocab * arch.hidden  # the output head multiplies it, tied or not
    assert s.matmul_active == s.active - s.embed + (head_matrix if arch.tied_embeddings else 0)
    assert s.matmul_active < s.active  # an untied table, or learned positions, are lookups


@pytest.mark.parametrize("model_id,tp,copies", [
    ("llama-3.1-8b", 1, 1), ("llama-3.1-8b", 8, 1), ("llama-3.1-8b", 16, 2), ("deepseek-v3", 8, 8)])
def test_tensor_ranks_hold_one_copy_of_split_heads_and_each_its_own_latent(model_id, tp, copies):
    arch = CATALOGS.models[model_id]
    assert arch.kv_copies(tp) == copies
    assert kv_bytes_per_sequence(arch, 1000, "bf16", tp, 1) * tp == \
        pytest.approx(kv_bytes_per_sequence(arch, 1000, "bf16", 1, 1) * copies)


def test_absorbed_mla_decode_attends_over_the_latent():
    ds, llama = CATALOGS.models["deepseek-v3"], CATALOGS.models["llama-3.1-8b"]
    r, rope, a = ds.kv_lora_rank, ds.qk_rope_head_dim, ds.n_heads
    assert ds.attention_flops_per_pair(absorbed=True) == 2 * a * (r + rope) + 2 * a * r
    assert ds.attention_flops_per_pair() == 2 * a * (ds.qk_nope_head_dim + rope) + 2 * a * ds.v_head_dim
    assert llama.attention_flops_per_pair(absorbed=True) == llama.attention_flops_per_pair() == 4 * llama.attn_width
