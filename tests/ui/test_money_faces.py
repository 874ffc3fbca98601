"""The money options and energy figures on every face: the form's new fields and the cards
(pytest-qt), the CLI's flags and JSON, the CSV and the PDF read back, and plan files."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from test_live_panel import replayed
from test_ui_plan import assert_shows, type_into
from ui_support import settle

from gpuplanner.cli import main
from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.fields import csv_name
from gpuplanner.core.option_texts import option_rows
from gpuplanner.core.planfile import load_plan, save_plan
from gpuplanner.core.sweep import sweep
from gpuplanner.monitor import read_session
from gpuplanner.monitor.synthetic import write_synthetic_session
from gpuplanner.report import write_csv, write_pdf

pytest_plugins = ("test_live_panel",)  # its make_panel fixture (the window fixtures come from conftest.py)
CATALOGS = load_catalogs()
SERVE = PlanInputs(mode="infer", model="llama-3.1-8b", instance="g6e.xlarge", api_usd_per_million_input=3.0,
                   api_usd_per_million_output=15.0, load_profile="9-18=4", scale_to_zero=True,
                   discounts="aws=15")
TRAIN = PlanInputs(model="llama-2-7b", training_tokens=2e11, spot_interruptions_per_hour=0.01,
                   checkpoint_interval_h=2.0, discounts="gcp=10")  # another cloud: aws prices stay
MONEY_KEYS = ("energy_kwh", "co2e_kg", "api_monthly_cost_usd", "breakeven_requests_per_s",
              "energy_kwh_per_million_tokens", "co2e_kg_per_million_tokens", "monthly_cost_usd")


def test_the_form_has_the_new_fields_and_the_cards_show_their_figures(make_window, qtbot, catalogs):
    window = make_window()
    type_into(qtbot, window, "discounts", "aws=20")
    type_into(qtbot, window, "spot_interruptions_per_hour", "0.01")
    type_into(qtbot, window, "host_power_fraction", "50")  # typed as a percentage
    expected = PlanInputs(discounts="aws=20", spot_interruptions_per_hour=0.01, host_power_fraction=0.5)
    assert window.form.inputs() == expected
    assert_shows(window, catalogs, expected)
    train = window.plan_tab.summary.train_card.values
    result = estimate(expected, catalogs)
    assert train["discount_fraction"] == "20.0 % off every price"
    assert train["energy_kwh"].startswith(f"{result.energy_kwh:,.3g}".split(".")[0])
    assert "Energy:" in window.plan_tab.summary.train_card.body.text().replace("</a>", "")
    type_into(qtbot, window, "discounts", "aws=abc")
    assert window.form.error_text("discounts") == "'aws=abc' is not 'cloud=percent' (e.g. aws=20 gcp=15)"


def test_the_serving_card_shows_the_api_break_even_and_the_profile(make_window, qtbot, catalogs):
    window = make_window()
    window.form.set_inputs(SERVE)
    window.form.changed.emit()
    settle(qtbot, window)
    assert window.form.editor("scale_to_zero").isChecked()
    assert_shows(window, catalogs, SERVE)
    serve = window.plan_tab.summary.serve_card.values
    result = estimate(SERVE, catalogs)
    assert serve["api_monthly_cost_usd"].endswith("/ month for the same load")
    assert serve["replicas_by_hour"].split()[:24] == [str(n) for n in result.replicas_by_hour]
    assert "per 1M tokens" in serve["energy_kwh"] and "per 1M tokens" in serve["co2e_kg"]


def test_cli_flags_and_json_carry_the_same_figures(capsys):
    argv = ["plan", "--model", "llama-3.1-8b", "--mode", "infer", "--instance", "g6e.xlarge",
            "--api-usd-per-million-input", "3", "--api-usd-per-million-output", "15",
            "--load-profile", "9-18=4", "--scale-to-zero", "--discounts", "aws=15", "--format", "json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    expected = estimate(SERVE, CATALOGS).to_dict()
    assert {k: data[k] for k in MONEY_KEYS} == {k: expected[k] for k in MONEY_KEYS}
    assert data["replicas_by_hour"] == expected["replicas_by_hour"]
    assert main(argv[:-2] + ["--format", "table"]) == 0
    table = capsys.readouterr().out
    assert all(f"{label}: {text}" in table for label, text in option_rows(estimate(SERVE, CATALOGS)))
    assert main(["plan", "--load-profile", "1 2 3"]) == 2
    assert "--load-profile: give 24 hourly request rates (got 3)" in capsys.readouterr().err


@pytest.mark.parametrize("inputs", [SERVE, TRAIN], ids=["serve", "train"])
def test_csv_and_pdf_read_back_the_figures(qapp, tmp_path, inputs):
    result = estimate(inputs, CATALOGS)
    table = sweep(inputs, CATALOGS, modes=(inputs.mode,), precisions=("bf16",))
    row = pd.read_csv(write_csv(result, table, tmp_path / "plan.csv")[0]).iloc[0]
    for key in ("energy_kwh", "co2e_kg", "pue", "gpu_power_w", "discount_fraction"):
        assert row[csv_name(key)] == pytest.approx(getattr(result, key))
    assert row["input_discounts"] == inputs.discounts
    reader = PdfReader(write_pdf(result, table, tmp_path / "plan.pdf", "A4"))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for label, shown in option_rows(result):
        assert label in text and set(re.split(r"[\s/]+", shown)) <= set(re.split(r"[\s/]+", text))


def test_plan_files_keep_the_new_inputs(tmp_path):
    path = tmp_path / "money.gpuplan"
    save_plan(path, SERVE)
    assert load_plan(path).inputs == SERVE


def test_the_live_panel_hands_its_measured_power_to_the_plan(qtbot, make_panel, tmp_path, make_window,
                                                             catalogs):
    path = write_synthetic_session(tmp_path / "s.jsonl", usage_count=30)
    watts = [s.power_w for s in read_session(path).sensors]
    panel = replayed(qtbot, make_panel, path)
    assert panel.measured_power_w() == pytest.approx(np.percentile(watts, 90))  # the window holds them all
    with qtbot.waitSignal(panel.power_measured) as signal:
        panel.use_power_button.click()
    assert signal.args == [pytest.approx(np.percentile(watts, 90))]
    window = make_window()
    window.use_measured_power(signal.args[0])
    settle(qtbot, window)
    shown = window.form.inputs()
    assert shown.gpu_power_w == round(signal.args[0])
    assert window.state.result.gpu_power_w == shown.gpu_power_w
    assert_shows(window, catalogs, shown)
