"""The serving engines' own view of a plan: the launch command for the chosen layout and the
KV-cache pool each engine will allocate, so "will it run out of memory" is answered before
launch.

vLLM (docs: "Memory profiling", `gpu_memory_utilization`): the engine takes
utilization × total GPU memory, profiles a forward pass of `max_num_batched_tokens` tokens and
a sampler warm-up of `max_num_seqs` requests, and gives what is left after weights, that
activation peak and non-torch memory (CUDA context, cuBLAS, NCCL buffers at TP ≥ 2) to the KV
cache, in blocks of 16 tokens; CUDA-graph memory is not subtracted. With pipeline stages the
stage with the least room sets the pool. Every layer holds the same number of blocks, so the
tokens it reports count every layer at full length; maximum concurrency = pool tokens / the
tokens one request is budgeted (vllm_request_tokens: less on sliding-window layers).

SGLang (docs: "mem_fraction_static"): that fraction of GPU memory holds the weights and the KV
pool; the rest is left for activations and CUDA graphs.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from gpuplanner.core.memory import kv_bytes_per_sequence, stage_layers, weight_bytes
from gpuplanner.core.model import ModelArch, sizes
from gpuplanner.core.text import Text
from gpuplanner.core.units import GIB

VLLM_BLOCK_TOKENS = 16
# Non-torch memory vLLM 0.19 adds while profiling, per GPU (start-up logs of llm-d's planner,
# H100): CUDA context and cuBLAS alone; NCCL buffers with tensor parallelism; pipeline ranks.
VLLM_NON_TORCH_BYTES = {"single": 0.25 * GIB, "tensor": 2.1 * GIB, "pipeline": 0.07 * GIB}
VLLM_LARGE_GPU_BYTES = 70 * GIB  # vLLM's defaults differ below and above this much memory
FORWARD_VALUES_PER_TOKEN = 5  # values of the MLP width a profiled token holds at the peak (gate, up, act, …)
SAMPLER_BYTES_PER_LOGIT = 8  # fp32 logits and probabilities per warm-up request and vocabulary entry
# Quantized on load; int8/int4/fp4 need a pre-quantized checkpoint (GPTQ/AWQ, NVFP4/MXFP4).
QUANTIZE_ON_LOAD = {"fp8": "fp8"}


@dataclass(frozen=True)
class KvPool:
    """One engine's memory plan on the GPU whose stage leaves the least room."""

    engine: str
    total_bytes: float
    weights_bytes: float
    activation_bytes: float
    non_torch_bytes: float
    kv_cache_bytes: float  # per GPU
    kv_cache_tokens: int  # per replica: tokens of context the pool holds
    max_concurrency: float  # sequences of the full context length at once

    @property
    def fits(self) -> bool:
        return self.kv_cache_tokens > 0


def vllm_defaults(gpu_bytes: float) -> tuple[int, int]:
    """(max_num_seqs, max_num_batched_tokens) `vllm serve` uses on a GPU of this size."""
    return (1024, 8192) if gpu_bytes >= VLLM_LARGE_GPU_BYTES else (256, 2048)


def _stage_weights(arch: ModelArch, precision: str, tp: int, pp: int, stage: int, ep: int = 1) -> float:
    """Weight bytes on one GPU of pipeline stage `stage`: vLLM splits layers evenly, the first
    stage also holds the embedding and the last the output head (shared when tied); routed
    experts are split over the tp·ep GPUs of an expert-parallel replica."""
    sz = sizes(arch)
    wb = weight_bytes(arch, precision)
    share = len(stage_layers(arch.n_layers, pp)[stage]) / arch.n_layers
    edge = (sz.embed if stage == 0 else 0) + (sz.head if stage == pp - 1 else 0)
    return (wb.dense * sz.block_dense * share + wb.edge * edge) / tp + wb.experts * sz.block_experts * share / (tp * ep)


def _kv_bytes_per_token(arch: ModelArch, kv_dtype: str, tp: int, pp: int) -> float:
    """KV bytes one token takes on one GPU (the deepest stage's share of layers)."""
    return kv_bytes_per_sequence(arch, 1, kv_dtype, tp, pp)


def vllm_request_tokens(arch: ModelArch, max_model_len: int, max_num_batched_tokens: int) -> float:
    """Pool tokens vLLM budgets for one request of max_model_len when it reports its maximum
    concurrency (vLLM v1 kv_cache_utils.get_max_concurrency_for_kv_cache_config): whole blocks of
    the full length on full-attention layers; on sliding-window layers the window plus one
    scheduled chunk, min(window − 1 + max_num_batched_tokens, max_model_len), and one more block.
    Averaged over the layers, as every layer of the pool holds the same number of blocks."""
    blocks = -(-max_model_len // VLLM_BLOCK_TOKENS)
    sliding = arch.sliding_layers()
    if not sliding:
        return blocks * VLLM_BLOCK_TOKENS
    window = min(arch.sliding_window - 1 + max_num_batched_tokens, max_model_len)
    window_blocks = -(-window // VLLM_BLOCK_TOKENS) + 1
    full = arch.n_layers - sliding
    return (full * blocks + sliding * window_blocks) * VLLM_BLOCK_TOKENS / arch.n_layers


def vllm_kv_pool(arch: ModelArch, precision: str, kv_dtype: str, tp: int, pp: int, max_model_len: int,
                 gpu_memory_utilization: float, total_gpu_bytes: float, max_num_seqs: int = 0,
                 max_num_batched_tokens: int = 0, ep: int = 1) -> KvPool:
    """The KV pool vLLM allocates for a TP×PP replica (× EP data-parallel attention groups with
    experts over all of them); see the module docstring. Tokens are per attention group."""
    seqs, tokens = vllm_defaults(total_gpu_bytes)
    seqs, tokens = max_num_seqs or seqs, max_num_batched_tokens or tokens
    act_b = 4.0 if precision == "fp32" else 2.0
    width = arch.expert_width * max(arch.experts_per_token, 1) if arch.is_moe else arch.intermediate
    forward = tokens * FORWARD_VALUES_PER_TOKEN * width * act_b
    sampler = seqs * arch.vocab * SAMPLER_BYTES_PER_LOGIT
    non_torch = VLLM_NON_TORCH_BYTES["tensor" if tp * ep > 1 else ("pipeline" if pp > 1 else "single")]
    per_token = _kv_bytes_per_token(arch, kv_dtype, tp, pp)
    requested = gpu_memory_utilization * total_gpu_bytes
    worst: tuple[float, float, float] | None = None
    for stage in range(pp):
        weights = _stage_weights(arch, precision, tp, pp, stage, ep)
        activation = forward + (sampler if stage == pp - 1 else 0.0)
        kv = requested - weights - activation - non_torch
        if worst is None or kv < worst[0]:
            worst = (kv, weights, activation)
    assert worst is not None  # pp >= 1
    kv, weights, activation = worst
    blocks = max(0, int(kv // (per_token * VLLM_BLOCK_TOKENS)))
    pool_tokens = blocks * VLLM_BLOCK_TOKENS
    return KvPool("vllm", total_gpu_bytes, weights, activation, non_torch, max(kv, 0.0), pool_tokens,
                  pool_tokens / vllm_request_tokens(arch, max_model_len, tokens))


def sglang_kv_pool(arch: ModelArch, precision: str, kv_dtype: str, tp: int, pp: int, context_length: int,
                   mem_fraction_static: float, total_gpu_bytes: float, ep: int = 1) -> KvPool:
    """The KV pool SGLang allocates: mem_fraction_static × memory − weights (one token per page)."""
    weights = max(_stage_weights(arch, precision, tp, pp, s, ep) for s in range(pp))
    kv = mem_fraction_static * total_gpu_bytes - weights
    pool_tokens = max(0, int(kv // _kv_bytes_per_token(arch, kv_dtype, tp, pp)))
    return KvPool("sglang", total_gpu_bytes, weights, 0.0, 0.0, max(kv, 0.0), pool_tokens,
                  pool_tokens / context_length)


@dataclass(frozen=True)
class EngineLaunch:
    """A copy-paste launch command and the pool it will allocate."""

    command: str
    pool: KvPool

    def to_dict(self) -> dict:
        return {"command": self.command, "kv_cache_tokens": self.pool.kv_cache_tokens,
                "max_concurrency": self.pool.max_concurrency, "kv_cache_bytes": self.pool.kv_cache_bytes,
                "weights_bytes": self.pool.weights_bytes, "activation_bytes": self.pool.activation_bytes,
                "non_torch_bytes": self.pool.non_torch_bytes}


def launches(arch: ModelArch, precision: str, kv_dtype: str, tp: int, pp: int, ep: int, context_len: int,
             concurrency: int, util_cap: float, total_gpu_bytes: float, max_num_seqs: int = 0,
             scheduler_steps: int = 1, mixed_prefill: bool = True) -> dict:
    """{"vllm": EngineLaunch, "sglang": EngineLaunch} for one replica of the plan's layout.
    Expert parallelism runs attention data parallel over `ep` groups, experts over all GPUs.
    The engines' cap on running sequences is `max_num_seqs` when given, else the concurrency;
    SGLang mixes prompt chunks into decode steps only when told to (--enable-mixed-chunk)."""
    model = arch.hf_repo or shlex.quote(arch.name)  # a model with no Hub repo: its name, quoted for the shell
    kv_flag = "fp8" if kv_dtype == "fp8" else "auto"  # auto: the model's dtype
    quant = QUANTIZE_ON_LOAD.get(precision, "")
    seqs = max_num_seqs or max(1, concurrency)
    vllm = vllm_kv_pool(arch, precision, kv_dtype, tp, pp, context_len, util_cap, total_gpu_bytes,
                        max_num_seqs=max_num_seqs, ep=ep)
    parts = [f"vllm serve {model}", f"--tensor-parallel-size {tp}", f"--pipeline-parallel-size {pp}",
             f"--max-model-len {context_len}", f"--gpu-memory-utilization {util_cap:g}",
             f"--max-num-seqs {seqs}", f"--kv-cache-dtype {kv_flag}"]
    if scheduler_steps > 1:
        parts.append(f"--num-scheduler-steps {scheduler_steps}")
    if ep > 1:
        parts += [f"--data-parallel-size {ep}", "--enable-expert-parallel"]
    if quant:
        parts.append(f"--quantization {quant}")
    sglang = sglang_kv_pool(arch, precision, kv_dtype, tp, pp, context_len, util_cap, total_gpu_bytes, ep=ep)
    sg = [f"python -m sglang.launch_server --model-path {model}", f"--tp {tp * ep}", f"--pp-size {pp}",
          f"--context-length {context_len}", f"--mem-fraction-static {util_cap:g}",
          f"--max-running-requests {seqs}", f"--kv-cache-dtype {'fp8_e4m3' if kv_flag == 'fp8' else 'auto'}"]
    if mixed_prefill:
        sg.append("--enable-mixed-chunk")
    if ep > 1:
        sg += [f"--dp {ep}", "--enable-dp-attention", f"--ep-size {tp * ep}"]
    if quant:
        sg.append(f"--quantization {quant}")
    return {"vllm": EngineLaunch(" ".join(parts), vllm), "sglang": EngineLaunch(" ".join(sg), sglang)}


def pool_warning(launch: EngineLaunch, arch: ModelArch, concurrency: int, context_len: int,
                 held_tokens: int = 0) -> str:
    """'' when the engine's pool holds the plan's concurrency, each sequence holding the blocks
    of `held_tokens` (its average context; default the full context) and one sequence the full
    context, else why not. The pool counts tokens of every layer; a sequence's sliding-window
    layers hold only the window, so it takes fewer of them."""
    pool = launch.pool
    held = held_tokens or context_len
    per_token = kv_bytes_per_sequence(arch, 1, "bf16", 1, 1)  # the pool's unit (dtype cancels)
    held_pool, full_pool = (kv_bytes_per_sequence(arch, n, "bf16", 1, 1) / per_token for n in (held, context_len))
    if pool.kv_cache_tokens >= max(concurrency * held_pool, full_pool):
        return ""
    if not pool.fits:
        return Text(f"{pool.engine}: no room for a KV cache after {{weights}} of weights and {{act}} of "
                    "activations per GPU: the engine will not start", weights=pool.weights_bytes,
                    act=pool.activation_bytes + pool.non_torch_bytes)
    return (f"{pool.engine}'s KV pool holds {pool.kv_cache_tokens:,} tokens = {pool.kv_cache_tokens / held_pool:,.1f} "
            f"sequences of {held:,} tokens, fewer than the {concurrency} planned: the engine will queue the rest")
