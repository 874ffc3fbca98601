"""Recording, replay, ring buffers and CSV export."""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from monitor_support import filled_history, replay_all

from gpuplanner.monitor import (
    CSV_COLUMNS,
    RecordingSource,
    ReplaySource,
    RingBuffer,
    Sampler,
    SamplerRates,
    SessionRecorder,
    SourceState,
    SystemSource,
    export_history_csv,
    read_session,
)
from gpuplanner.monitor.synthetic import write_synthetic_session

FAST = SamplerRates(usage_interval_s=0.02, sensors_interval_s=0.04, processes_interval_s=0.04)


def test_recorder_captures_a_live_session_that_replays_identically(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    sampler = Sampler(RecordingSource(SystemSource(), SessionRecorder(path)), FAST)
    sampler.set_process_polling(True)
    sampler.start()
    time.sleep(0.3)
    sampler.stop()
    live = sampler.drain()
    session = read_session(path)
    assert session.devices == live.devices
    assert len(session.usage) == len(live.usage) > 5
    for recorded, seen in zip(session.usage, live.usage, strict=True):  # NaN != NaN, so compare field by field
        assert recorded.timestamp_s == seen.timestamp_s
        np.testing.assert_equal(recorded.ram_used_bytes, seen.ram_used_bytes)
        np.testing.assert_equal(recorded.cpu_util_pct, seen.cpu_util_pct)
    assert session.processes[-1] == live.processes[-1]


def test_replay_plays_each_sample_once_then_ends(tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=6, device_count=2)
    expected = read_session(path)
    source = ReplaySource(path)
    source.open()
    assert source.status().ok and len(source.devices()) == 2
    uuid = source.devices()[1].uuid
    assert replay_all(source, uuid, "usage") == [s for s in expected.usage if s.device_uuid == uuid]
    assert len(replay_all(source, uuid, "sensors")) == 3
    assert source.status().state is SourceState.ENDED


def test_looped_replay_continues_with_later_timestamps(tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=4, interval_s=0.5)
    source = ReplaySource(path, loop=True)
    source.open()
    uuid = source.devices()[0].uuid
    stamps = [source.read_usage(uuid, 0.0).timestamp_s for _ in range(9)]
    assert np.allclose(np.diff(stamps), 0.5)
    assert source.status().ok


def test_torn_last_line_is_skipped_but_corruption_elsewhere_is_reported(tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=4)
    with path.open("a") as handle:
        handle.write('{"kind": "usage", "timest')  # the recorder was killed mid-line
    assert len(read_session(path).usage) == 4
    lines = path.read_text().splitlines()
    lines[2] = "garbage"
    path.write_text("\n".join(lines[:-1]) + "\n")
    source = ReplaySource(path)
    source.open()
    assert source.status().state is SourceState.ERROR
    assert ":3:" in source.status().message


def test_missing_replay_file_is_a_state(tmp_path: Path) -> None:
    source = ReplaySource(tmp_path / "nope.jsonl")
    source.open()
    assert source.status().state is SourceState.ERROR


def test_csv_export_has_dcgm_columns_and_the_sampled_values(tmp_path: Path) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=6)
    history, source = filled_history(path)
    session = read_session(path)
    out = export_history_csv(history, source.devices()[0], tmp_path / "out.csv")
    frame = pd.read_csv(out)
    assert tuple(frame.columns) == CSV_COLUMNS
    assert list(frame["timestamp_s"]) == [s.timestamp_s for s in session.usage]
    assert np.allclose(frame["fb_used_mib"], [s.mem_used_bytes / 2**20 for s in session.usage])
    assert list(frame["gpu_util_pct"]) == [s.gpu_util_pct for s in session.usage]
    power = frame["power_w"]
    assert list(power[::2]) == [s.power_w for s in session.sensors]
    assert power[1::2].isna().all()  # not sampled at those moments: empty, never 0
    assert frame["cpu_util_pct"].isna().all()
    assert (frame["model_name"] == "Synthetic 80GB").all()


def test_failed_export_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=4)
    history, source = filled_history(path)
    target = tmp_path / "out" / "samples.csv"
    target.parent.mkdir()
    target.write_text("previous export\n")

    def explode(self, handle, **kwargs):
        handle.write("timestamp_s,partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", explode)
    with pytest.raises(OSError, match="disk full"):
        export_history_csv(history, source.devices()[0], target)
    assert target.read_text() == "previous export\n"
    assert list(target.parent.iterdir()) == [target]


@given(st.integers(min_value=1, max_value=20), st.lists(st.floats(allow_nan=False), max_size=60))
def test_ring_buffer_keeps_the_newest_rows_in_order(capacity: int, values: list[float]) -> None:
    ring = RingBuffer(("timestamp_s", "x"), capacity)
    for i, value in enumerate(values):
        ring.append((float(i), value))
    kept = values[-capacity:]
    assert len(ring) == len(kept)
    assert list(ring.table()["x"]) == kept
    assert (ring.last("x") == kept[-1]) if kept else math.isnan(ring.last("x"))
