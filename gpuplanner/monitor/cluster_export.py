"""CSV export of cluster GPU histories, with the local export's column names plus the node.

One row per GPU per time step; the columns shared with a local export (``gpu_util_pct``,
``fb_used_mib``, ``power_w``, …) mean the same, so both files load into one table.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from gpuplanner.monitor.dcgm import DCGM_FIELDS, GpuHistory
from gpuplanner.monitor.export import write_csv_atomic

_IDENTITY = ("timestamp_s", "hostname", "gpu_index", "gpu_uuid", "model_name", "job")
_VALUES = tuple(f.column for f in DCGM_FIELDS) + ("fb_total_mib",)


def cluster_history_frame(histories: Sequence[GpuHistory]) -> pd.DataFrame:
    """Rows ordered by GPU then time; PROF fields outside the table follow as extra columns."""
    frames = []
    for history in histories:
        data = {"timestamp_s": history.times_s, "hostname": history.gpu.hostname, "gpu_index": history.gpu.index,
                "gpu_uuid": history.gpu.uuid, "model_name": history.gpu.model_name, "job": history.gpu.job}
        data.update({column: history.column(column) for column in _VALUES[:-1]})
        data.update(history.columns)  # PROF fields outside the table too
        data["fb_total_mib"] = history.fb_total_mib
        frames.append(pd.DataFrame(data))
    if not frames:
        return pd.DataFrame(columns=list(_IDENTITY + _VALUES))
    table = pd.concat(frames, ignore_index=True)
    extra = sorted(c for c in table.columns if c not in _IDENTITY + _VALUES)
    return table[list(_IDENTITY + _VALUES) + extra]


def export_cluster_csv(histories: Sequence[GpuHistory], path: Path) -> Path:
    if not histories:
        raise ValueError("No GPU history to export yet: select GPUs in the overview first.")
    return write_csv_atomic(cluster_history_frame(histories), Path(path))
