"""NVML health during a session (issue 14, defect 6): a driver lost after start-up, a hung call, a
GPU added, a non-UTF-8 name and a non-NVML exception, with fakes raising the real NVMLError classes."""
from __future__ import annotations

import math
import threading
import time

import pynvml
import pytest
from test_monitor_nvml import FakeDriver, FakeGpu
from test_monitor_sampler import wait_for

from gpuplanner.monitor import Sampler, SamplerRates, SourceState, nvml_source
from gpuplanner.monitor.nvml_source import NvmlSource
from gpuplanner.monitor.synthetic import SyntheticSource

FAST = SamplerRates(usage_interval_s=0.02, sensors_interval_s=0.04, processes_interval_s=0.04)


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    return FakeDriver(monkeypatch)


@pytest.mark.parametrize("error", [pynvml.NVMLError_Uninitialized, pynvml.NVMLError_DriverNotLoaded])
def test_a_driver_lost_mid_session_is_a_state_with_retry(driver: FakeDriver, error) -> None:
    source = NvmlSource()
    source.open()
    assert source.status().ok
    for gpu in driver.gpus:  # every call now fails, as after `rmmod nvidia`
        gpu.errors.update(dict.fromkeys(("memory_v2", "util", "power", "processes"), error))
    assert source.read_usage("GPU-fake-0", 1.0) is None
    status = source.status()
    assert status.state is SourceState.DRIVER_NOT_LOADED and not status.ok
    assert "lost the NVIDIA driver" in status.message and "Retry" in status.hint
    calls = len(driver.calls)
    assert source.read_usage("GPU-fake-1", 1.0) is None and len(driver.calls) == calls  # no more calls
    for gpu in driver.gpus:
        gpu.errors.clear()
    source.retry()
    assert source.status().ok and source.read_usage("GPU-fake-1", 2.0).gpu_util_pct == 87


def test_a_gpu_added_mid_session_is_noticed(driver: FakeDriver) -> None:
    clock = Clock()
    source = NvmlSource(clock=clock)
    source.open()
    assert len(source.devices()) == 2
    driver.gpus.append(FakeGpu(2))
    assert len(source.devices()) == 2  # not asked again before the interval
    clock.now_s += nvml_source.RECOUNT_INTERVAL_S
    assert [d.uuid for d in source.devices()][-1] == "GPU-fake-2"
    assert source.status().ok and "3 GPU(s) (1 added" in source.status().message


def test_a_driver_lost_is_also_seen_by_the_recount(driver: FakeDriver, monkeypatch) -> None:
    clock = Clock()
    source = NvmlSource(clock=clock)
    source.open()

    def uninitialized():
        raise pynvml.NVMLError_Uninitialized()
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", uninitialized)
    clock.now_s += nvml_source.RECOUNT_INTERVAL_S
    assert all(d.error for d in source.devices())
    assert source.status().state is SourceState.DRIVER_NOT_LOADED


def test_a_non_utf8_name_and_a_non_nvml_exception_are_handled(driver: FakeDriver, monkeypatch) -> None:
    monkeypatch.setattr(pynvml, "nvmlDeviceGetName", lambda g: b"NVIDIA \xff\xfe Fake")
    source = NvmlSource()
    source.open()
    assert source.devices()[0].name.startswith("NVIDIA ") and source.status().ok

    def broken(gpu):
        raise ValueError("ctypes returned garbage")
    monkeypatch.setattr(pynvml, "nvmlDeviceGetUtilizationRates", broken)
    usage = source.read_usage("GPU-fake-0", 1.0)
    assert math.isnan(usage.gpu_util_pct) and usage.mem_total_bytes > 0  # a gap, the rest still read


class HangingSource(SyntheticSource):
    """read_usage blocks until released, as a hung driver call does."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = threading.Event()
        self.release = threading.Event()
        self.retries = 0

    def read_usage(self, device_uuid, timestamp_s):
        if self.hang.is_set():
            self.release.wait(10)
        return super().read_usage(device_uuid, timestamp_s)

    def retry(self) -> None:
        self.retries += 1


def test_a_hung_call_is_shown_within_the_timeout_and_retry_replaces_the_thread() -> None:
    source = HangingSource()
    sampler = Sampler(source, FAST, hang_timeout_s=0.2)
    sampler.start()
    try:
        wait_for(lambda: sampler.drain().status.ok)
        source.hang.set()
        wait_for(lambda: "has not answered" in sampler.drain().status.message)
        status = sampler.drain().status
        assert status.state is SourceState.ERROR and "Retry" in status.hint
        stuck = sampler._thread
        source.hang.clear()  # the driver answers the new thread
        sampler.request_retry()
        wait_for(lambda: source.retries == 1)
        wait_for(lambda: sampler.drain().status.ok)
        assert sampler._thread is not stuck and sampler.is_running
        assert sampler.drain().usage or wait_for(lambda: bool(sampler.drain().usage)) is None
    finally:
        source.release.set()  # let the abandoned thread finish; it must not write anything
        sampler.stop()
        time.sleep(0.05)
