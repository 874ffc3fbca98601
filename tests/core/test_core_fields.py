"""The field table covers every input and result figure, and every face reads it."""
from __future__ import annotations

import dataclasses
import math

import pytest

from gpuplanner.cli import build_parser
from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.fields import FORM_FIELDS, INPUT_FIELDS, RESULT_FIELDS, csv_name, result_text
from gpuplanner.report.content import input_rows
from gpuplanner.report.csv_export import plan_row

# Keys of PlanResult.to_dict() that are names or notes, not figures.
TEXT_KEYS = {"model", "mode", "precision", "gpu", "instance_type", "fits", "price_as_of", "gpu_source", "engine_flags",
             "gpu_as_of", "layout", "breakdown_bytes", "quick_rule", "curve", "warnings", "layout_notes",
             "assumptions", "inputs", "reason", "step_breakdown_s"}


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


def test_every_input_has_one_entry():
    assert set(INPUT_FIELDS) == {f.name for f in dataclasses.fields(PlanInputs)}


def test_every_result_figure_has_one_entry(catalogs):
    data = estimate(PlanInputs(mode="infer"), catalogs).to_dict()
    assert set(data) - TEXT_KEYS == set(RESULT_FIELDS)


def test_the_cli_has_a_flag_for_every_form_field_and_fills_plan_inputs_from_it():
    args = build_parser().parse_args(["plan", "--batch", "3", "--mfu", "0.5", "--overhead", "1GiB",
                                      "--zero", "2", "--no-flash-attention", "--tokens", "2T"])
    for name in FORM_FIELDS:
        assert hasattr(args, name), name
    assert (args.micro_batch, args.mfu, args.overhead_bytes, args.zero_stage, args.flash_attention,
            args.training_tokens) == (3, 0.5, 2**30, 2, False, 2e12)


def test_cli_help_shows_defaults_as_typed():
    text = build_parser()._subparsers._group_actions[0].choices["plan"].format_help()
    assert "(default: 0.9)" in text and "(default: 0.75GiB)" in text and "(default: auto)" in text


def test_pdf_inputs_use_the_labels_and_values_of_the_table(catalogs):
    result = estimate(PlanInputs(), catalogs)
    rows = dict(input_rows(result))
    assert rows["FlashAttention"] == "on" and rows["Price"] == "on-demand"
    assert rows["Runtime overhead"] == "0.75 GiB"  # not rounded to 0.8
    assert "Serving context" not in rows  # a serving input on a training plan
    assert not any("_" in label for label in rows)


def test_csv_columns_are_the_json_keys_with_units(catalogs):
    result = estimate(PlanInputs(mode="infer"), catalogs)
    row = plan_row(result)
    for key in RESULT_FIELDS:
        assert csv_name(key) in row, key
    assert "serving_batch_sequences" in row and "input_seq_len_tokens" in row


@pytest.mark.parametrize("key", sorted(RESULT_FIELDS))
def test_a_gap_is_written_n_a_never_nan(key):
    assert result_text(key, math.nan) == "n/a" and result_text(key, None) == "n/a"


def test_money_is_written_one_way_in_every_column():
    from gpuplanner.core.units import fmt_usd
    assert [fmt_usd(x) for x in (0.684, 99.5, 5102.7, 39_112.0, 12_345_678.9)] == \
        ["$0.68", "$99.50", "$5,103", "$39,112", "$12,345,679"]


def test_a_runs_flops_carry_an_si_prefix_not_an_exponent():
    """Issue 12 (scientific notation on screen): a run's FLOPs read as 2.64 ZFLOP in every face."""
    assert [result_text("training_flops", x) for x in (2.638e21, 8.4e17, 3.1e24, 512.0)] == \
        ["2.64 ZFLOP", "840 PFLOP", "3.1 YFLOP", "512 FLOP"]



def test_one_version_everywhere(catalogs):
    import gpuplanner
    from gpuplanner.ui.about import about_html
    result = estimate(PlanInputs(), catalogs)
    assert plan_row(result)["gpuplanner_version"] == gpuplanner.__version__
    assert f"gpuplanner {gpuplanner.__version__}" in about_html(catalogs)
