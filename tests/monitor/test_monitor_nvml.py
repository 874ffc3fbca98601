"""NvmlSource against fakes at the pynvml boundary that raise the real NVMLError classes."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pynvml
import pytest

from gpuplanner.monitor import nvml_source
from gpuplanner.monitor.nvml_source import NvmlSource
from gpuplanner.monitor.samples import SourceState

GIB = 2**30


class FakeGpu:
    """One fake device: field values, per-function errors, and a call log."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.uuid = f"GPU-fake-{index}"
        self.errors: dict[str, type[pynvml.NVMLError]] = {}
        self.processes = [SimpleNamespace(pid=100, usedGpuMemory=2 * GIB)]

    def answer(self, calls: list[str], function: str, value):
        calls.append(function)
        if function in self.errors:
            raise self.errors[function]()
        return value


class FakeDriver:
    """Replaces the pynvml functions NvmlSource uses; every call is logged by name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, gpu_count: int = 2) -> None:
        self.gpus = [FakeGpu(i) for i in range(gpu_count)]
        self.calls: list[str] = []
        self.init_error: type[pynvml.NVMLError] | None = None
        self.has_memory_v2 = True
        self.has_temperature_v = True
        self.shutdowns = 0
        fakes = {
            "nvmlInit": self.init,
            "nvmlShutdown": self.shutdown,
            "nvmlDeviceGetCount": lambda: len(self.gpus),
            "nvmlDeviceGetHandleByIndex": lambda i: self.gpus[i],
            "nvmlDeviceGetUUID": lambda g: g.answer(self.calls, "uuid", g.uuid),
            "nvmlDeviceGetName": lambda g: g.answer(self.calls, "name", "NVIDIA Fake 80GB"),
            "nvmlDeviceGetMemoryInfo": self.memory,
            "nvmlDeviceGetUtilizationRates": lambda g: g.answer(
                self.calls, "util", SimpleNamespace(gpu=87, memory=41)
            ),
            "nvmlDeviceGetPowerUsage": lambda g: g.answer(self.calls, "power", 312_500),
            "nvmlDeviceGetEnforcedPowerLimit": lambda g: g.answer(self.calls, "power_limit", 700_000),
            "nvmlDeviceGetTemperatureV": self.temperature_v,
            "nvmlDeviceGetTemperature": lambda g, sensor: g.answer(self.calls, "temperature", 64),
            "nvmlDeviceGetClockInfo": lambda g, kind: g.answer(
                self.calls, "clock", 1980 if kind == pynvml.NVML_CLOCK_SM else 2619
            ),
            "nvmlDeviceGetComputeRunningProcesses": lambda g: g.answer(self.calls, "processes", g.processes),
        }
        for name, fake in fakes.items():
            monkeypatch.setattr(pynvml, name, fake)

    def init(self) -> None:
        if self.init_error is not None:
            raise self.init_error()

    def shutdown(self) -> None:
        self.shutdowns += 1

    def memory(self, gpu: FakeGpu, version=None):
        if version is not None:
            if not self.has_memory_v2:
                raise pynvml.NVMLError_FunctionNotFound()
            return gpu.answer(
                self.calls, "memory_v2", SimpleNamespace(total=80 * GIB, reserved=GIB // 2, used=10 * GIB)
            )
        return gpu.answer(self.calls, "memory_v1", SimpleNamespace(total=80 * GIB, used=11 * GIB))

    def temperature_v(self, gpu: FakeGpu, sensor: int) -> int:
        if not self.has_temperature_v:
            raise pynvml.NVMLError_FunctionNotFound()
        return gpu.answer(self.calls, "temperature_v", 65)


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    return FakeDriver(monkeypatch)


def opened(driver: FakeDriver) -> NvmlSource:
    source = NvmlSource()
    source.open()
    return source


def test_healthy_gpus_report_every_field_in_canonical_units(driver: FakeDriver) -> None:
    source = opened(driver)
    assert source.status().state is SourceState.OK
    assert [d.uuid for d in source.devices()] == ["GPU-fake-0", "GPU-fake-1"]
    usage = source.read_usage("GPU-fake-0", 10.0)
    assert (usage.mem_total_bytes, usage.mem_used_bytes, usage.mem_reserved_bytes) == (80 * GIB, 10 * GIB, GIB // 2)
    assert (usage.gpu_util_pct, usage.mem_bw_util_pct, usage.timestamp_s) == (87, 41, 10.0)
    sensors = source.read_sensors("GPU-fake-0", 10.0)
    assert (sensors.power_w, sensors.power_limit_w, sensors.temperature_c) == (312.5, 700.0, 65)
    assert (sensors.sm_clock_mhz, sensors.mem_clock_mhz) == (1980, 2619)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (pynvml.NVMLError_LibraryNotFound, SourceState.NO_DRIVER),
        (pynvml.NVMLError_DriverNotLoaded, SourceState.DRIVER_NOT_LOADED),
        (pynvml.NVMLError_NoPermission, SourceState.NO_PERMISSION),
        (pynvml.NVMLError_LibRmVersionMismatch, SourceState.VERSION_MISMATCH),
        (pynvml.NVMLError_Unknown, SourceState.ERROR),
    ],
)
def test_init_failure_is_a_remembered_state_with_a_hint(driver: FakeDriver, error, state) -> None:
    driver.init_error = error
    source = opened(driver)
    assert source.status().state is state
    assert source.status().hint
    assert source.devices() == ()
    assert source.read_usage("GPU-fake-0", 1.0) is None


def test_retry_recovers_after_the_driver_comes_back(driver: FakeDriver) -> None:
    driver.init_error = pynvml.NVMLError_DriverNotLoaded
    source = opened(driver)
    driver.init_error = None
    source.retry()
    assert source.status().ok
    assert len(source.devices()) == 2
    source.close()
    assert driver.shutdowns == 1


def test_not_supported_field_is_a_gap_and_never_polled_again(driver: FakeDriver) -> None:
    driver.gpus[0].errors["power"] = pynvml.NVMLError_NotSupported
    source = opened(driver)
    for second in range(3):
        sensors = source.read_sensors("GPU-fake-0", float(second))
        assert math.isnan(sensors.power_w)
        assert sensors.temperature_c == 65
    assert driver.calls.count("power") == 1
    assert source.read_sensors("GPU-fake-1", 0.0).power_w == 312.5


def test_memory_v2_missing_falls_back_to_v1(driver: FakeDriver) -> None:
    driver.has_memory_v2 = False
    source = opened(driver)
    first = source.read_usage("GPU-fake-0", 0.0)
    source.read_usage("GPU-fake-1", 0.5)
    assert (first.mem_total_bytes, first.mem_used_bytes) == (80 * GIB, 11 * GIB)
    assert math.isnan(first.mem_reserved_bytes)  # v1 cannot tell reserved apart
    assert driver.calls.count("memory_v1") == 2


def test_temperature_v_missing_falls_back_to_legacy_call(driver: FakeDriver) -> None:
    driver.has_temperature_v = False
    source = opened(driver)
    assert source.read_sensors("GPU-fake-0", 0.0).temperature_c == 64


def test_one_of_two_gpus_lost_keeps_the_other_live(driver: FakeDriver) -> None:
    source = opened(driver)
    driver.gpus[1].errors["util"] = pynvml.NVMLError_GpuIsLost
    assert source.read_usage("GPU-fake-1", 1.0) is None
    assert source.read_sensors("GPU-fake-1", 1.0) is None
    lost = {d.uuid: d.error for d in source.devices()}
    assert "GPU is lost" in lost["GPU-fake-1"]
    assert lost["GPU-fake-0"] == ""
    assert source.read_usage("GPU-fake-0", 1.0).gpu_util_pct == 87
    assert source.status().ok


def test_unknown_error_on_one_gpu_is_a_device_error(driver: FakeDriver) -> None:
    source = opened(driver)
    driver.gpus[0].errors["power"] = pynvml.NVMLError_Unknown
    assert source.read_sensors("GPU-fake-0", 0.0) is None
    assert source.devices()[0].error


def test_gpu_lost_at_enumeration_is_listed_with_an_error(driver: FakeDriver) -> None:
    driver.gpus[0].errors["uuid"] = pynvml.NVMLError_GpuIsLost
    source = opened(driver)
    first, second = source.devices()
    assert first.error and not second.error
    assert source.read_usage(second.uuid, 0.0) is not None


def test_per_process_memory_flags_the_watched_pid_and_keeps_unknown_as_gap(driver: FakeDriver) -> None:
    driver.gpus[0].processes = [
        SimpleNamespace(pid=100, usedGpuMemory=2 * GIB),
        SimpleNamespace(pid=200, usedGpuMemory=None),  # NVML_VALUE_NOT_AVAILABLE (WDDM)
    ]
    source = opened(driver)
    snapshot = source.read_processes("GPU-fake-0", 3.0, watched_pid=200)
    by_pid = {p.pid: p for p in snapshot.processes}
    assert by_pid[100].used_mem_bytes == 2 * GIB and not by_pid[100].is_watched
    assert math.isnan(by_pid[200].used_mem_bytes) and by_pid[200].is_watched


def test_process_list_not_supported_is_none_and_not_asked_again(driver: FakeDriver) -> None:
    driver.gpus[0].errors["processes"] = pynvml.NVMLError_NotSupported
    source = opened(driver)
    assert source.read_processes("GPU-fake-0", 0.0, None) is None
    assert source.read_processes("GPU-fake-0", 1.0, None) is None
    assert driver.calls.count("processes") == 1


def test_unified_memory_total_zero_is_a_gap(driver: FakeDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        pynvml, "nvmlDeviceGetMemoryInfo", lambda g, version=None: SimpleNamespace(total=0, reserved=0, used=0)
    )
    usage = opened(driver).read_usage("GPU-fake-0", 0.0)
    assert math.isnan(usage.mem_total_bytes) and math.isnan(usage.mem_used_bytes)
    assert usage.gpu_util_pct == 87


def test_clobbered_bindings_give_a_reinstall_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(pynvml, "_nvmlGetFunctionPointer")
    source = NvmlSource()
    source.open()
    assert source.status().state is SourceState.BINDINGS_BROKEN
    assert "nvidia-ml-py3" in source.status().hint


def test_missing_bindings_library_is_its_own_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml_source, "pynvml", None)
    source = NvmlSource()
    source.open()
    assert source.status().state is SourceState.LIBRARY_MISSING


def test_real_nvml_without_a_driver_is_the_no_driver_state() -> None:
    """No GPU on this machine: the unpatched nvmlInit() raises LibraryNotFound."""
    source = NvmlSource()
    source.open()
    assert source.status().state is SourceState.NO_DRIVER
    assert "No NVIDIA driver" in source.status().message
    source.close()
