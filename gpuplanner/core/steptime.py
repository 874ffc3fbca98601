"""Training time from a step model, so the layout decides the speed (and MFU is an output).

One optimizer step on the busiest GPU (Narayanan et al. 2021, §2–3, "Efficient Large-Scale
Language Model Training on GPU Clusters Using Megatron-LM"):

    step = t_mb · (m + (p − 1)/v) + exposed data-parallel traffic + offload traffic

with m micro-batches per pipeline, p stages, v virtual stages per GPU (interleaved 1F1B: the
bubble (p − 1)/(m + p − 1) shrinks by v) and one micro-batch's time

    t_mb = compute at the generation's kernel efficiency
         + tensor-parallel collectives (4 all-reduces per layer, 6 with full recomputation;
           with sequence parallelism the same bytes as all-gather + reduce-scatter), each its
           ring bytes over the link plus NCCL's latency for its 2(n − 1) ring steps
         + expert all-to-all (dispatch and combine, forward and backward)
         + pipeline send/receive of the stage boundary's activations.

Data parallelism all-reduces (ZeRO 0–2: reduce-scatter + all-gather, the same bytes) the
gradients once per step, overlapped with the last micro-batch's backward pass; ZeRO-3 gathers
the parameters twice and reduce-scatters the gradients every micro-batch, overlapped with that
micro-batch's compute (Rajbhandari et al. 2020, §7). Every collective moves 2(n − 1)/n of its
buffer per GPU (ring) over the slowest link its group crosses (core/links.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gpuplanner.core.catalogs import GpuSpec
from gpuplanner.core.links import PCIE_ASSUMED_BYTES_PER_S, Links
from gpuplanner.core.memory import activation_offload_bytes, edge_params, stage_share
from gpuplanner.core.model import ModelArch, ModelSizes, sizes
from gpuplanner.core.offload import NVME_ASSUMED_BYTES_PER_S
from gpuplanner.core.performance import hardware_flops, training_flops

# Share of the dense peak the GEMMs, attention and fused element-wise kernels reach together,
# per GPU generation, fitted once on the accuracy ledger's training rows (NeMo 24.07 on H100,
# Megatron-LM's Table 1 on A100, Llama 3 on H100): the two generations with rows. Others take
# the nearest fitted generation's figure (an assumption the plan lists).
KERNEL_EFFICIENCY = {"ampere": 0.50, "hopper": 0.42}
KERNEL_EFFICIENCY_SOURCE = ("fitted on the accuracy ledger's training rows (NeMo 24.07/AutoModel, Megatron-LM "
                            "Table 1, Llama 3): median error 5.2 % on 24 rows")
NEAREST_GENERATION = {"volta": "ampere", "turing": "ampere", "ada": "ampere", "blackwell": "hopper"}
# Share of the per-layer tensor- and expert-parallel collectives hidden behind the neighbouring
# layers' compute (communication overlap in Transformer Engine / DeepEP), fitted with the
# efficiencies on the same rows.
COLLECTIVE_OVERLAP = 0.7
AUTO_STEP_TOKENS = 4 * 2**20  # global batch when not given: 4M tokens, Llama 2's (Touvron et al. 2023, §2.2)


def kernel_efficiency(generation: str) -> float:
    """The fitted kernel efficiency of a GPU generation (the nearest fitted one otherwise)."""
    return KERNEL_EFFICIENCY.get(generation) or KERNEL_EFFICIENCY[NEAREST_GENERATION.get(generation, "ampere")]


def ring_bytes(buffer_bytes: float, group: int) -> float:
    """Bytes one GPU sends in a ring all-reduce of `buffer_bytes` among `group` GPUs."""
    return 2.0 * (group - 1) / group * buffer_bytes if group > 1 else 0.0


def ring_latency_s(links: Links, group: int) -> float:
    """NCCL's latency of one ring all-reduce of gradient-sized buffers (Simple protocol) among
    `group` GPUs, its bytes aside (core.links)."""
    return links.collective_latency_s(group, "simple")


@dataclass(frozen=True)
class StepSetup:
    """What the step depends on besides the layout (computed once per estimate)."""

    arch: ModelArch
    seq_len: int
    micro_batch: int
    global_batch: int  # sequences per optimizer step (0: AUTO_STEP_TOKENS)
    interleave: int  # virtual pipeline stages per GPU
    flops_per_token: float  # hardware FLOPs per token the kernels run (recomputation included)
    attention_flops_per_token: float  # of which the score and value products (16-bit even in fp8 training)
    attention_peak_flops: float  # the 16-bit peak those run at
    act_bytes: float  # width of the activations the collectives move
    grad_bytes: float  # width of the gradients data parallelism reduces
    sizes: ModelSizes
    adapters: float  # LoRA adapter parameters (0: full training, every parameter's gradient is reduced)
    recompute: str
    peak_flops: float
    efficiency: float
    links: Links
    offload_optimizer: str = "none"  # offload.OFFLOAD_DEVICES
    offload_params: str = "none"
    activation_offload_bytes: float = 0.0  # per micro-batch at t = 1, copied to the host and back


@dataclass(frozen=True)
class StepTime:
    """One optimizer step on the busiest GPU, by cause (seconds)."""

    step_s: float
    compute_s: float  # all micro-batches' compute
    tensor_parallel_s: float
    expert_parallel_s: float
    pipeline_p2p_s: float
    bubble_s: float
    data_parallel_s: float  # exposed (not hidden behind compute)
    offload_s: float
    micro_batches: int
    tokens_per_step: float  # whole job

    def breakdown(self) -> dict:
        """Seconds per step by cause, for the plan's JSON and its explanation."""
        return {"compute": self.compute_s, "tensor_parallel": self.tensor_parallel_s,
                "expert_parallel": self.expert_parallel_s, "pipeline_p2p": self.pipeline_p2p_s,
                "pipeline_bubble": self.bubble_s, "data_parallel": self.data_parallel_s, "offload": self.offload_s}


def micro_batches(s: StepSetup, dp: int) -> int:
    """Micro-batches per pipeline per step: the global batch over dp ranks of `micro_batch`."""
    per_rank = s.global_batch / dp if s.global_batch else AUTO_STEP_TOKENS / (s.seq_len * dp)
    return max(1, math.ceil(per_rank / s.micro_batch - 1e-9))


def trained_params_per_gpu(s: StepSetup, tp: int, pp: int, ep: int) -> float:
    """Parameters whose gradients one GPU reduces: its stage's blocks (routed experts split over
    e ranks) and edge layers over t; LoRA only its adapters."""
    share = stage_share(s.arch.n_layers, pp)
    if s.adapters:
        return s.adapters * share / tp
    sz = s.sizes
    return (sz.block_dense * share + edge_params(sz, pp)) / tp + sz.block_experts * share / (tp * ep)


def step_time(s: StepSetup, dp: int, tp: int, pp: int, ep: int, zero: int) -> StepTime:
    """The step time of one layout (see the module docstring)."""
    arch, links = s.arch, s.links
    m = micro_batches(s, dp)
    tokens = s.micro_batch * s.seq_len  # per micro-batch per data-parallel rank
    share = stage_share(arch.n_layers, pp)
    layers = math.ceil(arch.n_layers / pp)
    linear = s.flops_per_token - s.attention_flops_per_token
    compute = (linear / s.peak_flops + s.attention_flops_per_token / s.attention_peak_flops) \
        * tokens * share / tp / s.efficiency
    activation = tokens * arch.hidden * s.act_bytes
    passes = 6 if s.recompute == "full" else 4  # collectives per layer per micro-batch
    exposed = 1.0 - COLLECTIVE_OVERLAP
    tp_s = exposed * layers * passes * (ring_bytes(activation, tp) / links.bytes_per_s(tp)
                                        + ring_latency_s(links, tp))
    moe_layers = math.ceil(arch.moe_layers * share)
    ep_s = 0.0
    if ep > 1:
        routed = activation * arch.experts_per_token / tp
        ep_s = exposed * moe_layers * passes * (ep - 1) / ep * routed / links.bytes_per_s(tp * ep)
    p2p_s = 2 * s.interleave * activation / tp / links.bytes_per_s(tp * pp) if pp > 1 else 0.0
    if s.interleave > 1:  # the interleaved schedule overlaps its sends with the other chunks' compute
        p2p_s = max(0.0, p2p_s - compute)
    params = trained_params_per_gpu(s, tp, pp, ep)
    dp_group = links.bytes_per_s(tp * pp * dp)
    t_mb = compute + tp_s + ep_s + p2p_s
    act_s = max(0.0, 2 * s.activation_offload_bytes / tp / _pcie(links) - compute)  # overlapped with compute
    t_mb += act_s
    zero3_s = 0.0
    if zero >= 3 and dp > 1:  # two parameter gathers and one gradient reduce-scatter per micro-batch
        per_mb = 1.5 * ring_bytes(params * s.act_bytes, dp) / dp_group
        zero3_s = max(0.0, per_mb - compute)
        t_mb += zero3_s
    bubble = t_mb * (pp - 1) / s.interleave
    dp_s = 0.0
    if zero < 3:  # once per step, hidden behind the last micro-batch's backward pass (2/3 of it)
        dp_s = max(0.0, ring_bytes(params * s.grad_bytes, dp) / dp_group - 2.0 / 3.0 * compute)
    offload_s = _offload_s(s, params, dp, zero, m) + act_s * m
    step = t_mb * m + bubble + dp_s + offload_s
    return StepTime(step, compute * m, tp_s * m, ep_s * m, p2p_s * m, bubble, dp_s + zero3_s * m, offload_s, m,
                    float(m * s.micro_batch * s.seq_len * dp))


def _pcie(links: Links) -> float:
    return links.pcie_bytes_per_s if math.isfinite(links.pcie_bytes_per_s) else PCIE_ASSUMED_BYTES_PER_S


def _offload_s(s: StepSetup, params: float, dp: int, zero: int, m: int) -> float:
    """Host↔GPU traffic per step, not overlapped (ZeRO-Offload §4, ZeRO-Infinity §5): with the
    optimizer offloaded each GPU sends its gradient shard down and takes its updated 16-bit
    weights back once per step; with the parameters offloaded it also fetches its weight shard
    for every micro-batch's forward and backward pass. Over PCIe, or the node's NVMe drive."""
    shard = params / dp if zero >= 1 else params
    moved = 2 * s.act_bytes * shard if s.offload_optimizer != "none" else 0.0
    if s.offload_params != "none":
        moved += 2 * s.act_bytes * shard * m
    if not moved:
        return 0.0
    links = s.links
    pcie = _pcie(links)
    nvme = NVME_ASSUMED_BYTES_PER_S / links.gpus_per_instance
    slowest = nvme if "nvme" in (s.offload_optimizer, s.offload_params) else pcie
    return moved / min(pcie, slowest)


def step_setup(inputs, arch: ModelArch, gpu: GpuSpec, links: Links, peak: float, recompute: str,
               micro_batch: int, adapters: float) -> StepSetup:
    """The step model's constants for validated PlanInputs at the chosen recomputation and
    micro-batch. The kernels run causal attention's unmasked half with FlashAttention, all of
    the score matrix without it; FP8 training runs only the linear layers in FP8 (Micikevicius
    et al. 2022, "FP8 Formats for Deep Learning"), attention at the 16-bit peak; gradients are reduced in fp32 where the framework keeps fp32
    main gradients (Megatron-LM, HF Trainer) or fp32 gradients were asked for."""
    convention = "causal" if inputs.flash_attention else "full"
    flops = hardware_flops(training_flops(arch, 1.0, inputs.seq_len, inputs.train_method, convention), recompute)
    attention = flops - hardware_flops(training_flops(arch, 1.0, inputs.seq_len, inputs.train_method, "6nd"),
                                       recompute)
    half = gpu.peak("bf16") if math.isfinite(gpu.peak("bf16")) else gpu.peak("fp16")
    wide = inputs.precision == "fp32"
    fp32_grads = wide or inputs.grad_dtype == "fp32" or inputs.framework in ("megatron", "hf")
    return StepSetup(arch=arch, seq_len=inputs.seq_len, micro_batch=micro_batch, global_batch=inputs.global_batch,
                     interleave=inputs.interleave, flops_per_token=flops, attention_flops_per_token=attention,
                     attention_peak_flops=half if inputs.precision == "fp8" and math.isfinite(half) else peak,
                     act_bytes=4.0 if wide else 2.0,
                     grad_bytes=4.0 if fp32_grads else 2.0, sizes=sizes(arch), adapters=adapters,
                     recompute=recompute, peak_flops=peak,
                     efficiency=1.0 if gpu.measured else kernel_efficiency(gpu.generation), links=links,
                     offload_optimizer=inputs.offload_optimizer, offload_params=inputs.offload_params,
                     activation_offload_bytes=activation_offload_bytes(arch, inputs.seq_len, micro_batch, 1, recompute,
                                                                       inputs.flash_attention, 4.0 if wide else 2.0)
                     if inputs.activation_offload else 0.0)
