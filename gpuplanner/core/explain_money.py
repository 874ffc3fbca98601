"""Explanations of the money-option and energy figures (core.money, core.energy): each
formula with the plan's values substituted and its source, built from the finished result."""
from __future__ import annotations

import math

from gpuplanner.core.energy import HOST_SOURCE, IDLE_POWER_FRACTION, IDLE_SOURCE
from gpuplanner.core.money import DALY
from gpuplanner.core.result import Explanation
from gpuplanner.core.units import fmt_duration, fmt_usd

PUE_GRID = "the planner's PUE and grid carbon-intensity tables, each row with its publisher and year (README, 'Energy and carbon')"


def money_energy_explanations(r, inputs) -> tuple:
    """The explanations of a plan's money options and energy (empty where the plan has no figures)."""
    if not r.fits:
        return ()
    energy = Explanation(
        "energy_kwh",
        "billed GPUs × (P_gpu × (idle + (1 − idle) × busy) + host) × PUE × hours",
        f"P_gpu {_n(r.gpu_power_w)} W, idle {IDLE_POWER_FRACTION:g}, host {inputs.host_power_fraction:g} × P_gpu, "
        f"PUE {_n(r.pue)}, busy = " + ("1 (training)" if r.mode == "train" else "load / capacity, hour by hour")
        + f" → {_n(r.energy_kwh)} kWh" + (" per month" if r.mode == "infer" else " for the run"),
        f"{IDLE_SOURCE}; {HOST_SOURCE}; {PUE_GRID}")
    co2 = Explanation("co2e_kg", "energy × grid carbon intensity",
                      f"{_n(r.energy_kwh)} kWh × {_n(r.grid_intensity_g_per_kwh)} gCO2e/kWh = {_n(r.co2e_kg)} kg",
                      PUE_GRID)
    if r.mode == "train":
        every = f"every {inputs.checkpoint_interval_h:g} h" if inputs.checkpoint_interval_h else "never"
        spot = Explanation(
            "spot_expected_cost_usd", "E = M × e^(R/M) × the sum over checkpoint segments of (e^(T/M) − 1), "
            "M = 1 / (rate × instances), T = a segment's hours; cost = spot price per hour × E",
            f"{inputs.spot_interruptions_per_hour:g} interruptions per instance per hour, checkpoint {every}, restart "
            f"{inputs.restart_h:g} h, {r.training_time_s / 3600:,.1f} h of work → "
            f"{fmt_duration(r.spot_expected_training_time_s)}, {fmt_usd(r.spot_expected_cost_usd)}", DALY)
        return (energy, co2, spot)
    api = Explanation(
        "breakeven_requests_per_s",
        "API: requests/month × (prompt × $in + output × $out) / 10^6; self-hosting bills whole instances, a step "
        "function, so it first wins at (one block's monthly bill) / (API $ per request/s per month)",
        f"API {fmt_usd(r.api_monthly_cost_usd)} per month beside {fmt_usd(r.monthly_cost_usd)}; self-hosting wins "
        f"from {_n(r.breakeven_requests_per_s)} requests/s (up to each block's capacity; just past it a new "
        "instance makes the API cheaper again until the load grows into it)", "README, 'Money options'")
    return (energy, co2, api)


def _n(x) -> str:
    return "n/a" if not isinstance(x, (int, float)) or not math.isfinite(x) else f"{x:,.4g}"
