"""Saving results atomically with a date, reading them back, and the %-of-peak table."""
import json
from datetime import datetime, timezone

import pytest

from gpuplanner.bench import results as bench_results
from gpuplanner.bench.results import PeakRow, achieved_vs_peak, load_results, save_results

HELLO = {"type": "hello", "v": 1, "device_type": "cpu", "device_name": "AMD EPYC", "threads": 2}
RESULTS = [
    {"type": "result", "v": 1, "phase": "memory", "budget_bytes": 64 * 2**20},
    {"type": "result", "v": 1, "phase": "matmul", "dtype": "bf16", "size": 1024, "tflops": 0.5},
    {"type": "result", "v": 1, "phase": "matmul", "dtype": "fp32", "size": 512, "tflops": 0.15},
    {"type": "result", "v": 1, "phase": "bandwidth", "tensor_bytes": 32 * 2**20, "gbytes_per_s": 30.0},
]
WHEN = datetime(2026, 5, 17, 14, 3, 9, tzinfo=timezone.utc)


def test_save_and_load_round_trip(tmp_path):
    path = save_results(tmp_path / "bench", HELLO, RESULTS, saved_at=WHEN)
    assert path.name == "bench-20260517-140309.json"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    record = load_results(path)
    assert record.saved_at == WHEN and record.hello == HELLO and record.results == RESULTS


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = save_results(tmp_path, HELLO, RESULTS, saved_at=WHEN)
    before = path.read_bytes()

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bench_results.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_results(tmp_path, HELLO, [], saved_at=WHEN)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("content", ["not json", "[]", json.dumps({"format": 99}), json.dumps({"format": 1})])
def test_load_rejects_other_files_with_one_error_type(tmp_path, content):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="not a gpuplanner benchmark results file"):
        load_results(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(ValueError, match="x.json"):
        load_results(tmp_path / "x.json")


def test_table_against_datasheet_peaks():
    rows = achieved_vs_peak(RESULTS, peak_tflops_by_dtype={"bf16": 2.0}, peak_gbytes_per_s=40.0)
    assert rows == [
        PeakRow("matmul bf16 1024×1024×1024", 0.5, "TFLOP/s", 2.0, 25.0),
        PeakRow("matmul fp32 512×512×512", 0.15, "TFLOP/s", None, None),
        PeakRow("copy 32 MiB", 30.0, "GB/s", 40.0, 75.0),
    ]


def test_table_without_peaks_has_gaps_not_zeros():
    rows = achieved_vs_peak(RESULTS, peak_tflops_by_dtype={}, peak_gbytes_per_s=None)
    assert [(r.peak, r.pct_of_peak) for r in rows] == [(None, None)] * 3
