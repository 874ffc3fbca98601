"""Build the accuracy ledger in resources/validation/ from the published measurements in
../shared/data/validation (see its README for units and caveats).

Run from the repository root: python scripts/build_ledger.py [--data DIR]

Every kept cell is copied verbatim (figures are never edited); each ledger file keeps the source
columns the mapping in gpuplanner/core/ledger.py reads, plus `row_id` (the 0-based data row of the
source file) and `source` (repo path@commit, docs URL, or paper and table). Rows the planner cannot
express are left out by the rule table RULES below and listed, with the rule's reason and their row
ids, in resources/validation/excluded.csv: the one place to see what was left out and why. Every
other row is kept.
"""
import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gpuplanner.core.errors import InputError  # noqa: E402
from gpuplanner.core.ledger import MODELS, gpu_name  # noqa: E402  (one table of names: the mapping's)

OUT = ROOT / "resources" / "validation"

# Models with no architecture the planner can build, and why.
NO_ARCH = {
    "codellama/CodeLlama-7b-hf": "no architecture for CodeLlama-7b in the data (README: no config)",
    "ibm-granite/granite-3.1-2b-instruct": "no architecture for granite in the data (README: no config)",
    "ibm-granite/granite-3.1-8b-instruct": "no architecture for granite in the data (README: no config)",
    "ibm-granite/granite-3.3-8b-instruct": "no architecture for granite in the data (README: no config)",
    "ibm-granite/granite-vision-3.3-2b": "no architecture for granite in the data (README: no config)",
    "microsoft/phi-4": "no architecture for phi-4 in the data (README: no config)",
    "moonshotai/Kimi-Dev-72B": "no architecture for Kimi-Dev in the data (README: no config)",
    "moonshotai/Kimi-VL-A3B-Instruct": "no architecture for Kimi-VL in the data (README: no config)",
    "google/gemma-3-4b-it": "multimodal checkpoint: vLLM loads a vision tower the planner's text-only architecture lacks",
    "google/gemma-3-12b-it": "multimodal checkpoint: vLLM loads a vision tower the planner's text-only architecture lacks",
    "google/gemma-3-27b-it": "multimodal checkpoint: vLLM loads a vision tower the planner's text-only architecture lacks",
    "meta-llama/Llama-4-Scout-17B-16E-Instruct":
        "multimodal checkpoint: vLLM loads a vision tower the planner's text-only architecture lacks",
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503":
        "multimodal checkpoint: vLLM loads a vision tower the planner's text-only architecture lacks",
    "Qwen/Qwen3.5-397B-A17B": "linear-attention (Gated DeltaNet) layers: the planner has softmax attention only",
    "zhipuai/GLM-5": "DeepSeek sparse attention: the planner has dense attention only",
    "GPT3-5B": "no architecture for NeMo's GPT3-5B in the data",
    "GPT3-20B": "no architecture for NeMo's GPT3-20B in the data",
    "Nemotron-8B": "no architecture for Nemotron in the data",
    "Nemotron-22B": "no architecture for Nemotron in the data",
    "Nemotron-340B": "no architecture for Nemotron in the data",
    "Kimi K2": "no architecture for Kimi K2 in the data (Kimi-K2.5's config is not stated to be the same)",
}

def _repo_source(r):
    where = f"@{r['source_commit']}" if r.get("source_commit") else ""
    if not where and r.get("source_url"):
        return r["source_url"]
    return f"{r['source_repo']}:{r['source_path']}{where}"


def _model_rule(column):
    """Models the ledger's model table (gpuplanner/core/ledger.py MODELS) cannot build."""
    def rule(r):
        name = r[column].strip()
        if name in MODELS:
            return ""
        return NO_ARCH.get(name, f"no architecture for '{name}' in the ledger's model table")
    return rule


def _gpu_rule(column):
    def rule(r):
        try:
            gpu_name(r[column])
        except InputError:
            return f"GPU '{r[column]}' is not in the planner's catalog"
        return ""
    return rule


def _float(text, default=0.0):
    try:
        return float(text)
    except ValueError:
        return default


# dataset -> (source file, kept columns, source, [rule(row) -> reason or ''])
RULES = {
    "vllm_memory_llmd": ("serving/vllm_memory_llmd.csv", [
        "log_file", "run_status", "model", "gpu", "tp", "pp", "dp", "vllm_version", "dtype", "quantization",
        "kv_cache_dtype", "max_model_len", "gpu_memory_utilization", "total_gpu_memory_gib",
        "model_loading_weights_gib", "kv_cache_gib", "kv_cache_tokens", "max_concurrency_tokens_per_request",
        "max_concurrency_x"], _repo_source, [
        lambda r: "" if r["run_status"] == "ok" else f"FAILED run: {r['failure_reason']}",
        _model_rule("model"),
    ]),
    "trtllm_perf_overview": ("serving/trtllm_perf_overview.csv", [
        "trtllm_version", "model", "gpu_as_printed", "gpu", "gpu_beta_flag", "num_gpus", "tp", "pp", "precision",
        "isl", "osl", "throughput_as_printed", "throughput_value", "per_gpu_or_total"], _repo_source, [
        _gpu_rule("gpu_as_printed"),
    ]),
    "aiconfigurator_silicon_sample": ("serving/aiconfigurator_silicon_sample.csv", [
        "id", "silicon_data_source", "backend", "backend_version", "model_path", "system", "precision", "mode",
        "isl", "osl", "gemm_quant_mode", "moe_quant_mode", "batch_size", "tp_size", "pp_size", "attention_dp_size",
        "moe_tp_size", "moe_ep_size", "silicon_ttft_ms", "silicon_tpot_ms"], _repo_source, [
        lambda r: "disaggregated serving: the planner models one aggregated replica" if r["mode"] != "agg" else "",
        lambda r: "wip=True (work-in-progress measurement)" if "wip=True" in r["silicon_data_source"] else "",
        lambda r: "precision not stated" if not r["precision"] else "",
        _gpu_rule("system"),
        lambda r: "attention tensor parallelism above 8 GPUs: the planner keeps TP inside one 8-GPU node"
        if _float(r["tp_size"]) > 8 else "",
        _model_rule("model_path"),
    ]),
    "sglang_vllm_bench": ("serving/sglang_vllm_bench.csv", [
        "benchmark", "table_title_as_printed", "scenario", "engine", "engine_version", "engine_flags", "model",
        "gpu", "num_gpus", "tp", "precision_label", "dataset", "isl", "osl", "request_rate_rps",
        "median_e2e_latency_ms", "median_ttft_ms", "median_tpot_ms", "request_throughput_req_s",
        "output_token_throughput_tok_s"], _repo_source, [
        lambda r: "TP16 over two nodes, overloaded (README: not capacity points)" if r["tp"] == "16" else "",
        lambda r: "weight dtype not stated (section label BF16 adds no flag; DeepSeek-V3 in BF16 needs 1.34 TB, "
                  "more than 8 x 141 GB)" if r["precision_label"].startswith("BF16 (section") else "",
    ]),
    "nemo_throughput": ("training/nemo_throughput.csv", [
        "source_group", "model", "task", "gpu", "num_gpus", "precision", "seq_len", "global_batch", "micro_batch",
        "tp", "pp", "cp", "vp", "ep", "fsdp", "activation_checkpointing", "tokens_per_s_per_gpu",
        "model_tflops_per_gpu", "other", "source"], None, [
        _model_rule("model"),
        lambda r: "context parallelism: the planner has none" if _float(r["cp"], 1.0) > 1 else "",
    ]),
    "published_runs": ("training/published_runs.csv", [
        "model", "params", "gpu_model", "gpu_count", "seq_len", "global_batch", "parallelism", "precision",
        "achieved_tflops_per_gpu", "mfu_stated", "notes", "source"], None, [
        lambda r: "context parallelism: the planner has none" if "CP=16" in r["parallelism"] else "",
    ]),
    "finetune_memory_torchtune": ("training/finetune_memory_torchtune.csv", [
        "model", "method", "precision", "seq_len", "batch", "gradient_checkpointing", "optimizer", "gpu",
        "peak_memory", "memory_unit", "memory_metric", "lora_config", "source"], None, [
        _model_rule("model"),
        lambda r: "unpacked dataset: sequences have the dataset's own lengths (only the 4096 cap is stated)"
        if r["method"].endswith("cumulative: Baseline") else "",
        lambda r: "eager PyTorch (torch.compile is the next row): uncompiled RMSNorm, RoPE and SiLU keep fp32 and "
                  "intermediate tensors beyond the per-layer activations the planner counts (fused kernels, "
                  "Korthikanti et al. 2022)" if r["method"].endswith("cumulative: + Packed Dataset") else "",
        lambda r: "no Llama2 70B full-finetune config at the cited commit (recipes/configs/llama2 has 7B and 13B "
                  "full configs only): checkpointing, optimizer and FSDP settings not stated"
        if (r["model"], r["method"].lower()) == ("Llama2-70B", "full finetune") else "",
        lambda r: "sequence length not fixed (unpacked dataset)" if r["seq_len"].startswith("not fixed") else "",
    ]),
    "megatron_pr482_memory": ("training/megatron_pr482_memory.csv", [
        "model", "precision", "micro_batch_size", "global_batch_size", "dp", "pp", "tp", "gpu_count", "gpu_model",
        "seq_len", "peak_memory_actual", "memory_unit", "actual_metric", "flags_supported_by_tool", "source"],
        None, [_gpu_rule("gpu_model")]),
}

CONFIG_COLUMNS = [
    "name", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "vocab_size", "tie_word_embeddings", "max_position_embeddings",
    "num_experts", "experts_per_token", "moe_intermediate_size", "num_shared_experts",
    "shared_expert_intermediate_size", "first_k_dense_replace", "kv_lora_rank", "q_lora_rank", "qk_nope_head_dim",
    "qk_rope_head_dim", "v_head_dim", "sliding_window", "attention_layer_pattern", "torch_dtype",
    "checkpoint_quantization", "notes", "source",
]
# Architectures the ledger's rows use (model_configs_extra.csv `name`, first word).
CONFIGS = {"Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-235B-A22B", "openai/gpt-oss-120b",
           "openai/gpt-oss-20b", "deepseek-ai/DeepSeek-R1", "moonshotai/Kimi-K2.5", "MiniMaxAI/MiniMax-M2.5",
           "google/gemma-2-2b-it", "google/gemma-2-9b-it", "google/gemma-2-27b-it", "deepseek-ai/DeepSeek-V2-Lite",
           "google/gemma-7b", "microsoft/phi-2"}


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _ranges(ids):
    """[0, 1, 2, 5] -> '0-2 5': the row ids of one rule, compactly."""
    out, start = [], None
    for i, n in enumerate(ids):
        if start is None:
            start = n
        if i + 1 == len(ids) or ids[i + 1] != n + 1:
            out.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return " ".join(out)


def _write(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def build(data: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    excluded = {}  # (dataset, reason) -> source row ids
    for name, (path, columns, source, rules) in RULES.items():
        rows = []
        for i, r in enumerate(_read(data / path)):
            r = {**r, "row_id": str(i)}
            if source:
                r["source"] = source(r)
            reason = next((why for rule in rules if (why := rule(r))), "")
            if reason:
                excluded.setdefault((name, reason), []).append(i)
            else:
                rows.append(r)
        _write(OUT / f"{name}.csv", ["row_id", *[c for c in columns if c != "source"], "source"], rows)
        print(f"{name}: {len(rows)} rows")
    _write(OUT / "excluded.csv", ["dataset", "reason", "n_rows", "row_ids"],
           [{"dataset": d, "reason": why, "n_rows": len(ids), "row_ids": _ranges(ids)}
            for (d, why), ids in excluded.items()])
    configs = []
    for r in _read(data / "serving" / "model_configs_extra.csv"):
        r["name"] = r["name"].split(" ")[0]
        if r["name"] in CONFIGS:
            r["source"] = f"{r['source_repo']}:{r['source_path']}@{r['source_commit']}"
            configs.append(r)
    _write(OUT / "model_configs.csv", CONFIG_COLUMNS, configs)
    print(f"excluded: {sum(map(len, excluded.values()))} rows; configs: {len(configs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "validation")
    build(parser.parse_args().data)


if __name__ == "__main__":
    main()
