"""Calibration: the benchmark's figures become a "This machine" GPU, and the benchmark's own
training step is predicted from the same formulas the planner uses; the last test runs the real
child and compares the prediction with what it measures."""
import json
import math
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from gpuplanner.bench.calibration import (
    MACHINE_GPU,
    bench_model,
    can_plan_with,
    machine_gpu,
    match_gpu,
    predict_train_step,
)
from gpuplanner.bench.run import BenchRun
from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.memory import activation_bytes_per_layer
from gpuplanner.core.model import sizes

HELLO = {"type": "hello", "device_type": "cpu", "device_name": "AMD EPYC (2 threads)", "threads": 2,
         "total_memory_bytes": 24 * 2**30}
TRAIN_CONFIG = {"layers": 2, "hidden": 256, "heads": 4, "vocab": 2048, "seq_len": 128, "batch": 4, "dtype": "fp32"}
RESULTS = [
    {"type": "result", "phase": "matmul", "dtype": "fp32", "size": 1024, "flops_per_s": 0.18e12},
    {"type": "result", "phase": "matmul", "dtype": "fp32", "size": 2048, "flops_per_s": 0.19e12},
    {"type": "result", "phase": "matmul", "dtype": "bf16", "size": 1024, "flops_per_s": 0.41e12},
    {"type": "result", "phase": "bandwidth", "tensor_bytes": 1 << 25, "bytes_per_s": 30.5e9},
    {"type": "result", "phase": "train", "config": TRAIN_CONFIG, "param_count": 2_661_376,
     "peak_memory_bytes": 80_000_000},
]
RUN = BenchRun.from_messages(HELLO, RESULTS, datetime(2026, 11, 21, 9, 30, tzinfo=UTC))


def test_best_measured_figures():
    assert RUN.best_flops_per_s() == {"fp32": 0.19e12, "bf16": 0.41e12} and RUN.best_bytes_per_s() == 30.5e9


def test_this_machine_plans_with_measured_throughput():
    gpu = machine_gpu(RUN)
    assert gpu.as_of == "2026-11-21" and gpu.capacity_bytes == 24 * 2**30 and gpu.measured
    catalogs = load_catalogs().with_gpu(gpu)
    r = estimate(PlanInputs(model="gpt2", mode="train", precision="bf16", instance="", gpu=MACHINE_GPU,
                            training_tokens=1e8, mfu=0.4), catalogs)
    assert r.fits and r.gpu_name == MACHINE_GPU
    assert r.training_time_s == pytest.approx(r.hardware_flops / (r.gpus * 0.41e12))  # no MFU on top
    assert any("measured throughput" in w for w in r.warnings)
    assert math.isnan(gpu.peak("fp8"))  # not measured: a gap, not a zero


def test_bench_model_matches_hand_count():
    """TinyGpt, default CPU config: embeddings (V + s)·h, blocks 12h² + 13h, final LN 2h, head V·h."""
    config = {"layers": 2, "hidden": 256, "heads": 4, "vocab": 2048, "seq_len": 128, "batch": 4, "dtype": "fp32"}
    h, v, s = 256, 2048, 128
    expected = (v + s) * h + 2 * (12 * h * h + 13 * h) + 2 * h + v * h
    assert sizes(bench_model(config)).total == expected == 2_661_376


def test_train_step_prediction_components():
    config = {"layers": 2, "hidden": 256, "heads": 4, "vocab": 2048, "seq_len": 128, "batch": 4, "dtype": "fp32"}
    p = predict_train_step(config)
    assert p.weights_bytes == p.gradients_bytes == 4 * p.params
    assert p.optimizer_bytes == 8 * p.params  # two fp32 AdamW moments
    per_layer = activation_bytes_per_layer(bench_model(config), 128, 4, 4.0, store_scores=False, dropout=False)
    sbh = 128 * 4 * 256
    assert per_layer == 4 * sbh * (5 + 1 + 8 + 2)  # attention 5h, MLP input h + 2·4h, two norms
    assert p.activations_bytes == pytest.approx(2 * per_layer + 4 * 128 * 4 * 2048)
    bf16 = predict_train_step({**config, "dtype": "bf16"})
    assert bf16.weights_bytes == 2 * p.params and bf16.activations_bytes < p.activations_bytes


@pytest.mark.parametrize("device,memory_gb,expected", [
    ("NVIDIA A100-SXM4-80GB", 85.1, "A100-80GB"), ("NVIDIA A100-SXM4-40GB", 42.5, "A100"),
    ("NVIDIA A100-PCIE-40GB", 42.5, "A100-PCIe-40GB"), ("NVIDIA H100 80GB HBM3", 85.5, "H100"),
    ("NVIDIA H100 PCIe", 85.5, "H100-PCIe"), ("NVIDIA H100 NVL", 100.5, "H100-NVL"), ("Tesla T4", 15.8, "T4"),
    ("NVIDIA L4", 23.7, "L4"), ("NVIDIA L40S", 48.3, "L40S"), ("NVIDIA GeForce RTX 4090", 25.7, "RTX4090"),
    ("NVIDIA A10G", 23.7, "A10G"), ("NVIDIA A10", 23.7, "A10"), ("Tesla V100-SXM2-32GB", 34.1, "V100-32GB"),
    ("NVIDIA RTX A6000", 51.0, "A6000"), ("AMD EPYC 7B13 64-Core Processor", 25.0, None),
])
def test_match_driver_names_to_the_catalog(device, memory_gb, expected):
    match = match_gpu(device, memory_gb * 1e9, load_catalogs().gpus)
    assert (match.name if match else None) == expected


def test_a_run_without_matmul_or_memory_size_cannot_plan():
    no_memory = BenchRun.from_messages({k: v for k, v in HELLO.items() if k != "total_memory_bytes"}, RESULTS)
    no_matmul = BenchRun.from_messages(HELLO, RESULTS[3:])
    assert can_plan_with(RUN) and not can_plan_with(no_memory) and not can_plan_with(no_matmul)
    with pytest.raises(ValueError, match="no matmul"):
        machine_gpu(no_matmul)
    assert math.isnan(machine_gpu(BenchRun.from_messages(HELLO, RESULTS[:1])).bandwidth_bytes_per_s)  # a gap


@pytest.mark.usefixtures("needs_torch")
def test_predicted_peak_memory_matches_the_measured_step():
    done = subprocess.run([sys.executable, "-m", "gpuplanner.bench", "--device", "cpu", "--phases", "train"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-800:]
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    train = next(m for m in messages if m["type"] == "result" and m["phase"] == "train")
    config = train["config"]
    assert train["param_count"] == sizes(bench_model(config)).total  # same architecture, exactly
    predicted = predict_train_step(config).total_bytes
    measured = train["peak_memory_bytes"]
    # RSS high-water also holds allocator slack and library scratch: measured runs 10-30 % above.
    assert 0.8 <= measured / predicted <= 1.6, (measured, predicted)
