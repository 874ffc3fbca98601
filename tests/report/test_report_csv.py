"""CSV export: the files read back through pandas give the result's own numbers."""
import math
import subprocess
import sys

import pandas as pd
import pytest
from report_plans import INFEASIBLE, SERVE, TRAIN, plan

from gpuplanner.core.result import BREAKDOWN_KEYS
from gpuplanner.report import ReportError, write_csv, write_report
from gpuplanner.report.csv_export import plan_row


def read_plan(path):
    frame = pd.read_csv(path)
    assert len(frame) == 1
    return frame.iloc[0]


def same(a, b) -> bool:
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    return a == b


def test_training_plan_row_reads_back_with_the_results_numbers(tmp_path):
    result, table = plan(TRAIN)
    written = write_csv(result, table, tmp_path / "plan.csv")
    assert [p.name for p in written] == ["plan.csv", "plan-comparison.csv"]
    row = read_plan(written[0])
    assert row["gpus"] == result.gpus and row["instances"] == result.instances
    assert row["cost_usd"] == result.cost_usd and row["training_time_s"] == result.training_time_s
    assert row["quick_rule_ratio"] == result.quick_rule.ratio and row["quick_rule_gpus"] == result.quick_rule.gpus
    assert row["memory_per_gpu_bytes"] == result.memory_per_gpu_bytes
    for key in BREAKDOWN_KEYS:
        assert row[f"memory_{key}_bytes"] == getattr(result.breakdown_bytes, key)
    assert row["input_training_tokens"] == 2e12 and row["input_seq_len_tokens"] == result.inputs.seq_len
    assert bool(row["fits"]) is True and row["layout_description"] == result.layout.describe()


def test_every_number_of_the_row_round_trips_exactly(tmp_path):
    result, table = plan(SERVE)
    path = write_csv(result, table, tmp_path / "plan.csv")[0]
    row = read_plan(path)
    expected = plan_row(result)
    assert list(row.index) == list(expected)
    numbers = {k: v for k, v in expected.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    assert numbers and all(same(float(row[k]), float(v)) for k, v in numbers.items())


def test_comparison_table_is_the_full_sweep(tmp_path):
    result, table = plan(TRAIN)
    comparison = pd.read_csv(write_csv(result, table, tmp_path / "plan.csv")[1])
    assert list(comparison.columns) == list(table.columns) and len(comparison) == len(table)
    numeric = table.select_dtypes("number").columns
    pd.testing.assert_frame_equal(comparison[numeric], table[numeric], check_dtype=False)
    texts = ["instance_type", "layout", "reason"]
    assert comparison[texts].fillna("").equals(table[texts].fillna(""))


def test_serving_plan_adds_the_throughput_curve(tmp_path):
    result, table = plan(SERVE)
    written = write_csv(result, table, tmp_path / "serve.csv")
    assert written[2].name == "serve-curve.csv"
    curve = pd.read_csv(written[2])
    assert list(curve["batch_sequences"]) == [p.batch for p in result.curve]
    assert list(curve["tokens_per_s_total"]) == [p.tokens_per_s_total for p in result.curve]
    row = read_plan(written[0])
    assert row["usd_per_million_tokens"] == result.usd_per_million_tokens and row["replicas"] == result.replicas


def test_infeasible_plan_exports_with_its_reason(tmp_path):
    result, table = plan(INFEASIBLE)
    row = read_plan(write_report(result, table, tmp_path / "plan.csv")[0])
    assert bool(row["fits"]) is False and math.isnan(row["cost_usd"])
    assert row["warnings"].endswith(result.warnings[-1])


def test_files_are_utf8_with_a_byte_order_mark_for_excel(tmp_path):
    result, table = plan(TRAIN)
    path = write_csv(result, table, tmp_path / "plan.csv")[0]
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfgpuplanner_version,")
    assert "×" in raw.decode("utf-8-sig")


def test_unknown_suffix_is_a_clear_error(tmp_path):
    result, table = plan(TRAIN)
    with pytest.raises(ReportError, match=r"plan\.txt.*use \.csv or \.pdf"):
        write_report(result, table, tmp_path / "plan.txt")
    assert not list(tmp_path.iterdir())


def test_csv_export_needs_no_qt(tmp_path):
    code = ("import sys; sys.modules['PySide6'] = None\n"
            "from gpuplanner.core import PlanInputs, estimate, load_catalogs\n"
            "from gpuplanner.core.sweep import sweep\n"
            "from gpuplanner.report import write_report\n"
            "cat = load_catalogs(); i = PlanInputs(model='llama-2-7b')\n"
            f"write_report(estimate(i, cat), sweep(i, cat), {str(tmp_path / 'p.csv')!r})\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (tmp_path / "p.csv").is_file() and (tmp_path / "p-comparison.csv").is_file()
