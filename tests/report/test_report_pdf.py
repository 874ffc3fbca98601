"""PDF export: the text pypdf extracts shows the result's figures as the report formats them."""
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QBuffer, QPointF, QRectF
from PySide6.QtGui import QImage, QPainter
from report_plans import INFEASIBLE, SERVE, TRAIN, catalogs, plan

from gpuplanner.core.units import fmt_duration, fmt_usd
from gpuplanner.report import ReportError, ensure_gui_app, render_page_image, write_pdf, write_report
from gpuplanner.report.charts import CHART_WIDTH, cost_time_chart, memory_chart, throughput_chart
from gpuplanner.report.document import PagedDocument, stranded_headings
from gpuplanner.report.pdf import configured_writer, page_size_id
from gpuplanner.report.qt_app import report_font

ENGINE_FLAGS = {"gpu_memory_utilization", "launch_server", "mem_fraction_static", "max_model_len", "max_num_seqs",
                "tensor_parallel_size", "pipeline_parallel_size", "max_running_requests", "context_length"}

POINTS_PER_MM = 72 / 25.4


@pytest.fixture
def app(qapp):
    """The test session's QApplication (a widget-capable one, so later UI tests can share it)."""
    return qapp


def export(tmp_path, inputs, page_size="A4"):
    result, table = plan(inputs)
    path = write_pdf(result, table, tmp_path / "plan.pdf", page_size)
    reader = PdfReader(path)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    return result, reader, text


def words(text: str) -> set[str]:
    """Words as the PDF may wrap them: at spaces and after slashes."""
    return set(re.split(r"[\s/]+", text))


def test_training_report_shows_the_answer_and_the_quick_rule(app, tmp_path):
    result, reader, text = export(tmp_path, TRAIN)
    assert 2 <= len(reader.pages) <= 6
    assert f"GPUs needed {result.min_gpus}" in text and f"GPUs in the plan {result.gpus}" in text
    assert result.layout.describe() in text
    assert fmt_usd(result.cost_usd) in text and fmt_usd(result.spot_cost_usd) in text
    assert fmt_duration(result.training_time_s) in text
    assert f"Ratio {result.quick_rule.ratio:.2f}" in text and f"GPUs (rounded up) {result.quick_rule.gpus}" in text
    assert result.price_as_of in text and "Cost and time of the candidates" in text
    for n in range(1, len(reader.pages) + 1):
        assert f"Page {n} of {len(reader.pages)}" in text


def test_report_carries_version_assumptions_and_formulas(app, tmp_path):
    result, reader, text = export(tmp_path, TRAIN)
    assert "gpuplanner 0." in text or "gpuplanner unknown" in text
    shown = words(text)  # table cells wrap, so a phrase may be cut by a neighbour cell's line
    assert all(words(a.value) <= shown and a.name in text for a in result.assumptions)
    assert all(words(e.substituted) <= shown and words(e.formula) <= shown for e in result.explanations)
    assert "usable" in text and "Weights" in text  # the memory chart's labels are text too


def test_serving_report_shows_replicas_price_per_token_and_the_curve(app, tmp_path):
    result, reader, text = export(tmp_path, SERVE)
    assert f"Replicas {result.replicas}" in text
    assert f"Cost per 1M output tokens {fmt_usd(result.usd_per_million_tokens)}" in text
    assert f"Monthly cost (on-demand) {fmt_usd(result.monthly_cost_usd)}" in text
    assert "Throughput and interactivity" in text
    assert all(f"b={p.batch}" in text for p in result.curve)


def test_infeasible_plan_exports_with_the_reason(app, tmp_path):
    result, reader, text = export(tmp_path, INFEASIBLE)
    assert f"Does not fit: {result.warnings[-1]}" in text
    assert 2 <= len(reader.pages) <= 6


@pytest.mark.parametrize("page_size, width_mm, height_mm", [("A4", 210, 297), ("Letter", 215.9, 279.4)])
def test_page_sizes(app, tmp_path, page_size, width_mm, height_mm):
    _, reader, _ = export(tmp_path, TRAIN, page_size)
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(width_mm * POINTS_PER_MM, abs=1)
        assert float(page.mediabox.height) == pytest.approx(height_mm * POINTS_PER_MM, abs=1)


def test_fonts_are_embedded(app, tmp_path):
    _, reader, _ = export(tmp_path, TRAIN)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    for ref in fonts.values():
        descriptor = ref.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor


def test_unknown_page_size_is_a_clear_error(app, tmp_path):
    result, table = plan(TRAIN)
    with pytest.raises(ReportError, match="page size 'A3'.*A4 or Letter"):
        write_report(result, table, tmp_path / "plan.pdf", page_size="A3")
    assert not list(tmp_path.iterdir())


def test_page_image_draws_the_first_page(app):
    result, table = plan(SERVE)
    image = render_page_image(result, table, dpi=50)
    assert image.width() == pytest.approx(210 / 25.4 * 50, abs=1)  # A4 at 50 dpi
    assert image.height() == pytest.approx(297 / 25.4 * 50, abs=1)
    assert image.pixelColor(0, 0).name() == "#ffffff"  # margin
    assert any(image.pixelColor(x, y).lightness() < 128 for y in range(110, 150, 3) for x in range(image.width()))


def test_ensure_gui_app_reuses_the_running_application(app):
    assert ensure_gui_app() is app


class TextRecorder(QPainter):
    """A painter that records where every text it draws lands (device coordinates)."""

    def __init__(self, device):
        super().__init__(device)
        self.boxes: list[tuple[str, QRectF]] = []

    def drawText(self, *args):
        if len(args) == 2 and isinstance(args[0], QPointF):
            at, text = args
            metrics = self.fontMetrics()
            box = QRectF(at.x(), at.y() - metrics.ascent(), metrics.horizontalAdvance(text), metrics.height())
            self.boxes.append((text, self.transform().mapRect(box)))
        return super().drawText(*args)


def overlapping_texts(chart) -> list[tuple[str, str]]:
    image = QImage(int(CHART_WIDTH), int(chart.height), QImage.Format.Format_ARGB32)
    painter = TextRecorder(image)
    chart.paint(painter, QRectF(0, 0, CHART_WIDTH, chart.height), report_font(8.5))
    painter.end()
    boxes = [(text, box.adjusted(0.5, 0.5, -0.5, -0.5)) for text, box in painter.boxes]  # touching is fine
    return [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:] if box.intersects(other)]


@pytest.mark.parametrize("inputs", [TRAIN, SERVE, TRAIN.with_(model="mixtral-8x7b-v0.1"),
                                    SERVE.with_(model="llama-2-7b", instance="g5.xlarge", precision="int4")])
def test_no_chart_text_overlaps_another(app, inputs):
    """Issue 12: curve labels drew over one another and annotations over tick labels."""
    result, table = plan(inputs)
    for chart in (memory_chart(result),
                  cost_time_chart(result, table) if result.mode == "train" else throughput_chart(result)):
        assert overlapping_texts(chart) == []


@pytest.mark.parametrize("inputs", [TRAIN, SERVE, INFEASIBLE])
@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_no_heading_ends_a_page(app, inputs, page_size):
    """Issue 12: a section heading at a page's bottom, its chart or table on the next page."""
    result, table = plan(inputs)
    writer = configured_writer(QBuffer(), page_size_id(page_size, Path("x.pdf")), result)
    pages = PagedDocument(result, table, writer, date(2026, 11, 29))
    assert stranded_headings(pages._doc, pages._body.height()) == []


def test_no_internal_field_name_in_the_text(app, tmp_path):
    """Issue 12: "training time s", "memory_mib_reported", "bytes_per_param" reached the PDF."""
    for inputs in (TRAIN, SERVE):
        result, _, text = export(tmp_path, inputs)
        names = set(re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", text))
        allowed = {i.instance_type for i in catalogs().instances.values()} | ENGINE_FLAGS
        assert names - allowed == set(), names - allowed
        for key in ("training time s", "spot cost usd", "decode tokens per s", "True", "False", "on_demand"):
            assert key not in text


def test_the_report_writes_memory_in_the_unit_the_window_shows(app, tmp_path):
    result, table = plan(INFEASIBLE)
    reader = PdfReader(write_pdf(result, table, tmp_path / "plan.pdf", memory_unit="GB"))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    entered = "Runtime overhead 0.75 GiB"  # an input, written as the form takes it
    assert "Does not fit" in text and " GB" in text and entered in text and "GiB" not in text.replace(entered, "")


def test_serving_report_draws_the_frontier_the_table_carries(app, tmp_path):
    """Seed 001: the frontier of the plan's hardware, computed with the comparison, in the PDF."""
    from report_plans import catalogs

    from gpuplanner.core.estimate import attach_frontier

    result, table = plan(SERVE)
    path = write_pdf(result, table, tmp_path / "bare.pdf")
    assert "against interactivity" not in " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())
    attach_frontier(table, SERVE, catalogs())
    path = write_pdf(result, table, tmp_path / "frontier.pdf")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())
    assert "Throughput per GPU against interactivity" in text and "Pareto frontier" in text
    assert "this plan: TP" in text  # the marked plan, named by its layout
    train, train_table = plan(TRAIN)
    attach_frontier(train_table, TRAIN, catalogs())  # a training report has no serving frontier
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(write_pdf(train, train_table, tmp_path / "t.pdf"))
                             .pages).split())
    assert "against interactivity" not in text
