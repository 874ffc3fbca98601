"""Failed writes: a clear ReportError naming the file, no temp file, no partial or changed target."""
import errno
import os

import pandas as pd
import pytest
from report_plans import TRAIN, plan

from gpuplanner.core import atomic
from gpuplanner.report import ReportError, document, pdf, write_report

SUFFIXES = [".csv", ".pdf"]


@pytest.fixture
def app(qapp):
    return qapp


def write(path):
    result, table = plan(TRAIN)
    return write_report(result, table, path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_missing_folder(app, tmp_path, suffix):
    target = tmp_path / "missing" / f"plan{suffix}"
    with pytest.raises(ReportError, match="does not exist") as error:
        write(target)
    assert str(target) in str(error.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_target_is_a_folder(app, tmp_path, suffix):
    target = tmp_path / f"plan{suffix}"
    target.mkdir()
    with pytest.raises(ReportError, match="is a folder"):
        write(target)
    assert list(tmp_path.iterdir()) == [target] and not list(target.iterdir())


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_full_disk_on_the_final_move_keeps_the_old_file(app, tmp_path, suffix, monkeypatch):
    target = tmp_path / f"plan{suffix}"
    target.write_text("old report")

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(atomic.os, "replace", no_space)
    with pytest.raises(ReportError, match="disk is full"):
        write(target)
    assert list(tmp_path.iterdir()) == [target] and target.read_text() == "old report"


def test_failure_in_the_second_csv_leaves_neither_file(app, tmp_path, monkeypatch):
    real = pd.DataFrame.to_csv
    calls = []

    def second_fails(frame, path, **kw):
        calls.append(path)
        if len(calls) == 2:
            real(frame.head(1), path, **kw)  # a partly written temp file
            raise OSError(errno.EIO, "Input/output error")
        return real(frame, path, **kw)
    monkeypatch.setattr(pd.DataFrame, "to_csv", second_fails)
    with pytest.raises(ReportError, match="input/output error"):
        write(tmp_path / "plan.csv")
    assert not list(tmp_path.iterdir())


def test_exception_mid_render_leaves_no_pdf(app, tmp_path, monkeypatch):
    real = document.PagedDocument.paint_page

    def fails_on_page_two(self, painter, index):
        if index == 1:
            raise ValueError("chart data broken")
        real(self, painter, index)
    monkeypatch.setattr(document.PagedDocument, "paint_page", fails_on_page_two)
    with pytest.raises(ReportError, match="chart data broken"):
        write(tmp_path / "plan.pdf")
    assert not list(tmp_path.iterdir())


def test_pdf_writer_that_cannot_start(app, tmp_path, monkeypatch):
    class RefusingPainter(pdf.QPainter):
        def begin(self, device):
            return False
    monkeypatch.setattr(pdf, "QPainter", RefusingPainter)
    with pytest.raises(ReportError, match="could not open"):
        write(tmp_path / "plan.pdf")
    assert not list(tmp_path.iterdir())
