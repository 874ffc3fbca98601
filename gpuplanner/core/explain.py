"""Assumptions and "Explain" texts: each number's formula with the user's values substituted
and its source. Built from the finished result, so the text always matches the figure."""
from __future__ import annotations

import math

from gpuplanner.core.explain_money import money_energy_explanations
from gpuplanner.core.frameworks import framework
from gpuplanner.core.memory import DTYPE_BYTES
from gpuplanner.core.money import hourly_rates, mean_rate
from gpuplanner.core.offload import NVME_ASSUMED_BYTES_PER_S
from gpuplanner.core.result import Assumption, Explanation
from gpuplanner.core.serving import DEFAULT_ENGINE, ENGINES, EXPERT_PREFILL, efficiency
from gpuplanner.core.steptime import KERNEL_EFFICIENCY_SOURCE, kernel_efficiency
from gpuplanner.core.text import Text
from gpuplanner.core.units import fmt_count, fmt_duration, fmt_flops, fmt_usd

KORTHIKANTI = "Korthikanti et al. 2022, 'Reducing Activation Recomputation in Large Transformer Models', §4"
ZERO = "Rajbhandari et al. 2020, 'ZeRO: Memory Optimizations Toward Training Trillion Parameter Models', §5"
CHINCHILLA = "Hoffmann et al. 2022 (C ≈ 6ND); Narayanan et al. 2021 eq. 3 (attention term)"
KV = "Pope et al. 2022, 'Efficiently Scaling Transformer Inference', §2"
METHOD = "gpuplanner README, 'The method, briefly'"
QUANT = "Frantar et al. 2022 (GPTQ) and Lin et al. 2023 (AWQ): 4-bit weights with a scale and zero per group of 128"
LITTLE = "Little's law (L = λW): replicas = arrival rate × time each request holds a replica"
FRAMEWORK_STATES = {
    "zero": "half weights, fp32 master weights, gradients in compute dtype (fp32 if chosen), optimizer states; "
            "ZeRO shards them over data-parallel ranks",
    "megatron": "bf16 weights, fp32 gradients, fp32 master weights and optimizer states (18 B/param); the "
                "distributed optimizer shards the last two over data-parallel ranks (6 + 12/d)",
    "deepspeed": "16-bit weights and gradients, fp32 gradients, master weights and optimizer states (2 + 18 B/param "
                 "as its estimator counts; an fp32 model: 4 + 16 B/param, its ZeRO optimizer cloning an fp32 "
                 "partition); ZeRO-3 adds the largest parameter tensor gathered whole (4 B/param)",
    "fsdp": "sharded fp32 parameters, gradients and optimizer states (16/N B/param); FULL_SHARD gathers a "
            "block at a time plus the next one prefetched; SHARD_GRAD_OP keeps the 16-bit parameters whole",
    "hf": "fp32 weights, gradients and optimizer states (16 B/param) with DDP, plus autocast's 16-bit copies "
          "of the linear weights kept for backward",
    "torchtune": "bf16 weights, gradients and AdamW states (8 B/param); FSDP2 shards all three; gradients are "
                 "freed every step, so the peak holds them or the activations, whichever is larger; an unchunked "
                 "loss is PyTorch's cross-entropy on fp32 logits",
}
FRAMEWORK_SOURCES = {
    "zero": ZERO, "megatron": "Megatron-LM docs/distrib_optimizer.md",
    "deepspeed": "DeepSpeed estimate_zero2/zero3_model_states_mem_needs (deepspeed/runtime/zero)",
    "fsdp": "PyTorch FSDP documentation (MixedPrecision, sharding strategies, backward prefetch)",
    "hf": "Hugging Face Trainer with torch.autocast (PyTorch AMP documentation)",
    "torchtune": "torchtune full fine-tuning recipes (model dtype bf16; optimizer.zero_grad(set_to_none=True))",
}
SARATHI = "Agrawal et al. 2024, 'Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve' (chunked prefill)"
QUICK = "the rule of thumb this planner grew out of (18 bytes/param training, 2 bytes/param 16-bit inference, +25 %)"


def assumptions_for(inputs, arch, hw) -> tuple:
    price = hw.price_note + (f", prices as of {hw.price_as_of}" if hw.price_as_of else "")
    items = [
        Assumption("GPU memory used for fitting",
                   Text(f"{{capacity}} × utilization cap {inputs.util_cap:g}", capacity=hw.gpu.capacity_bytes),
                   "the memory nvidia-smi reports, in the GPU catalog"),
        Assumption("runtime overhead per GPU",
                   Text(f"{{overhead:2}} + {inputs.fragmentation:.0%} fragmentation margin",
                        overhead=inputs.overhead_bytes),
                   "CUDA context and library workspaces; allocator fragmentation"),
        Assumption("peak FLOP/s", f"{hw.gpu.name}: matmul FLOP/s measured by the benchmark ({hw.gpu.as_of})"
                   if hw.gpu.measured else f"{hw.gpu.name} dense (no sparsity) datasheet figure", hw.gpu.source),
        Assumption("price", price, hw.instance.source if hw.instance else "instance catalog"),
        Assumption("link bandwidths", _links_text(hw), hw.links.source),
    ]
    if inputs.mode == "train":
        items += [
            Assumption("MFU", f"{inputs.mfu:g} of dense peak, applied to the FLOPs the hardware runs "
                       f"({inputs.flop_convention} FLOP convention)", "as set; published large runs reach 0.35–0.55")
            if inputs.mfu else
            Assumption("step time", f"compute at {kernel_efficiency(hw.gpu.generation):g} of dense peak "
                       f"({hw.gpu.generation or 'unknown'} generation), plus the tensor, expert, pipeline and "
                       "data-parallel traffic not hidden behind compute (tensor-parallel collectives with "
                       "NCCL's ring latency), plus the pipeline bubble "
                       "(p − 1)/(m + p − 1) ÷ interleaved stages", f"Narayanan et al. 2021; NCCL src/graph/tuning.cc; {KERNEL_EFFICIENCY_SOURCE}"),
            Assumption("activations", "16-bit activations"
                       + (" with 1-byte dropout masks; " if framework(inputs.framework).dropout else " (no dropout); ")
                       + ("sequence parallelism with" if inputs.sequence_parallel else "no sequence parallelism: "
                          "LayerNorm/dropout activations whole on every rank of")
                       + " tensor parallelism; 1F1B pipeline (first stage holds L layers' worth)", KORTHIKANTI),
            Assumption("model states", FRAMEWORK_STATES[inputs.framework], FRAMEWORK_SOURCES[inputs.framework]),
        ]
        if inputs.offload_optimizer != "none" or inputs.offload_params != "none":
            items.append(Assumption(
                "offload", f"optimizer states, fp32 master weights and gradients: {inputs.offload_optimizer}; "
                f"16-bit weights: {inputs.offload_params}; copies over PCIe (NVMe assumed "
                f"{NVME_ASSUMED_BYTES_PER_S / 1e9:g} GB/s per node) not overlapped; CPU optimizer time not counted",
                "Ren et al. 2021 (ZeRO-Offload); Rajbhandari et al. 2021 (ZeRO-Infinity); host memory in DeepSpeed "
                "mode: deepspeed.readthedocs.io/en/latest/memory.html"))
    else:
        items += [
            Assumption("serving steps", f"bandwidth bound at small batch, MBU {inputs.mbu:g}; compute bound at large "
                       f"batch at {efficiency(hw.gpu).compute:g} of peak ({efficiency(hw.gpu).source}); "
                       f"a fixed {efficiency(hw.gpu).step_s * 1e3:g} ms plus {efficiency(hw.gpu).layer_step_s * 1e6:g} µs per layer "
                       "per step; prompt chunks at "
                       f"{efficiency(hw.gpu).prefill:g} of peak (routed experts {EXPERT_PREFILL:g} of that) "
                       + ("share steps with decode" if inputs.mixed_prefill else
                          "run in steps of their own while decoding waits")
                       + " and queue for the prompt budget (Kingman)"
                       + (f", behind the {inputs.scheduler_steps}-step scheduling pass in flight"
                          if inputs.scheduler_steps > 1 else "")
                       + (f"; at most {inputs.max_num_seqs} sequences run at once" if inputs.max_num_seqs else "")
                       + f"; {ENGINES[DEFAULT_ENGINE].request_s * 1e3:g} ms to each first token in "
                       f"the API server ({DEFAULT_ENGINE}); the KV cache is a paged pool (a sequence holds what it "
                       "has read); pipeline stages keep one micro-batch each in flight", KV),
            Assumption("serving cost", "the monthly cost bills the whole instances the replicas are packed into; "
                       "$/1M tokens is that bill over the output tokens served per month at the requested load",
                       "README, 'Serving costs'"),
            Assumption("quantized weights", "int4: 0.5 byte + 16-bit scale and zero per group of 128; fp4: "
                       "0.5 byte + an FP8 scale per block of 16 (NVFP4), fp4 math on Blackwell, else 16-bit; "
                       "embeddings and output head stay 16-bit", "AWQ/GPTQ group-wise formats; NVIDIA NVFP4"),
        ]
    return tuple(items)


def _links_text(hw) -> str:
    """The bandwidths parallel traffic crosses, one direction per GPU: measured, or the catalog's."""
    if hw.measured_links is not None:
        return "collective bus bandwidth measured " + hw.measured_links.describe()
    links, gpus = hw.links, hw.links.gpus_per_instance
    return (f"{links.bytes_per_s(gpus) / 1e9:,.3g} GB/s among an instance's {gpus} GPUs, "
            f"{links.bytes_per_s(gpus + 1) / 1e9:,.3g} GB/s for a group spanning instances; per GPU, one direction")


def explanations_for(r, inputs, arch, hw) -> tuple:
    b = r.breakdown_bytes
    lay = r.layout
    out = [
        Explanation("quick_rule", "GPUs = parameters (billions) × bytes/parameter × 1.25 / GPU GB, rounded up",
                    r.quick_rule.formula, QUICK),
        Explanation("overhead", "overhead = runtime + fragmentation × (other components)",
                    Text(f"{{runtime:2}} + {inputs.fragmentation:g} × {{other:2}} = {{overhead:2}}",
                         runtime=inputs.overhead_bytes, other=b.total - b.overhead, overhead=b.overhead), METHOD),
        Explanation("gpus", "the smallest layout whose busiest GPU fits in capacity × cap; whole instances "
                    "are billed, so the plan fills them" if r.mode == "train" else
                    "among the replica layouts whose busiest GPU fits in capacity × cap, the one whose fleet "
                    "carries the load within the service levels on the smallest bill, then the most capacity "
                    "for that bill",
                    Text(f"{lay.describe()}: {{total}} of {{usable}} usable; needs {r.min_gpus} GPUs, plan uses "
                         f"{r.gpus}" + _filling(r, inputs), total=b.total, usable=r.usable_bytes), METHOD),
    ]
    if r.mode == "train":
        out += [
            Explanation("weights", "P_stage / (t·p) × bytes(weights) [÷ dp with ZeRO-3]",
                        Text(f"{fmt_count(r.params_total)} params, TP{lay.tp} PP{lay.pp} DP{lay.dp} ZeRO-{lay.zero_stage}"
                        " → {weights:2}", weights=b.weights), ZERO),
            Explanation("master_weights", "P_stage / (t·p) × 4 B fp32 copy [÷ dp with ZeRO ≥ 1]",
                        Text(f"{inputs.precision} compute → {{master:2}}", master=b.master_weights), ZERO),
            Explanation("gradients", "P_stage / (t·p) × bytes(gradients) [÷ dp with ZeRO ≥ 2]",
                        Text(f"gradients in {'fp32' if inputs.grad_dtype == 'fp32' else 'the compute dtype'} → "
                             "{gradients:2}", gradients=b.gradients), ZERO),
            Explanation("optimizer", "P_stage / (t·p) × optimizer bytes [÷ dp with ZeRO ≥ 1]",
                        Text(f"{inputs.optimizer} → {{optimizer:2}}", optimizer=b.optimizer), ZERO),
            Explanation("activations", "L × s·b·h·(34 + 5·a·s/h) / t, generalised (GQA, SwiGLU, MoE) "
                        "+ 4·s·b·V logits; FlashAttention/selective drop the a·s² term",
                        Text(f"L={arch.n_layers}, s={inputs.seq_len}, b={r.micro_batch}, h={arch.hidden}, "
                        f"a={arch.n_heads}, t={lay.tp}, recompute={r.recompute}, "
                        f"FlashAttention {'on' if inputs.flash_attention else 'off'} → {{act:2}}",
                        act=b.activations), KORTHIKANTI),
            Explanation("training_flops", "6·P_active·T + c·12·L·(a·d)·s·T (LoRA: 4·P·T + c·8·L·(a·d)·s·T); "
                        "c = 1 full attention, 1/2 causal, 0 for 6ND",
                        f"P_active={fmt_count(r.params_active)}, T={fmt_count(inputs.training_tokens)} tokens, "
                        f"{inputs.flop_convention} convention → "
                        f"{fmt_flops(r.training_flops)}", CHINCHILLA),
            Explanation("training_time_s", "hardware FLOPs / (GPUs × dense peak × MFU)",
                        f"{r.hardware_flops:.3e} / ({r.gpus} × {r.peak_flops / 1e12:,.1f} TFLOP/s × {inputs.mfu:g}) = "
                        f"{fmt_duration(r.training_time_s)}", CHINCHILLA) if inputs.mfu else
            Explanation("training_time_s", "training tokens / tokens per step × step time; step = micro-batch "
                        "time × (m + (p − 1)/v) + exposed data-parallel traffic",
                        f"{fmt_count(inputs.training_tokens)} tokens, step {r.step_time_s:.3g} s ("
                        + ", ".join(f"{k.replace('_', ' ')} {v:.3g} s" for k, v in r.step_breakdown_s.items() if v)
                        + f") → {fmt_duration(r.training_time_s)}, MFU {r.mfu:.1%}", "Narayanan et al. 2021"),
            Explanation("spot_cost_usd", "instances × spot price per hour × hours",
                        f"{fmt_usd(r.spot_price_usd_per_hour)}/h × {r.training_time_s / 3600:,.1f} h = "
                        f"{fmt_usd(r.spot_cost_usd)}", f"instance catalog (spot), as of {r.price_as_of}"),
            Explanation("cost_usd", "instances × price per hour × hours",
                        f"{_num(r.instances)} × {fmt_usd(r.price_usd_per_hour / r.instances if r.instances else math.nan)}"
                        f"/h × {r.training_time_s / 3600:,.1f} h = {fmt_usd(r.cost_usd)}",
                        f"instance catalog, as of {r.price_as_of}"),
        ]
    else:
        kv_b = DTYPE_BYTES[inputs.kv_dtype_effective()]
        per_tok = arch.kv_values_per_token_per_layer()
        out += [
            Explanation("weights", "P × bytes(precision) / (t·p) (+ int4 group scales)",
                        Text(f"{fmt_count(r.params_total)} × {inputs.precision} / ({lay.tp}·{lay.pp}) → "
                        "{weights:2}", weights=b.weights), QUANT),
            Explanation("kv_cache", "2·L·k·d·bytes × tokens (MLA: latent per token) / t along KV heads",
                        Text(f"L={arch.n_layers}, {per_tok} values/token/layer × {kv_b:g} B × {inputs.context_len} × "
                        f"{inputs.concurrency} seqs → {{kv:2}} per GPU", kv=b.kv_cache), KV),
            Explanation("activations", "2·c·(4h + 3i)/t for a prefill chunk of c = 2048 tokens + 4·n·V/t logits",
                        Text(f"h={arch.hidden}, i={arch.intermediate}, V={arch.vocab}, t={lay.tp} → "
                        "{act:2} (an approximation)", act=b.activations), METHOD),
            Explanation("prefill_time_s", "(2·P_active·n + 2·L·(a·d)·n²) / (GPUs × peak × MFU)",
                        f"n={inputs.prompt_tokens} prompt tokens → {fmt_duration(r.prefill_time_s)}", KV),
            Explanation("decode_tokens_per_s_per_user",
                        "1 / step; step = max(weights read / (bandwidth × MBU), GEMM FLOPs / (peak × efficiency)) "
                        "+ max(KV read / (bandwidth × MBU), attention FLOPs / (peak × efficiency)) "
                        "+ tensor/expert-parallel traffic over its link + a fixed cost per step",
                        f"{inputs.concurrency} concurrent users, each prompt's prefill sharing steps with the "
                        f"others' decode: {_num(r.decode_tokens_per_s_per_user)} tokens/s per user", KV + "; " + SARATHI),
            Explanation("ttft_s", "wait for the step in flight + the prompt's chunks (up to 8,192 tokens per step)",
                        f"{inputs.prompt_tokens} prompt tokens, {inputs.concurrency} concurrent users: "
                        f"{fmt_duration(r.ttft_s)}; {fmt_duration(r.tpot_s)} per output token", SARATHI),
            Explanation("max_throughput_tokens_per_s", "the largest concurrency whose KV cache fits, no per-user floor",
                        f"{_num(r.max_throughput_concurrency)} concurrent → {_num(r.max_throughput_tokens_per_s)} "
                        "output tokens/s per replica (what an offline benchmark measures)", SARATHI),
            Explanation("decode_tokens_per_s_total", "users / (TTFT + (output tokens − 1) × time per token) × output tokens",
                        f"{inputs.concurrency} users, {inputs.output_tokens} output tokens each → "
                        f"{_num(r.decode_tokens_per_s_total)} output tokens/s per replica", SARATHI),
            Explanation("usd_per_million_tokens", "monthly cost / (requests/s × output tokens × 3600 × 730) × 10^6"
                        + (" (requests/s: the load profile's daily mean)" if inputs.load_profile else ""),
                        f"{fmt_usd(r.monthly_cost_usd)} / ({mean_rate(hourly_rates(inputs.load_profile, inputs.requests_per_s)):g}"
                        f" × {inputs.output_tokens} × "
                        f"3600 × 730) × 10^6 = {fmt_usd(r.usd_per_million_tokens)} per 1M output tokens; at the "
                        f"fleet's capacity ({_num(r.fleet_capacity_requests_per_s)} requests/s, "
                        f"{_num(r.fleet_utilization * 100)} % used) {fmt_usd(r.usd_per_million_tokens_at_capacity)}",
                        f"instance catalog, as of {r.price_as_of}"),
            Explanation("replicas", "ceil(requests/s / the most one replica carries within the service levels); "
                        "a replica's concurrency follows from Little's law, rate × (TTFT + output tokens × step)",
                        f"{inputs.requests_per_s:g} / "
                        f"{_num(r.fleet_capacity_requests_per_s / max(r.replicas_per_instance * r.serving_instances, 1))}"
                        f" requests/s per replica (at {r.serving_batch} concurrent) → {r.replicas} replicas",
                        "Little's law; README, 'Serving costs'"),
            Explanation("monthly_cost_usd", "instances holding all replicas × price per hour × 730 h "
                        "(a replica stays inside one instance unless it is larger than one)",
                        f"{r.replicas} replicas of {r.gpus} GPUs, {_num(r.replicas_per_instance)} per "
                        f"{r.gpus_per_instance}-GPU instance → {_num(r.serving_instances)} instances → "
                        f"{fmt_usd(r.monthly_cost_usd)} per month", f"instance catalog, as of {r.price_as_of}"),
            Explanation("engine_vllm", "pool = utilization × GPU memory − weights − profiled activation peak − "
                        "non-torch memory, in 16-token blocks; concurrency = pool / context length",
                        _pool_text(r, "vllm"), "vLLM documentation, memory profiling and gpu_memory_utilization"),
            Explanation("engine_sglang", "pool = mem_fraction_static × GPU memory − weights",
                        _pool_text(r, "sglang"), "SGLang documentation, mem_fraction_static"),
            Explanation("spot_monthly_cost_usd", "the same instances × spot price per hour × 730 h",
                        f"{fmt_usd(r.spot_monthly_cost_usd)} per month",
                        f"instance catalog (spot), as of {r.price_as_of}"),
        ]
    return tuple(out) + money_energy_explanations(r, inputs)


def _pool_text(r, engine: str) -> str:
    launch = r.engine_flags.get(engine)
    if launch is None:
        return "n/a"
    p = launch.pool
    return Text(f"{{total}} per GPU: weights {{weights:2}}, activations {{act:2}}, non-torch {{non_torch:2}} → KV "
                f"{{kv:2}} = {p.kv_cache_tokens:,} tokens", total=p.total_bytes, weights=p.weights_bytes,
                act=p.activation_bytes, non_torch=p.non_torch_bytes, kv=p.kv_cache_bytes)


def _filling(r, inputs) -> str:
    """Why the plan uses more GPUs than it needs: whole instances, or the deadline."""
    if r.mode != "train" or r.gpus <= r.min_gpus:
        return ""
    if inputs.max_training_days:
        return f" (to finish within {inputs.max_training_days:g} days, and to fill whole instances)"
    return f" ({_num(r.instances)} × {r.gpus_per_instance}-GPU instances are billed either way)"


def _num(x) -> str:
    return "n/a" if not isinstance(x, (int, float)) or not math.isfinite(x) else f"{x:,.3g}"
