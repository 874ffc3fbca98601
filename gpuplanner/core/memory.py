"""Per-GPU memory of training and inference, component by component (ESTIMATION.md §3–4).

All functions return bytes. Sources:
- model states and ZeRO sharding: Rajbhandari et al., "ZeRO", SC'20 (§3, Fig. 1);
- activations: Korthikanti et al., "Reducing Activation Recomputation in Large Transformer
  Models", 2022 (§4, eq. 1–2), generalised here to GQA, SwiGLU and MoE;
- QLoRA storage: Dettmers et al., "QLoRA", 2023 (NF4 + double quantization, §3);
- KV cache: 2·L·k·d·bytes per token (Pope et al., "Efficiently Scaling Transformer
  Inference", 2022); MLA latent cache: DeepSeek-V2 paper (§2.1).
"""
from __future__ import annotations

import math
from typing import NamedTuple

from gpuplanner.core.model import GATED_MLPS, ModelArch, ModelSizes

DTYPE_BYTES = {"fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "fp4": 0.5}
INT4_GROUP_BYTES = 4 / 128  # 16-bit scale + 16-bit zero per group of 128 weights (AWQ/GPTQ)
FP4_BLOCK_BYTES = 1 / 16  # NVFP4: one FP8 scale per block of 16 weights (NVIDIA's NVFP4 format)
MXFP4_BLOCK_BYTES = 1 / 32  # MXFP4: one E8M0 scale byte per block of 32 weights (OCP Microscaling spec v1.0)
QUANTIZED = ("fp8", "int8", "int4", "fp4")  # weight formats whose embeddings and head stay 16-bit
QLORA_BYTES = 0.5 + 0.127 / 8  # NF4 + double-quantized constants: 0.127 bit/param (QLoRA §3)
OPTIMIZER_BYTES = {"adamw": 8.0, "adamw8bit": 2.0, "sgd_momentum": 4.0, "sgd": 0.0, "lion": 4.0}
LORA_PARAM_BYTES = 4.0  # PEFT keeps adapter weights in fp32; their gradients are fp32 too
PREFILL_CHUNK_TOKENS = 2048
LOSS_CHUNKS = 8  # torchtune's CEWithChunkedOutputLoss default num_output_chunks  # chunked prefill (vLLM's default order of magnitude)


def weight_bytes_per_param(precision: str) -> float:
    """Stored bytes per linear-layer weight, including group-wise int4 and block-wise fp4 scales."""
    if precision == "int4":
        return DTYPE_BYTES["int4"] + INT4_GROUP_BYTES
    if precision == "fp4":
        return DTYPE_BYTES["fp4"] + FP4_BLOCK_BYTES
    return DTYPE_BYTES[precision]


class WeightBytes(NamedTuple):
    """Stored bytes per parameter of each part of a model at one precision."""

    dense: float  # transformer blocks outside the routed experts
    experts: float  # routed experts
    edge: float  # embedding and output head

    def replica(self, sz: ModelSizes) -> tuple[float, float]:
        """(everything but the routed experts, the routed experts): bytes of one whole copy."""
        return self.dense * sz.block_dense + self.edge * (sz.embed + sz.head), self.experts * sz.block_experts

    def step_read(self, sz: ModelSizes, tied: bool) -> float:
        """Bytes of everything but the routed experts that one decode step reads: the blocks and
        the output head; an untied embedding table is only indexed (a row per token), not read."""
        dense, _ = self.replica(sz)
        return dense if tied else dense - self.edge * sz.embed


def weight_bytes(arch: ModelArch, precision: str) -> WeightBytes:
    """Bytes per parameter by part: quantized formats shrink the blocks' linear weights and keep
    embedding and head 16-bit; an MXFP4 checkpoint (gpt-oss) planned at fp4 stores only the
    experts' matrices in MXFP4 (4.25 bits) and the rest of the blocks 16-bit."""
    edge = 2.0 if precision in QUANTIZED else DTYPE_BYTES[precision]
    if arch.checkpoint_quantization == "mxfp4" and precision == "fp4":
        return WeightBytes(2.0, DTYPE_BYTES["fp4"] + MXFP4_BLOCK_BYTES, edge)
    block = weight_bytes_per_param(precision)
    return WeightBytes(block, block, edge)


def optimizer_bytes_per_param(optimizer: str, arch: ModelArch) -> float:
    """Adafactor (no momentum) stores row and column second-moment factors: 4·(m+n) bytes per
    m×n matrix, about 4·(1/h + 1/i) bytes per parameter (Shazeer & Stern 2018)."""
    if optimizer == "adafactor":
        return 4.0 * (1.0 / arch.hidden + 1.0 / max(arch.intermediate, 1))
    return OPTIMIZER_BYTES[optimizer]


def stage_share(n_layers: int, pp: int) -> float:
    """Share of the transformer blocks on the heaviest pipeline stage: ceil(L/p)/L."""
    return math.ceil(n_layers / pp) / n_layers


def edge_params(sz: ModelSizes, pp: int) -> float:
    """Embedding and head on the heaviest stage: both with p = 1, else the larger of the two
    (first stage: embedding; last stage: head)."""
    return sz.embed + sz.head if pp == 1 else max(sz.embed, sz.head)


def lora_adapter_params(arch: ModelArch, rank: int) -> float:
    """r·(d_in + d_out) for every linear matrix of every block (attention + MLP), the QLoRA
    paper's "all linear layers" setting."""
    h, a = arch.hidden, arch.n_heads
    if arch.is_mla:
        qk = arch.qk_nope_head_dim + arch.qk_rope_head_dim
        q = (h + arch.q_lora_rank) + (arch.q_lora_rank + a * qk) if arch.q_lora_rank else h + a * qk
        kv = (h + arch.kv_lora_rank + arch.qk_rope_head_dim) + \
             (arch.kv_lora_rank + a * (arch.qk_nope_head_dim + arch.v_head_dim))
        attn = q + kv + (a * arch.v_head_dim + h)
    else:
        d, k = arch.d_head, arch.n_kv_heads
        attn = (h + a * d) + 2 * (h + k * d) + (a * d + h)
    matrices = 3 if arch.mlp_kind in GATED_MLPS else 2
    dense_mlp = matrices * (h + arch.intermediate)
    moe_mlp = (arch.n_experts + arch.n_shared_experts) * matrices * (h + arch.expert_width)
    dense_layers = arch.n_layers - arch.moe_layers
    attn_blocks = arch.n_layers + arch.cross_attention_layers
    return rank * (attn_blocks * attn + dense_layers * dense_mlp + arch.moe_layers * moe_mlp)


def activation_bytes_per_layer(arch: ModelArch, seq: int, batch: int, act_bytes: float,
                               store_scores: bool, dropout: bool = True) -> float:
    """Activations one transformer block stores for backward, no parallelism.

    Korthikanti et al. (2022) count, per layer, with 16-bit activations and 1-byte dropout
    masks: attention 11·sbh + 5·a·s²·b, MLP 19·sbh, two LayerNorms 4·sbh, i.e.
    s·b·h·(34 + 5·a·s/h). Generalised: Q/K/V/out widths from the attention shape (GQA shrinks
    K and V), an MLP of width i with 2 (GELU) or 3 (SwiGLU) stored tensors, MoE tokens going
    through top-k + shared experts. With act_bytes = 2, i = 4h, GELU, k = a it reduces to the
    paper's 34 + 5as/h (tested). store_scores=False drops the a·s² terms (FlashAttention or
    selective recomputation); dropout=False drops the 1-byte masks (models trained without
    dropout, like the benchmark's own step). Encoder-decoder: a decoder layer's cross-attention
    stores what a self-attention block does, plus its norm (equal encoder and decoder lengths).
    """
    s, b, h = seq, batch, arch.hidden
    if arch.is_mla:
        q_w = k_w = arch.n_heads * (arch.qk_nope_head_dim + arch.qk_rope_head_dim)
        v_w = o_w = arch.n_heads * arch.v_head_dim
    else:
        q_w = o_w = arch.n_heads * arch.d_head
        k_w = v_w = arch.n_kv_heads * arch.d_head
    mask = 1.0 if dropout else 0.0
    attn = act_bytes * s * b * (h + q_w + k_w + v_w + o_w) + mask * s * b * h
    if store_scores:  # softmax output, and with dropout its mask and output
        attn += ((2 * act_bytes + 1) if dropout else act_bytes) * arch.n_heads * s * s * b
    if arch.is_moe:
        width: float = (arch.experts_per_token + arch.n_shared_experts) * arch.expert_width
        dense_share = arch.first_dense_layers / arch.n_layers
        width = dense_share * arch.intermediate + (1 - dense_share) * width
    else:
        width = arch.intermediate
    stored = 3 if arch.mlp_kind in GATED_MLPS else 2  # gate+up+product, or pre+post GELU
    mlp = act_bytes * s * b * h + mask * s * b * h + act_bytes * s * b * stored * width
    norms = 2 * act_bytes * s * b * h
    cross = arch.cross_attention_layers / arch.n_layers  # decoder layers' cross-attention, on average
    return attn * (1 + cross) + mlp + norms * (1 + cross / 2)


def training_activation_bytes(arch: ModelArch, seq: int, batch: int, tp: int, recompute: str,
                              flash_attention: bool, act_bytes: float, dropout: bool = True,
                              chunked_loss: bool = False, offload: bool = False, eager_loss: bool = False) -> float:
    """Activations on the busiest GPU (the first pipeline stage under 1F1B holds p
    micro-batches of L/p layers, i.e. L layers' worth whatever p is). Tensor parallelism with
    sequence parallelism divides everything by t. Full recomputation keeps each layer's
    2·s·b·h input plus one layer's working set; activation offloading keeps what each layer
    stores in host memory (activation_offload_bytes): the GPU holds the working layer and the
    next layer's tensors being copied back. The loss (loss_bytes) runs at the end of forward and
    its tensors are freed by the output layer's backward, before the last layer is recomputed
    or fetched back: those working sets never coexist with it, so the peak holds the larger of
    the two. Without recomputation every layer's activations are still held at the loss."""
    # Scores are stored unless FlashAttention never materializes them or selective
    # recomputation rebuilds them; under full recomputation the one re-run layer holds them.
    store_scores = recompute != "selective" and not flash_attention
    per_layer = activation_bytes_per_layer(arch, seq, batch, act_bytes, store_scores, dropout)
    kept = _kept_per_layer(arch, seq, batch, act_bytes, per_layer, recompute)
    loss = loss_bytes(seq * batch, arch.vocab, act_bytes, chunked_loss, eager_loss)
    if offload:
        peak = max(per_layer + kept, loss)
    elif recompute == "full":
        peak = arch.n_layers * kept + max(per_layer, loss)
    else:
        peak = arch.n_layers * per_layer + loss
    return peak / tp


def loss_bytes(tokens: int, vocab: int, act_bytes: float, chunked: bool, eager: bool) -> float:
    """The logits and what cross-entropy keeps for and builds in backward, at their peak. A
    fused loss (Megatron's vocab-parallel cross-entropy turns the fp32 logits into the softmax
    and then into its gradient in place) holds one fp32 copy, 4·n·V; an eager one
    (torch.nn.functional.cross_entropy on fp32 logits) three at its backward: the output
    log_softmax keeps for backward, the gradient nll_loss hands it and the gradient it returns,
    12·n·V; a chunked one (torchtune's CEWithChunkedOutputLoss) the 16-bit logits plus one
    fp32 chunk of LOSS_CHUNKS."""
    if chunked:
        return (act_bytes + 4.0 / LOSS_CHUNKS) * tokens * vocab
    return (12.0 if eager else 4.0) * tokens * vocab


def _kept_per_layer(arch: ModelArch, seq: int, batch: int, act_bytes: float, per_layer: float,
                    recompute: str) -> float:
    """What one layer keeps for backward: its input under full recomputation, else all it stores."""
    return act_bytes * seq * batch * arch.hidden if recompute == "full" else per_layer


def activation_offload_bytes(arch: ModelArch, seq: int, batch: int, tp: int, recompute: str, flash_attention: bool,
                             act_bytes: float) -> float:
    """Host memory one GPU's offloaded activations take: every layer's kept tensors."""
    per_layer = activation_bytes_per_layer(arch, seq, batch, act_bytes, recompute != "selective" and not flash_attention)
    return arch.n_layers * _kept_per_layer(arch, seq, batch, act_bytes, per_layer, recompute) / tp


def replicated_activation_bytes(arch: ModelArch, seq: int, batch: int, recompute: str, act_bytes: float,
                                dropout: bool = True) -> float:
    """The part of training_activation_bytes (at t = 1) that tensor parallelism without
    sequence parallelism leaves whole on every rank: per layer the attention and MLP inputs, the
    two LayerNorm inputs and the two dropout masks, (4·bytes + 2·mask)·s·b·h (Korthikanti et
    al. 2022, eq. 2: the 10·sbh of sbh·(10 + 24/t + 5as/(ht))); under full recomputation each
    layer's stored input and the re-run layer's share."""
    sbh = seq * batch * arch.hidden
    per_layer = (4 * act_bytes + (2.0 if dropout else 0.0)) * sbh
    if recompute == "full":
        return arch.n_layers * act_bytes * sbh + per_layer
    return arch.n_layers * per_layer


def stage_layers(n_layers: int, pp: int) -> list[range]:
    """The layers of each pipeline stage, split evenly with the remainder on the first stages
    (vLLM's and Megatron's default partition)."""
    bounds = [0]
    for stage in range(pp):
        bounds.append(bounds[-1] + n_layers // pp + (1 if stage < n_layers % pp else 0))
    return [range(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def kv_bytes_per_sequence(arch: ModelArch, tokens: int, kv_dtype: str, tp: int, pp: int) -> float:
    """KV cache of one sequence on one GPU of the heaviest pipeline stage: 2·k·d values per
    token per layer (MLA: its latent, replicated across tensor ranks), k split over tensor ranks
    (replicated when k < t); a sliding-window layer holds at most the window's tokens (all
    layers, or those `layer_types` names, as vLLM allocates per layer type)."""
    per_layer = arch.kv_values_per_rank(tp)
    windowed = min(tokens, arch.sliding_window) if arch.sliding_window else tokens
    held = max(len(layers) * tokens - arch.sliding_layers(layers.start, layers.stop) * (tokens - windowed)
               for layers in stage_layers(arch.n_layers, pp))
    return per_layer * DTYPE_BYTES[kv_dtype] * held


def prefill_activation_bytes(arch: ModelArch, concurrency: int, tp: int) -> float:
    """Working set of one chunked-prefill step (an approximation): 16-bit hidden states of a
    chunk through the widest layer, 2·c·(4h + 3i)/t bytes, plus fp32 logits of the sequences in
    the batch, 4·n·V/t."""
    chunk = PREFILL_CHUNK_TOKENS
    width = arch.expert_width * max(arch.experts_per_token, 1) if arch.is_moe else arch.intermediate
    return (2.0 * chunk * (4 * arch.hidden + 3 * width) + 4.0 * concurrency * arch.vocab) / tp
