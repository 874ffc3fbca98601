"""The psutil source: CPU/RAM for machines without an NVIDIA GPU."""
from __future__ import annotations

import math
import os
import subprocess
import sys

from gpuplanner.monitor import DeviceKind, SystemSource


def test_first_cpu_reading_is_a_gap_not_zero() -> None:
    source = SystemSource()
    source.open()
    (device,) = source.devices()
    assert device.kind is DeviceKind.HOST
    first = source.read_usage(device.uuid, 1.0)
    second = source.read_usage(device.uuid, 1.5)
    assert math.isnan(first.cpu_util_pct)
    assert 0.0 <= second.cpu_util_pct <= 100.0
    assert 0 < second.ram_used_bytes <= second.ram_total_bytes
    assert math.isnan(second.gpu_util_pct) and math.isnan(second.mem_used_bytes)
    assert source.read_sensors(device.uuid, 1.0) is None


def test_watched_process_resident_memory() -> None:
    source = SystemSource()
    source.open()
    snapshot = source.read_processes("host", 2.0, watched_pid=os.getpid())
    (me,) = snapshot.processes
    assert me.is_watched and me.used_mem_bytes > 10 * 2**20
    assert source.read_processes("host", 2.0, watched_pid=None).processes == ()


def test_vanished_process_gives_an_empty_list() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    source = SystemSource()
    assert source.read_processes("host", 0.0, watched_pid=child.pid).processes == ()
