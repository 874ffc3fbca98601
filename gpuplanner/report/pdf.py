"""PDF export through QtGui only (QPdfWriter + QTextDocument + QPainter; no QtWidgets), and the
same page drawn into a QImage for previews and the README sample."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter

import gpuplanner
from gpuplanner.report import content
from gpuplanner.report.atomic import write_atomically
from gpuplanner.report.document import PagedDocument
from gpuplanner.report.errors import ReportError
from gpuplanner.report.qt_app import ensure_gui_app

PAGE_SIZES = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}
MARGIN_MM = 15.0
LAYOUT_DPI = 96  # the document is laid out in CSS-like pixels; output stays vector


def write_pdf(result, table: pd.DataFrame, path, page_size: str = "A4", memory_unit: str = "GiB") -> Path:
    """Write the plan report as a PDF (A4 or Letter), memory in GiB or GB, atomically; return its path."""
    target = Path(path)
    size_id = page_size_id(page_size, target)
    ensure_gui_app()
    created = date.today()
    return write_atomically({target: lambda temp: _render(result, table, temp, size_id, created, memory_unit)})[0]


def render_page_image(result, table: pd.DataFrame, page_index: int = 0, page_size: str = "A4",
                      dpi: float = 100.0, memory_unit: str = "GiB") -> QImage:
    """One page of the report as an image, laid out exactly as in the PDF (white background)."""
    ensure_gui_app()
    metrics_only = QBuffer()  # the writer is only asked for page geometry and font metrics
    writer = configured_writer(metrics_only, page_size_id(page_size, Path("report.png")), result)
    pages = PagedDocument(result, table, writer, date.today(), memory_unit)
    layout = writer.pageLayout()
    image = QImage(layout.fullRectPixels(round(dpi)).size(), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.translate(layout.paintRectPixels(round(dpi)).topLeft())
    painter.scale(dpi / LAYOUT_DPI, dpi / LAYOUT_DPI)
    try:
        pages.paint_page(painter, page_index)
    finally:
        painter.end()
    return image


def page_size_id(name: str, target: Path) -> QPageSize.PageSizeId:
    try:
        return PAGE_SIZES[name.lower()]
    except (KeyError, AttributeError):
        raise ReportError(target, f"page size '{name}' is not supported; use A4 or Letter") from None


def configured_writer(output: str | QIODevice, size_id: QPageSize.PageSizeId, result) -> QPdfWriter:
    writer = QPdfWriter(output)
    writer.setPageSize(QPageSize(size_id))
    writer.setPageMargins(QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM), QPageLayout.Unit.Millimeter)
    writer.setResolution(LAYOUT_DPI)
    writer.setTitle(content.title(result))
    writer.setCreator(f"gpuplanner {gpuplanner.__version__}")
    return writer


def _render(result, table: pd.DataFrame, temp: Path, size_id: QPageSize.PageSizeId, created: date,
            memory_unit: str) -> None:
    writer = configured_writer(str(temp), size_id, result)
    pages = PagedDocument(result, table, writer, created, memory_unit)
    painter = QPainter()
    if not painter.begin(writer):
        raise RuntimeError("the PDF writer could not open the file")
    try:
        for index in range(pages.page_count):
            if index and not writer.newPage():
                raise RuntimeError("the PDF writer could not start a new page")
            pages.paint_page(painter, index)
    except BaseException:
        painter.end()
        raise
    if not painter.end() or temp.stat().st_size == 0:
        raise RuntimeError("the PDF writer could not finish the file")
    check_complete_pdf(temp)


TAIL_BYTES = 1024  # the trailer (startxref, offset, %%EOF) sits in the last few dozen bytes


def check_complete_pdf(path: Path) -> None:
    """Raise unless ``path`` is a whole PDF: `%PDF-` header, `%%EOF` trailer, startxref inside the file.

    QPdfWriter and QPainter report success even when a write failed partway (a nearly full disk),
    so the file itself is the only proof; this runs before the atomic rename replaces anything."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(5)
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read()
    lines = [line.strip() for line in tail.rstrip().splitlines()]
    complete = (head == b"%PDF-" and len(lines) >= 3 and lines[-1] == b"%%EOF"
                and lines[-3] == b"startxref" and lines[-2].isdigit() and int(lines[-2]) < size)
    if not complete:
        raise RuntimeError(f"the written PDF is incomplete ({size} bytes, no valid trailer); "
                           "is the disk full?")
