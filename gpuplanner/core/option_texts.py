"""Display text of the money options and energy figures of a PlanResult: the cards, the PDF
and the CLI's table all write them through here, so every face says the same words."""
from __future__ import annotations

import math

from gpuplanner.core.fields import percent_text, result_label, result_text
from gpuplanner.core.result import PlanResult
from gpuplanner.core.units import fmt_duration, fmt_usd


def reserved_text(value: float, text: str) -> str:
    return text if math.isfinite(value) else "n/a: no reserved price in the catalog"


def energy_texts(r: PlanResult) -> dict[str, str]:
    """The energy and carbon lines of a card (training: the run; serving: a month and per 1M tokens)."""
    unknown = f"n/a: {r.energy_note or 'unknown'}"
    co2 = result_text("co2e_kg", r.co2e_kg) if math.isfinite(r.co2e_kg) else unknown
    if not math.isfinite(r.energy_kwh):
        return {"energy_kwh": unknown}
    if r.mode == "train":
        return {"energy_kwh": f"{result_text('energy_kwh', r.energy_kwh)} for the run "
                              f"({result_text('gpu_power_w', r.gpu_power_w)} per GPU, PUE {r.pue:g})",
                "co2e_kg": co2}
    per_m = (f"{result_text('co2e_kg_per_million_tokens', r.co2e_kg_per_million_tokens)}"
             if math.isfinite(r.co2e_kg_per_million_tokens) else "n/a")
    return {"energy_kwh": f"{result_text('energy_kwh', r.energy_kwh)} / month, "
                          f"{result_text('energy_kwh_per_million_tokens', r.energy_kwh_per_million_tokens)} per 1M "
                          f"tokens ({result_text('gpu_power_w', r.gpu_power_w)} per GPU, PUE {r.pue:g})",
            "co2e_kg": f"{co2} / month, {per_m} per 1M tokens" if math.isfinite(r.co2e_kg) else co2}


def spot_run_text(r: PlanResult) -> str:
    """The spot run with interruptions, or why it never finishes."""
    if math.isfinite(r.spot_expected_cost_usd):
        return f"{fmt_usd(r.spot_expected_cost_usd)} over {fmt_duration(r.spot_expected_training_time_s)}"
    if math.isfinite(r.spot_cost_usd) and r.inputs.spot_interruptions_per_hour:
        return "never finishes: checkpoint more often (see the warning)"
    return "n/a: no spot price"


def api_texts(r: PlanResult) -> dict[str, str]:
    """The API's bill beside the fleet's, and the load from which self-hosting wins."""
    if not math.isfinite(r.api_monthly_cost_usd):
        return {}
    wins = (f"{result_text('breakeven_requests_per_s', r.breakeven_requests_per_s)} (steady load)"
            if math.isfinite(r.breakeven_requests_per_s) else
            "never: a fully used instance costs more than the API for what it carries")
    return {"api_monthly_cost_usd": f"{fmt_usd(r.api_monthly_cost_usd)} / month for the same load",
            "breakeven_requests_per_s": wins}


def option_texts(r: PlanResult) -> dict[str, str]:
    """The money-option and energy lines of a plan that fits, keyed by result field."""
    texts = {"discount_fraction": f"{percent_text(r.discount_fraction)} off every price"} if r.discount_fraction else {}
    if r.mode == "train":
        texts["reserved_cost_usd"] = reserved_text(r.reserved_cost_usd,
                                                   f"{fmt_usd(r.reserved_cost_usd)} (a year's commitment)")
        if r.inputs.spot_interruptions_per_hour:
            texts["spot_expected_cost_usd"] = spot_run_text(r)
    else:
        texts["reserved_monthly_cost_usd"] = reserved_text(r.reserved_monthly_cost_usd,
                                                           f"{fmt_usd(r.reserved_monthly_cost_usd)} / month")
        if r.inputs.load_profile:
            texts["replicas_by_hour"] = " ".join(map(str, r.replicas_by_hour)) + " (hours 0–23)"
        texts.update(api_texts(r))
    return texts | energy_texts(r)


def option_rows(r: PlanResult) -> list[tuple[str, str]]:
    """(label, text) of the same lines, for the PDF and the CLI."""
    return [(result_label(key), text) for key, text in option_texts(r).items()]
