"""Memory formulas against numbers derived by hand from the cited papers."""
import pytest

from gpuplanner.core import load_catalogs
from gpuplanner.core.memory import (
    QLORA_BYTES,
    activation_bytes_per_layer,
    kv_bytes_per_sequence,
    lora_adapter_params,
    training_activation_bytes,
)
from gpuplanner.core.model import ModelArch, synthesize
from gpuplanner.core.parallelism import training_setup
from gpuplanner.core.result import Layout

CATALOGS = load_catalogs()
GPT3 = CATALOGS.models["gpt-3-175b"]


def gpt_layer(h=4096, a=32, s=2048):
    return ModelArch(name="gpt", n_layers=24, hidden=h, intermediate=4 * h, n_heads=a, n_kv_heads=a,
                     vocab=50257, mlp_kind="gelu", norm="layernorm", bias="all")


@pytest.mark.parametrize("s,b", [(2048, 1), (4096, 2), (512, 8)])
def test_activations_reduce_to_korthikanti_for_gpt(s, b):
    """Korthikanti et al. 2022 §4.1: s·b·h·(34 + 5·a·s/h) bytes per layer, 16-bit, no parallelism."""
    arch = gpt_layer()
    h, a = arch.hidden, arch.n_heads
    expected = s * b * h * (34 + 5 * a * s / h)
    assert activation_bytes_per_layer(arch, s, b, 2.0, store_scores=True) == pytest.approx(expected)
    # Selective recomputation / FlashAttention: the 5as/h term goes (paper eq. 5: 34·sbh).
    assert activation_bytes_per_layer(arch, s, b, 2.0, store_scores=False) == pytest.approx(34 * s * b * h)


def test_gpt3_full_stack_with_tensor_parallel_and_logits():
    """GPT-3 175B, s = 2048, b = 1, t = 8, selective: L·34·s·b·h/t + 4·s·b·V/t."""
    s, t = 2048, 8
    expected = (96 * 34 * s * 12288 + 4 * s * 50257) / t
    got = training_activation_bytes(GPT3, s, 1, t, "selective", False, 2.0)
    assert got == pytest.approx(expected)


def test_full_recomputation_keeps_layer_inputs_plus_one_layer():
    """Every layer's input, plus the larger of the re-run layer and the loss's fp32 logits: the
    output layer's backward frees the logits before the last layer is recomputed."""
    arch, s = gpt_layer(), 2048
    one = activation_bytes_per_layer(arch, s, 1, 2.0, store_scores=True)
    expected = 24 * 2 * s * arch.hidden + max(one, 4 * s * arch.vocab)
    assert training_activation_bytes(arch, s, 1, 1, "full", False, 2.0) == pytest.approx(expected)
    short = 64  # few tokens: the loss's logits are the larger
    one = activation_bytes_per_layer(arch, short, 1, 2.0, store_scores=True)
    assert one < 4 * short * arch.vocab
    assert training_activation_bytes(arch, short, 1, 1, "full", False, 2.0) == \
        pytest.approx(24 * 2 * short * arch.hidden + 4 * short * arch.vocab)


def test_kv_cache_per_token_known_values():
    """2·L·k·d·bytes: Llama-2-7B 0.5 MiB/token, Llama-3.1-70B 320 KiB/token (GQA 8 heads),
    DeepSeek-V3 MLA latent (512 + 64) × 61 layers × 2 bytes."""
    m = CATALOGS.models
    assert kv_bytes_per_sequence(m["llama-2-7b"], 1, "bf16", 1, 1) == 2 * 32 * 32 * 128 * 2 == 512 * 1024
    assert kv_bytes_per_sequence(m["llama-3.1-70b"], 1, "bf16", 1, 1) == 320 * 1024
    assert kv_bytes_per_sequence(m["deepseek-v3"], 1, "bf16", 1, 1) == 61 * 576 * 2
    # tensor parallel splits KV heads; with more ranks than KV heads each rank keeps one head
    assert kv_bytes_per_sequence(m["llama-3.1-70b"], 1, "bf16", 8, 1) == 320 * 1024 / 8
    assert kv_bytes_per_sequence(m["llama-3.1-70b"], 1, "bf16", 16, 1) == 320 * 1024 / 8
    # int8 KV halves it; pipeline stages split layers
    assert kv_bytes_per_sequence(m["llama-2-7b"], 1, "int8", 1, 2) == 512 * 1024 / 4


def test_sliding_window_caps_the_cache():
    mistral = CATALOGS.models["mistral-7b-v0.1"]
    assert kv_bytes_per_sequence(mistral, 32768, "bf16", 1, 1) == kv_bytes_per_sequence(mistral, 4096, "bf16", 1, 1)


def _states_gb(psi_model, zero, dp):
    setup = training_setup(psi_model, "bf16", "full", "adamw", "auto", 4096, 1, "selective", True, 16)
    b = setup.breakdown(Layout(dp, 1, 1, 1, zero), 0, 0)
    return (b.weights + b.master_weights + b.gradients + b.optimizer) / 1e9


@pytest.mark.parametrize("zero,expected_gb", [(0, 120.0), (1, 31.40625), (2, 16.640625), (3, 1.875)])
def test_zero_paper_figure_1(zero, expected_gb):
    """ZeRO (Rajbhandari et al. 2020) Fig. 1: Ψ = 7.5B, Nd = 64, mixed-precision Adam (K = 12):
    (2+2+K)Ψ = 120 GB, 4Ψ + KΨ/Nd = 31.4 GB, 2Ψ + 14Ψ/Nd = 16.6 GB, 16Ψ/Nd = 1.9 GB."""
    model = synthesize(7.5e9)
    assert _states_gb(model, zero, 64) == pytest.approx(expected_gb, rel=2e-3)


def test_qlora_storage_and_adapters():
    """QLoRA §3: NF4 (4 bit) + double-quantized constants (0.127 bit) per parameter; adapters
    r·(d_in + d_out) per matrix. Llama-2-7B, r = 16, all linear layers of 32 blocks."""
    assert pytest.approx((4 + 0.127) / 8) == QLORA_BYTES
    arch = CATALOGS.models["llama-2-7b"]
    h, i = 4096, 11008
    per_layer = 4 * (h + h) + 3 * (h + i)
    assert lora_adapter_params(arch, 16) == 16 * 32 * per_layer
