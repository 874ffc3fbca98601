"""Saving results atomically with a date, reading them back, and the %-of-peak table."""
import json
import math
from datetime import UTC, datetime

import pytest

from gpuplanner.bench import results as bench_results
from gpuplanner.bench.results import PeakRow, achieved_vs_peak, load_results, save_results
from gpuplanner.bench.run import BenchRun
from gpuplanner.core.catalogs import GpuSpec

HELLO = {"type": "hello", "v": 2, "device_type": "cpu", "device_name": "AMD EPYC", "threads": 2}
RESULTS = [
    {"type": "result", "v": 2, "phase": "memory", "budget_bytes": 64 * 2**20},
    {"type": "result", "v": 2, "phase": "matmul", "dtype": "bf16", "size": 1024, "flops_per_s": 0.5e12},
    {"type": "result", "v": 2, "phase": "matmul", "dtype": "fp32", "size": 512, "flops_per_s": 0.15e12},
    {"type": "result", "v": 2, "phase": "bandwidth", "tensor_bytes": 32 * 2**20, "bytes_per_s": 30e9},
]
WHEN = datetime(2026, 5, 17, 14, 3, 9, tzinfo=UTC)
RUN = BenchRun.from_messages(HELLO, RESULTS, WHEN)


def test_save_and_load_round_trip(tmp_path):
    path = save_results(tmp_path / "bench", RUN)
    assert path.name == "bench-20260517-140309.json"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    run = load_results(path)
    assert run.measured_at == WHEN and run == RUN


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = save_results(tmp_path, RUN)
    before = path.read_bytes()

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bench_results.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_results(tmp_path, BenchRun(RUN.device, WHEN))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("content", ["not json", "[]", json.dumps({"format": 99}), json.dumps({"format": 1}),
                                     json.dumps({"format": 2})])
def test_load_rejects_other_files_with_one_error_type(tmp_path, content):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="not a gpuplanner benchmark results file"):
        load_results(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(ValueError, match="x.json"):
        load_results(tmp_path / "x.json")


def _datasheet(peak_flops: dict, bandwidth_bytes_per_s: float) -> GpuSpec:
    return GpuSpec(name="X", full_name="X", memory_bytes_reported=math.nan, memory_gb_marketing=80.0,
                   bandwidth_bytes_per_s=bandwidth_bytes_per_s, peak_flops=peak_flops, tdp_w=math.nan,
                   interconnect="", source="test", as_of="2026-01-01")


def test_table_against_datasheet_peaks():
    rows = achieved_vs_peak(RUN, _datasheet({"bf16": 2.0e12}, 40e9))
    assert rows == [
        PeakRow("matmul bf16 1024×1024×1024", 0.5e12, "FLOP/s", 2.0e12, 25.0),
        PeakRow("matmul fp32 512×512×512", 0.15e12, "FLOP/s", None, None),
        PeakRow("copy 32 MiB", 30e9, "B/s", 40e9, 75.0),
    ]


def test_table_without_peaks_has_gaps_not_zeros():
    for datasheet in (None, _datasheet({}, math.nan)):
        rows = achieved_vs_peak(RUN, datasheet)
        assert [(r.peak, r.pct_of_peak) for r in rows] == [(None, None)] * 3
