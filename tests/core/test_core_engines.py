"""Engine flags and KV pools (core.engines), checked against vLLM 0.19 start-up logs on one
H100 node (llm-d-incubation/llm-d-planner accuracy/results/v0.19.0/logs @ d3121e05)."""
import pytest

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.engines import VLLM_BLOCK_TOKENS, launches, pool_warning, vllm_kv_pool
from gpuplanner.core.units import GIB

CATALOGS = load_catalogs()
LLAMA8 = CATALOGS.models["llama-3.1-8b"]
H100_TOTAL = 79.19 * GIB  # what vLLM logged as the GPU's total


@pytest.mark.parametrize("tp,pp,kv_dtype,logged_tokens", [
    (1, 1, "bf16", 476_016), (2, 1, "bf16", 1_044_688), (1, 4, "bf16", 2_257_264), (1, 1, "fp8", 952_032)])
def test_vllm_pool_matches_the_logged_pool(tp, pp, kv_dtype, logged_tokens):
    pool = vllm_kv_pool(LLAMA8, "bf16", kv_dtype, tp, pp, 8192, 0.95, H100_TOTAL)
    assert pool.kv_cache_tokens == pytest.approx(logged_tokens, rel=0.03)
    assert pool.kv_cache_tokens % VLLM_BLOCK_TOKENS == 0
    assert pool.max_concurrency == pytest.approx(pool.kv_cache_tokens / 8192)


def test_the_pool_is_the_same_whatever_the_context_length():
    short = vllm_kv_pool(LLAMA8, "bf16", "bf16", 1, 1, 2048, 0.95, H100_TOTAL)
    long = vllm_kv_pool(LLAMA8, "bf16", "bf16", 1, 1, 32768, 0.95, H100_TOTAL)
    assert short.kv_cache_tokens == long.kv_cache_tokens
    assert short.max_concurrency == pytest.approx(16 * long.max_concurrency)


def test_a_model_that_fills_the_gpu_leaves_no_pool_and_says_the_engine_will_not_start():
    big = CATALOGS.models["llama-3.1-70b"]
    launch = launches(big, "bf16", "bf16", 1, 1, 1, 4096, 16, 0.9, H100_TOTAL)["vllm"]
    assert not launch.pool.fits
    assert "will not start" in pool_warning(launch, big, 16, 4096)


def test_a_small_pool_warns_that_requests_will_queue():
    launch = launches(LLAMA8, "bf16", "bf16", 1, 1, 1, 131072, 64, 0.9, H100_TOTAL)["vllm"]
    assert launch.pool.fits and "will queue" in pool_warning(launch, LLAMA8, 64, 131072)
    assert pool_warning(launch, LLAMA8, 1, 131072) == ""


def test_the_plan_carries_copy_paste_commands_for_its_layout():
    r = estimate(PlanInputs(model="deepseek-v3", mode="infer", precision="fp8", instance="p5en.48xlarge"), CATALOGS)
    flags = r.to_dict()["engine_flags"]
    vllm, sglang = flags["vllm"]["command"], flags["sglang"]["command"]
    lay = r.layout
    assert vllm.startswith("vllm serve deepseek-ai/DeepSeek-V3 ")
    assert f"--tensor-parallel-size {lay.tp}" in vllm and f"--pipeline-parallel-size {lay.pp}" in vllm
    assert "--max-model-len 4096" in vllm and "--quantization fp8" in vllm
    assert ("--enable-expert-parallel" in vllm) == (lay.ep > 1)
    assert sglang.startswith("python -m sglang.launch_server --model-path deepseek-ai/DeepSeek-V3")
    assert f"--tp {lay.tp * lay.ep}" in sglang and "--context-length 4096" in sglang
    assert flags["vllm"]["kv_cache_tokens"] > 0 and flags["vllm"]["max_concurrency"] > 0


def test_the_launch_lines_carry_the_engines_scheduler_settings():
    """A cap on running sequences replaces the concurrency in both lines; multi-step scheduling is
    vLLM's flag; SGLang is told to mix prompt chunks into decode steps when the plan assumes it."""
    default = launches(LLAMA8, "bf16", "bf16", 1, 1, 1, 4096, 16, 0.9, H100_TOTAL)
    assert "--max-num-seqs 16" in default["vllm"].command and "--num-scheduler-steps" not in default["vllm"].command
    assert default["sglang"].command.count("--enable-mixed-chunk") == 1
    engine = launches(LLAMA8, "bf16", "bf16", 1, 1, 1, 4096, 16, 0.9, H100_TOTAL, max_num_seqs=256,
                      scheduler_steps=10, mixed_prefill=False)
    assert "--max-num-seqs 256" in engine["vllm"].command and "--num-scheduler-steps 10" in engine["vllm"].command
    assert "--max-running-requests 256" in engine["sglang"].command
    assert "--enable-mixed-chunk" not in engine["sglang"].command
    # vLLM profiles its sampler for max_num_seqs requests: a larger cap leaves a smaller pool
    wide = launches(LLAMA8, "bf16", "bf16", 1, 1, 1, 4096, 16, 0.9, H100_TOTAL, max_num_seqs=4096)
    assert wide["vllm"].pool.kv_cache_tokens < default["vllm"].pool.kv_cache_tokens
