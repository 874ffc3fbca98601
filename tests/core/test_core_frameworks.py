"""Framework byte accounting against each framework's own documented numbers, and the planner
against measured peak memory (shared validation data, cited per row)."""
import statistics

import pytest

from gpuplanner.core import InputError, PlanInputs, estimate, load_catalogs
from gpuplanner.core.accuracy import Plans, predict
from gpuplanner.core.ledger import load_cases
from gpuplanner.core.memory import activation_bytes_per_layer, replicated_activation_bytes
from gpuplanner.core.model import ModelArch, sizes, synthesize
from gpuplanner.core.parallelism import training_setup
from gpuplanner.core.result import Layout

CATALOGS = load_catalogs()
LLAMA2_7B = CATALOGS.models["llama-2-7b"]


def states_per_param(framework, precision, zero, dp):
    arch = synthesize(7.5e9)
    setup = training_setup(arch, precision, "full", "adamw", "auto", 2048, 1, "none", True, 16, framework)
    b = setup.breakdown(Layout(dp, 1, 1, 1, zero), 0, 0)
    return (b.weights + b.master_weights + b.gradients + b.optimizer) / sizes(arch).total


@pytest.mark.parametrize("precision,plain,distributed", [("bf16", 18, (6, 12)), ("fp16", 20, (4, 16)),
                                                         ("fp32", 16, (8, 8))])
def test_megatron_distributed_optimizer_table(precision, plain, distributed):
    """Megatron-LM docs/distrib_optimizer.md: bytes per parameter without and with the
    distributed optimizer (fixed + sharded/d)."""
    assert states_per_param("megatron", precision, 0, 8) == pytest.approx(plain)
    fixed, sharded = distributed
    assert states_per_param("megatron", precision, 1, 8) == pytest.approx(fixed + sharded / 8)


@pytest.mark.parametrize("n", [1, 8, 64])
def test_deepspeed_zero2_estimator(n):
    """estimate_zero2_model_states_mem_needs (no offload): 2Ψ + 18Ψ/N."""
    assert states_per_param("deepspeed", "bf16", 2, n) == pytest.approx(2 + 18 / n)


@pytest.mark.parametrize("zero,fixed,sharded", [(0, 16, 0), (1, 8, 12), (2, 4, 16), (3, 0, 20)])
def test_deepspeed_fp32_model_keeps_the_cloned_fp32_partition(zero, fixed, sharded):
    """An fp32 model: DeepSpeed's ZeRO optimizer (stage >= 1) clones its fp32 partition anyway
    (stage_1_and_2.py and stage3.py, `.clone().float()`), the gradients need no second copy; at
    stage 0 the plain optimizer keeps none. ZeRO-2 gives 4Ψ + 16Ψ/N (test_core_offload)."""
    n = 8
    assert states_per_param("deepspeed", "fp32", zero, n) == pytest.approx(fixed + sharded / n)


def test_deepspeed_zero3_estimator_with_the_largest_layer_buffer():
    """estimate_zero3_model_states_mem_needs (no offload): 4·largest_layer_params + 18Ψ/N;
    Llama-2-7B's largest parameter tensor is its 32000 × 4096 embedding."""
    n = 8
    r = estimate(PlanInputs(model="llama-2-7b", framework="deepspeed", zero_stage=3, dp=n, tp=1, pp=1,
                            micro_batch=1, recompute="none", instance="p5.48xlarge"), CATALOGS)
    b = r.breakdown_bytes
    total = sizes(LLAMA2_7B).total
    assert b.weights + b.master_weights + b.gradients + b.optimizer == pytest.approx(18 * total / n)
    assert b.buffers == 4 * 32000 * 4096
    assert states_per_param("zero", "bf16", 3, n) == pytest.approx(16 / n)  # the paper's count stays


def test_fsdp_full_shard_and_shard_grad_op():
    """FSDP with MixedPrecision: sharded fp32 parameters, gradients and AdamW states (16/N);
    SHARD_GRAD_OP keeps the 16-bit parameters whole; FULL_SHARD gathers blocks instead."""
    assert states_per_param("fsdp", "bf16", 3, 8) == pytest.approx(16 / 8)
    assert states_per_param("fsdp", "bf16", 2, 8) == pytest.approx(2 + 16 / 8)
    assert states_per_param("fsdp", "bf16", 0, 8) == pytest.approx(18)
    r = estimate(PlanInputs(model="llama-2-7b", framework="fsdp", zero_stage=3, dp=8, tp=1, pp=1,
                            instance="p5.48xlarge"), CATALOGS)
    block = (sizes(LLAMA2_7B).block_dense) / 32
    assert r.breakdown_bytes.buffers == pytest.approx(3 * 2 * block)  # two blocks gathered + one's gradients


def test_hf_trainer_amp_keeps_fp32_weights_and_16bit_casts():
    """HF Trainer + autocast: fp32 weights, fp32 gradients, AdamW: 16 B/param, plus the 16-bit
    copies of the linear weights autocast keeps for backward."""
    assert states_per_param("hf", "bf16", 0, 1) == pytest.approx(16)
    r = estimate(PlanInputs(model="bert-large-uncased", framework="hf", seq_len=512, micro_batch=4,
                            recompute="none", instance="p4d.24xlarge"), CATALOGS)
    assert (r.layout.tp, r.layout.pp, r.layout.zero_stage) == (1, 1, 0)
    assert r.breakdown_bytes.buffers == pytest.approx(2 * sizes(CATALOGS.models["bert-large-uncased"]).block_dense)


@pytest.mark.parametrize("kwargs,field", [
    (dict(framework="megatron", zero_stage=3), "zero"), (dict(framework="fsdp", zero_stage=1), "zero"),
    (dict(framework="hf", tp=2), "tp"), (dict(framework="deepspeed", grad_dtype="fp32"), "grad_dtype"),
    (dict(framework="jax"), "framework"),
])
def test_what_a_framework_does_not_offer_is_refused(kwargs, field):
    with pytest.raises(InputError) as info:
        estimate(PlanInputs(model="llama-2-7b", **kwargs), CATALOGS)
    assert info.value.field == field


def test_searched_zero_stages_are_the_frameworks():
    r = estimate(PlanInputs(model="llama-3.1-70b", framework="megatron", instance="p5.48xlarge"), CATALOGS)
    assert r.fits and r.layout.zero_stage in (0, 1)


def test_without_sequence_parallelism_tensor_parallelism_leaves_10sbh_whole():
    """Korthikanti et al. 2022 eq. 2: sbh·(10 + 24/t + 5as/(ht)) per layer without sequence
    parallelism, against eq. 4's 34/t with it (GPT: i = 4h, GELU, k = a)."""
    h, a, s, b, t = 4096, 32, 2048, 1, 8
    arch = ModelArch(name="gpt", n_layers=24, hidden=h, intermediate=4 * h, n_heads=a, n_kv_heads=a, vocab=50257,
                     mlp_kind="gelu", norm="layernorm", bias="all")
    layer = activation_bytes_per_layer(arch, s, b, 2.0, store_scores=True)
    replicated = replicated_activation_bytes(arch, s, b, "none", 2.0) / arch.n_layers
    assert (layer - replicated) / t + replicated == pytest.approx(s * b * h * (10 + 24 / t + 5 * a * s / (h * t)))


# ---- measured peak memory -----------------------------------------------------------------
# NVIDIA/Megatron-LM PR #482, tools/get_training_info/README.md @550b341be5c71e6a9f65c87e86615670f1e14248
# (as collected in the shared validation data, training/megatron_pr482_memory.csv):
# (micro-batch, dp, pp, tp, peak_memory_actual as printed)
MEGATRON_PR482 = [(2, 8, 1, 1, 69.1), (4, 4, 1, 2, 55.7), (2, 4, 2, 1, 49.8), (4, 1, 1, 8, 28.8)]


def test_megatron_pr482_peak_memory():
    """Llama2-7B bf16 on 8×H800, distributed optimizer, flash attention, no sequence
    parallelism or recomputation. Measured torch.cuda.max_memory_allocated (no CUDA context):
    compared with the plan's states, activations and buffers, without the runtime overhead and
    fragmentation margin. Assumed: sequence 2048 (not stated); "GB" read as 10^9 bytes (read as
    GiB the errors are -5 to -9 %). H100 stands in for H800 (same 80 GB). The rows and the
    prediction are the accuracy ledger's (`validate`), so this is the same comparison."""
    plans = Plans(CATALOGS)
    cases = [c for c in load_cases() if c.dataset == "megatron_pr482_memory"]
    assert [(c.inputs.micro_batch, c.inputs.dp, c.inputs.pp, c.inputs.tp, c.measured) for c in cases] == MEGATRON_PR482
    assert all((c.inputs.model, c.inputs.framework, c.inputs.zero_stage, c.inputs.seq_len, c.inputs.recompute,
                c.inputs.sequence_parallel, c.inputs.gpu, c.unit, c.metric)
               == ("llama-2-7b", "megatron", 1, 2048, "none", False, "H100", "GB", "allocated") for c in cases)
    errors = [predict(c, plans).error for c in cases]
    assert statistics.median(abs(e) for e in errors) <= 0.03  # 0.4, -2.1, -1.3, +1.6 %
    assert max(abs(e) for e in errors) <= 0.05


def test_torchtune_trains_the_whole_model_in_bf16():
    """torchtune's recipes keep no fp32 copy: bf16 weights, gradients and AdamW states (whole,
    or sharded over 8 ranks by FSDP2). Read from the states: the peak's breakdown holds the
    gradients or the activations (test_torchtune_peak_holds_gradients_or_activations)."""
    setup = training_setup(synthesize(7.5e9), "bf16", "full", "adamw", "auto", 2048, 1, "none", True, 16,
                           "torchtune")
    assert sum(st.bytes for st in setup.states()) == pytest.approx(8)
    assert all(st.stage == 3 for st in setup.states())  # FSDP2: 8 / 8 = 1 B/param on 8 ranks
    # its distributed recipes shard with FSDP2: one block gathered, the next prefetched, its gradients
    setup = training_setup(LLAMA2_7B, "bf16", "full", "adamw", "auto", 2048, 1, "full", True, 16, "torchtune")
    assert setup.buffers(1, 1, 1, 3) == pytest.approx(3 * 2 * sizes(LLAMA2_7B).block_dense / LLAMA2_7B.n_layers)


def test_every_framework_has_its_assumption_text_and_source():
    from gpuplanner.core.explain import FRAMEWORK_SOURCES, FRAMEWORK_STATES
    from gpuplanner.core.frameworks import FRAMEWORKS
    assert set(FRAMEWORK_STATES) == set(FRAMEWORK_SOURCES) == set(FRAMEWORKS)
    for name in FRAMEWORKS:
        r = estimate(PlanInputs(model="llama-2-7b", framework=name), CATALOGS)
        states = next(a for a in r.assumptions if a.name == "model states")
        assert states.value == FRAMEWORK_STATES[name]


def test_torchtune_peak_holds_gradients_or_activations():
    """torchtune frees the gradients every step (zero_grad(set_to_none=True)): backward builds
    them as it frees activations, so the peak is the larger of the two, never their sum; the
    breakdown shows the one held at the peak. Megatron keeps its gradient buffer: the sum."""
    arch = synthesize(7.5e9)

    def parts(framework, recompute):
        setup = training_setup(arch, "bf16", "full", "adamw", "auto", 4096, 2, recompute, True, 16, framework)
        b = setup.breakdown(Layout(1, 1, 1, 1, 0), 0, 0)
        return b.gradients, b.activations, setup.activations(1), sizes(arch).total * 2.0
    g, a, acts, grads = parts("torchtune", "none")  # activations of every layer exceed the bf16 gradients
    assert acts > grads and (g, a) == (pytest.approx(0.0), pytest.approx(acts))
    g, a, acts, grads = parts("torchtune", "full")  # checkpointed: the gradients are the larger
    assert acts < grads and (g, a) == (pytest.approx(grads), 0.0)
    g, a, acts, _ = parts("megatron", "full")
    assert g == pytest.approx(4.0 * sizes(arch).total) and a == pytest.approx(acts)


def test_optimizer_in_backward_keeps_one_gradient():
    """torchtune's optimizer_in_bwd steps each parameter as its gradient arrives: no gradient
    state, only the largest tensor's gradient alive at a time (the buffer)."""
    kw = dict(model="llama-3.1-8b", gpu="A100-80GB", instance="", framework="torchtune", dp=1, zero_stage=0,
              seq_len=2048, micro_batch=1, recompute="full")
    plain = estimate(PlanInputs(**kw), CATALOGS).breakdown_bytes
    fused = estimate(PlanInputs(optimizer_in_backward=True, **kw), CATALOGS).breakdown_bytes
    arch = CATALOGS.models["llama-3.1-8b"]
    assert fused.gradients == 0 and plain.gradients == pytest.approx(2.0 * sizes(arch).total)
    assert fused.buffers == pytest.approx(2.0 * arch.vocab * arch.hidden)  # the output layer's gradient
    assert fused.total < plain.total
    with pytest.raises(InputError, match="optimizer_in_backward"):
        PlanInputs(optimizer_in_backward="yes").validated()
    with pytest.raises(InputError, match="full training"):
        PlanInputs(optimizer_in_backward=True, train_method="lora").validated()
