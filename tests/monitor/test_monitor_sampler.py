"""The sampler thread: rates, shared timestamps, process polling on demand, stop, retry, faults."""
from __future__ import annotations

import threading
import time

from gpuplanner.monitor import (
    DeviceKind,
    FallbackSource,
    NvmlSource,
    Sampler,
    SamplerBatch,
    SamplerRates,
    SourceState,
    SystemSource,
)
from gpuplanner.monitor.synthetic import SyntheticSource

FAST = SamplerRates(usage_interval_s=0.05, sensors_interval_s=0.1, processes_interval_s=0.1)


def collect(sampler: Sampler, seconds: float) -> SamplerBatch:
    time.sleep(seconds)
    return sampler.drain()


def wait_for(condition, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class RecordingSynthetic(SyntheticSource):
    """Remembers which thread retried and can be told to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.retry_threads: list[str] = []
        self.fail_reads = False

    def retry(self) -> None:
        self.retry_threads.append(threading.current_thread().name)

    def read_usage(self, device_uuid, timestamp_s):
        if self.fail_reads:
            raise RuntimeError("sensor exploded")
        return super().read_usage(device_uuid, timestamp_s)


def test_fixed_rates_and_shared_timestamps() -> None:
    sampler = Sampler(SyntheticSource(), FAST)
    sampler.start()
    try:
        batch = collect(sampler, 0.52)
    finally:
        sampler.stop()
    assert 9 <= len(batch.usage) <= 12
    assert 4 <= len(batch.sensors) <= 7
    usage_times = {s.timestamp_s for s in batch.usage}
    assert {s.timestamp_s for s in batch.sensors} <= usage_times
    assert batch.status.ok


def test_stop_returns_within_one_interval_at_default_rates() -> None:
    sampler = Sampler(SyntheticSource())
    sampler.start()
    wait_for(lambda: sampler.drain().usage)
    started = time.monotonic()
    sampler.stop()
    assert time.monotonic() - started < SamplerRates().usage_interval_s
    assert not sampler.is_running
    assert "gpuplanner-sampler" not in [t.name for t in threading.enumerate()]


def test_processes_are_polled_only_while_enabled() -> None:
    sampler = Sampler(SyntheticSource(), FAST)
    sampler.set_watched_pid(777)
    sampler.start()
    try:
        assert collect(sampler, 0.25).processes == ()
        sampler.set_process_polling(True)
        snapshots = collect(sampler, 0.25).processes
        assert snapshots and any(p.pid == 777 and p.is_watched for p in snapshots[-1].processes)
        sampler.set_process_polling(False)
        sampler.drain()
        assert collect(sampler, 0.25).processes == ()
    finally:
        sampler.stop()


def test_retry_runs_on_the_sampler_thread() -> None:
    source = RecordingSynthetic()
    sampler = Sampler(source, FAST)
    sampler.start()
    try:
        sampler.request_retry()
        wait_for(lambda: source.retry_threads)
    finally:
        sampler.stop()
    assert source.retry_threads == ["gpuplanner-sampler"]


def test_a_failing_source_becomes_a_state_and_the_thread_survives() -> None:
    source = RecordingSynthetic()
    source.fail_reads = True
    sampler = Sampler(source, FAST)
    sampler.start()
    try:
        wait_for(lambda: sampler.drain().status.state is SourceState.ERROR)
        assert "sensor exploded" in sampler.drain().status.message
        source.fail_reads = False
        wait_for(lambda: sampler.drain().status.ok)
        assert sampler.is_running
    finally:
        sampler.stop()


def test_queue_is_bounded_when_nobody_drains() -> None:
    rates = SamplerRates(usage_interval_s=0.005, sensors_interval_s=0.01, history_s=0.02)
    sampler = Sampler(SyntheticSource(), rates)
    sampler.start()
    try:
        batch = collect(sampler, 0.5)
    finally:
        sampler.stop()
    assert 0 < len(batch.usage) <= rates.usage_capacity * 8


def test_no_gpu_here_falls_back_to_the_system_source() -> None:
    """Real NVML (no driver on this machine) → 'no driver' state, CPU/RAM samples instead."""
    sampler = Sampler(FallbackSource(NvmlSource(), SystemSource(), "CPU/RAM"), FAST)
    sampler.start()
    try:
        wait_for(lambda: len(sampler.drain().usage) > 0)
        batch = collect(sampler, 0.2)
    finally:
        sampler.stop()
    assert batch.status.state is SourceState.NO_DRIVER
    assert batch.status.message.startswith("No NVIDIA driver (NVML library not found) — showing CPU/RAM")
    assert [d.kind for d in batch.devices] == [DeviceKind.HOST]
    assert all(s.ram_total_bytes > 0 and 0 <= s.cpu_util_pct <= 100 for s in batch.usage)
