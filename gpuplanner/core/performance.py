"""Compute, time and throughput (ESTIMATION.md §6).

- Training FLOPs ≈ 6·P_act·T (Kaplan et al. 2020; Hoffmann et al. 2022, C ≈ 6ND) plus the
  attention term 12·L·(a·d)·s per token (Narayanan et al. 2021, eq. 3; halved for causal
  attention, left out under the 6ND convention); LoRA skips the
  frozen weights' gradients: 4·P_act·T + 8·L·(a·d)·s·T. Full recomputation runs one extra
  forward pass (one third of 6N: 8·P·T hardware FLOPs in all).
- Decode is bandwidth bound at small batch: step = max(bytes read / (bandwidth × MBU),
  FLOPs / (peak × MFU)); prefill is compute bound (Pope et al. 2022; NVIDIA's throughput vs
  interactivity framing for trillion-parameter serving).
"""
from __future__ import annotations

import math

from gpuplanner.core.catalogs import GpuSpec
from gpuplanner.core.memory import kv_bytes_per_sequence
from gpuplanner.core.model import ModelArch, sizes


def compute_dtype(gpu: GpuSpec, precision: str, mode: str) -> tuple[str, str, str]:
    """(dtype whose dense peak applies, note, reason it cannot run) for a precision on a GPU.

    Training needs its dtype in hardware (int8/int4 are LoRA base weights: 16-bit math).
    Serving falls back to 16-bit math for weight-only formats: int4 is always W4A16, and
    int8/fp8 without tensor-core support run as W8A16; bf16 on a GPU without it runs as fp16."""
    def has(dtype):
        return math.isfinite(gpu.peak(dtype))

    half = "bf16" if has("bf16") else "fp16"
    if precision in ("fp32", "int4") or (precision == "int8" and mode == "train"):
        return ("fp32" if precision == "fp32" else half), "", ""
    if has(precision):
        return precision, "", ""
    if mode == "train":
        return precision, "", f"{gpu.name} has no {precision} support: training in {precision} is not possible"
    if precision == "bf16":
        return "fp16", f"{gpu.name} has no bf16: bf16 weights served as fp16", ""
    if precision == "fp8" and not has("bf16"):  # weight-only FP8 kernels need Ampere or newer
        return precision, "", f"{gpu.name} has no fp8 support: fp8 weights need an Ampere or newer GPU"
    return half, f"{gpu.name} has no {precision} tensor cores: weight-only {precision} with {half} math assumed", ""


# Share of the full (non-causal) attention term each FLOP convention counts: "full" is
# Narayanan et al. 2021 eq. 3; "causal" counts only the unmasked half of the score matrix
# (what FlashAttention's causal kernels compute); "6nd" is Kaplan/Chinchilla's C = 6ND alone.
FLOP_CONVENTIONS = {"full": 1.0, "causal": 0.5, "6nd": 0.0}


def training_flops(arch: ModelArch, tokens: float, seq: int, method: str, convention: str = "full") -> float:
    """Model FLOPs of training on `tokens` tokens under a FLOP convention (FLOP_CONVENTIONS), so
    an MFU is applied on the basis it was measured on."""
    factor, attn = (6.0, 12.0) if method == "full" else (4.0, 8.0)
    attn *= FLOP_CONVENTIONS[convention]
    return factor * sizes(arch).active * tokens + attn * arch.n_layers * arch.attn_width * seq * tokens


def hardware_flops(model_flops: float, recompute: str) -> float:
    """Full recomputation repeats the forward pass: 8/6 of the model FLOPs."""
    return model_flops * (8.0 / 6.0) if recompute == "full" else model_flops


def expert_fraction_read(arch: ModelArch, batch: int) -> float:
    """Expected share of routed experts a decode step touches with `batch` tokens:
    1 − (1 − k/E)^B, uniform routing assumed."""
    if not arch.is_moe:
        return 1.0
    return 1.0 - (1.0 - arch.experts_per_token / arch.n_experts) ** batch


class DecodeModel:
    """Time per decode step of one replica as a function of the batch size."""

    def __init__(self, arch: ModelArch, gpu: GpuSpec, replica_gpus: int, dense_weight_bytes: float,
                 expert_weight_bytes: float, kv_dtype: str, avg_context: int, peak_flops: float,
                 mfu: float, mbu: float):
        self.arch = arch
        self.replica_gpus = replica_gpus
        self.dense_bytes = dense_weight_bytes  # whole replica
        self.expert_bytes = expert_weight_bytes
        self.kv_bytes_per_seq = kv_bytes_per_sequence(arch, avg_context, kv_dtype, 1, 1)
        self.bandwidth = replica_gpus * gpu.bandwidth_bytes_per_s * mbu
        self.compute = replica_gpus * peak_flops * mfu
        self.flops_per_token = 2.0 * sizes(arch).active + 4.0 * arch.n_layers * arch.attn_width * avg_context

    def step_s(self, batch: int) -> float:
        read = self.dense_bytes + self.expert_bytes * expert_fraction_read(self.arch, batch) \
            + batch * self.kv_bytes_per_seq
        return max(read / self.bandwidth, batch * self.flops_per_token / self.compute)

    def per_user(self, batch: int) -> float:
        return 1.0 / self.step_s(batch)

    def total(self, batch: int) -> float:
        return batch / self.step_s(batch)

    def largest_batch_with_floor(self, floor_tps: float, max_batch: int) -> int:
        """Largest batch ≤ max_batch whose tokens/s per user stays ≥ floor (0 if none):
        per-user speed falls as the batch grows, so bisect."""
        if max_batch < 1 or self.per_user(1) < floor_tps:
            return 0
        lo, hi = 1, max_batch
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.per_user(mid) >= floor_tps:
                lo = mid
            else:
                hi = mid - 1
        return lo


def prefill_time_s(arch: ModelArch, prompt_tokens: int, replica_gpus: int, peak_flops: float,
                   mfu: float) -> float:
    """Compute-bound prefill of one prompt: 2·P_act·n + 2·L·(a·d)·n² (causal attention)."""
    flops = 2.0 * sizes(arch).active * prompt_tokens + 2.0 * arch.n_layers * arch.attn_width * prompt_tokens ** 2
    return flops / (replica_gpus * peak_flops * mfu)


def batch_points(max_batch: int) -> list[int]:
    """1, 2, 4, … up to the largest batch that fits, which is always included."""
    points, b = [], 1
    while b < max_batch:
        points.append(b)
        b *= 2
    if max_batch >= 1:
        points.append(max_batch)
    return points
