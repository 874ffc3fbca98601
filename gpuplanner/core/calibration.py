"""Calibration from this machine (ESTIMATION.md §7): turn what the bundled benchmark
measured into a "This machine" GPU, and predict the benchmark's own training step so the
app can show predicted against measured peak memory.

Torch-free: the benchmark's results arrive as plain dicts (gpuplanner.bench protocol).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gpuplanner.core.catalogs import PEAK_COLUMNS, GpuSpec
from gpuplanner.core.memory import DTYPE_BYTES, training_activation_bytes
from gpuplanner.core.model import ModelArch, sizes

MACHINE_GPU = "This machine"


def machine_gpu(device_name: str, memory_bytes: float, tflops_by_dtype: dict, bandwidth_gb_s: float,
                measured_on: str) -> GpuSpec:
    """A GPU catalog entry from measured figures. Its peaks are achieved throughput, so the
    estimator applies no further efficiency (MFU/MBU = 1) and says so."""
    peaks = {dtype: float(tflops_by_dtype.get(dtype, math.nan)) * 1e12 for dtype in PEAK_COLUMNS}
    return GpuSpec(
        name=MACHINE_GPU, full_name=f"{device_name} (measured)", memory_bytes_reported=float(memory_bytes),
        memory_gb_marketing=memory_bytes / 1e9, bandwidth_bytes_per_s=bandwidth_gb_s * 1e9,
        peak_flops=peaks, tdp_w=math.nan, interconnect="", measured=True,
        source=f"gpuplanner micro-benchmark on {device_name}", as_of=measured_on,
        notes="achieved matmul TFLOP/s and device-copy GB/s, not datasheet peaks",
    )


def best_measured(results: list[dict]) -> tuple[dict, float]:
    """({dtype: best achieved TFLOP/s}, best copy GB/s) from the benchmark's result messages."""
    tflops: dict[str, float] = {}
    bandwidth = math.nan
    for r in results:
        if r.get("phase") == "matmul" and r.get("tflops"):
            dtype = r.get("dtype", "")
            tflops[dtype] = max(tflops.get(dtype, 0.0), float(r["tflops"]))
        elif r.get("phase") == "bandwidth" and r.get("gbytes_per_s"):
            bandwidth = max(0.0 if math.isnan(bandwidth) else bandwidth, float(r["gbytes_per_s"]))
    return tflops, bandwidth


def bench_model(config: dict) -> ModelArch:
    """The benchmark's TinyGpt: pre-norm GPT blocks (biases everywhere, 4h GELU MLP), learned
    positions of seq_len, untied bias-free LM head."""
    return ModelArch(
        name="benchmark step", n_layers=config["layers"], hidden=config["hidden"],
        intermediate=4 * config["hidden"], n_heads=config["heads"], n_kv_heads=config["heads"],
        vocab=config["vocab"], max_positions=config["seq_len"], mlp_kind="gelu", norm="layernorm",
        bias="all", positions="learned", source="gpuplanner.bench.kernels.TinyGpt",
    )


@dataclass(frozen=True, slots=True)
class StepPrediction:
    params: int
    weights_bytes: float
    gradients_bytes: float
    optimizer_bytes: float
    activations_bytes: float

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.gradients_bytes + self.optimizer_bytes + self.activations_bytes


def predict_train_step(config: dict) -> StepPrediction:
    """Peak memory of the benchmark's step: weights, gradients and two AdamW moments, all in
    the model's dtype (no mixed precision, no master copy), plus activations without dropout
    with fused attention (scaled_dot_product_attention stores no scores) and fp32 logits."""
    arch = bench_model(config)
    n = sizes(arch).total
    b = DTYPE_BYTES[config.get("dtype", "fp32")]
    acts = training_activation_bytes(arch, config["seq_len"], config["batch"], 1, "none", True, b, dropout=False)
    return StepPrediction(n, n * b, n * b, 2 * n * b, acts)


def match_gpu(device_name: str, memory_bytes: float, gpus: dict) -> GpuSpec | None:
    """The catalog GPU a driver-reported name refers to ("NVIDIA A100-SXM4-80GB" → A100-80GB),
    or None (a CPU, or a GPU the catalog lacks). The catalog name's first word must appear in
    the device name (adjacent words joined count too: "RTX 4090" → rtx4090); then the entry
    with the fewest words the device name lacks, the most it has, and the closest memory wins."""
    tokens = re.findall(r"[a-z0-9]+", device_name.lower())
    words = set(tokens) | {a + b for a, b in zip(tokens, tokens[1:], strict=False)}
    best, best_key = None, None
    for gpu in gpus.values():
        stem = re.findall(r"[a-z0-9]+", gpu.name.lower())
        if gpu.measured or not stem or stem[0] not in words:
            continue
        key = (len(set(stem) - words), -len(set(stem) & words), abs(gpu.capacity_bytes - memory_bytes))
        if best_key is None or key < best_key:
            best, best_key = gpu, key
    return best
