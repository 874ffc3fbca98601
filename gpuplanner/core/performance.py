"""Compute, time and throughput (ESTIMATION.md §6).

- Training FLOPs ≈ 6·P_act·T (Kaplan et al. 2020; Hoffmann et al. 2022, C ≈ 6ND) plus the
  attention term 12·L·(a·d)·s per token (Narayanan et al. 2021, eq. 3; halved for causal
  attention, left out under the 6ND convention); LoRA skips the
  frozen weights' gradients: 4·P_act·T + 8·L·(a·d)·s·T. Full recomputation runs one extra
  forward pass (one third of 6N: 8·P·T hardware FLOPs in all).
- Serving steps (decode, chunked prefill) are modelled in core/serving.py; this module keeps
  the expected share of experts a batch touches, which the step's bytes depend on.
"""
from __future__ import annotations

from gpuplanner.core.catalogs import GpuSpec
from gpuplanner.core.model import ModelArch, sizes


def compute_dtype(gpu: GpuSpec, precision: str, mode: str) -> tuple[str, str, str]:
    """(dtype whose dense peak applies, note, reason it cannot run) for a precision on a GPU.

    Training needs its dtype in hardware (int8/int4 are LoRA base weights: 16-bit math).
    Serving falls back to 16-bit math for weight-only formats: int4 is always W4A16, and
    int8/fp8 without tensor-core support run as W8A16, fp4 without fp4 cores (before Blackwell)
    as W4A16; bf16 on a GPU without it runs as fp16."""
    def has(dtype):  # a blank datasheet cell is unknown, not unsupported: the generation decides
        return gpu.supports(dtype)

    half = "bf16" if has("bf16") else "fp16"
    if precision in ("fp32", "int4") or (precision == "int8" and mode == "train"):
        return ("fp32" if precision == "fp32" else half), "", ""
    if has(precision):
        return precision, "", ""
    if mode == "train":
        return precision, "", f"{gpu.name} has no {precision} support: training in {precision} is not possible"
    if precision == "bf16":
        return "fp16", f"{gpu.name} has no bf16: bf16 weights served as fp16", ""
    if precision in ("fp8", "fp4") and not has("bf16"):  # weight-only FP8/FP4 kernels need Ampere or newer
        return precision, "", f"{gpu.name} has no {precision} support: {precision} weights need an Ampere or newer GPU"
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


def expert_untouched_share(arch: ModelArch) -> float:
    """Chance that one token's routing leaves a given routed expert untouched, 1 − k/E
    (uniform routing assumed): a step with B tokens reads 1 − (1 − k/E)^B of the experts."""
    return 1.0 - arch.experts_per_token / arch.n_experts


def batch_points(max_batch: int) -> list[int]:
    """1, 2, 4, … up to the largest batch that fits, which is always included."""
    points, b = [], 1
    while b < max_batch:
        points.append(b)
        b *= 2
    if max_batch >= 1:
        points.append(max_batch)
    return points
