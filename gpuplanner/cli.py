"""gpuplanner-cli: the planner without a window (plan, sweep, catalog).

Bad input exits with status 2 and one line naming the option and what is allowed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from gpuplanner.core import CatalogError, InputError, PlanInputs, estimate, load_catalogs, sweep
from gpuplanner.core.inputs import (
    GRAD_DTYPES, KV_DTYPES, MODES, OPTIMIZERS, PRECISIONS, PRICE_KINDS, RECOMPUTE, TRAIN_METHODS,
)
from gpuplanner.core.model import load_config_json, load_model_folder
from gpuplanner.core.units import GIB, fmt_count, fmt_duration, fmt_usd, parse_bytes, parse_count
from gpuplanner.report.errors import ReportError

FORMATS = ("table", "json", "csv")


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _count(field):
    def parse(text):
        try:
            return parse_count(text, field)
        except InputError as e:
            raise argparse.ArgumentTypeError(e.message) from None
    return parse


def _size(text):
    try:
        return parse_bytes(text, "overhead")
    except InputError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def _zero(text):
    if text == "auto":
        return -1
    if text in ("0", "1", "2", "3"):
        return int(text)
    raise argparse.ArgumentTypeError(f"'{text}' is not allowed; use 0, 1, 2, 3 or auto")


def _plan_options(p: argparse.ArgumentParser) -> None:
    d = PlanInputs()
    g = p.add_argument_group("model")
    g.add_argument("--model", help="preset id (see `catalog models`)")
    g.add_argument("--params", type=_count("params"), help="bare parameter count, e.g. 7B, 6.74e9, 350M")
    g.add_argument("--config", type=Path, help="a Hugging Face config.json or a local model folder")
    g = p.add_argument_group("workload")
    g.add_argument("--mode", choices=MODES, default=d.mode)
    g.add_argument("--method", choices=("quick", "detailed"), default="detailed",
                   help="quick: only the rule of thumb; detailed: the full model")
    g.add_argument("--train-method", choices=TRAIN_METHODS, default=d.train_method)
    g.add_argument("--tokens", type=_count("tokens"), default=d.training_tokens, help="training tokens, e.g. 2T")
    g.add_argument("--max-training-days", type=float, default=d.max_training_days,
                   help="add data parallelism until training takes at most this many days")
    g.add_argument("--seq-len", type=int, default=d.seq_len, help="training sequence length (tokens)")
    g.add_argument("--batch", type=int, default=d.micro_batch, help="micro-batch size per GPU")
    g.add_argument("--lora-rank", type=int, default=d.lora_rank)
    g.add_argument("--context", type=int, default=d.context_len, help="inference context per sequence (tokens)")
    g.add_argument("--concurrency", type=int, default=d.concurrency, help="concurrent sequences per replica")
    g.add_argument("--requests-per-s", type=float, default=d.requests_per_s)
    g.add_argument("--prompt-tokens", type=int, default=d.prompt_tokens)
    g.add_argument("--output-tokens", type=int, default=d.output_tokens)
    g.add_argument("--min-tokens-per-s-per-user", type=float, default=d.min_tokens_per_s_per_user)
    g.add_argument("--max-ttft-s", type=float, default=d.max_ttft_s,
                   help="time-to-first-token target in seconds (0 = none)")
    g.add_argument("--prefix-cache-hit-rate", type=float, default=d.prefix_cache_hit_rate,
                   help="share of prompt tokens found in the prefix cache (0-0.99)")
    g = p.add_argument_group("precision and memory")
    g.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    g.add_argument("--kv-dtype", choices=KV_DTYPES, default=d.kv_dtype)
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    g.add_argument("--grad-dtype", choices=GRAD_DTYPES, default=d.grad_dtype)
    g.add_argument("--zero", type=_zero, default=d.zero_stage, help="ZeRO stage 0-3 or auto (default)")
    g.add_argument("--recompute", choices=RECOMPUTE, default=d.recompute)
    g.add_argument("--flash-attention", action=argparse.BooleanOptionalAction, default=d.flash_attention)
    g = p.add_argument_group("parallelism (0 = find the smallest layout)")
    for name in ("dp", "tp", "pp", "ep"):
        g.add_argument(f"--{name}", type=int, default=0)
    g = p.add_argument_group("hardware and cost")
    g.add_argument("--gpu", help="plan by GPU (priced at the cheapest instance per GPU)")
    g.add_argument("--instance", help=f"cloud instance type (default {d.instance})")
    g.add_argument("--mfu", type=float, default=d.mfu, help="model FLOPs utilization, 0-1")
    g.add_argument("--mbu", type=float, default=d.mbu, help="memory-bandwidth utilization in decode, 0-1")
    g.add_argument("--util-cap", type=float, default=d.util_cap, help="usable share of GPU memory, 0-1")
    g.add_argument("--overhead", type=_size, default=d.overhead_bytes, help="runtime memory per GPU, e.g. 0.75GiB")
    g.add_argument("--fragmentation", type=float, default=d.fragmentation)
    g.add_argument("--price-kind", choices=PRICE_KINDS, default=d.price_kind)
    g.add_argument("--catalog", type=Path, action="append", default=[],
                   help="extra GPU/instance/model catalog CSV (repeatable; rows replace bundled ones)")
    p.add_argument("--format", choices=FORMATS, default="table")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gpuplanner-cli", description="GPU capacity and cost planner for LLMs")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = sub.add_parser("plan", help="one estimate")
    _plan_options(plan)
    plan.add_argument("--report", type=Path, help="also write the plan report: a .pdf or .csv file")
    plan.add_argument("--page-size", choices=("A4", "Letter"), default="A4", help="PDF page size")
    _plan_options(sub.add_parser("sweep", help="every instance type × precision, both modes"))
    cat = sub.add_parser("catalog", help="list the bundled GPUs, instances or models")
    cat.add_argument("kind", choices=("gpus", "instances", "models"))
    cat.add_argument("--catalog", type=Path, action="append", default=[])
    cat.add_argument("--format", choices=FORMATS, default="table")
    return parser


def _catalogs(args):
    catalogs = load_catalogs()
    for path in args.catalog:
        catalogs = catalogs.with_user_file(path)
    return catalogs


def _inputs(args, catalogs):
    model = args.model or ""
    if args.config:
        arch = load_model_folder(args.config)[0] if args.config.is_dir() else load_config_json(args.config)
        catalogs = catalogs.with_model(arch)
        model = arch
    elif not model and not args.params:
        model = PlanInputs().model
    instance = args.instance or ("" if args.gpu else PlanInputs().instance)
    inputs = PlanInputs(
        model=model, params=args.params or 0.0, mode=args.mode, train_method=args.train_method,
        precision=args.precision, kv_dtype=args.kv_dtype, optimizer=args.optimizer,
        grad_dtype=args.grad_dtype, zero_stage=args.zero, dp=args.dp, tp=args.tp, pp=args.pp, ep=args.ep,
        seq_len=args.seq_len, micro_batch=args.batch, recompute=args.recompute,
        flash_attention=args.flash_attention, lora_rank=args.lora_rank, training_tokens=args.tokens,
        max_training_days=args.max_training_days, mfu=args.mfu, mbu=args.mbu, context_len=args.context,
        concurrency=args.concurrency, requests_per_s=args.requests_per_s, prompt_tokens=args.prompt_tokens,
        output_tokens=args.output_tokens, min_tokens_per_s_per_user=args.min_tokens_per_s_per_user,
        max_ttft_s=args.max_ttft_s, prefix_cache_hit_rate=args.prefix_cache_hit_rate,
        gpu=args.gpu or "", instance=instance, util_cap=args.util_cap, overhead_bytes=args.overhead,
        fragmentation=args.fragmentation, price_kind=args.price_kind,
    )
    return inputs, catalogs


def _flatten(d: dict, prefix="") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out[prefix + k] = v
    return out


def _print_plan(result, fmt: str, quick_only: bool) -> None:
    data = result.to_dict()
    if quick_only:
        data = {"quick_rule": data["quick_rule"], "model": data["model"], "gpu": data["gpu"],
                "params_total": data["params_total"], "mode": data["mode"], "precision": data["precision"]}
    if fmt == "json":
        print(json.dumps(data, indent=2))
    elif fmt == "csv":
        import pandas as pd
        print(pd.DataFrame([_flatten(data)]).to_csv(index=False), end="")
    else:
        print(plan_text(result, quick_only))


def plan_text(r, quick_only: bool = False) -> str:
    """The human-readable plan (--format table)."""
    lines = [f"{r.model_name} · {r.mode} · {r.precision} · {r.instance_type or r.gpu_name}"
             f" · {fmt_count(r.params_total)} params"
             + (f" ({fmt_count(r.params_active)} active)" if r.params_active != r.params_total else ""),
             f"Quick rule: {r.quick_rule.formula}"]
    if quick_only:
        return "\n".join(lines)
    b = r.breakdown_bytes
    per_gpu = f"{b.total / GIB:.1f} GiB of {r.usable_bytes / GIB:.1f} GiB usable per GPU"
    if r.fits:
        lines.append(f"Detailed: needs {r.min_gpus} GPUs; plan uses {r.gpus} ({r.layout.describe()}); {per_gpu}")
    else:
        lines.append(f"Detailed: DOES NOT FIT; the smallest layout tried ({r.layout.describe()}) needs {per_gpu}")
    parts = ", ".join(f"{k.replace('_', ' ')} {getattr(b, k) / GIB:.2f}" for k in
                      ("weights", "master_weights", "gradients", "optimizer", "activations", "kv_cache", "overhead")
                      if getattr(b, k))
    lines.append(f"Memory per GPU (GiB): {parts}")
    inst = f"{r.instances:.0f} × {r.instance_type}" if math.isfinite(r.instances) else "by GPU"
    lines.append(f"Instances: {inst} · {fmt_usd(r.price_usd_per_hour)}/h on-demand, "
                 f"{fmt_usd(r.spot_price_usd_per_hour)}/h spot (prices: {r.price_as_of or 'n/a'})")
    if r.mode == "train":
        lines.append(f"Training: {r.training_flops:.3e} FLOP, {fmt_duration(r.training_time_s)}, "
                     f"{r.gpu_hours:,.0f} GPU-hours, {fmt_usd(r.cost_usd)} on-demand, {fmt_usd(r.spot_cost_usd)} spot")
    elif not r.replicas:
        lines.append("Serving: speed, replicas and cost unknown (see the warnings)")
    else:
        lines.append(f"Serving: prefill {fmt_duration(r.prefill_time_s)}, "
                     f"{r.decode_tokens_per_s_per_user:,.1f} tok/s per user, {r.decode_tokens_per_s_total:,.0f} tok/s "
                     f"total at batch {r.inputs.get('concurrency')}, largest batch {r.max_batch}")
        lines.append(f"Latency at {r.inputs.get('concurrency')} concurrent: first token {fmt_duration(r.ttft_s)}, "
                     f"{fmt_duration(r.tpot_s)} per token; offline maximum {r.max_throughput_tokens_per_s:,.0f} tok/s "
                     f"per replica at {r.max_throughput_concurrency:,.0f} concurrent")
        lines.append(f"Load: {r.replicas} replica(s) × {r.gpus} GPUs at batch {r.serving_batch}, "
                     f"{fmt_usd(r.usd_per_million_tokens)}/1M tokens at the requested load "
                     f"({fmt_usd(r.usd_per_million_tokens_at_capacity)} at capacity), "
                     f"{fmt_usd(r.monthly_cost_usd)}/month")
        lines += [f"{name}: {launch.command}  # KV pool {launch.pool.kv_cache_tokens:,} tokens"
                  for name, launch in r.engine_flags.items()]
    lines += [f"Warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def _print_frame(frame, fmt: str) -> None:
    if fmt == "json":
        print(frame.to_json(orient="records", indent=2))
    elif fmt == "csv":
        print(frame.to_csv(index=False), end="")
    else:
        print(frame.to_string(index=False, max_colwidth=48))


def _catalog_frame(catalogs, kind: str):
    import dataclasses

    import pandas as pd
    if kind == "models":
        from gpuplanner.core.model import sizes
        rows = [{"model_id": m.name, "params_total": sizes(m).total, "params_active": sizes(m).active,
                 "layers": m.n_layers, "hidden": m.hidden, "heads": m.n_heads, "kv_heads": m.n_kv_heads,
                 "published_params": m.published_params, "source": m.source} for m in catalogs.models.values()]
        return pd.DataFrame(rows)
    items = catalogs.gpus.values() if kind == "gpus" else catalogs.instances.values()
    rows = []
    for item in items:
        row = dataclasses.asdict(item)
        for dtype, flops in row.pop("peak_flops", {}).items():
            row[f"{dtype}_tflops_dense"] = flops / 1e12
        rows.append(row)
    return pd.DataFrame(rows)


def _write_report(result, table, path: Path, page_size: str) -> None:
    from gpuplanner.report import write_report
    for written in write_report(result, table, path, page_size):
        print(f"wrote {written}", file=sys.stderr)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        catalogs = _catalogs(args)
        if args.command == "catalog":
            _print_frame(_catalog_frame(catalogs, args.kind), args.format)
            return 0
        inputs, catalogs = _inputs(args, catalogs)
        if args.command == "plan":
            result = estimate(inputs, catalogs)
            _print_plan(result, args.format, args.method == "quick")
            if args.report:
                _write_report(result, sweep(inputs, catalogs), args.report, args.page_size)
        else:
            _print_frame(sweep(inputs, catalogs), args.format)
    except InputError as e:
        if isinstance(e, CatalogError):  # e names the file, row and column
            print(f"gpuplanner-cli: error: --catalog/--config: {e}", file=sys.stderr)
        else:
            print(f"gpuplanner-cli: error: --{e.field.replace('_', '-')}: {e.message}", file=sys.stderr)
        return 2
    except ReportError as e:
        print(f"gpuplanner-cli: error: --report: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
