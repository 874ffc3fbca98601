"""Exports that must not lose or poison anything (issue 14, defects 1 and 10): a PDF cut short by a
full disk never replaces the previous report; catalog text never becomes a live spreadsheet
formula; long export names work."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from report_plans import TRAIN, catalogs, plan

from gpuplanner.core import estimate
from gpuplanner.core.sweep import sweep
from gpuplanner.report import ReportError, write_csv

# The child writes a reference PDF, then for each limit puts an old file in place, lowers the
# process's file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so writes fail with EFBIG, as on a full
# disk) and exports over the old file through the CLI.
DRILL = textwrap.dedent("""
    import contextlib, io, json, resource, signal, sys
    from pathlib import Path
    from gpuplanner import cli
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    folder = Path(sys.argv[1])
    target = folder / "plan.pdf"
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]

    def export():
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["plan", "--report", str(target)])
        return code, err.getvalue()

    export()
    full_size = target.stat().st_size
    rows = []
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
        target.write_bytes(b"old report")
        limit = int(full_size * fraction)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        code, err = export()
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        rows.append({"limit": limit, "code": code, "stderr": err,
                     "old_kept": target.read_bytes() == b"old report",
                     "files": sorted(p.name for p in folder.iterdir())})
    print(json.dumps({"full_size": full_size, "rows": rows}))
""")


def test_pdf_cut_short_by_a_full_disk_keeps_the_old_report(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", DRILL, str(folder)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    drill = json.loads(done.stdout)
    assert drill["full_size"] > 10_000
    for row in drill["rows"]:
        assert row["code"] == 2, row  # today: 0 and "wrote plan.pdf"
        assert row["old_kept"] and row["files"] == ["plan.pdf"], row
        assert f"Cannot write {folder / 'plan.pdf'}" in row["stderr"] and "Traceback" not in row["stderr"]


def test_an_incomplete_pdf_is_recognised(tmp_path):
    from gpuplanner.report.pdf import check_complete_pdf
    whole = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\nxref\n0 1\ntrailer\n<<>>\nstartxref\n30 \n%%EOF\n"
    (tmp_path / "a.pdf").write_bytes(whole)
    check_complete_pdf(tmp_path / "a.pdf")
    for broken in (whole[:-8], whole[:40], b"%PDF", b"PK\x03\x04" + whole[4:], whole.replace(b"30 ", b"999")):
        (tmp_path / "a.pdf").write_bytes(broken)
        with pytest.raises(RuntimeError, match="incomplete"):
            check_complete_pdf(tmp_path / "a.pdf")


FORMULAS = ["=HYPERLINK(\"http://x.invalid\",\"cheap\")", "+1+1", "-2+3", "@SUM(A1)"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_catalog_text_never_becomes_a_spreadsheet_formula(tmp_path, formula):
    user = tmp_path / "prices.csv"
    pd.DataFrame([{"cloud": "aws", "instance_type": formula, "gpu": "H100", "gpu_count": 8,
                   "price_usd_per_hour": 50.0, "region": formula, "source": formula, "as_of": "2026"}]
                 ).to_csv(user, index=False)
    mine = catalogs().with_user_file(user)
    inputs = TRAIN.with_(instance=formula)
    written = write_csv(estimate(inputs, mine), sweep(inputs, mine), tmp_path / "plan.csv")
    for path in written:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        cells = [c for column in frame.columns for c in frame[column]]
        assert not [c for c in cells if c.startswith(("=", "+", "@"))], path.name
        assert "'" + formula in cells, path.name  # kept, visibly, as text


def test_numbers_stay_numbers_after_the_formula_guard(tmp_path):
    result, table = plan(TRAIN)
    written = write_csv(result, table, tmp_path / "plan.csv")
    row = pd.read_csv(written[0]).iloc[0]
    assert row["gpus"] == result.gpus and row["cost_usd"] == result.cost_usd


@pytest.mark.parametrize("length", [242, 250, 255])
def test_export_names_up_to_the_file_system_limit_work(tmp_path, length):
    result, table = plan(TRAIN)
    name = "p" * (length - len("-comparison.csv")) + ".csv"  # the longest of the files written
    written = write_csv(result, table, tmp_path / name)
    assert max(len(p.name) for p in written) == length
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)


def test_an_export_name_over_the_limit_is_a_clear_error(tmp_path):
    result, table = plan(TRAIN)
    with pytest.raises(ReportError, match="too long"):
        write_csv(result, table, tmp_path / ("p" * 260 + ".csv"))
    assert not list(tmp_path.iterdir())


def test_a_failed_telemetry_export_names_the_file(tmp_path):
    from monitor_support import filled_history

    from gpuplanner.monitor import export_history_csv
    from gpuplanner.monitor.synthetic import write_synthetic_session
    history, source = filled_history(write_synthetic_session(tmp_path / "s.jsonl", usage_count=4))
    target = tmp_path / "missing" / "samples.csv"
    with pytest.raises(OSError) as error:
        export_history_csv(history, source.devices()[0], target)
    assert str(target) in str(error.value) and "does not exist" in str(error.value)


def test_a_device_name_is_not_a_formula_in_the_telemetry_export(tmp_path):
    from dataclasses import replace

    from monitor_support import filled_history

    from gpuplanner.monitor import export_history_csv
    from gpuplanner.monitor.synthetic import write_synthetic_session
    history, source = filled_history(write_synthetic_session(tmp_path / "s.jsonl", usage_count=4))
    device = replace(source.devices()[0], name="=cmd|' /C calc'!A0")
    frame = pd.read_csv(export_history_csv(history, device, tmp_path / "out.csv"))
    assert (frame["model_name"] == "'=cmd|' /C calc'!A0").all()
