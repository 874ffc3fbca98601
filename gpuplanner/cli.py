"""gpuplanner-cli: the planner without a window (plan, sweep, catalog, validate).

Bad input exits with status 2 and one line naming the option and what is allowed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from gpuplanner.bench.collectives import load_collectives
from gpuplanner.core import CatalogError, InputError, PlanInputs, estimate, load_catalogs, safe_io
from gpuplanner.core.errors import did_you_mean
from gpuplanner.core.fields import FORM_FIELDS, GROUPS, INPUT_FIELDS, InputField, result_text
from gpuplanner.core.hub import INSTALL_HINT, HubModel, fetch_hub_model
from gpuplanner.core.hub_id import parse_hub_id
from gpuplanner.core.model_readers import load_config_json, load_model_folder
from gpuplanner.core.option_texts import option_rows
from gpuplanner.core.planfile import PlanFileError, load_plan
from gpuplanner.core.result import BREAKDOWN_KEYS
from gpuplanner.core.units import (
    GIB,
    fmt_count,
    fmt_duration,
    fmt_number,
    fmt_usd,
    parse_bytes,
    parse_count,
    plural,
)
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


def _auto_int(text):
    """A whole number, or auto (stored as 0: search)."""
    if text == "auto":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not allowed; use a whole number or auto") from None


def _add_input(group, f: InputField, default, keep_default: bool = True) -> None:
    """One option from the field table: its flag, type, choices and help with the default."""
    help_text = f.tip + (" Give a fraction (0.4 = 40 %)." if f.kind == "pct" else "")
    help_text += f" (default: {_cli_text(f, default)})"
    kwargs: dict = {"dest": f.name, "default": _default(default, keep_default), "help": help_text.replace("%", "%%")}
    if f.kind not in ("choice", "bool"):
        kwargs["metavar"] = f.cli_flag[2:].upper().replace("-", "_")
    if f.name == "zero_stage":
        kwargs.update(type=_zero, metavar="{0,1,2,3,auto}")
    elif f.kind == "choice":
        kwargs["choices"] = [value for value, _ in f.choices]
    elif f.kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif f.kind == "auto_int":
        kwargs["type"] = _auto_int
    elif f.kind == "int":
        kwargs["type"] = int
    elif f.kind in ("float", "pct"):  # the CLI takes fractions as fractions (0.4, not 40)
        kwargs["type"] = float
    elif f.kind == "count":
        kwargs["type"] = _count(f.name)
    elif f.kind == "gib":
        kwargs["type"] = _size
    group.add_argument(f.cli_flag, **kwargs)


def _cli_text(f: InputField, value) -> str:
    """A default as it would be typed on the command line."""
    if f.name == "zero_stage" and value == -1 or f.kind == "auto_int" and value == 0:
        return "auto"
    if f.kind == "count":
        return fmt_count(value) if value else "none"
    if f.kind == "gib":
        return f"{value / GIB:g}GiB"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _default(value, keep: bool):
    """An option's default, or SUPPRESS when parsing only to learn which options were typed."""
    return value if keep else argparse.SUPPRESS


def _plan_options(p: argparse.ArgumentParser, keep_defaults: bool = True) -> None:
    d = PlanInputs()
    k = keep_defaults
    p.add_argument("--plan", type=Path, default=_default(None, k), metavar="FILE",
                   help="start from a saved .gpuplan file; every option given here overrides the file's value "
                        "(--model/--params/--config replace its model, --gpu/--instance its hardware)")
    g = p.add_argument_group("model")
    g.add_argument("--model", default=_default("", k),
                   help="preset id (see `catalog models`), or a Hugging Face Hub id org/name[@revision] "
                        f"(config.json and safetensors headers, no weights; needs {INSTALL_HINT}; "
                        "HF_TOKEN for gated models, HF_HUB_OFFLINE=1 to read the cache only)")
    _add_input(g, INPUT_FIELDS["params"], 0.0, k)
    _add_input(g, INPUT_FIELDS["experts"], 0, k)
    _add_input(g, INPUT_FIELDS["experts_per_token"], 0, k)
    g.add_argument("--config", type=Path, default=_default(None, k),
                   help="a Hugging Face config.json or a local model folder")
    p.add_argument("--method", choices=("quick", "detailed"), default=_default("detailed", k),
                   help="quick: only the rule of thumb; detailed: the full model (default: detailed)")
    for group in GROUPS:
        g = p.add_argument_group(group.title.replace("&&", "and").lower())
        for f in group.fields:
            _add_input(g, f, getattr(d, f.name), k)
    g.add_argument("--gpu", default=_default("", k), help="plan by GPU (priced at the cheapest instance per GPU)")
    g.add_argument("--instance", default=_default("", k),
                   help=f"cloud instance type (default: {d.instance}, or none with --gpu)")
    g.add_argument("--catalog", type=Path, action="append", default=_default([], k),
                   help="extra GPU/instance/model catalog CSV (repeatable; rows replace bundled ones)")
    g.add_argument("--collectives", type=Path, default=_default(None, k), metavar="FILE",
                   help="results of `python -m gpuplanner.bench --collectives`: the link bandwidths "
                        "--interconnect measured plans with (replacing a plan file's)")
    p.add_argument("--format", choices=FORMATS, default=_default("table", k))


def build_parser(keep_defaults: bool = True) -> argparse.ArgumentParser:
    """The parser; ``keep_defaults=False`` leaves out every untyped plan option (see _typed_options)."""
    parser = _Parser(prog="gpuplanner-cli", description="GPU capacity and cost planner for LLMs")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = sub.add_parser("plan", help="one estimate")
    _plan_options(plan, keep_defaults)
    plan.add_argument("--report", type=Path, help="also write the plan report: a .pdf or .csv file")
    plan.add_argument("--page-size", choices=("A4", "Letter"), default="A4", help="PDF page size")
    _plan_options(sub.add_parser("sweep", help="every instance type × precision, both modes"), keep_defaults)
    cat = sub.add_parser("catalog", help="list the bundled GPUs, instances or models; update: download fresh prices")
    cat.add_argument("kind", choices=("gpus", "instances", "models", "update"))
    cat.add_argument("--from", dest="from_url", metavar="URL", default=None,
                     help="update: the folder holding <cloud>/vms.csv in SkyPilot's catalog format "
                          "(default: $GPUPLANNER_PRICES_URL, else skypilot-org/skypilot-catalog catalogs/v8 on GitHub)")
    cat.add_argument("--catalog", type=Path, action="append", default=[])
    cat.add_argument("--format", choices=FORMATS, default="table")
    val = sub.add_parser("validate", help="the accuracy ledger: predictions against published measurements")
    val.add_argument("--class", dest="figure_class", metavar="CLASS",
                     help="one figure class only (training_throughput, training_memory, weights_memory, "
                          "serving_kv_pool, serving_throughput, ttft, tpot)")
    val.add_argument("--format", choices=FORMATS, default="table")
    return parser


def _catalogs(args):
    catalogs = load_catalogs()
    for path in args.catalog:
        catalogs = catalogs.with_user_file(path)
    return catalogs


def _refuse_conflicts(args, catalogs) -> None:
    """Options that contradict each other are refused, naming both, instead of one being ignored."""
    shown = {"model": args.model, "params": args.params and fmt_count(args.params), "config": args.config}
    given = [f"--{name} {value}" for name, value in shown.items() if value]
    if len(given) > 1:
        raise InputError("model", f"{' and '.join(given)} each name the model; give only one")
    instance = catalogs.instances.get(args.instance) if args.instance else None
    if args.gpu and args.instance and (instance is None or instance.gpu.lower() != args.gpu.lower()):
        has = (f"has {instance.gpu_count} × {instance.gpu}" if instance else
               f"is not in the catalog{did_you_mean(args.instance, catalogs.instances)}")
        raise InputError("gpu", f"--gpu {args.gpu} conflicts with --instance {args.instance} (which {has}); "
                         "give one of them")


MODEL_OPTIONS = frozenset({"model", "params", "config", "experts", "experts_per_token"})
HARDWARE_OPTIONS = frozenset({"gpu", "instance"})


def _inputs(args, catalogs, argv):
    """The plan's inputs: the options, or with --plan the file's inputs overridden by the typed options."""
    _refuse_conflicts(args, catalogs)
    if args.plan is not None:
        inputs, catalogs = _plan_file_inputs(args, catalogs, _typed_options(argv))
    else:
        model, catalogs, hub = _model(args, catalogs)
        values = {name: getattr(args, name) for name in FORM_FIELDS}
        inputs = PlanInputs(model=model, params=args.params or 0.0, experts=args.experts,
                            experts_per_token=args.experts_per_token, **_hardware(args), **values)
        inputs = _checkpoint_precision(inputs, hub, _typed_options(argv) if hub else set())
    if args.collectives is not None:
        try:
            catalogs = catalogs.with_measured_links(load_collectives(args.collectives).measured_links())
        except InputError as e:
            raise InputError("collectives", f"{args.collectives}: {e.message}") from None
        except ValueError as e:
            raise InputError("collectives", str(e)) from None
    return inputs, catalogs


def _model(args, catalogs) -> tuple[object, object, HubModel | None]:
    """The model the options choose (a config's architecture, a Hub model, a preset id, or none
    beside --params), the catalogs with it, and the Hub model it came from."""
    if args.model and args.model not in catalogs.models and parse_hub_id(args.model):
        hub = fetch_hub_model(args.model)
        print(f"Hugging Face Hub: {hub.describe()}", file=sys.stderr)
        return hub.arch, catalogs.with_model(hub.arch), hub
    if args.config:
        safe_io.check_path(args.config)  # a name over 255 bytes is a message, not an OSError from is_dir()
        arch = load_model_folder(args.config)[0] if args.config.is_dir() else load_config_json(args.config)
        return arch, catalogs.with_model(arch), None
    if not args.model and not args.params:
        return PlanInputs().model, catalogs, None
    return args.model or "", catalogs, None


def _checkpoint_precision(inputs: PlanInputs, hub: HubModel | None, typed: set[str]) -> PlanInputs:
    """A quantized Hub checkpoint is planned at its own precision unless --precision was typed."""
    if hub is None or "precision" in typed:
        return inputs
    inputs, note = hub.with_precision(inputs)
    if note:
        print(f"Hugging Face Hub: {note}", file=sys.stderr)
    return inputs


def _hardware(args) -> dict:
    return {"gpu": args.gpu, "instance": args.instance or ("" if args.gpu else PlanInputs().instance)}


def _typed_options(argv) -> set[str]:
    """The destinations of the options typed on the command line (untyped ones are left out)."""
    return set(vars(build_parser(keep_defaults=False).parse_args(argv)))


def _plan_file_inputs(args, catalogs, typed: set[str]):
    """--plan FILE: the file's inputs (and the GPU it measured); each typed option overrides the
    file's value. The model options replace the file's model as one choice, the hardware options
    its hardware, each completed as without --plan (e.g. --gpu alone plans by GPU, no instance)."""
    try:
        doc = load_plan(args.plan)
        catalogs = doc.catalogs(catalogs, args.plan.name)
    except PlanFileError as e:
        raise InputError("plan", str(e)) from None
    changes = {name: getattr(args, name) for name in FORM_FIELDS if name in typed}
    hub = None
    if typed & MODEL_OPTIONS:
        changes["model"], catalogs, hub = _model(args, catalogs)
        changes["params"] = args.params or 0.0
        changes.update(experts=getattr(args, "experts", 0), experts_per_token=getattr(args, "experts_per_token", 0))
    if typed & HARDWARE_OPTIONS:
        changes.update(_hardware(args))
    return _checkpoint_precision(doc.inputs.with_(**changes), hub, typed).validated(), catalogs


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
        lines.append(f"Detailed: needs {plural(r.min_gpus, 'GPU')}; plan uses {r.gpus} ({r.layout.describe()}); "
                     f"{per_gpu}")
    else:
        lines.append(f"Detailed: DOES NOT FIT; the smallest layout tried ({r.layout.describe()}) needs {per_gpu}")
    parts = ", ".join(f"{k.replace('_', ' ')} {getattr(b, k) / GIB:.2f}" for k in BREAKDOWN_KEYS if getattr(b, k))
    lines.append(f"Memory per GPU (GiB): {parts}")
    inst = f"{r.instances:.0f} × {r.instance_type}" if math.isfinite(r.instances) else "by GPU"
    lines.append(f"Instances: {inst} · {fmt_usd(r.price_usd_per_hour)}/h on-demand, "
                 f"{fmt_usd(r.spot_price_usd_per_hour)}/h spot (prices: {r.price_as_of or 'n/a'})")
    if r.mode == "train":
        lines.append(f"Training: {result_text('training_flops', r.training_flops)}, {fmt_duration(r.training_time_s)}, "
                     f"{fmt_number(r.gpu_hours)} GPU-hours, {fmt_usd(r.cost_usd)} on-demand, "
                     f"{fmt_usd(r.spot_cost_usd)} spot")
        host = f"; host memory per node {result_text('host_memory_bytes', r.host_memory_bytes)}" \
            if r.host_memory_bytes > 0 else ""
        lines.append(f"Speed: {result_text('step_time_s', r.step_time_s)} per step, MFU {result_text('mfu', r.mfu)}, "
                     f"{result_text('tokens_per_s_per_gpu', r.tokens_per_s_per_gpu)} per GPU{host}")
    elif not r.replicas:
        lines.append("Serving: speed, replicas and cost unknown (see the warnings)")
    else:
        lines.append(f"Serving: prefill {fmt_duration(r.prefill_time_s)}, "
                     f"{fmt_number(r.decode_tokens_per_s_per_user, ',.1f')} tok/s per user, "
                     f"{fmt_number(r.decode_tokens_per_s_total)} tok/s "
                     f"total at batch {r.inputs.concurrency}, largest batch {r.max_batch}")
        lines.append(f"Latency at {r.inputs.concurrency} concurrent: first token {fmt_duration(r.ttft_s)}, "
                     f"{fmt_duration(r.tpot_s)} per token; offline maximum {fmt_number(r.max_throughput_tokens_per_s)} "
                     f"tok/s per replica at {fmt_number(r.max_throughput_concurrency)} concurrent")
        lines.append(f"Load: {plural(r.replicas, 'replica')} × {plural(r.gpus, 'GPU')} at batch {r.serving_batch}, "
                     f"{fmt_usd(r.usd_per_million_tokens)}/1M tokens at the requested load "
                     f"({fmt_usd(r.usd_per_million_tokens_at_capacity)} at capacity), "
                     f"{fmt_usd(r.monthly_cost_usd)}/month")
        lines += [f"{name}: {launch.command}  # KV pool {launch.pool.kv_cache_tokens:,} tokens"
                  for name, launch in r.engine_flags.items()]
    if r.fits and (r.mode == "train" or r.replicas):
        lines += [f"{label}: {text}" for label, text in option_rows(r)]
    lines += [f"Warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def _print_frame(frame, fmt: str) -> None:
    if fmt == "json":
        print(frame.to_json(orient="records", indent=2))
    elif fmt == "csv":
        print(frame.to_csv(index=False), end="")
    else:
        print(frame.to_string(index=False, max_colwidth=48, float_format=_table_number, na_rep=""))


def _table_number(x: float) -> str:
    """Plain digits for tables (no 1.98e+15): whole numbers with separators, small ones to 4 figures."""
    return f"{x:,.0f}" if abs(x) >= 1000 or x == int(x) else f"{x:.4g}"


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


def _print_validation(figure_class, fmt: str) -> None:
    from gpuplanner.core import accuracy
    from gpuplanner.core.ledger import CLASSES  # the ledger needs pandas: imported only here
    if figure_class is not None and figure_class not in CLASSES:
        raise InputError("class", f"'{figure_class}' is not a figure class; use one of {', '.join(CLASSES)}")
    outcomes = accuracy.bundled_outcomes()
    if fmt == "table":
        print(accuracy.report_text(outcomes, figure_class))
        return
    data = accuracy.report(outcomes, figure_class)
    if fmt == "json":
        print(json.dumps(data, indent=2))
    else:
        import pandas as pd
        print(pd.DataFrame(data["rows"]).to_csv(index=False), end="")


def _warn_stale(catalogs) -> None:
    """Old or undated prices, and a downloaded catalog that could not be used, said on stderr."""
    from gpuplanner.core.price_age import staleness_warning
    for note in filter(None, (catalogs.price_update_error, staleness_warning(catalogs))):
        print(f"gpuplanner-cli: warning: {note}", file=sys.stderr)


def _update_prices(base_url: str | None) -> int:
    """`catalog update`: fresh prices into the user's data folder, or one line saying why not."""
    from gpuplanner.core import price_update
    try:
        summary = price_update.update_prices(base_url or price_update.default_base_url())
    except price_update.PriceUpdateError as e:
        print(f"gpuplanner-cli: error: catalog update: {e}", file=sys.stderr)
        return 1
    print(summary.text())
    return 0


def _write_report(result, table, path: Path, page_size: str) -> None:
    from gpuplanner.report import write_report
    for written in write_report(result, table, path, page_size):
        print(f"wrote {written}", file=sys.stderr)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "validate":
            _print_validation(args.figure_class, args.format)
            return 0
        catalogs = _catalogs(args)
        if args.command == "catalog" and args.kind == "update":
            return _update_prices(args.from_url)
        if args.command == "catalog":
            _print_frame(_catalog_frame(catalogs, args.kind), args.format)
            if args.kind == "instances":
                _warn_stale(catalogs)
            return 0
        inputs, catalogs = _inputs(args, catalogs, argv)
        if args.command == "plan":
            result = estimate(inputs, catalogs)
            _print_plan(result, args.format, args.method == "quick")
            if args.report:
                from gpuplanner.core.estimate import attach_frontier
                from gpuplanner.core.sweep import sweep  # pandas: only for the comparison
                table = attach_frontier(sweep(inputs, catalogs), inputs, catalogs)
                _write_report(result, table, args.report, args.page_size)
        else:
            from gpuplanner.core.sweep import sweep
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
