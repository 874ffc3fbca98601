"""The accuracy ledger's rows: published measurements (resources/validation/, built by
scripts/build_ledger.py from the validation data set) mapped to the plan inputs that reproduce
them and the planner figure each is compared with.

Each source row becomes one or more Cases, one per measured figure, in one of CLASSES. A Case keeps
the figure as printed with its unit and source; `inputs` fixes the measured layout (dp/tp/pp/ep),
precision, lengths and batch so the comparison is like with like. Settings a source does not state
are filled with the documented convention of the framework that ran it and listed in
`assumptions`. Rows the planner cannot express never get here: excluded.csv lists them with why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from gpuplanner.core.catalogs import read_csv_records
from gpuplanner.core.errors import InputError
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import ModelArch
from gpuplanner.core.model_readers import from_hf_config
from gpuplanner.core.resource_files import resource_path

CLASSES = ("training_throughput", "training_memory", "weights_memory", "serving_kv_pool", "serving_throughput",
           "ttft", "tpot")
DATASETS = ("vllm_memory_llmd", "trtllm_perf_overview", "aiconfigurator_silicon_sample", "sglang_vllm_bench",
            "nemo_throughput", "published_runs", "finetune_memory_torchtune", "megatron_pr482_memory")

# Node networks the sources ran on (Gb/s per node), for the step model's cross-node traffic.
DGX_H100_NETWORK_GBIT_S = 8 * 400.0  # DGX H100: eight 400 Gb/s ConnectX-7 InfiniBand ports
SELENE_NETWORK_GBIT_S = 8 * 200.0  # Selene (DGX A100): eight 200 Gb/s HDR InfiniBand HCAs per node
LLAMA3_NETWORK_GBIT_S = 8 * 400.0  # Llama 3: 400 Gb/s RoCE per GPU, 8 GPUs per server

# Source spellings -> planner GPU catalog names.
GPUS = {
    "H100": "H100", "H100-80GB": "H100", "H100 80G": "H100", "H100 80GB HBM3": "H100", "H100 (DGX-H100)": "H100",
    "h100_sxm": "H100", "H200": "H200", "H200 141GB HBM3": "H200", "h200_sxm": "H200", "B200": "B200",
    "b200_sxm": "B200", "GB200": "GB200", "gb200": "GB200", "A100-SXM4-80GB": "A100-80GB", "A100 80G": "A100-80GB",
    "L40S": "L40S", "4090": "RTX4090", "RTX 4090": "RTX4090", "A6000": "A6000", "A100": "A100-80GB",
    "H800": "H100",
}
GPU_NOTES = {
    "H800": "H800 planned as H100 (same 80 GB HBM3; only memory is compared)",
    "A100": "'A100' taken as the 80 GB SXM part (torchtune's tables run 70B models on it)",
}

# Source model names -> planner preset id, or `name` of resources/validation/model_configs.csv.
MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b", "llama-3.1-8b": "llama-3.1-8b",
    "nvidia/Llama-3.1-8B-Instruct-FP8": "llama-3.1-8b", "Llama 3.1 8B": "llama-3.1-8b",
    "meta-llama/Llama-3.1-70B": "llama-3.1-70b", "meta-llama/Llama-3.1-70B-Instruct": "llama-3.1-70b",
    "llama-3.1-70b": "llama-3.1-70b",
    "llama-3.3-70b": "llama-3.1-70b", "Llama 3.1 70B": "llama-3.1-70b", "Llama3 70B": "llama-3.1-70b",
    "Llama 3.1 405B": "llama-3.1-405b", "Llama 3 405B": "llama-3.1-405b",
    "Qwen/Qwen2.5-7B-Instruct": "qwen2.5-7b",
    "LLAMA2-7B": "llama-2-7b", "Llama2-7B": "llama-2-7b", "Llama2 7B": "llama-2-7b", "LLAMA2-13B": "llama-2-13b",
    "LLAMA2-70B": "llama-2-70b", "Llama2-70B": "llama-2-70b", "GPT3-175B": "gpt-3-175b",
    "deepseek-ai/DeepSeek-V3": "deepseek-v3", "DeepSeek V3 671B": "deepseek-v3",
    "deepseek-ai/DeepSeek-R1": "deepseek-ai/DeepSeek-R1", "Qwen/Qwen3-32B": "Qwen/Qwen3-32B",
    "Qwen/Qwen3-235B-A22B-FP8": "Qwen/Qwen3-235B-A22B", "Qwen3 MoE 30B": "Qwen/Qwen3-30B-A3B",
    "openai/gpt-oss-20b": "openai/gpt-oss-20b", "GPT-OSS 20B": "openai/gpt-oss-20b",
    "openai/gpt-oss-120b": "openai/gpt-oss-120b", "GPT-OSS 120B": "openai/gpt-oss-120b",
    "MiniMaxAI/MiniMax-M2.5": "MiniMaxAI/MiniMax-M2.5", "moonshotai/Kimi-K2.5": "moonshotai/Kimi-K2.5",
    "deepseek-ai/DeepSeek-V2-Lite-Chat": "deepseek-ai/DeepSeek-V2-Lite",
    "google/gemma-2-2b-it": "google/gemma-2-2b-it", "google/gemma-2-9b-it": "google/gemma-2-9b-it",
    "google/gemma-2-27b-it": "google/gemma-2-27b-it", "google/gemma-7b": "google/gemma-7b",
    "microsoft/phi-2": "microsoft/phi-2", "Llama 3.2 3B": "llama-3.2-3b", "Llama-2-7B": "llama-2-7b",
    "Llama3-8B-Instruct": "llama-3.1-8b",  # the Llama 3.1 8B shapes (they differ only in RoPE scaling)
}
# Architectures no preset or copied config has, from the builder of the framework that ran them.
ARCHS = {
    "llama-3.2-3b": ModelArch(
        name="llama-3.2-3b", n_layers=28, hidden=3072, intermediate=8192, n_heads=24, n_kv_heads=8, vocab=128256,
        max_positions=131072, tied_embeddings=True,
        source="pytorch/torchtune:torchtune/models/llama3_2/_model_builders.py@bd2a0fc7 (llama3_2_3b)"),
}
MODEL_NOTES = {
    "llama-3.3-70b": "Llama-3.3-70B has the Llama-3.1-70B architecture (model_configs_extra.csv)",
    "Llama3 70B": "Llama 3 70B planned with the Llama 3.1 70B shapes (they differ only in RoPE scaling)",
    "Llama 3 405B": "Llama 3 405B is the Llama 3.1 405B preset",
}
# Config families whose blank fields take the transformers default, and facts no config column holds.
_FAMILY = {
    "gemma": {"model_type": "gemma", "tie_word_embeddings": True},  # GemmaConfig default: tied
    "phi": {"model_type": "phi", "tie_word_embeddings": False, "hidden_act": "gelu_new"},
}


@dataclass(frozen=True)
class Case:
    """One measured figure of one source row, with the inputs that reproduce its setting."""

    dataset: str
    row_id: str  # 0-based data row of the source file
    figure_class: str
    figure: str  # the measured column
    measured: float  # as printed
    unit: str
    source: str
    model: str  # as the source names it
    gpu: str  # planner catalog name
    engine: str
    inputs: PlanInputs
    assumptions: str = ""
    isl: int = 0  # serving_throughput: fixed request lengths
    osl: int = 0
    per_gpu_of: int = 0  # > 0: the figure is per GPU of this many (else the whole replica or run)
    metric: str = ""  # training_memory: allocated, reserved or device; training_throughput: model or hardware
    requests_per_s: float = 0.0  # ttft/tpot: the source's request rate (open loop); 0: closed loop at `users`
    users: int = 0  # ttft/tpot closed loop: requests the benchmark keeps in flight (0: inputs.concurrency)
    fitted: bool = True  # False: compared, but no fit of the serving model's parameters reads it (assumptions say why)

    @property
    def key(self) -> str:
        return f"{self.dataset}:{self.row_id}:{self.figure}"


@lru_cache(maxsize=1)
def _configs() -> dict:
    return {r["name"]: r for r in read_csv_records(resource_path("validation/model_configs.csv"))}


def _config_arch(name: str) -> ModelArch:
    """A ModelArch from one copied model_configs_extra.csv row, through the planner's own HF-config
    reader. gpt-oss gets its window and MXFP4 checkpoint from their columns and the reader's
    alternating layer_types, checked against the counts the row states. Gemma 2's layer pattern is
    not in the data, so its layers are read as full attention (its rows compare only figures vLLM
    prints as if every layer were full: pool tokens and concurrency at max_model_len = 2 windows)."""
    row = _configs()[name]
    family = next((v for k, v in _FAMILY.items() if k in name.lower()), {})
    cfg = {"model_type": re.sub(r" .*", "", row["model_type"]) or family.get("model_type", "")}
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                "head_dim", "vocab_size", "max_position_embeddings", "moe_intermediate_size", "first_k_dense_replace",
                "kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
        if row[key]:
            cfg[key] = int(float(row[key]))
    if row["num_experts"]:
        cfg["num_experts"] = int(float(row["num_experts"]))
        cfg["num_experts_per_tok"] = int(float(row["experts_per_token"]))
    if row["num_shared_experts"]:
        cfg["n_shared_experts"] = int(float(row["num_shared_experts"]))
    tied = row["tie_word_embeddings"]
    cfg["tie_word_embeddings"] = tied == "True" if tied else family.get("tie_word_embeddings", False)
    if "hidden_act" in family:
        cfg["hidden_act"] = family["hidden_act"]
    if cfg["model_type"] == "gpt_oss":
        cfg["sliding_window"] = int(float(row["sliding_window"]))
        if row["checkpoint_quantization"]:
            cfg["quantization_config"] = {"quant_method": row["checkpoint_quantization"]}
    arch = from_hf_config(cfg, name=name, path=row["source"])
    if arch.layer_types:
        stated = dict(re.findall(r"(\w+_attention)=(\d+)", row["attention_layer_pattern"]))
        if {t: str(arch.layer_types.count(t)) for t in set(arch.layer_types)} != stated:
            raise InputError("layer_types", f"{name}: the reader's layer types differ from the stated "
                             f"'{row['attention_layer_pattern']}'")
    if family.get("model_type") == "phi":  # phi-2: LayerNorm and a bias on every linear layer (notes)
        arch = replace(arch, norm="layernorm", bias="all")
    return arch


def _gpt_arch(row: dict) -> ModelArch:
    """A Megatron GPT of Narayanan et al. (2021) Table 1 from its hidden size and layers (notes
    column); vocabulary 51,200 and sequence 2048 are the source's own quote. Heads are not in the
    data: h/128 keeps a·d = h, and no compared figure depends on the head count."""
    hidden, layers = (int(x) for x in _found(r"hidden=(\d+), layers=(\d+)", row["notes"]).groups())
    return ModelArch(name=row["model"], n_layers=layers, hidden=hidden, intermediate=4 * hidden,
                     n_heads=hidden // 128, n_kv_heads=hidden // 128, vocab=51200, max_positions=2048,
                     tied_embeddings=True, mlp_kind="gelu", norm="layernorm", bias="all",
                     positions="learned", source=row["source"])


def model_for(name: str):
    """Preset id or ModelArch for a source model name; InputError when the ledger has no mapping."""
    key = MODELS.get(name.strip())
    if key is None:
        raise InputError("model", f"'{name}' has no architecture in the ledger's model table")
    if key in ARCHS:
        return ARCHS[key]
    return _config_arch(key) if key in _configs() else key


def gpu_name(text: str) -> str:
    """Planner catalog name for a source GPU spelling ('8x A100', 'h100_sxm'); InputError if none."""
    text = re.sub(r"^\d+\s*x\s*", "", text.strip())
    if text not in GPUS:
        raise InputError("gpu", f"'{text}' is not mapped to a GPU of the catalog")
    return GPUS[text]


def _found(pattern: str, text: str) -> re.Match:
    """The first match of `pattern` in a source cell; a cell of another shape is a row the ledger
    cannot map (InputError, reported with the row), never an AttributeError."""
    match = re.search(pattern, text)
    if match is None:
        raise InputError("ledger", f"'{text}' does not have the expected shape ({pattern})")
    return match


def _int(text) -> int:
    return int(float(_found(r"\s*([0-9.]+)", str(text)).group(1)))


def _notes(*notes) -> str:
    return "; ".join(n for n in notes if n)


def _serve(**fields) -> PlanInputs:
    """Serving inputs by GPU (no instance), one replica, layout degrees fixed (1 unless given), no
    per-user speed floor (a benchmark measures whatever speed it gets)."""
    return PlanInputs(**{"mode": "infer", "instance": "", "dp": 0, "tp": 1, "pp": 1, "ep": 1,
                         "min_tokens_per_s_per_user": 0.0, **fields})


def _train(**fields) -> PlanInputs:
    return PlanInputs(mode="train", instance="", **fields)


# ---- serving ------------------------------------------------------------------------------------
def _vllm(r: dict) -> list[Case]:
    """vLLM 0.19 start-up logs: weights and the KV pool per GPU, max concurrency per engine."""
    if r["quantization"] == "fp8":
        precision = "fp8"
    elif r["quantization"] == "mxfp4":
        precision = "fp4"  # the MXFP4 checkpoint's own layout (ModelArch.checkpoint_quantization)
    else:
        precision = {"torch.bfloat16": "bf16", "torch.float16": "fp16", "torch.float32": "fp32"}[r["dtype"]]
    inputs = _serve(model=model_for(r["model"]), precision=precision, gpu=gpu_name(r["gpu"]),
                        tp=_int(r["tp"]), pp=_int(r["pp"]),
                        kv_dtype="fp8" if r["kv_cache_dtype"] == "fp8" else "auto",
                        util_cap=float(r["gpu_memory_utilization"]), context_len=_int(r["max_model_len"]),
                        concurrency=1)
    note = _notes("MXFP4 checkpoint: experts in MXFP4 (4.25 bits), the rest bf16" if precision == "fp4" else "",
                  "prefix caching off; CUDA-graph memory not subtracted by vLLM")
    base = dict(dataset="vllm_memory_llmd", row_id=r["row_id"], source=r["source"], model=r["model"],
                gpu=inputs.gpu, engine="vllm", inputs=inputs, assumptions=note)
    return [Case(figure_class="weights_memory", figure="model_loading_weights_gib",
                 measured=float(r["model_loading_weights_gib"]), unit="GiB", **base),
            Case(figure_class="serving_kv_pool", figure="kv_cache_tokens", measured=float(r["kv_cache_tokens"]),
                 unit="tokens", **base),
            Case(figure_class="serving_kv_pool", figure="max_concurrency_x", measured=float(r["max_concurrency_x"]),
                 unit="sequences", **base)]


def _trtllm(r: dict) -> list[Case]:
    """trtllm-bench offline throughput: output tokens/s of the whole run or per GPU (per edition)."""
    v017 = r["trtllm_version"].startswith("0.17")
    precision = {"FP8": "fp8", "FP16": "fp16", "FP4": "fp4"}[r["precision"]]
    isl, osl = _int(r["isl"]), _int(r["osl"])
    inputs = _serve(model=model_for(r["model"]), precision=precision, gpu=gpu_name(r["gpu_as_printed"]),
                        pp=_int(r["pp"] or 1), tp=_int(r["tp"]),
                        kv_dtype="fp8" if v017 and precision == "fp8" else "auto",
                        context_len=isl + osl, prompt_tokens=isl, output_tokens=osl, concurrency=1)
    per_gpu = r["per_gpu_or_total"].startswith("per GPU")
    note = _notes(MODEL_NOTES.get(r["model"], ""), "" if v017 else "KV dtype not stated: planner default",
                  "0.17 prints 'tokens/sec': output tokens/s (it matches the later editions' figures)"
                  if v017 else "")
    return [Case(dataset="trtllm_perf_overview", row_id=r["row_id"], figure_class="serving_throughput",
                 figure="throughput_value", measured=float(r["throughput_value"]),
                 unit="output tokens/s per GPU" if per_gpu else "output tokens/s", source=r["source"],
                 model=r["model"], gpu=inputs.gpu, engine="trtllm", inputs=inputs, assumptions=note, isl=isl,
                 osl=osl, per_gpu_of=_int(r["num_gpus"]) if per_gpu else 0)]


_AIC_PRECISION = {"fp8": "fp8", "int4": "int4", "fp4": "fp4"}


def _aiconfigurator(r: dict) -> list[Case]:
    """Aggregated serving latency at a fixed concurrency; batch_size is per attention-DP rank. The
    benchmark's concurrency is the client's: the engine runs what its KV pool holds and queues the
    rest, so the replica only has to hold one sequence (concurrency 1) and the closed loop at
    `users` does the queueing."""
    adp = max(1, _int(r["attention_dp_size"] or 1))
    isl, osl = _int(r["isl"]), _int(r["osl"])
    inputs = _serve(model=model_for(r["model_path"]), precision=_AIC_PRECISION[r["precision"]],
                        gpu=gpu_name(r["system"]), pp=_int(r["pp_size"]), ep=adp,
                        tp=_int(r["tp_size"]), context_len=isl + osl, prompt_tokens=isl, output_tokens=osl,
                        concurrency=1)
    note = f"attention DP {adp} planned as expert parallelism {adp}" if adp > 1 else ""
    base = dict(dataset="aiconfigurator_silicon_sample", row_id=r["row_id"], source=r["source"],
                model=r["model_path"], gpu=inputs.gpu, engine=r["backend"], inputs=inputs, unit="ms",
                users=_int(r["batch_size"]) * adp)
    return [Case(figure_class="ttft", figure="silicon_ttft_ms", measured=float(r["silicon_ttft_ms"]),
                 assumptions=_notes(note, "measured under load: includes queueing"), **base),
            Case(figure_class="tpot", figure="silicon_tpot_ms", measured=float(r["silicon_tpot_ms"]),
                 assumptions=note, **base)]


# ShareGPT requests of `sglang.bench_serving --dataset-name sharegpt` (SGLang 0.3.0 vs vLLM 0.6.0
# rows): the first two turns of ShareGPT V3 conversations, shuffled, kept when the prompt has 4 to
# 1,024 tokens and prompt + output at most 2,048 (the sampler of vLLM's benchmark_serving, which
# sglang.bench_serving adapts), tokens of the served model's tokenizer (Llama 3). The table prints
# neither length. Mean prompt: 230,969 input tokens over 1,000 such requests, printed by vLLM
# 0.6.2's benchmark_serving with the Llama 3 tokenizer; its 194,523 generated tokens (194.5 a
# request) agree with the output length the offline rows imply (sharegpt_output_tokens).
SHAREGPT_PROMPT_TOKENS = 231
SHAREGPT_MAX_TOKENS = 2048  # prompt + output of the longest request the sampler keeps
SHAREGPT_PROMPT_SOURCE = ("substratusai/kubeai:docs/benchmarks/llama-3.2-11b-vision.md"
                          "@9c3d77c8e427e87facf4f3cb2c14ccd4ac4a3501")
# What SGLang 0.3.0 holds at the benchmark's launch lines: --mem-frac where given, else its default
# mem_fraction_static, 0.88 at TP1 and 0.85 at TP4 (benchmark_vllm_060/README.md, Notes); vLLM's
# gpu_memory_utilization is 0.9 at both.
SGLANG_MEM_FRACTION = {1: 0.88, 4: 0.85}
VLLM_MEMORY_UTILIZATION = 0.9
# vLLM 0.6.0's cap on running sequences when --max-num-seqs is not given (EngineArgs.max_num_seqs);
# SGLang 0.3.0 derives its --max-running-requests from the KV pool (half its tokens), no cap below it.
VLLM_060_MAX_NUM_SEQS = 256
VLLM_060_SOURCE = "vllm-project/vllm:vllm/engine/arg_utils.py@v0.6.0"
# Neither engine of these rows mixes prompts into decode steps: vLLM 0.6.0 enables chunked prefill
# by default only above a 32k context (and not with multi-step scheduling), SGLang only with
# --enable-mixed-chunk (server_args.py): a prefill is a step of its own while decoding waits.
SGLANG_MIXED_FLAG = "--enable-mixed-chunk"


@lru_cache(maxsize=1)
def sharegpt_output_tokens() -> int:
    """Mean output tokens of the ShareGPT requests: each offline row prints its request and output
    token throughput over the same 5,000 requests, so their ratio is the mean output length."""
    rows = [r for r in read_dataset("sglang_vllm_bench")
            if r["dataset"] == "sharegpt" and r["request_throughput_req_s"]]
    if not rows:
        raise InputError("ledger", "no offline ShareGPT row prints its request and output throughput")
    ratios = [float(r["output_token_throughput_tok_s"]) / float(r["request_throughput_req_s"]) for r in rows]
    return round(sum(ratios) / len(ratios))


def _flag(flags: str, name: str) -> str:
    """The value of `--name value` (or `--name=value`) in a launch line, '' when absent."""
    match = re.search(rf"--{name}[ =](\S+)", flags)
    return match.group(1) if match else ""


def _sglang(r: dict) -> list[Case]:
    """The SGLang benchmark tables: Llama 3.1 on ShareGPT (SGLang 0.3.0 against vLLM 0.6.0) and
    DeepSeek-V3 on random requests."""
    return _sharegpt(r) if r["dataset"] == "sharegpt" else _sglang_random(r)


def _sharegpt(r: dict) -> list[Case]:
    """Llama 3.1 in bf16 on ShareGPT requests, run by the engine the row names: online rows are
    the replica's steady state at the request rate (open loop), offline rows (rate inf, every
    request queued) its maximum output throughput, the whole system being one replica."""
    engine, tp = r["engine"].lower(), _int(r["tp"])
    flags = r["engine_flags"]
    prompt, output = SHAREGPT_PROMPT_TOKENS, sharegpt_output_tokens()
    steps, cap = 1, 0
    if engine == "vllm":
        util, context = VLLM_MEMORY_UTILIZATION, _int(_flag(flags, "max_model_len"))
        steps = _int(_flag(flags, "num-scheduler-steps") or 1)
        cap = _int(_flag(flags, "max-num-seqs") or VLLM_060_MAX_NUM_SEQS)
    else:
        fraction = _flag(flags, "mem-frac") or SGLANG_MEM_FRACTION.get(tp)
        if fraction is None:
            raise InputError("ledger", f"SGLang's default memory fraction at TP{tp} is not stated")
        util, context = float(fraction), SHAREGPT_MAX_TOKENS
    inputs = _serve(model=model_for(r["model"]), precision="bf16", gpu=gpu_name(r["gpu"]), tp=tp,
                    util_cap=util, context_len=context, prompt_tokens=prompt, output_tokens=output,
                    concurrency=1, max_num_seqs=cap, scheduler_steps=steps,
                    mixed_prefill=engine == "sglang" and SGLANG_MIXED_FLAG in flags)
    note = _notes("weights bf16: the checkpoint's dtype (no quantization flag)",
                  f"ShareGPT mean lengths: {prompt} prompt tokens ({SHAREGPT_PROMPT_SOURCE}: 230,969 over 1,000 "
                  f"requests sampled as bench_serving samples), {output} output tokens (the offline rows' output "
                  "over request throughput); every request is planned at the means, whereas prompts run 4-1,024 "
                  f"tokens and prompt + output up to {SHAREGPT_MAX_TOKENS:,}, and the source prints medians",
                  f"memory utilization {util:g} (vLLM's default)" if engine == "vllm" else
                  f"memory utilization {util:g} (SGLang's mem_fraction_static); context {SHAREGPT_MAX_TOKENS:,}, "
                  "the longest request (SGLang pages a pool for the model's 131,072); radix cache off",
                  f"--num-scheduler-steps {steps} (multi-step scheduling): a new prompt waits for the {steps} decode "
                  f"steps in flight, half of them on average; at most {cap} sequences run at once (vLLM 0.6.0's "
                  f"default max_num_seqs, {VLLM_060_SOURCE}); tokens stream in bursts, so ITL is inflated: TPOT is "
                  "compared" if engine == "vllm" else "",
                  "" if inputs.mixed_prefill else "each prefill a step of its own while decoding waits ("
                  + ("vLLM 0.6.0: chunked prefill off below a 32k context)" if engine == "vllm" else
                     f"SGLang 0.3.0 without {SGLANG_MIXED_FLAG})"))
    base = dict(dataset="sglang_vllm_bench", row_id=r["row_id"], source=r["source"], model=r["model"],
                gpu=inputs.gpu, engine=engine, inputs=inputs, assumptions=note)
    if r["request_rate_rps"] == "inf":
        return [Case(figure_class="serving_throughput", figure="output_token_throughput_tok_s",
                     measured=float(r["output_token_throughput_tok_s"]), unit="output tokens/s", isl=prompt,
                     osl=output, **base)]
    rate = float(r["request_rate_rps"])
    return [Case(figure_class="ttft", figure="median_ttft_ms", measured=float(r["median_ttft_ms"]), unit="ms",
                 requests_per_s=rate, **base),
            Case(figure_class="tpot", figure="median_tpot_ms", measured=float(r["median_tpot_ms"]), unit="ms",
                 requests_per_s=rate, **base)]


def _sglang_random(r: dict) -> list[Case]:
    """SGLang DeepSeek-V3 FP8 on 8xH200 with DP attention, random requests at a request rate:
    the replica's steady state at that rate (open loop)."""
    isl, osl = _int(r["isl"]), _int(r["osl"])
    dp_attention = "--enable-dp-attention" in r["engine_flags"]
    tp = _int(r["tp"])
    inputs = _serve(model=model_for(r["model"]), precision="fp8", gpu=gpu_name(r["gpu"]),
                    ep=tp if dp_attention else 1, tp=1 if dp_attention else tp,
                    kv_dtype="fp8" if "--kv-cache-dtype fp8" in r["engine_flags"] else "auto",
                    context_len=isl + osl, prompt_tokens=isl, output_tokens=osl, concurrency=1,
                    mixed_prefill=SGLANG_MIXED_FLAG in r["engine_flags"])
    note = _notes("DP attention over 8 GPUs planned as expert parallelism 8" if dp_attention else "",
                  "SGLang 0.4.1 ran DeepSeek-V3 on the day of its release: its output plateaued near 2.9k "
                  "tokens/s at 8 req/s, about a tenth of what the serving model gives this hardware, and at 2-8 "
                  "req/s the runs were overloaded (output below the offered load), so TTFT/TPOT are transients "
                  "of a finite run; not fitted")
    base = dict(dataset="sglang_vllm_bench", row_id=r["row_id"], source=r["source"], model=r["model"],
                gpu=inputs.gpu, engine="sglang", inputs=inputs, unit="ms", assumptions=note,
                requests_per_s=float(r["request_rate_rps"]), fitted=False)
    return [Case(figure_class="ttft", figure="median_ttft_ms", measured=float(r["median_ttft_ms"]), **base),
            Case(figure_class="tpot", figure="median_tpot_ms", measured=float(r["median_tpot_ms"]), **base)]


# ---- training -----------------------------------------------------------------------------------
def _nemo(r: dict) -> list[Case]:
    """NeMo 24.07 (Megatron core, distributed optimizer = ZeRO-1) and AutoModel (FSDP2 = ZeRO-3),
    each with its framework's memory accounting."""
    tp, pp, gpus = _int(r["tp"]), _int(r["pp"]), _int(r["num_gpus"])
    megatron = r["source_group"].startswith("NeMo 24.07")
    # AutoModel prints EP "-" for its GPT-OSS rows, yet runs DeepEP: the benchmark configs the
    # table links (examples/benchmark/configs/gptoss_*_te_deepep.yaml) set ep_size to the GPU count
    deepep_unprinted = not re.match(r"\d", r["ep"]) and "DeepEP" in r["other"]
    ep = _int(r["ep"]) if re.match(r"\d", r["ep"]) else gpus if deepep_unprinted else 1
    lora = "lora" in r["task"].lower()
    vp = _int(r["vp"]) if re.match(r"\d", r["vp"]) else 1
    inputs = _train(model=model_for(r["model"]), precision=r["precision"].lower(), gpu=gpu_name(r["gpu"]),
                    train_method="lora" if lora else "full", tp=tp, pp=pp, ep=ep, dp=gpus // (tp * pp),
                    framework="megatron" if megatron else "fsdp", zero_stage=1 if megatron else 3,
                    seq_len=_int(r["seq_len"]), micro_batch=_int(r["micro_batch"]),
                    global_batch=_int(r["global_batch"]), interleave=vp if pp > 1 else 1,
                    network_gbit_s=DGX_H100_NETWORK_GBIT_S)
    note = _notes(MODEL_NOTES.get(r["model"], ""),
                  "distributed optimizer (ZeRO-1) assumed" if megatron else "FSDP2 planned as ZeRO-3",
                  f"EP not printed: {ep}, as the table's linked DeepEP benchmark config sets it" if deepep_unprinted
                  else "",
                  "activation checkpointing not stated: the planner's choice (auto)",
                  "DGX-H100 network: 8 x 400 Gb/s InfiniBand (DGX H100 datasheet)",
                  "LoRA rank not stated: planner default" if lora else "",
                  "mock data and a balanced MoE gate (optimistic)" if not megatron else "")
    return [Case(dataset="nemo_throughput", row_id=r["row_id"], figure_class="training_throughput",
                 figure="tokens_per_s_per_gpu", measured=float(r["tokens_per_s_per_gpu"]), unit="tokens/s per GPU",
                 source=r["source"], model=r["model"], gpu=inputs.gpu, engine="nemo", inputs=inputs, assumptions=note)]


def _published(r: dict) -> list[Case]:
    """Megatron-LM weak scaling (Narayanan et al. 2021, Table 1: full recomputation, TFLOP/s
    counting it) and Llama 3 405B pre-training (Table 4: BF16 MFU, no checkpointing)."""
    gpus, seq = _int(r["gpu_count"].replace(",", "")), _int(r["seq_len"].replace(",", ""))
    if r["model"].startswith("GPT"):
        mp = _int(_found(r"= (\d+)", r["parallelism"]).group(1))
        tp = min(mp, 8)
        model, metric, precision, recompute, zero = _gpt_arch(r), "hardware", "fp16", "full", 0
        pp, dp, framework = mp // tp, gpus // mp, "megatron"
        network = SELENE_NETWORK_GBIT_S
        note = _notes("TP = min(model-parallel size, 8) (README note); micro-batch not stated: 1; no ZeRO (2021)",
                      "Selene node network: 8 x 200 Gb/s HDR InfiniBand (Narayanan et al. 2021, §5); "
                      "interleaved schedule not stated: plain 1F1B")
    else:
        tp, pp, dp = (_int(x) for x in _found(r"TP=(\d+) CP=\d+ PP=(\d+) DP\(FSDP\)=(\d+)",
                                                 r["parallelism"]).groups())
        model, metric, precision, recompute, zero = model_for(r["model"]), "model", "bf16", "none", -1
        framework = "zero"  # Meta's own stack: the ZeRO paper's accounting
        network = LLAMA3_NETWORK_GBIT_S
        note = _notes(MODEL_NOTES[r["model"]], "micro-batch not stated: 1; FSDP sharding: any ZeRO stage that fits",
                      "network: 400 Gb/s per GPU RoCE (Llama 3 paper §3.3.1); virtual stages not stated: 1")
    gpu = "H100" if "H100" in r["gpu_model"] else "A100-80GB"  # Selene's 80 GB A100s (README quote)
    batch = _int(r["global_batch"].replace(",", ""))
    global_batch = batch * 2**20 // seq if "tokens" in r["global_batch"] else batch  # '16M tokens/batch'
    inputs = _train(model=model, precision=precision, gpu=gpu, framework=framework, tp=tp, pp=pp, dp=dp,
                    zero_stage=zero, seq_len=seq, micro_batch=1, recompute=recompute, global_batch=global_batch,
                    network_gbit_s=network)
    return [Case(dataset="published_runs", row_id=r["row_id"], figure_class="training_throughput",
                 figure="achieved_tflops_per_gpu", measured=float(r["achieved_tflops_per_gpu"]),
                 unit="TFLOP/s per GPU", source=r["source"], model=r["model"], gpu=inputs.gpu,
                 engine="megatron" if metric == "hardware" else "meta", inputs=inputs, assumptions=note,
                 metric=metric)]


@dataclass(frozen=True)
class Recipe:
    """What a torchtune table row ran: its recipe config at the commit that published the table,
    with the flags the table itself states (packing, compile, the cumulative optimizations)."""

    config: str  # repo path@commit of the config
    recompute: str = "full"  # enable_activation_checkpointing: True -> full, False -> none
    chunked_loss: bool = True  # loss: CEWithChunkedOutputLoss (False: torch.nn.CrossEntropyLoss)
    optimizer: str = "adamw"
    optimizer_in_backward: bool = False  # optimizer_in_bwd
    paged: bool = False  # a bitsandbytes Paged* optimizer: its states live in CUDA unified memory
    params_on_cpu: bool = False  # fsdp_cpu_offload: parameters, gradients and optimizer in host memory
    activation_offload: bool = False  # enable_activation_offloading
    lora_rank: int = 8
    note: str = ""  # where the row cannot have run the config as written


# The README's last definition of its "Peak memory per GPU" column (removed in eef59f7a).
TORCHTUNE_PEAK_NOTE = ("'Peak Memory per GPU': torch.cuda.max_memory_reserved(), as the README defined the column "
                       "until 2024-04 (README.md@240cff85); the planner's tensors plus its fragmentation margin")
_TT31 = "pytorch/torchtune:recipes/configs/llama3_1/{}.yaml@30b8519e86d2"  # the commit that added the table
_TT32 = "pytorch/torchtune:recipes/configs/llama3_2/{}.yaml@1814feb17a90"  # the commit that added the table
_TT2 = "pytorch/torchtune:recipes/configs/llama2/{}.yaml@0217d44c2e1e"
# (model, method, GPUs) -> Recipe; the Llama 3.2 3B rows of the cumulative "Optimization flags"
# table by their step (every step keeps the ones above it, except LoRA/QLoRA: no optimizer in
# backward, no 8-bit AdamW).
_3B_STEPS = ("+ Compile", "+ Chunked Cross Entropy", "+ Activation Checkpointing",
             "+ Fuse optimizer step into backward", "+ Activation Offloading", "+ 8-bit AdamW")
RECIPES = {
    ("Llama 3.1 8B", "full", 1): Recipe(_TT31.format("8B_full_single_device"), optimizer="adamw8bit",
                                        optimizer_in_backward=True, paged=True),
    ("Llama 3.1 8B", "lora", 1): Recipe(_TT31.format("8B_lora_single_device")),
    ("Llama 3.1 8B", "qlora", 1): Recipe(_TT31.format("8B_qlora_single_device")),
    ("Llama 3.1 70B", "full", 8): Recipe(_TT31.format("70B_full"), params_on_cpu=True),
    ("Llama 3.1 70B", "lora", 8): Recipe(_TT31.format("70B_lora"), lora_rank=16),
    ("Llama 3.1 405B", "qlora", 8): Recipe(_TT31.format("405B_qlora"), chunked_loss=False, lora_rank=16),
    ("Llama2-7B", "qlora", 1): Recipe(_TT2.format("7B_qlora_single_device"), chunked_loss=False),
    ("Llama2-7B", "lora", 1): Recipe(_TT2.format("7B_lora_single_device"), chunked_loss=False),
    ("Llama2-7B", "lora", 2): Recipe(
        _TT2.format("7B_lora"), chunked_loss=False,
        note="7B_lora sets enable_activation_checkpointing: False, but without it batch 4 x 2048 keeps ~35 GiB of "
             "activations, more than a 24 GB RTX 4090 holds: planned with checkpointing, as the 1-GPU row"),
    ("Llama2-7B", "full", 1): Recipe(_TT2.format("7B_full_low_memory"), chunked_loss=False,
                                     optimizer_in_backward=True, paged=True),
    ("Llama2-7B", "full", 4): Recipe(_TT2.format("7B_full"), chunked_loss=False),
    ("Llama2-70B", "lora", 8): Recipe(_TT2.format("70B_lora"), chunked_loss=False, lora_rank=16),
}


def _llama32_recipe(step: str, method: str) -> Recipe:
    """The 3B table's row after `step` (baseline: full_finetune_single_device with AdamW, no
    checkpointing, plain cross-entropy; the table adds one flag per row)."""
    if method != "full":
        return Recipe(_TT32.format(f"3B_{method}_single_device"), activation_offload=True, lora_rank=64)
    done = _3B_STEPS[:_3B_STEPS.index(step) + 1]
    return Recipe(_TT32.format("3B_full_single_device"), recompute="full" if _3B_STEPS[2] in done else "none",
                  chunked_loss=_3B_STEPS[1] in done, optimizer="adamw8bit" if _3B_STEPS[5] in done else "adamw",
                  optimizer_in_backward=_3B_STEPS[3] in done, activation_offload=_3B_STEPS[4] in done)


def torchtune_recipe(r: dict, method: str, gpus: int) -> Recipe:
    """The Recipe of one torchtune row; InputError when no config at the cited commit says."""
    if r["model"] == "Llama 3.2 3B":
        step = r["method"].split("cumulative: ")[-1]
        if method == "full" and step not in _3B_STEPS:
            raise InputError("ledger", f"'{step}' is not a step of the table the planner can express")
        return _llama32_recipe(step, method)
    if (r["model"], method, gpus) not in RECIPES:
        raise InputError("ledger", f"no torchtune config for {r['model']} {method} on {gpus} GPUs at the cited commit")
    return RECIPES[(r["model"], method, gpus)]


def _torchtune(r: dict) -> list[Case]:
    """torchtune fine-tuning peak memory in torchtune's accounting, with what its recipe config
    ran (Recipe); several GPUs = FSDP (ZeRO-3). A paged optimizer's states live in CUDA unified
    memory, which torch's allocator statistics do not count and which pages to host memory
    when the GPU runs short: planned as optimizer offload to the CPU."""
    gpus = _int(_found(r"\s*(\d+)", r["gpu"]).group(1))
    text = r["method"].lower()
    method = "qlora" if "qlora" in text else "lora" if "lora" in text else "full"
    recipe = torchtune_recipe(r, method, gpus)
    metric = "allocated" if "active" in r["memory_metric"].lower() else "reserved"
    on_cpu = "cpu" if recipe.paged or recipe.params_on_cpu else "none"
    inputs = _train(model=model_for(r["model"]), train_method=method, precision="bf16", gpu=gpu_name(r["gpu"]),
                    framework="torchtune", tp=1, pp=1, dp=gpus, zero_stage=3 if gpus > 1 else 0,
                    seq_len=_int(r["seq_len"]), micro_batch=_int(r["batch"]), recompute=recipe.recompute,
                    lora_rank=recipe.lora_rank, chunked_loss=recipe.chunked_loss, optimizer=recipe.optimizer,
                    optimizer_in_backward=recipe.optimizer_in_backward, offload_optimizer=on_cpu,
                    offload_params="cpu" if recipe.params_on_cpu else "none",
                    activation_offload=recipe.activation_offload)
    note = _notes(f"settings from {recipe.config}: checkpointing {'on' if recipe.recompute == 'full' else 'off'}, "
                  f"{'chunked' if recipe.chunked_loss else 'plain'} cross-entropy"
                  + (f", LoRA rank {recipe.lora_rank} (the planner puts adapters on every linear layer)"
                     if method != "full" else ""),
                  "paged optimizer: states in unified memory, planned as optimizer offload" if recipe.paged else "",
                  "fsdp_cpu_offload: parameters and optimizer offloaded" if recipe.params_on_cpu else "",
                  recipe.note, MODEL_NOTES.get(r["model"], ""),
                  GPU_NOTES.get(re.sub(r"^\d+\s*x\s*", "", r["gpu"].strip()), ""),
                  TORCHTUNE_PEAK_NOTE if metric == "reserved" else "")
    return [Case(dataset="finetune_memory_torchtune", row_id=r["row_id"], figure_class="training_memory",
                 figure="peak_memory", measured=float(r["peak_memory"]), unit=r["memory_unit"], source=r["source"],
                 model=r["model"], gpu=inputs.gpu, engine="torchtune", inputs=inputs, assumptions=note,
                 metric=metric)]


def _megatron(r: dict) -> list[Case]:
    """Megatron-LM PR #482: Llama2-7B, torch.cuda.max_memory_allocated() per GPU, in Megatron's
    accounting; the flags column states no sequence parallelism and no recomputation."""
    inputs = _train(model=model_for(r["model"]), precision="bf16", gpu=gpu_name(r["gpu_model"]),
                    framework="megatron", tp=_int(r["tp"]), pp=_int(r["pp"]), dp=_int(r["dp"]), zero_stage=1,
                    seq_len=2048, micro_batch=_int(r["micro_batch_size"]), recompute="none",
                    sequence_parallel=False)
    note = _notes("sequence length not stated: 2048 assumed (at Llama 2's 4096 every layout comes out 19-40 % "
                  "above the measurement)",
                  "unit not printed; the tool prints 'GB': 10^9 bytes assumed (read as GiB the errors are -5 to -9 %)",
                  "distributed optimizer = ZeRO-1 (Megatron's own bytes: bf16 parameters, fp32 main gradients)",
                  GPU_NOTES["H800"])
    return [Case(dataset="megatron_pr482_memory", row_id=r["row_id"], figure_class="training_memory",
                 figure="peak_memory_actual", measured=float(r["peak_memory_actual"]), unit="GB",
                 source=r["source"], model=r["model"], gpu=inputs.gpu, engine="megatron", inputs=inputs,
                 assumptions=note, metric="allocated")]


MAPPERS = {
    "vllm_memory_llmd": _vllm, "trtllm_perf_overview": _trtllm, "aiconfigurator_silicon_sample": _aiconfigurator,
    "sglang_vllm_bench": _sglang, "nemo_throughput": _nemo, "published_runs": _published,
    "finetune_memory_torchtune": _torchtune, "megatron_pr482_memory": _megatron,
}


def read_dataset(name: str) -> list[dict]:
    return read_csv_records(resource_path(f"validation/{name}.csv"))


def load_cases() -> list[Case]:
    """Every ledger row mapped to Cases, dataset by dataset in file order; a row whose model the
    planner's config reader refuses is left out and listed by unmapped_rows()."""
    cases = []
    for name in DATASETS:
        for row in read_dataset(name):
            try:
                cases += MAPPERS[name](row)
            except InputError as e:
                _UNMAPPED.append((name, row["row_id"], str(e)))
    return cases


_UNMAPPED: list[tuple[str, str, str]] = []


def unmapped_rows() -> list[tuple[str, str, str]]:
    """(dataset, row id, reason) of the rows load_cases() could not map to planner inputs."""
    return list(dict.fromkeys(_UNMAPPED))

