"""Calibration from this machine: turn what the bundled benchmark measured (a BenchRun) into a
"This machine" GPU, find the catalog GPU the device is, and predict the benchmark's own
training step with the planner's formulas so the app can show predicted against measured
peak memory.

In bench, not core: it reads BenchRun (bench may import core; core never imports bench).
Torch-free and Qt-free.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from gpuplanner.bench.run import BenchRun
from gpuplanner.core.catalogs import PEAK_COLUMNS, GpuSpec
from gpuplanner.core.memory import DTYPE_BYTES, training_activation_bytes
from gpuplanner.core.model import ModelArch, sizes
from gpuplanner.core.units import GB

MACHINE_GPU = "This machine"


def can_plan_with(run: BenchRun) -> bool:
    """Whether the run measured enough for a "This machine" GPU: a matmul and the memory size."""
    return bool(run.matmul) and bool(run.device.total_memory_bytes)


def machine_gpu(run: BenchRun) -> GpuSpec:
    """A GPU catalog entry from a run's best figures. Its peaks are achieved throughput, so the
    estimator applies no further efficiency (MFU/MBU = 1) and says so. A dtype or bandwidth not
    measured is NaN (a gap), never 0. ValueError for a run without can_plan_with."""
    if not can_plan_with(run):
        raise ValueError("the run measured no matmul or did not report the device's memory")
    best = run.best_flops_per_s()
    bandwidth = run.best_bytes_per_s()
    memory_bytes = float(cast(int, run.device.total_memory_bytes))  # known: can_plan_with
    name = run.device.name
    return GpuSpec(
        name=MACHINE_GPU, full_name=f"{name} (measured)", memory_bytes_reported=memory_bytes,
        memory_gb_marketing=memory_bytes / GB, bandwidth_bytes_per_s=math.nan if bandwidth is None else bandwidth,
        peak_flops={dtype: best.get(dtype, math.nan) for dtype in PEAK_COLUMNS}, tdp_w=math.nan,
        interconnect="", measured=True, source=f"gpuplanner micro-benchmark on {name}",
        as_of=run.measured_at.date().isoformat(),
        notes="achieved matmul FLOP/s and device-copy bytes/s, not datasheet peaks",
    )


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


def match_gpu(device_name: str, memory_bytes: float, gpus: Mapping[str, GpuSpec]) -> GpuSpec | None:
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
