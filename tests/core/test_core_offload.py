"""ZeRO-Offload / ZeRO-Infinity (core/offload.py): GPU and host memory against DeepSpeed's
documented estimator outputs, the one-GPU fine-tuning question, and the PCIe cost per step.

Reference: DeepSpeed "Memory Requirements" (https://deepspeed.readthedocs.io/en/latest/memory.html,
docs/code-docs/source/memory.rst in microsoft/DeepSpeed), the t5-3b examples on 1 node of 8 GPUs:
2851M total params, 32M largest layer params; its tables print GiB (2^30 bytes) as "GB"."""
import json

import pytest

from gpuplanner.cli import main
from gpuplanner.core import InputError, PlanInputs, estimate, load_catalogs
from gpuplanner.core.fields import FORM_FIELDS
from gpuplanner.core.model import sizes
from gpuplanner.core.model_readers import from_hf_config
from gpuplanner.core.parallelism import training_setup
from gpuplanner.core.units import GIB

CATALOGS = load_catalogs()
T5_3B = from_hf_config({"model_type": "t5", "d_model": 1024, "d_ff": 16384, "num_layers": 24,
                        "num_decoder_layers": 24, "num_heads": 32, "d_kv": 128, "vocab_size": 32128,
                        "feed_forward_proj": "relu", "tie_word_embeddings": True, "n_positions": 512},
                       name="t5-3b")


def deepspeed(zero, optimizer="none", params="none", precision="bf16"):
    return estimate(PlanInputs(model=T5_3B, framework="deepspeed", gpu="A100-80GB", instance="", zero_stage=zero,
                               dp=8, tp=1, pp=1, seq_len=512, micro_batch=1, offload_optimizer=optimizer,
                               offload_params=params, precision=precision), CATALOGS)


def gpu_states_gib(r):
    b = r.breakdown_bytes
    return (b.weights + b.master_weights + b.gradients + b.optimizer + b.buffers) / GIB


def test_the_model_is_the_documented_size():
    assert sizes(T5_3B).total == pytest.approx(2851e6, rel=1e-3)
    setup = training_setup(T5_3B, "bf16", "full", "adamw", "auto", 512, 1, "none", True, 16, "deepspeed")
    assert setup.largest_tensor() == 32128 * 1024  # "32M largest layer params": the shared embedding


@pytest.mark.parametrize("optimizer,params,per_cpu,per_gpu", [
    ("cpu", "cpu", 71.71, 0.12),  # cpu_offload=1, cpu_offload_params=1, zero_init=1
    ("cpu", "none", 63.74, 0.79),  # cpu_offload=1, cpu_offload_params=0, zero_init=1
    ("none", "none", 1.47, 6.10),  # cpu_offload=0, cpu_offload_params=0, zero_init=1
])
def test_zero3_estimator_table(optimizer, params, per_cpu, per_gpu):
    r = deepspeed(3, optimizer, params)
    assert r.host_memory_bytes / GIB == pytest.approx(per_cpu, abs=0.006)
    assert gpu_states_gib(r) == pytest.approx(per_gpu, abs=0.006)


def test_zero2_estimator_table():
    """cpu_offload=1: 127.48 GB per CPU, 5.31 GB per GPU; cpu_offload=0: 127.48 GB per CPU. The
    page's cpu_offload=0 GPU figure (15.93 GB = 4Ψ + 16Ψ/N) is the estimator before DeepSpeed PR
    #5099 (commit f4cb866, "was considering 4 bytes per model param, and 4 bytes per gradient"):
    for a 16-bit model the planner follows the current code, 2Ψ + 18Ψ/N (test_core_frameworks)."""
    offloaded, kept = deepspeed(2, "cpu"), deepspeed(2)
    assert offloaded.host_memory_bytes / GIB == pytest.approx(127.48, abs=0.006)
    assert gpu_states_gib(offloaded) == pytest.approx(5.31, abs=0.006)
    assert kept.host_memory_bytes / GIB == pytest.approx(127.48, abs=0.006)
    assert gpu_states_gib(kept) == pytest.approx((2 + 18 / 8) * sizes(T5_3B).total / GIB, rel=1e-9)


def test_zero2_estimator_table_gpu_row_is_an_fp32_model():
    """The page's 15.93 GB row (cpu_offload=0) is what an fp32 model holds under DeepSpeed's ZeRO-2
    optimizer: 4-byte weights on every GPU, and per shard its 4-byte gradients, the fp32 partition
    it clones anyway (deepspeed/runtime/zero/stage_1_and_2.py, `.clone().float()`) and Adam's two
    moments: 4Ψ + 16Ψ/N. Without the ZeRO optimizer (stage 0) there is no cloned partition."""
    fp32 = deepspeed(2, precision="fp32")
    assert gpu_states_gib(fp32) == pytest.approx(15.93, abs=0.006)
    assert fp32.host_memory_bytes / GIB == pytest.approx(127.48, abs=0.006)
    plain = deepspeed(0, precision="fp32").breakdown_bytes
    assert plain.master_weights == 0
    assert plain.weights + plain.gradients + plain.optimizer == pytest.approx(16 * sizes(T5_3B).total)


def test_fine_tuning_13b_on_one_24gb_card_with_the_optimizer_in_ram():
    """The one-GPU question: llama-2-13b on an RTX 4090. Without offload one card cannot hold it;
    with the optimizer and the parameters in host RAM it fits, and the plan says how much RAM."""
    kw = dict(model="llama-2-13b", gpu="RTX4090", instance="", framework="deepspeed", seq_len=2048,
              training_tokens=1e8)
    alone = estimate(PlanInputs(dp=1, tp=1, pp=1, **kw), CATALOGS)
    assert not alone.fits
    r = estimate(PlanInputs(offload_optimizer="cpu", offload_params="cpu", **kw), CATALOGS)
    assert r.fits and r.gpus == 1 and r.layout.zero_stage == 3
    assert r.host_memory_bytes == pytest.approx(sizes(CATALOGS.models["llama-2-13b"]).total * 18 * 1.5)
    assert r.step_breakdown_s["offload"] > 0


def test_the_cli_answers_it(capsys):
    assert main(["plan", "--model", "llama-2-13b", "--gpu", "RTX4090", "--instance", "", "--framework",
                 "deepspeed", "--offload-optimizer", "cpu", "--offload-params", "cpu", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fits"] and data["gpus"] == 1 and data["host_memory_bytes"] > 300 * GIB
    assert {"offload_optimizer", "offload_params"} <= set(FORM_FIELDS)  # and the form has the inputs


def test_offload_costs_pcie_time_and_frees_gpu_memory():
    kw = dict(model="llama-2-7b", instance="p5.48xlarge", framework="deepspeed", zero_stage=3, dp=8, tp=1, pp=1,
              micro_batch=1, training_tokens=1e9)
    plain = estimate(PlanInputs(**kw), CATALOGS)
    off = estimate(PlanInputs(offload_optimizer="cpu", **kw), CATALOGS)
    nvme = estimate(PlanInputs(offload_optimizer="nvme", **kw), CATALOGS)
    assert off.memory_per_gpu_bytes < plain.memory_per_gpu_bytes
    assert plain.step_breakdown_s["offload"] == 0 < off.step_breakdown_s["offload"] < nvme.step_breakdown_s["offload"]
    assert off.training_time_s > plain.training_time_s


@pytest.mark.parametrize("kw,field", [
    (dict(offload_params="cpu", zero_stage=2), "offload_params"),
    (dict(offload_optimizer="cpu", train_method="lora"), "offload_optimizer"),
    (dict(offload_optimizer="disk"), "offload_optimizer"),
])
def test_offload_inputs_are_checked(kw, field):
    with pytest.raises(InputError) as info:
        estimate(PlanInputs(**kw), CATALOGS)
    assert info.value.field == field
