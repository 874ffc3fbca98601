"""Property-based fuzz over everything a user or a file can hand the planner (issue 14, "done means"):
CLI arguments and generated config.json, plan, catalog and safetensors-header files. Whatever comes
in, the outcome is an answer or a clear refusal: never a traceback, never a NaN or negative figure,
never "fits" with more memory per GPU than the GPU has. Bounded: a fixed number of examples per
target and no deadline, so the suite stays fast on two cores."""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import struct
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuplanner.cli import main as cli_main
from gpuplanner.core import InputError, PlanInputs, estimate, load_catalogs
from gpuplanner.core.model_readers import load_config_json, summarize_checkpoint
from gpuplanner.core.planfile import PlanFileError, load_plan

FUZZ = settings(max_examples=int(os.environ.get("GPUPLANNER_FUZZ_EXAMPLES", "100")), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NAN_WORD = re.compile(r"\bnan\b|\binf\b", re.IGNORECASE)
# Figures that may legitimately be negative: none today. Keys whose values are not figures:
NOT_FIGURES = {"zero_stage", "dp", "tp", "pp", "ep"}  # inputs: -1 / 0 mean "choose for me"


REFUSED, ANSWERED = "refused", "answered"  # what each case returns, for drills that count them


@cache
def catalogs():
    return load_catalogs()


def check_result(result) -> None:
    """The invariants every plan shown to a user must hold."""
    check_figures(result.to_dict(), "result")
    if result.fits:
        assert result.memory_per_gpu_bytes <= result.capacity_bytes, "fits with memory over capacity"


def check_figures(value, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_FIGURES:
                check_figures(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_figures(item, f"{where}[{index}]")
    elif isinstance(value, float):
        assert math.isfinite(value) and value >= 0, f"{where} = {value}"
    elif isinstance(value, int) and not isinstance(value, bool):
        assert value >= 0, f"{where} = {value}"


def plan_or_refusal(inputs: PlanInputs, catalogs_used=None) -> str:
    try:
        result = estimate(inputs, catalogs_used or catalogs())
    except InputError as e:
        assert e.message and "Traceback" not in str(e)
        return REFUSED
    check_result(result)
    return ANSWERED


# ---- CLI arguments ----------------------------------------------------------------------------
NUMBERS = st.one_of(st.integers(-5, 10**6).map(str), st.sampled_from(
    ["0", "-1", "1e400", "nan", "inf", "-inf", "1e-300", "7B", "2T", "350M", "", "x", "1,5", "10**400"]))
OPTIONS = {
    "--model": st.sampled_from(["llama-2-7b", "mixtral-8x7b-v0.1", "llama-3.1-405b", "deepseek-v3", "nope", ""]),
    "--params": NUMBERS, "--mode": st.sampled_from(["train", "infer", "fly"]),
    "--train-method": st.sampled_from(["full", "lora", "qlora"]),
    "--tokens": NUMBERS, "--max-training-days": NUMBERS, "--seq-len": NUMBERS, "--batch": NUMBERS,
    "--lora-rank": NUMBERS, "--context": NUMBERS, "--concurrency": NUMBERS, "--requests-per-s": NUMBERS,
    "--prompt-tokens": NUMBERS, "--output-tokens": NUMBERS, "--min-tokens-per-s-per-user": NUMBERS,
    "--precision": st.sampled_from(["fp32", "bf16", "fp8", "int4"]), "--kv-dtype": st.sampled_from(["auto", "fp8"]),
    "--optimizer": st.sampled_from(["adamw", "sgd", "lion"]), "--zero": NUMBERS,
    "--recompute": st.sampled_from(["none", "full"]), "--dp": NUMBERS, "--tp": NUMBERS, "--pp": NUMBERS,
    "--ep": NUMBERS, "--gpu": st.sampled_from(["T4", "H100", "A10G", "B200", "nope"]),
    "--instance": st.sampled_from(["p5.48xlarge", "g5.xlarge", "g4dn.xlarge", "x9.huge"]),
    "--mfu": NUMBERS, "--mbu": NUMBERS, "--util-cap": NUMBERS, "--overhead": NUMBERS,
    "--fragmentation": NUMBERS, "--price-kind": st.sampled_from(["on_demand", "spot"]),
}
HARDWARE = st.sampled_from([["--instance"], ["--gpu"], [], ["--gpu", "--instance"]])
ARGV = st.tuples(HARDWARE, st.lists(st.sampled_from(sorted(set(OPTIONS) - {"--gpu", "--instance", "--model"})),
                                    max_size=4, unique=True)).flatmap(
    lambda picked: st.tuples(*(OPTIONS[n] for n in ["--model", *picked[0], *picked[1]])).map(
        lambda values: [part for pair in zip(["--model", *picked[0], *picked[1]], values) for part in pair]))


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as e:  # argparse refusing an option value
            code = e.code
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(ARGV, st.sampled_from(["table", "json"]))
def test_cli_arguments(argv, fmt):
    cli_case(argv, fmt)


def cli_case(argv, fmt):
    code, out, err = run_cli(["plan", *argv, "--format", fmt])
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.strip() and out == ""
        return REFUSED
    if fmt == "table":
        assert not NAN_WORD.search(out), out
    else:
        data = json.loads(out)
        check_figures(data, "json")
        if data["fits"]:
            assert data["memory_per_gpu_bytes"] <= data["capacity_bytes"]
    return ANSWERED


# ---- files ------------------------------------------------------------------------------------
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**7),
                         st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=8))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=8)
LITERALS = st.sampled_from(["Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 400, "[" * 200 + "]" * 200,
                           "[" * 5000 + "]" * 5000])

# Architecture fields: positive ranges here; the values' consistency (negative sizes, heads that
# do not divide) is checked by core/model.py's own validation and widened in its tests.
POSITIVE = st.integers(1, 2**16)
CONFIGS = st.fixed_dictionaries(
    {"model_type": st.sampled_from(["llama", "mixtral", "gpt2", "qwen2", "deepseek_v3", "zzz"]),
     "num_hidden_layers": POSITIVE, "hidden_size": POSITIVE, "num_attention_heads": POSITIVE,
     "vocab_size": POSITIVE},
    optional={"intermediate_size": POSITIVE, "num_key_value_heads": POSITIVE, "head_dim": POSITIVE,
              "max_position_embeddings": POSITIVE, "num_local_experts": st.integers(0, 64),
              "num_experts_per_tok": st.integers(0, 8), "tie_word_embeddings": st.booleans(),
              "junk": JSON_VALUES})


def write_json_with_literal(path, document, literal: str | None, key: str) -> None:
    text = json.dumps(document)
    if literal is not None:  # a value JSON allows but Python's parser turns into trouble
        text = text[:-1] + (", " if document else "") + f'"{key}": {literal}' + "}"
    path.write_text(text)


@FUZZ
@given(CONFIGS, st.one_of(st.none(), LITERALS), st.sampled_from(["num_hidden_layers", "hidden_size", "x"]))
def test_config_json_files(tmp_path_factory, config, literal, key):
    config_case(tmp_path_factory.mktemp("cfg"), config, literal, key)


def config_case(folder, config, literal, key):
    path = folder / "config.json"
    write_json_with_literal(path, config, literal, key)
    try:
        arch = load_config_json(path)
    except InputError as e:
        assert str(path) in str(e)
        return REFUSED
    assert literal is None or key == "x" and literal[0] != "[", "an unsafe value was accepted"
    outcomes = {plan_or_refusal(PlanInputs(model=arch, mode=mode, instance="p5.48xlarge"))
                for mode in ("train", "infer")}
    return ANSWERED if ANSWERED in outcomes else REFUSED


INPUT_VALUES = {
    "seq_len": st.integers(-10, 10**6), "micro_batch": st.integers(-1, 10**4),
    "mode": st.sampled_from(["train", "infer", "infer", "train", 3]),
    "training_tokens": st.floats(-1, 1e15), "mfu": st.floats(-1, 2), "util_cap": st.floats(-1, 2),
    "concurrency": st.integers(-1, 10**5), "instance": st.sampled_from(["g5.xlarge", "nope", 7]),
    "gpu": st.sampled_from(["", "T4", "H100"]), "zero_stage": st.integers(-2, 4), "tp": st.integers(-1, 16),
    "model": st.one_of(st.sampled_from(["llama-2-7b", "mixtral-8x7b-v0.1", "deepseek-v3", ""]), JSON_VALUES),
    "params": st.floats(0, 1e13), "lora_rank": st.one_of(st.integers(-1, 4096), st.text(max_size=3)),
}
PLANS = st.fixed_dictionaries({}, optional=INPUT_VALUES)


@FUZZ
@given(PLANS, st.one_of(st.none(), LITERALS))
def test_plan_files(tmp_path_factory, values, literal):
    plan_case(tmp_path_factory.mktemp("plan"), values, literal)


def plan_case(folder, values, literal):
    path = folder / "p.gpuplan"
    document = {"format": "gpuplanner-plan", "version": 1, "inputs": values}
    text = json.dumps(document)
    if literal is not None:
        text = text.replace('"version": 1', f'"version": 1, "extra": {literal}')
    path.write_text(text)
    try:
        inputs = load_plan(path).inputs
    except PlanFileError as e:
        assert str(e).startswith("p.gpuplan")
        return REFUSED
    return plan_or_refusal(inputs)


CELLS = st.one_of(st.sampled_from(["", "0", "-1", "nan", "inf", "1e400", "=1+1", "H100", "T4", "abc"]),
                  st.integers(-5, 10**4).map(str), st.floats(allow_nan=False, allow_infinity=False).map(str))


def mostly(valid, junk=CELLS):
    """Valid cells three times in four, so most rows get as far as a plan."""
    return st.one_of(valid, valid, valid, junk)


CATALOG_ROWS = st.lists(st.fixed_dictionaries({
    "instance_type": st.sampled_from(["mine-1", "mine-2", "p5.48xlarge"]),
    "gpu": mostly(st.sampled_from(["H100", "T4", "A10G", "B200"])),
    "gpu_count": mostly(st.integers(1, 16).map(str)),
    "price_usd_per_hour": mostly(st.floats(0.01, 500).map(str)),
    "spot_price_usd_per_hour": mostly(st.sampled_from(["", "1.5", "0.2"]))}), min_size=1, max_size=3)


@FUZZ
@given(CATALOG_ROWS)
def test_catalog_files(tmp_path_factory, rows):
    catalog_case(tmp_path_factory.mktemp("cat"), rows)


def catalog_case(folder, rows):
    path = folder / "prices.csv"
    header = list(rows[0])
    path.write_text(",".join(header) + "\n" + "".join(",".join(r[h] for h in header) + "\n" for r in rows))
    try:
        mine = catalogs().with_user_file(path)
    except InputError as e:
        assert str(path) in str(e)
        return REFUSED
    outcomes = {plan_or_refusal(PlanInputs(instance=row["instance_type"]), mine) for row in rows}
    return ANSWERED if ANSWERED in outcomes else REFUSED


TENSORS = st.dictionaries(st.text(min_size=1, max_size=6), st.fixed_dictionaries({
    "dtype": st.sampled_from(["F16", "BF16", "F32", "I8", "??"]),
    "shape": st.lists(st.integers(-3, 10**6), max_size=4),
    "data_offsets": st.lists(st.integers(-5, 10**9), min_size=0, max_size=3)}), max_size=4)


WELL_FORMED = st.dictionaries(st.text(min_size=1, max_size=6), st.lists(st.integers(0, 4096), max_size=3).map(
    lambda shape: {"dtype": "BF16", "shape": shape, "data_offsets": [0, 2 * math.prod(shape)]}), max_size=4)
HEADERS = st.one_of(WELL_FORMED, TENSORS, JSON_VALUES)


@FUZZ
@given(HEADERS, st.one_of(st.none(), LITERALS))
def test_safetensors_headers(tmp_path_factory, header, literal):
    safetensors_case(tmp_path_factory.mktemp("st"), header, literal)


def safetensors_case(folder, header, literal):
    text = json.dumps(header)
    if literal is not None and isinstance(header, dict):
        text = text[:-1] + (", " if header else "") + f'"x": {literal}' + "}"
    raw = text.encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    try:
        summary = summarize_checkpoint(folder)
    except InputError as e:
        assert "model.safetensors" in str(e)
        return REFUSED
    assert summary.params >= 0 and summary.bytes >= 0
    assert all(n >= 0 for n in summary.params_by_dtype.values())
    return ANSWERED
