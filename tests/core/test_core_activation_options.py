"""Chunked cross-entropy and activation offloading (core/memory.py): what stays on the GPU,
what moves to host memory, and what the step pays for it."""
import pytest

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.memory import (
    LOSS_CHUNKS,
    activation_bytes_per_layer,
    activation_offload_bytes,
    training_activation_bytes,
)
from gpuplanner.core.model import sizes

CATALOGS = load_catalogs()
LLAMA = CATALOGS.models["llama-3.1-8b"]


@pytest.mark.parametrize("recompute", ["none", "full"])
def test_chunked_loss_keeps_16_bit_logits_and_one_fp32_chunk(recompute):
    s, b, v = 2048, 2, LLAMA.vocab
    plain = training_activation_bytes(LLAMA, s, b, 1, recompute, True, 2.0)
    chunked = training_activation_bytes(LLAMA, s, b, 1, recompute, True, 2.0, chunked_loss=True)
    assert plain - chunked == pytest.approx((4.0 - 2.0 - 4.0 / LOSS_CHUNKS) * s * b * v)


def test_activation_offload_keeps_one_layer_and_the_next_on_the_gpu():
    """The working layer and the next one's checkpoint, or the loss's logits: the loss is done
    (its tensors freed by the output layer's backward) before the first layer comes back."""
    s, b, h = 2048, 2, LLAMA.hidden
    per_layer = activation_bytes_per_layer(LLAMA, s, b, 2.0, False)
    on_gpu = training_activation_bytes(LLAMA, s, b, 1, "full", True, 2.0, offload=True, chunked_loss=True)
    logits = (2.0 + 4.0 / LOSS_CHUNKS) * s * b * LLAMA.vocab
    assert on_gpu == pytest.approx(max(per_layer + 2.0 * s * b * h, logits))
    short = training_activation_bytes(LLAMA, 256, b, 1, "full", True, 2.0, offload=True, chunked_loss=True)
    assert short == pytest.approx((2.0 + 4.0 / LOSS_CHUNKS) * 256 * b * LLAMA.vocab)  # the loss is the larger
    assert activation_offload_bytes(LLAMA, s, b, 1, "full", True, 2.0) == pytest.approx(LLAMA.n_layers * 2.0 * s * b * h)


def test_offloaded_activations_need_host_memory_and_pcie_time():
    kw = dict(model="llama-3.1-8b", gpu="RTX4090", instance="", train_method="lora", seq_len=2048, micro_batch=2,
              recompute="full", training_tokens=1e8)
    kept = estimate(PlanInputs(**kw), CATALOGS)
    off = estimate(PlanInputs(activation_offload=True, **kw), CATALOGS)
    assert off.breakdown_bytes.activations < kept.breakdown_bytes.activations
    acts = activation_offload_bytes(LLAMA, 2048, 2, 1, "full", True, 2.0)
    assert kept.host_memory_bytes == 0 and off.host_memory_bytes == pytest.approx(acts * off.gpus)
    assert off.step_breakdown_s["offload"] >= 0 and off.training_time_s >= kept.training_time_s


def test_torchtune_builds_lora_adapters_in_the_training_dtype():
    """torchtune's LoRA recipes instantiate the model, adapters included, under
    set_default_dtype(bf16): adapters, their gradients and AdamW states are bf16 (8 bytes per
    adapter parameter); PEFT keeps them in fp32 (16)."""
    from gpuplanner.core.memory import lora_adapter_params
    from gpuplanner.core.parallelism import training_setup
    from gpuplanner.core.result import Layout

    def adapter_bytes(framework):
        setup = training_setup(LLAMA, "bf16", "lora", "adamw", "auto", 2048, 1, "full", True, 8, framework)
        b = setup.breakdown(Layout(1, 1, 1, 1, 0), 0, 0)
        return b.weights + b.master_weights + b.gradients + b.optimizer - setup.weight_bytes * sizes(LLAMA).total
    adapters = lora_adapter_params(LLAMA, 8)
    assert adapter_bytes("torchtune") == pytest.approx(8 * adapters)
    assert adapter_bytes("zero") == pytest.approx(16 * adapters)


def test_fsdp_gathers_the_frozen_base_block_by_block_for_lora():
    """ZeRO-3 (FSDP) shards the frozen base too, so each block is gathered for its forward and
    backward, the next one prefetched: two blocks in their stored format; none when unsharded."""
    from gpuplanner.core.parallelism import training_setup
    setup = training_setup(LLAMA, "bf16", "qlora", "adamw", "auto", 2048, 1, "full", True, 8, "torchtune")
    block = sizes(LLAMA).block_dense / LLAMA.n_layers
    assert setup.buffers(1, 1, 1, 3) == pytest.approx(2 * setup.weight_bytes * block)
    assert setup.buffers(1, 1, 1, 0) == 0


def test_eager_cross_entropy_holds_three_fp32_logit_tensors():
    """PyTorch's cross-entropy on fp32 logits (torchtune without a chunked loss): at its
    backward the saved log-softmax output, the gradient from nll_loss and the one it returns;
    Megatron's fused vocab-parallel loss works in place (one copy)."""
    from gpuplanner.core.memory import loss_bytes
    n, v = 4096, LLAMA.vocab
    assert loss_bytes(n, v, 2.0, False, True) == 3 * loss_bytes(n, v, 2.0, False, False) == 12.0 * n * v
    assert loss_bytes(n, v, 2.0, True, True) == loss_bytes(n, v, 2.0, True, False)  # chunked either way
