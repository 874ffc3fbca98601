"""Energy and carbon of a plan: the power its billed GPUs and their hosts draw, times the
data centre's PUE, times the grid's carbon intensity where the instance runs.

Power per GPU at a busy fraction u is P_idle + (P_busy − P_idle)·u, with P_busy the watts the
user measured (live panel, benchmark) or else the datasheet TDP (an upper bound); the host (CPUs,
memory, NICs, fans) adds a fixed share of P_busy; the facility multiplies by its PUE. The PUE
and grid tables are resources/datacenter_pue.csv and resources/carbon_intensity.csv.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from gpuplanner.core.catalogs import read_csv_records
from gpuplanner.core.resource_files import resource_path

# nvidia-smi on idle H100/H200 SXM reads about 70–80 W of their 700 W TDP.
IDLE_POWER_FRACTION = 0.10
IDLE_SOURCE = "idle draw ≈ 10 % of TDP (nvidia-smi on idle H100/H200 SXM: 70–80 W of 700 W)"
# NVIDIA DGX H100 datasheet: 10.2 kW system maximum with 8 × 700 W GPUs → (10.2 − 5.6) / 5.6.
HOST_POWER_FRACTION = 0.82
HOST_SOURCE = "NVIDIA DGX H100 datasheet: 10.2 kW system maximum for 8 × 700 W GPUs"
GRID_DEFAULT_KEY = "*"


@dataclass(frozen=True)
class Grid:
    g_per_kwh: float  # NaN when the table has no row for the region
    source: str


@dataclass(frozen=True)
class PowerModel:
    """Watts per billed GPU, what they come from, and the carbon intensity of the grid."""

    gpu_busy_w: float  # NaN when neither a measurement nor a datasheet TDP is known
    measured: bool
    host_w: float  # the rest of the server, per GPU
    pue: float
    pue_source: str
    grid: Grid

    def facility_w(self, busy: float) -> float:
        """Facility watts per billed GPU at a busy fraction `busy` (0–1), host and PUE included."""
        gpu = self.gpu_busy_w * (IDLE_POWER_FRACTION + (1 - IDLE_POWER_FRACTION) * busy)
        return (gpu + self.host_w) * self.pue

    def co2e_kg(self, kwh: float) -> float:
        return kwh * self.grid.g_per_kwh / 1000


def power_model(inputs, hw) -> PowerModel:
    """The inputs' power figures, each falling back to its sourced default."""
    measured = inputs.gpu_power_w > 0
    busy = inputs.gpu_power_w if measured else hw.gpu.tdp_w
    cloud = hw.instance.cloud.lower() if hw.instance else ""
    if inputs.pue:
        pue, pue_source = inputs.pue, "given"
    else:
        pue, pue_source = _pue_table().get(cloud) or _pue_table()[GRID_DEFAULT_KEY]
    if inputs.grid_intensity_g_per_kwh:
        grid = Grid(inputs.grid_intensity_g_per_kwh, "given")
    elif hw.instance is None:
        grid = Grid(math.nan, "planning by GPU only: no region, give a grid carbon intensity")
    else:
        grid = _grid_table().get((cloud, hw.instance.region.lower()),
                                 Grid(math.nan, f"no grid carbon intensity for {hw.instance.cloud} "
                                                f"{hw.instance.region} in the table: give one"))
    return PowerModel(busy, measured, busy * inputs.host_power_fraction, pue, pue_source, grid)


def source_text(model: PowerModel) -> str:
    """Where the plan's energy figures come from, in one line."""
    gpu = "measured watts" if model.measured else "datasheet TDP (an upper bound)"
    return (f"GPU {model.gpu_busy_w:,.0f} W busy ({gpu}); {IDLE_SOURCE}; host {model.host_w:,.0f} W per GPU "
            f"({HOST_SOURCE}); PUE {model.pue:g} ({model.pue_source}); grid {model.grid.g_per_kwh:g} gCO2e/kWh "
            f"({model.grid.source})")


@functools.cache
def _pue_table() -> dict:
    return {r["cloud"].strip().lower(): (float(r["pue"]), f"{r['source']}, {r['year']}")
            for r in read_csv_records(resource_path("datacenter_pue.csv"))}


@functools.cache
def _grid_table() -> dict:
    return {(r["cloud"].strip().lower(), r["region"].strip().lower()):
            Grid(float(r["grid_gco2e_per_kwh"]), f"{r['location']}: {r['source']}, {r['year']}")
            for r in read_csv_records(resource_path("carbon_intensity.csv"))}
