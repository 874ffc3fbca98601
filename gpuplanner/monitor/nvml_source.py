"""NVIDIA GPUs through NVML: the only module that imports ``pynvml`` (nvidia-ml-py).

Every NVMLError stops here and becomes a state: an init failure is remembered
as ``status()`` (with a hint) until ``retry()``; a field that is NotSupported
(or forbidden) becomes a NaN gap and is never asked again; a GPU that is lost
gets a per-device error while the others stay live. Health is re-checked during the
session: a driver that goes away (Uninitialized, DriverNotLoaded on a call) turns the
status into a failure with Retry, and the GPU count is re-read every
``RECOUNT_INTERVAL_S`` so a GPU added or removed is noticed. An exception of another
kind from the bindings is a gap, not a dead sampler. NVMLError instances are
unhashable, so only their messages are kept.
"""
from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gpuplanner.monitor.samples import (
    NAN,
    DeviceInfo,
    ProcessSample,
    ProcessSnapshot,
    SensorSample,
    SourceState,
    SourceStatus,
    UsageSample,
)

try:
    import pynvml
except ImportError:  # nvidia-ml-py not installed (or deliberately blocked)
    pynvml = None

_log = logging.getLogger(__name__)
_MW_PER_W = 1000.0
RECOUNT_INTERVAL_S = 10.0  # how often a running session asks NVML how many GPUs there are
_LOST_HINT = "check `dmesg` for Xid errors, then reset the GPU or reboot"
_REINSTALL_HINT = (
    "An old pynvml.py (from nvidia-ml-py3 or py3nvml) has overwritten NVIDIA's: "
    "pip uninstall -y nvidia-ml-py3 py3nvml && pip install --force-reinstall nvidia-ml-py"
)
_NOT_STARTED = SourceStatus(SourceState.ERROR, "NVML not started yet")


class _DeviceLost(Exception):
    """Internal: a call said the GPU is gone; carries NVML's message."""


class _DriverLost(Exception):
    """Internal: a call said NVML itself is gone (driver unloaded or reloaded)."""


def _driver_gone_errors() -> tuple[type[Exception], ...]:
    return (pynvml.NVMLError_Uninitialized, pynvml.NVMLError_DriverNotLoaded, pynvml.NVMLError_LibraryNotFound)


@dataclass
class _Device:
    info: DeviceInfo
    handle: Any
    off_fields: set[str] = field(default_factory=set)


class _Newest:
    """Calls the newest NVML entry point the driver has, stepping down once on FunctionNotFound."""

    def __init__(self, *calls: Callable[[Any], Any]) -> None:
        self._calls = list(calls)

    def __call__(self, handle: Any) -> Any:
        while True:
            try:
                return self._calls[0](handle)
            except pynvml.NVMLError_FunctionNotFound:
                if len(self._calls) == 1:
                    raise
                self._calls.pop(0)


def _bindings_problem() -> SourceStatus | None:
    if pynvml is None:
        return SourceStatus(
            SourceState.LIBRARY_MISSING,
            "NVML bindings missing (nvidia-ml-py not installed)",
            "pip install nvidia-ml-py",
        )
    if not hasattr(pynvml, "_nvmlGetFunctionPointer") or not callable(
        getattr(pynvml, "nvmlInitWithFlags", None)
    ):
        return SourceStatus(SourceState.BINDINGS_BROKEN, "pynvml bindings are corrupted", _REINSTALL_HINT)
    return None


def _in_container() -> bool:
    return any(os.path.exists(p) for p in ("/.dockerenv", "/run/.containerenv")) or "container" in os.environ


def _no_driver_hint() -> str:
    if _in_container():
        return "This looks like a container without the NVIDIA runtime: start it with --gpus all."
    if "microsoft" in platform.release().lower():
        return "On WSL, install the NVIDIA driver on Windows, not inside Linux."
    return "Install the NVIDIA driver (`nvidia-smi` should work), then press Retry."


def _init_failure(err: Exception) -> SourceStatus:
    if isinstance(err, pynvml.NVMLError_LibraryNotFound):
        return SourceStatus(SourceState.NO_DRIVER, "No NVIDIA driver (NVML library not found)", _no_driver_hint())
    if isinstance(err, pynvml.NVMLError_DriverNotLoaded):
        return SourceStatus(
            SourceState.DRIVER_NOT_LOADED,
            "NVIDIA driver not loaded",
            "Load the kernel module (`sudo modprobe nvidia`) or reboot.",
        )
    if isinstance(err, pynvml.NVMLError_NoPermission):
        return SourceStatus(
            SourceState.NO_PERMISSION,
            "No permission to query the NVIDIA driver",
            "Run as a user who may open /dev/nvidia* (on Windows, as administrator).",
        )
    if isinstance(err, pynvml.NVMLError_LibRmVersionMismatch):
        return SourceStatus(
            SourceState.VERSION_MISMATCH,
            "NVIDIA driver and library versions differ",
            "The driver was upgraded but not reloaded: reboot.",
        )
    return SourceStatus(SourceState.ERROR, f"NVML failed to start: {err}", "Check that `nvidia-smi` works.")


def _text(value: str | bytes) -> str:
    """NVML strings; a name that is not UTF-8 keeps its readable part."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _num(obj: Any, attr: str, scale: float = 1.0) -> float:
    return NAN if obj is None else float(getattr(obj, attr, NAN)) / scale


class NvmlSource:
    """Reads every NVIDIA GPU; see the module docstring for how failures degrade."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next_recount_s = 0.0
        self._status = _NOT_STARTED
        self._devices: dict[str, _Device] = {}
        self._initialized = False
        self._memory_info: _Newest | None = None
        self._temperature: _Newest | None = None

    def status(self) -> SourceStatus:
        return self._status

    def devices(self) -> tuple[DeviceInfo, ...]:
        """The GPUs; every RECOUNT_INTERVAL_S a live session re-reads the count first."""
        if self._initialized and self._status.ok and self._clock() >= self._next_recount_s:
            self._recount()
        return tuple(d.info for d in self._devices.values())

    def _recount(self) -> None:
        self._next_recount_s = self._clock() + RECOUNT_INTERVAL_S
        try:
            count = pynvml.nvmlDeviceGetCount()
        except _driver_gone_errors() as err:
            self._driver_lost(err)
            return
        except Exception:  # noqa: BLE001 - a transient failure: ask again next time
            return
        if count != len(self._devices):
            before = len(self._devices)
            self._devices.clear()
            self._enumerate()
            if self._status.ok:
                change = "added" if count > before else "removed"
                self._status = SourceStatus(SourceState.OK, f"NVML: {count} GPU(s) ({abs(count - before)} {change} "
                                            "during this session)")

    def _driver_lost(self, err: Exception) -> None:
        """NVML stopped answering as a whole: a failure state with Retry; no more calls until then."""
        self._status = SourceStatus(
            SourceState.DRIVER_NOT_LOADED,
            f"NVML lost the NVIDIA driver during this session ({err or type(err).__name__})",
            "The driver was unloaded or reloaded: press Retry (or `sudo modprobe nvidia`, then Retry).",
        )
        for device in self._devices.values():
            device.info = replace(device.info, error=f"driver lost: {err or type(err).__name__}")

    def open(self) -> None:
        problem = _bindings_problem()
        if problem is not None:
            self._status = problem
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as err:
            self._status = _init_failure(err)
            return
        except AttributeError:  # a clobbered module that passed the probe above
            self._status = SourceStatus(SourceState.BINDINGS_BROKEN, "pynvml bindings are corrupted", _REINSTALL_HINT)
            return
        self._initialized = True
        self._next_recount_s = self._clock() + RECOUNT_INTERVAL_S
        self._memory_info = _Newest(
            lambda h: pynvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2),
            pynvml.nvmlDeviceGetMemoryInfo,
        )
        legacy_temperature = lambda h: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)  # noqa: E731
        if hasattr(pynvml, "nvmlDeviceGetTemperatureV"):
            self._temperature = _Newest(
                lambda h: pynvml.nvmlDeviceGetTemperatureV(h, pynvml.NVML_TEMPERATURE_GPU), legacy_temperature
            )
        else:
            self._temperature = _Newest(legacy_temperature)
        self._enumerate()

    def _enumerate(self) -> None:
        try:
            count = pynvml.nvmlDeviceGetCount()
        except pynvml.NVMLError as err:
            self._status = SourceStatus(SourceState.ERROR, f"NVML cannot count GPUs: {err}", "Press Retry.")
            return
        for index in range(count):
            try:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                info = DeviceInfo(
                    uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                    name=_text(pynvml.nvmlDeviceGetName(handle)),
                    index=index,
                )
            except pynvml.NVMLError as err:
                handle = None
                error = f"{err}: {_LOST_HINT}"
                info = DeviceInfo(uuid=f"nvml-index-{index}", name=f"GPU {index}", index=index, error=error)
            self._devices[info.uuid] = _Device(info, handle)
        if count == 0:
            self._status = SourceStatus(
                SourceState.NO_DEVICES,
                "NVIDIA driver found but no GPU visible",
                "Check CUDA_VISIBLE_DEVICES, or the container's --gpus option.",
            )
        else:
            self._status = SourceStatus(SourceState.OK, f"NVML: {count} GPU(s)")

    def retry(self) -> None:
        self.close()
        self.open()

    def close(self) -> None:
        self._devices.clear()
        if self._initialized:
            self._initialized = False
            try:
                pynvml.nvmlShutdown()
            except pynvml.NVMLError:
                pass  # shutting down a driver that is already gone: nothing left to release

    def _live(self, uuid: str) -> _Device | None:
        device = self._devices.get(uuid)
        return None if device is None or device.info.error else device

    def _query(self, device: _Device, name: str, call: Callable[[Any], Any]) -> Any:
        """One field's NVML call: None for a gap, remembered when the field is unsupported."""
        if name in device.off_fields:
            return None
        try:
            return call(device.handle)
        except (pynvml.NVMLError_NotSupported, pynvml.NVMLError_NoPermission):
            device.off_fields.add(name)
        except (pynvml.NVMLError_GpuIsLost, pynvml.NVMLError_Unknown) as err:
            raise _DeviceLost(str(err)) from None
        except _driver_gone_errors() as err:
            raise _DriverLost(str(err)) from None
        except pynvml.NVMLError:
            pass  # transient (timeout, busy): a gap now, asked again next time
        except Exception:  # noqa: BLE001 - bindings misbehaving (a bad string, a ctypes error): a gap
            _log.warning("NVML call for %s failed unexpectedly", name, exc_info=True)
        return None

    def _read(self, uuid: str, build: Callable[[_Device], Any]) -> Any:
        device = self._live(uuid)
        if device is None:
            return None
        try:
            return build(device)
        except _DeviceLost as lost:
            device.info = replace(device.info, error=f"{lost}: {_LOST_HINT}")
            return None
        except _DriverLost as lost:
            self._driver_lost(lost)
            return None

    def read_usage(self, device_uuid: str, timestamp_s: float) -> UsageSample | None:
        def build(device: _Device) -> UsageSample:
            memory = self._query(device, "memory", self._memory_info)
            if memory is not None and memory.total == 0:  # unified memory (Jetson, GB10): no own pool
                device.off_fields.add("memory")
                memory = None
            util = self._query(device, "utilization", pynvml.nvmlDeviceGetUtilizationRates)
            return UsageSample(
                timestamp_s=timestamp_s,
                device_uuid=device_uuid,
                mem_total_bytes=_num(memory, "total"),
                mem_used_bytes=_num(memory, "used"),
                mem_reserved_bytes=_num(memory, "reserved"),
                gpu_util_pct=_num(util, "gpu"),
                mem_bw_util_pct=_num(util, "memory"),
            )

        return self._read(device_uuid, build)

    def read_sensors(self, device_uuid: str, timestamp_s: float) -> SensorSample | None:
        def value(device: _Device, name: str, call: Callable[[Any], Any], scale: float = 1.0) -> float:
            raw = self._query(device, name, call)
            return NAN if raw is None else float(raw) / scale

        clock = pynvml.nvmlDeviceGetClockInfo

        def build(device: _Device) -> SensorSample:
            return SensorSample(
                timestamp_s=timestamp_s,
                device_uuid=device_uuid,
                power_w=value(device, "power", pynvml.nvmlDeviceGetPowerUsage, _MW_PER_W),
                power_limit_w=value(device, "power_limit", pynvml.nvmlDeviceGetEnforcedPowerLimit, _MW_PER_W),
                temperature_c=value(device, "temperature", self._temperature),
                sm_clock_mhz=value(device, "sm_clock", lambda h: clock(h, pynvml.NVML_CLOCK_SM)),
                mem_clock_mhz=value(device, "mem_clock", lambda h: clock(h, pynvml.NVML_CLOCK_MEM)),
            )

        return self._read(device_uuid, build)

    def read_processes(
        self, device_uuid: str, timestamp_s: float, watched_pid: int | None
    ) -> ProcessSnapshot | None:
        def build(device: _Device) -> ProcessSnapshot | None:
            running = self._query(device, "processes", pynvml.nvmlDeviceGetComputeRunningProcesses)
            if running is None:
                return None
            processes = tuple(
                ProcessSample(
                    pid=p.pid,
                    # None is NVML_VALUE_NOT_AVAILABLE (Windows WDDM, some MIG setups): a gap, not 0
                    used_mem_bytes=NAN if p.usedGpuMemory is None else float(p.usedGpuMemory),
                    is_watched=p.pid == watched_pid,
                )
                for p in running
            )
            return ProcessSnapshot(timestamp_s, device_uuid, processes)

        return self._read(device_uuid, build)
