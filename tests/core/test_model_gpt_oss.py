"""gpt-oss read from its config.json as transformers' modeling_gpt_oss.py builds it, against
OpenAI's published figures (gpt-oss-120b & gpt-oss-20b model card, Aug 2025, Table 1: total and
active parameters, checkpoint size) and vLLM's own start-up log (the accuracy ledger's row)."""
import csv
from dataclasses import replace

import pytest

from gpuplanner.core import CatalogError, load_catalogs
from gpuplanner.core.engines import launches, pool_warning, vllm_request_tokens
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.links import links_for
from gpuplanner.core.memory import DTYPE_BYTES, kv_bytes_per_sequence, weight_bytes
from gpuplanner.core.model import sizes
from gpuplanner.core.model_readers import from_hf_config
from gpuplanner.core.planfile import plan_from_dict, plan_to_dict
from gpuplanner.core.resource_files import resource_path
from gpuplanner.core.serving import Replica
from gpuplanner.core.units import GIB

# The keys of the published config.json files that change the shape (the 20b differs in layers and experts)
GPT_OSS_120B = {
    "model_type": "gpt_oss", "num_hidden_layers": 36, "num_local_experts": 128, "num_experts_per_tok": 4,
    "vocab_size": 201088, "hidden_size": 2880, "intermediate_size": 2880, "head_dim": 64,
    "num_attention_heads": 64, "num_key_value_heads": 8, "sliding_window": 128, "tie_word_embeddings": False,
    "attention_bias": True, "max_position_embeddings": 131072, "hidden_act": "silu",
    "layer_types": ["sliding_attention", "full_attention"] * 18,
    "quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": [
        "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]},
}
GPT_OSS_20B = {**GPT_OSS_120B, "num_hidden_layers": 24, "num_local_experts": 32,
               "layer_types": ["sliding_attention", "full_attention"] * 12}
# model card Table 1: (total, active, checkpoint GiB); active counts the unembedding, not the embedding
MODEL_CARD = {"120b": (116.83e9, 5.13e9, 60.8, GPT_OSS_120B), "20b": (20.91e9, 3.61e9, 12.8, GPT_OSS_20B)}


@pytest.mark.parametrize("size", sorted(MODEL_CARD))
def test_parameter_counts_match_the_model_card(size):
    total, active, _, cfg = MODEL_CARD[size]
    arch = from_hf_config(cfg)
    sz = sizes(arch)
    assert sz.total == pytest.approx(total, rel=0.005)
    assert sz.active - sz.embed == pytest.approx(active, rel=0.005)


@pytest.mark.parametrize("size", sorted(MODEL_CARD))
def test_mxfp4_checkpoint_size_matches_the_model_card(size):
    """Experts' matrices in MXFP4 (4 bits + one 8-bit scale per 32), everything else bf16."""
    *_, gib, cfg = MODEL_CARD[size]
    arch = from_hf_config(cfg)
    assert arch.checkpoint_quantization == "mxfp4"
    assert sum(weight_bytes(arch, "fp4").replica(sizes(arch))) / GIB == pytest.approx(gib, rel=0.005)
    # the same model planned at another precision is that precision throughout
    bf16 = weight_bytes(arch, "bf16")
    assert bf16.dense == bf16.experts == bf16.edge == DTYPE_BYTES["bf16"]


def test_blocks_have_sinks_biases_and_a_router_bias():
    """What gpt-oss adds to a Mixtral-like block, counted one part at a time."""
    arch = from_hf_config(GPT_OSS_20B)
    h, a, k, d, i, e = 2880, 64, 8, 64, 2880, 32
    attention = h * (a + 2 * k) * d + a * d * h + (a + 2 * k) * d + h + a  # q/k/v/o, their biases, sinks
    expert = 3 * h * i + 2 * i + h  # gate_up and down with biases
    assert arch.attention_params() == attention
    assert arch.mlp_params(arch.expert_width) == expert
    assert arch.router_params() == h * e + e
    assert arch.head_params() == h + 201088 * h  # untied


def test_layer_types_default_to_alternating_sliding_first():
    cfg = {key: value for key, value in GPT_OSS_20B.items() if key != "layer_types"}
    arch = from_hf_config(cfg)
    assert arch.layer_types == tuple(GPT_OSS_20B["layer_types"])
    assert arch.sliding_layers() == 12 and arch.sliding_layers(0, 1) == 1 and arch.sliding_layers(1, 2) == 0


def test_kv_cache_holds_the_window_on_sliding_layers_only():
    arch = from_hf_config(GPT_OSS_120B)
    per_layer_token = 2 * 8 * 64 * 2  # K and V, 8 heads of 64, bf16
    assert kv_bytes_per_sequence(arch, 8192, "bf16", 1, 1) == per_layer_token * (18 * 8192 + 18 * 128)
    assert kv_bytes_per_sequence(arch, 100, "bf16", 1, 1) == per_layer_token * 36 * 100
    # two stages of 18 layers hold 9 of each; tensor parallelism splits the 8 KV heads
    assert kv_bytes_per_sequence(arch, 8192, "bf16", 2, 2) == per_layer_token / 2 * (9 * 8192 + 9 * 128)


def test_vllm_concurrency_budget_reproduces_its_log():
    """vLLM's reported maximum concurrency = pool tokens / the tokens it budgets a request (full
    length on full layers, window + one chunk + one block on sliding ones): the ledger's log row."""
    with open(resource_path("validation/vllm_memory_llmd.csv"), newline="", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["model"] == "openai/gpt-oss-20b")
    arch = from_hf_config(GPT_OSS_20B)
    budget = vllm_request_tokens(arch, int(float(row["max_model_len"])), 8192)  # H100: 8192 batched tokens
    assert float(row["kv_cache_tokens"]) / budget == pytest.approx(float(row["max_concurrency_x"]), rel=1e-4)
    assert float(row["kv_cache_tokens"]) / float(row["max_model_len"]) != pytest.approx(
        float(row["max_concurrency_x"]), rel=1e-4)  # counting every layer at full length misses it


@pytest.mark.parametrize("change,key", [
    ({"num_experts_per_tok": None}, "num_experts_per_tok"),
    ({"num_local_experts": None}, "num_local_experts"),
    ({"layer_types": ["sliding_attention"] * 5}, "layer_types"),
    ({"layer_types": ["chunked_attention"] * 24}, "layer_types"),
    ({"layer_types": "sliding_attention"}, "layer_types"),
    ({"sliding_window": 0}, "sliding_window"),
    ({"attention_bias": False}, "attention_bias"),
    ({"quantization_config": {"quant_method": "modelopt", "quant_algo": "NVFP4"}}, "quantization_config"),
    ({"quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.mlp.experts"]}},
     "quantization_config"),
])
def test_a_malformed_config_is_refused_naming_the_key(change, key):
    with pytest.raises(CatalogError) as info:
        from_hf_config({**GPT_OSS_20B, **change})
    assert info.value.column == key and info.value.message


def test_a_plan_file_keeps_the_architecture():
    arch = from_hf_config(GPT_OSS_20B, name="gpt-oss-20b")
    doc = plan_to_dict(PlanInputs(model=arch, mode="infer", precision="fp4"))
    assert plan_from_dict(doc).inputs.model == arch


def _replica(arch):
    h100 = load_catalogs().gpus["H100"]
    return Replica(arch, h100, 1, 1, 1, dense_weight_bytes=4e9, expert_weight_bytes=0.0, kv_bytes_per_token=0.0,
                   peak_flops=h100.peak("bf16"), mbu=0.7, compute_efficiency=0.5, step_s=0.0,
                   links=links_for(h100, None, 8))


def test_sliding_layers_attend_over_the_window_only():
    """A compute-bound step (large batch, long context): half the layers attending over 128
    tokens cost less than all attending over the context; within the window, the same."""
    arch = from_hf_config(GPT_OSS_20B)
    full = replace(arch, layer_types=("full_attention",) * 24)
    sliding, dense = _replica(arch), _replica(full)
    assert sliding.step(4096, 0, 100) == pytest.approx(dense.step(4096, 0, 100))
    assert sliding.step(4096, 0, 32768) < 0.8 * dense.step(4096, 0, 32768)
    assert sliding.step(0, 8192, 8192) < dense.step(0, 8192, 8192)


def test_the_pool_warning_counts_what_a_sequence_of_sliding_layers_holds():
    """gpt-oss-120b on one H200 at 128k context: half its layers hold 128 tokens, so a pool of
    every-layer tokens holds about twice the sequences it would at full attention everywhere."""
    arch = from_hf_config(GPT_OSS_120B)
    full = replace(arch, layer_types=("full_attention",) * 36)
    h200 = load_catalogs().gpus["H200"].capacity_bytes
    launch = launches(arch, "fp4", "bf16", 1, 1, 1, 131072, 1, 0.9, h200)["vllm"]
    fits = int(launch.pool.kv_cache_tokens / 131072 * 1.9)  # sequences of the full context it holds
    assert pool_warning(launch, arch, fits, 131072) == ""
    assert "will queue" in pool_warning(launch, full, fits, 131072)
