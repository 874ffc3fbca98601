"""The sampler thread: polls a GpuSource at fixed rates and queues samples for the GUI.

Only this thread calls the source, so a slow or hung driver never blocks the
GUI, which drains the queue on its own timer. Groups due at the same moment
share one timestamp (usage every 0.5 s, sensors every 1 s land on the same
grid), so exported rows line up. The thread is a daemon only as a last resort:
``stop()`` ends it within one interval, but a driver call that hangs forever
must not keep the application alive after its windows closed.

A source call that does not return within ``hang_timeout_s`` (a hung driver) shows as
an ERROR state on the next drain; Retry then abandons the stuck thread (a daemon, it
can never write again: each thread carries a generation number) and starts a new one
that calls ``retry()`` on the source.
"""
from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gpuplanner.monitor.history import capacity_for
from gpuplanner.monitor.samples import (
    DeviceInfo,
    ProcessSnapshot,
    SensorSample,
    SourceState,
    SourceStatus,
    UsageSample,
)
from gpuplanner.monitor.source import GpuSource

_log = logging.getLogger(__name__)
_SLACK_S = 0.002  # deadlines this close together count as the same tick
_STARTING = SourceStatus(SourceState.ERROR, "Starting…")
# The queue holds at most this many devices' full history if the GUI stops draining.
_QUEUE_DEVICES = 8


@dataclass(frozen=True)
class SamplerRates:
    """Polling intervals; defaults follow NVML's update rates and its cost next to a benchmark."""

    usage_interval_s: float = 0.5
    sensors_interval_s: float = 1.0
    processes_interval_s: float = 2.0  # a process list costs ~5 ms per GPU in NVML; it changes rarely
    history_s: float = 15 * 60.0

    @property
    def usage_capacity(self) -> int:
        return capacity_for(self.history_s, self.usage_interval_s)

    @property
    def sensors_capacity(self) -> int:
        return capacity_for(self.history_s, self.sensors_interval_s)


@dataclass(frozen=True)
class SamplerBatch:
    """Everything that arrived since the previous drain, plus the current state."""

    status: SourceStatus
    devices: tuple[DeviceInfo, ...]
    usage: tuple[UsageSample, ...]
    sensors: tuple[SensorSample, ...]
    processes: tuple[ProcessSnapshot, ...]


class Sampler:
    """Owns one polling thread over ``source``; ``start``/``stop`` from the GUI thread."""

    def __init__(
        self,
        source: GpuSource,
        rates: SamplerRates = SamplerRates(),
        wall_clock_s: Callable[[], float] = time.time,
        hang_timeout_s: float = 10.0,
    ) -> None:
        self.rates = rates
        self.hang_timeout_s = hang_timeout_s
        self._generation = 0  # bumped when a hung thread is abandoned
        self._busy_since_s: float | None = None  # monotonic start of the source call in progress
        self._source = source
        self._wall_clock_s = wall_clock_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_requested = False
        self._poll_processes = False
        self._watched_pid: int | None = None
        self._status = _STARTING
        self._devices: tuple[DeviceInfo, ...] = ()
        self._usage: deque[UsageSample] = deque(maxlen=rates.usage_capacity * _QUEUE_DEVICES)
        self._sensors: deque[SensorSample] = deque(maxlen=rates.sensors_capacity * _QUEUE_DEVICES)
        self._processes: dict[str, ProcessSnapshot] = {}  # only the latest list per device matters

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.is_running:
            return
        self._stopping.clear()
        self._start_thread(self._source.open)

    def _start_thread(self, first: Callable[[], None]) -> None:
        with self._lock:
            generation = self._generation
        self._thread = threading.Thread(target=self._run, args=(generation, first), name="gpuplanner-sampler",
                                        daemon=True)
        self._thread.start()

    def _hung_for_s(self) -> float:
        """How long the current source call has run, if longer than hang_timeout_s (else 0)."""
        busy = self._busy_since_s
        waited = 0.0 if busy is None else time.monotonic() - busy
        return waited if waited > self.hang_timeout_s else 0.0

    def stop(self) -> None:
        """Ask the thread to finish and wait at most one (longest) interval for it."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        rates = self.rates
        self._thread.join(timeout=max(rates.usage_interval_s, rates.sensors_interval_s, rates.processes_interval_s))
        self._thread = None

    def set_process_polling(self, enabled: bool) -> None:
        """Per-process lists are expensive (~5 ms per GPU): poll them only while shown."""
        with self._lock:
            self._poll_processes = enabled
        self._wake.set()

    def set_watched_pid(self, pid: int | None) -> None:
        """The benchmark's PID, flagged in process lists."""
        with self._lock:
            self._watched_pid = pid

    def request_retry(self) -> None:
        """Retry a failed source on the sampler thread (never on the caller's); a hung thread is replaced."""
        with self._lock:
            hung = self._thread is not None and bool(self._hung_for_s())
            if hung:
                self._generation += 1  # the stuck thread's results are dropped if it ever returns
                self._busy_since_s = None
                self._status = SourceStatus(SourceState.ERROR, "Retrying after a hung driver call…")
            else:
                self._retry_requested = True
        if hung:
            _log.warning("telemetry source hung; starting a new sampler thread")
            self._start_thread(self._source.retry)
        self._wake.set()

    def drain(self) -> SamplerBatch:
        with self._lock:
            hung_s = self._hung_for_s()
            status = self._status if not hung_s else SourceStatus(
                SourceState.ERROR, f"The GPU driver has not answered for {hung_s:.0f} s (a call hangs)",
                "Press Retry; if it stays, check `nvidia-smi` and `dmesg`.")
            batch = SamplerBatch(
                status=status,
                devices=self._devices,
                usage=tuple(self._usage),
                sensors=tuple(self._sensors),
                processes=tuple(self._processes.values()),
            )
            self._usage.clear()
            self._sensors.clear()
            self._processes.clear()
        return batch

    def _run(self, generation: int, first: Callable[[], None]) -> None:
        self._guarded(first, generation)
        start_s = time.monotonic()
        intervals = {
            "usage": self.rates.usage_interval_s,
            "sensors": self.rates.sensors_interval_s,
            "processes": self.rates.processes_interval_s,
        }
        due_s = dict.fromkeys(intervals, start_s)
        try:
            while not self._stopping.is_set() and generation == self._generation:
                with self._lock:
                    retry, self._retry_requested = self._retry_requested, False
                    if not self._poll_processes:
                        due_s["processes"] = math.inf
                    elif due_s["processes"] == math.inf:
                        due_s["processes"] = time.monotonic()
                if retry:
                    self._guarded(self._source.retry, generation)
                now_s = time.monotonic()
                groups = [g for g, t in due_s.items() if t - _SLACK_S <= now_s]
                if groups:
                    self._guarded(functools.partial(self._poll, groups, generation), generation)
                for group in groups:
                    steps = math.floor((now_s + _SLACK_S - start_s) / intervals[group]) + 1
                    due_s[group] = start_s + steps * intervals[group]
                self._wake.wait(max(0.0, min(due_s.values()) - time.monotonic()))
                self._wake.clear()
        finally:
            if generation == self._generation:  # an abandoned thread leaves the source to its successor
                self._guarded(self._source.close, generation)

    def _guarded(self, action: Callable[[], None], generation: int) -> None:
        """Run a source call; a bug in a source becomes a visible state, not a dead thread."""
        with self._lock:
            if generation != self._generation:
                return
            self._busy_since_s = time.monotonic()
        try:
            action()
            status, devices = self._source.status(), self._source.devices()
        except Exception as err:  # noqa: BLE001 - the thread boundary; the panel shows the message
            _log.exception("telemetry source failed")
            status = SourceStatus(SourceState.ERROR, f"Telemetry error: {err}", "Press Retry.")
            devices = None
        with self._lock:
            if generation != self._generation:
                return
            self._busy_since_s = None
            self._status = status
            if devices is not None:
                self._devices = devices

    def _poll(self, groups: list[str], generation: int) -> None:
        timestamp_s = self._wall_clock_s()
        with self._lock:
            watched_pid = self._watched_pid
        for device in self._source.devices():
            usage = self._source.read_usage(device.uuid, timestamp_s) if "usage" in groups else None
            sensors = self._source.read_sensors(device.uuid, timestamp_s) if "sensors" in groups else None
            processes = (
                self._source.read_processes(device.uuid, timestamp_s, watched_pid) if "processes" in groups else None
            )
            with self._lock:
                if generation != self._generation:
                    return
                if usage is not None:
                    self._usage.append(usage)
                if sensors is not None:
                    self._sensors.append(sensors)
                if processes is not None:
                    self._processes[device.uuid] = processes
