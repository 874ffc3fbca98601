"""Protocol round trips and the tolerance of decode; the config's command-line round trip."""
import contextlib
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuplanner.bench import protocol
from gpuplanner.bench.config import PHASES, BenchConfig, TrainConfig, default_train_config, parse_args

EXAMPLES = [
    protocol.message("hello", device_type="cpu", device_name="AMD EPYC", threads=2, torch_version="2.13.0",
                     cuda_version=None),
    protocol.message("progress", phase="memory", step=3, total=17),
    protocol.message("metrics", timestamp_s=1.25, allocated_bytes=2**40, reserved_bytes=0, rss_bytes=123),
    protocol.message("result", phase="matmul", dtype="bf16", size=1024, flops_per_s=0.39e12, duration_s=0.005),
    protocol.message("error", kind="oom", message="CUDA out of memory"),
    protocol.message("done", ok=True),
    protocol.message("cancel"),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: m["type"])
def test_round_trip(msg):
    line = protocol.encode(msg)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert protocol.decode(line) == msg
    assert protocol.decode(line.decode()) == msg


def test_every_message_carries_the_version():
    assert all(m["v"] == protocol.PROTOCOL_VERSION for m in EXAMPLES)


def test_non_finite_floats_become_null():
    msg = protocol.message("result", phase="matmul", flops_per_s=math.nan, more=[math.inf])
    assert protocol.decode(protocol.encode(msg)) == {**msg, "flops_per_s": None, "more": [None]}


V = protocol.PROTOCOL_VERSION


@pytest.mark.parametrize("line, reason", [
    (b"hello world", "garbage"),
    (b"\xff\xfe\x00", "garbage"),
    (b"[1, 2]", "garbage"),
    (b"null", "garbage"),
    ('{"type": "done", "ok": true}', "version"),
    ('{"type": "done", "v": 1, "ok": true}', "version"),  # version 1 sent TFLOP/s and GB/s
    (f'{{"type": "done", "v": {V + 1}, "ok": true}}', "version"),
    (f'{{"type": "telemetry", "v": {V}}}', "unknown_type"),
    (f'{{"type": ["done"], "v": {V}}}', "unknown_type"),
    (f'{{"type": "done", "v": {V}}}', "fields"),
    (f'{{"type": "done", "v": {V}, "ok": 1}}', "fields"),
    (f'{{"type": "progress", "v": {V}, "phase": "x", "step": true, "total": 3}}', "fields"),
    (f'{{"type": "metrics", "v": {V}, "timestamp_s": "now", "allocated_bytes": 1, "reserved_bytes": 1}}', "fields"),
    (b"[" * 100_000, "garbage"),
])
def test_decode_rejects_with_a_reason(line, reason):
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.decode(line)
    assert caught.value.reason == reason


def test_message_refuses_to_build_invalid_messages():
    with pytest.raises(protocol.ProtocolError):
        protocol.message("progress", phase="matmul")
    with pytest.raises(protocol.ProtocolError):
        protocol.message("shout")


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_decode_never_raises_anything_else(line):
    with contextlib.suppress(protocol.ProtocolError):
        protocol.decode(line)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=10)


@given(st.dictionaries(st.text().filter(lambda k: k not in ("type", "v", "phase")), json_values, max_size=5))
def test_result_with_any_json_figures_round_trips(figures):
    msg = protocol.message("result", phase="train", **figures)
    assert protocol.decode(protocol.encode(msg)) == json.loads(json.dumps(msg))


configs = st.builds(
    BenchConfig,
    device=st.sampled_from(["auto", "cpu", "cuda"]),
    quick=st.booleans(),
    phases=st.lists(st.sampled_from(PHASES), min_size=1, max_size=4, unique=True).map(tuple),
    mem_fraction=st.floats(min_value=0.01, max_value=0.95),
    train=st.fixed_dictionaries({}, optional={"layers": st.integers(1, 8), "dtype": st.sampled_from(["fp32", "bf16"])}),
)


@given(configs)
def test_config_survives_the_command_line(config):
    assert parse_args(config.to_args()) == config


@pytest.mark.parametrize("argv", [
    ["--device", "tpu"],
    ["--phases", "matmul,sing"],
    ["--mem-fraction", "1.5"],
    ["--train-config", "[1]"],
    ["--train-config", '{"hidden": 100, "heads": 3}'],
    ["--train-config", '{"depth": 3}'],
])
def test_bad_arguments_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        parse_args(argv)
    assert caught.value.code == protocol.EXIT_USAGE


@pytest.mark.parametrize("fields, problem", [
    ({"layers": 0}, "positive integer"),
    ({"batch": True}, "positive integer"),
    ({"heads": 5}, "multiple of"),
    ({"dtype": "fp8"}, "dtype"),
])
def test_train_config_validation(fields, problem):
    with pytest.raises(ValueError, match=problem):
        default_train_config("cpu", quick=True).with_overrides(fields)


def test_train_config_defaults_are_valid_everywhere():
    for device_type in ("cpu", "cuda"):
        for quick in (False, True):
            assert isinstance(default_train_config(device_type, quick), TrainConfig)
