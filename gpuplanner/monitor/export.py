"""CSV export of a device's history with DCGM-style column names.

Columns are named after dcgm-exporter's fields (``fb_used_mib`` ↔
``DCGM_FI_DEV_FB_USED``, ``gpu_util_pct`` ↔ ``DCGM_FI_DEV_GPU_UTIL``, …) so
cluster users can line our numbers up with their dashboards; units live in the
names, never in the values. Usage and sensor rows are joined on their shared
timestamps; a field not sampled at a timestamp is empty, never 0.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gpuplanner.core.atomic import atomic_write
from gpuplanner.core.safe_io import spreadsheet_safe
from gpuplanner.monitor.history import DeviceHistory, RingBuffer
from gpuplanner.monitor.samples import DeviceInfo

BYTES_PER_MIB = 2**20

# (sample field, CSV column, divisor)
_USAGE_COLUMNS = (
    ("gpu_util_pct", "gpu_util_pct", 1),
    ("mem_bw_util_pct", "mem_copy_util_pct", 1),
    ("mem_used_bytes", "fb_used_mib", BYTES_PER_MIB),
    ("mem_total_bytes", "fb_total_mib", BYTES_PER_MIB),
    ("mem_reserved_bytes", "fb_reserved_mib", BYTES_PER_MIB),
    ("cpu_util_pct", "cpu_util_pct", 1),
    ("ram_used_bytes", "ram_used_mib", BYTES_PER_MIB),
    ("ram_total_bytes", "ram_total_mib", BYTES_PER_MIB),
)
_SENSOR_COLUMNS = (
    ("power_w", "power_w", 1),
    ("power_limit_w", "power_limit_w", 1),
    ("temperature_c", "temperature_c", 1),
    ("sm_clock_mhz", "sm_clock_mhz", 1),
    ("mem_clock_mhz", "mem_clock_mhz", 1),
)
CSV_COLUMNS = (
    "timestamp_s",
    "gpu_uuid",
    "model_name",
    *(column for _, column, _ in _USAGE_COLUMNS + _SENSOR_COLUMNS),
)


def _frame(buffer: RingBuffer, columns: tuple[tuple[str, str, int], ...]) -> pd.DataFrame:
    table = buffer.table()
    data = {"timestamp_s": table["timestamp_s"]}
    data.update({column: table[field] / divisor for field, column, divisor in columns})
    return pd.DataFrame(data)


def history_frame(history: DeviceHistory, device: DeviceInfo) -> pd.DataFrame:
    """One row per sampling moment, columns as in ``CSV_COLUMNS``."""
    usage = _frame(history.usage, _USAGE_COLUMNS)
    sensors = _frame(history.sensors, _SENSOR_COLUMNS)
    frame = usage.merge(sensors, on="timestamp_s", how="outer").sort_values("timestamp_s", ignore_index=True)
    frame.insert(1, "gpu_uuid", device.uuid)
    frame.insert(2, "model_name", device.name)
    return frame[list(CSV_COLUMNS)]


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write through core.atomic: readers never see a partial file; errors name the file."""
    path = Path(path)

    def write(temp: Path) -> None:
        with open(temp, "w", encoding="utf-8", newline="") as handle:
            spreadsheet_safe(frame).to_csv(handle, index=False)  # a device name is not a formula
    return atomic_write({path: write})[0]


def export_history_csv(history: DeviceHistory, device: DeviceInfo, path: Path) -> Path:
    return write_csv_atomic(history_frame(history, device), path)
