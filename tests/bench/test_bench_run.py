"""BenchRun: the child's messages become one typed run in canonical units, checked field by
field, and survive its saved JSON (today's format 2 and the TFLOP/s / GB/s format 1)."""
import json
from datetime import UTC, datetime

import pytest

from gpuplanner.bench import protocol
from gpuplanner.bench.run import BenchRun, CopyResult, Device, MatmulResult, TrainStepResult

WHEN = datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC)
CONFIG = {"layers": 2, "hidden": 64, "heads": 4, "vocab": 512, "seq_len": 32, "batch": 2, "dtype": "fp32"}
HELLO = protocol.message("hello", device_type="cuda", device_name="NVIDIA H100 80GB HBM3", threads=8,
                         total_memory_bytes=85_520_809_984, torch_version="2.13.0", cuda_version="12.8")
RESULTS = [
    protocol.message("result", phase="memory", budget_bytes=2**30, steps=8),
    protocol.message("result", phase="matmul", dtype="bf16", size=8192, flops_per_s=742.1e12, duration_s=0.0015,
                     iterations=300),
    protocol.message("result", phase="matmul", dtype="bf16", size=4096, flops_per_s=650e12, duration_s=2e-4,
                     iterations=900),
    protocol.message("result", phase="bandwidth", tensor_bytes=2**30, bytes_per_s=2.68e12, duration_s=8e-4,
                     iterations=600),
    protocol.message("result", phase="train", config=CONFIG, param_count=83_000_000, peak_memory_bytes=2_100_000_000,
                     peak_memory_method="cuda_max_memory_allocated", step_duration_s=0.25, tokens_per_s=256.0,
                     loss=6.2),
    protocol.message("result", phase="from_the_future", x=1),
]


def test_messages_become_a_typed_run():
    run = BenchRun.from_messages(HELLO, RESULTS, WHEN)
    assert run.device == Device("NVIDIA H100 80GB HBM3", "cuda", 8, 85_520_809_984, "2.13.0")
    assert run.measured_at == WHEN
    assert run.matmul == (MatmulResult("bf16", 8192, 742.1e12), MatmulResult("bf16", 4096, 650e12))
    assert run.copy == (CopyResult(2**30, 2.68e12),)
    assert run.train == TrainStepResult(CONFIG, 83_000_000, 2_100_000_000, "cuda_max_memory_allocated", 0.25, 256.0)
    assert run.best_flops_per_s() == {"bf16": 742.1e12} and run.best_bytes_per_s() == 2.68e12


def test_round_trip_messages_run_json_run():
    run = BenchRun.from_messages(HELLO, RESULTS, WHEN)
    text = json.dumps(run.to_json())
    assert json.loads(text)["format"] == 2
    assert BenchRun.from_json(json.loads(text)) == run
    assert BenchRun.from_messages(*run.to_messages(), WHEN) == run


def test_a_run_without_figures_has_no_best():
    run = BenchRun.from_messages(HELLO, [], WHEN)
    assert run.best_flops_per_s() == {} and run.best_bytes_per_s() is None and run.train is None


@pytest.mark.parametrize("hello, results, named", [
    ({**HELLO, "device_name": None}, [], "hello.device_name missing"),
    ({k: v for k, v in HELLO.items() if k != "threads"}, [], "hello.threads missing"),
    ({**HELLO, "total_memory_bytes": "80GB"}, [], "hello.total_memory_bytes missing or not int"),
    (HELLO, [{"phase": "matmul", "dtype": "bf16", "n": 8192, "flops_per_s": 1e12}], "result matmul.size missing"),
    (HELLO, [{"phase": "matmul", "dtype": "bf16", "size": 8192, "tflops": 1.0}], "result matmul.flops_per_s"),
    (HELLO, [{"phase": "bandwidth", "tensor_bytes": 8, "gbytes_per_s": 1.0}], "result bandwidth.bytes_per_s"),
    (HELLO, [{"phase": "train", "config": CONFIG, "param_count": 1}], "result train.peak_memory_bytes missing"),
    (HELLO, [{"phase": "train", "config": CONFIG, "param_count": 1, "peak_memory_bytes": 1,
              "step_duration_s": "fast"}], "result train.step_duration_s"),
    (HELLO, [{"dtype": "bf16"}], "result.phase missing"),
])
def test_a_missing_or_mistyped_field_is_named(hello, results, named):
    with pytest.raises(protocol.ProtocolError, match=named):
        BenchRun.from_messages(hello, results, WHEN)


def test_format_1_files_are_read_in_canonical_units():
    old = {"format": 1, "saved_at": WHEN.isoformat(),
           "hello": {"type": "hello", "v": 1, "device_type": "cpu", "device_name": "AMD EPYC", "threads": 2},
           "results": [{"type": "result", "v": 1, "phase": "matmul", "dtype": "fp32", "size": 512, "tflops": 0.15},
                       {"type": "result", "v": 1, "phase": "bandwidth", "tensor_bytes": 2**25, "gbytes_per_s": 30}]}
    run = BenchRun.from_json(old)
    assert run.measured_at == WHEN
    assert run.matmul == (MatmulResult("fp32", 512, 0.15e12),) and run.copy == (CopyResult(2**25, 30e9),)


@pytest.mark.parametrize("document, message", [
    ({"format": 3}, "results format 3; this gpuplanner reads formats 1 and 2"),
    ({"format": 2, "measured_at": WHEN.isoformat(), "hello": HELLO}, "needs a date, a hello object and a list"),
    ({"format": 2, "measured_at": "yesterday", "hello": HELLO, "results": []}, "yesterday"),
    ([1], "not a JSON object"),
])
def test_other_documents_get_a_clear_message(document, message):
    with pytest.raises(ValueError, match=message):
        BenchRun.from_json(document)
