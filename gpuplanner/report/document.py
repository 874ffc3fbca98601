"""The PDF's content as one paginated QTextDocument: HTML for the text and tables, and a footer
with "Page n of m" painted on each page.

Charts are vectors painted over the page: the HTML holds a blank image of each chart's size, so
the layout reserves the room and moves it to the next page when it does not fit, and the chart is
drawn where that image landed. (A QTextObjectInterface handler would be the textbook route, but
PySide6 cannot register a Python one: handlerForObject stays None.)"""
from __future__ import annotations

from datetime import date
from html import escape

import pandas as pd
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QPagedPaintDevice, QPainter, QPen, QTextDocument

from gpuplanner.core.text import in_unit
from gpuplanner.report import content
from gpuplanner.report.charts import cost_time_chart, memory_chart, throughput_chart
from gpuplanner.report.qt_app import report_font

BODY_PT = 8.5
FOOTER_PT = 7.5
FOOTER_PX = 28.0  # room below the body for the footer line and text
CHART_URL = "chart:{}"
STYLE = """
h1 { font-size: 17pt; margin-bottom: 2px; }
h2 { font-size: 11.5pt; margin-top: 14px; margin-bottom: 4px; }
.sub { font-size: 10.5pt; color: #333333; margin-top: 0px; }
.small { font-size: 7.5pt; color: #333333; }
.caption { color: #333333; margin-top: 0px; }
.bad { font-size: 12pt; font-weight: bold; }
th { background-color: #dddddd; text-align: left; }
.plan { font-weight: bold; background-color: #eeeeee; }
.quick { background-color: #f2f2f2; }
"""
GRID_TABLE = 'border="0.5" cellspacing="0" cellpadding="3" width="100%" style="border-collapse: collapse;"'


class PagedDocument:
    """The report laid out for one paged device (its page size, margins and resolution)."""

    def __init__(self, result, table: pd.DataFrame, device: QPagedPaintDevice, created: date, unit: str = "GiB"):
        self._body = QSizeF(device.width(), device.height() - FOOTER_PX)
        self._footer = f"{content.title(result)} · {created.isoformat()}"
        trade_off = cost_time_chart(result, table) if content.is_training(result) else throughput_chart(result)
        charts = {"memory": memory_chart(result, unit), "trade_off": trade_off}
        self._doc = QTextDocument()
        self._doc.documentLayout().setPaintDevice(device)
        self._doc.setDefaultFont(report_font(BODY_PT))
        self._doc.setDefaultStyleSheet(STYLE)
        self._doc.setDocumentMargin(0)
        self._doc.setPageSize(self._body)
        blank = QImage(1, 1, QImage.Format.Format_ARGB32)
        blank.fill(Qt.GlobalColor.transparent)
        for key in charts:
            self._doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(CHART_URL.format(key)), blank)
        width = int(self._body.width())
        sizes = {key: QSizeF(width, round(width * chart.aspect)) for key, chart in charts.items()}
        self._doc.setHtml(report_html(result, table, created, sizes, unit))
        self._charts = [(chart, _image_rect(self._doc, CHART_URL.format(key), sizes[key]))
                        for key, chart in charts.items()]

    @property
    def page_count(self) -> int:
        return self._doc.pageCount()

    def paint_page(self, painter: QPainter, index: int) -> None:
        """Paint page `index` (from 0) with the painter's origin at the top-left of the printable area."""
        height = self._body.height()
        painter.save()
        painter.translate(0, -index * height)
        page = QRectF(0, index * height, self._body.width(), height)
        self._doc.drawContents(painter, page)
        for chart, rect in self._charts:
            if rect.top() // height == index:  # a chart never straddles pages: its line moves whole
                chart.paint(painter, rect, report_font(BODY_PT))
        painter.restore()
        self._paint_footer(painter, index)

    def _paint_footer(self, painter: QPainter, index: int) -> None:
        painter.save()
        top = self._body.height() + 8
        painter.setPen(QPen(QColor(120, 120, 120), 0.5))
        painter.drawLine(QPointF(0, top), QPointF(self._body.width(), top))
        painter.setFont(report_font(FOOTER_PT))
        box = QRectF(0, top + 2, self._body.width(), FOOTER_PX - 10)
        painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self._footer)
        painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"Page {index + 1} of {self.page_count}")
        painter.restore()


def report_html(result, table: pd.DataFrame, created: date, chart_sizes: dict[str, QSizeF], unit: str = "GiB") -> str:
    """The text of the report, memory in `unit`; each chart is a blank image of its size, painted over later."""
    training = content.is_training(result)
    trade_off = "Cost and time of the candidates" if training else "Throughput and interactivity (one replica)"
    return "".join([
        f"<h1>{escape(content.title(result))}</h1><p class='sub'>{escape(content.subtitle(result))}</p>",
        _key_values(content.meta_rows(result, created), css="small"),
        "<h2>Answer</h2>", _answer(result, unit),
        "<h2>Memory per GPU</h2>",
        f"<p class='caption'>Busiest GPU under {escape(result.layout.describe())}; fitting uses the usable line "
        "(capacity × utilization cap).</p>", _chart_image("memory", chart_sizes),
        "<h2>Best candidates</h2>", _candidates(result, table, unit),
        f"<h2>{trade_off}</h2>", _trade_off_caption(result), _chart_image("trade_off", chart_sizes),
        "<h2>Inputs</h2>", _two_column_grid(content.input_rows(result)),
        "<h2>Why this layout</h2>", _bullets(result.layout_notes),
        "<h2>Assumptions</h2>", _grid(["Assumption", "Value", "Source"],
                                      [[a.name, in_unit(a.value, unit), a.source] for a in result.assumptions]),
        "<h2>Formulas</h2>", _grid(["Figure", "Formula", "With your values", "Source"],
                                   [[e.key.replace("_", " "), e.formula, in_unit(e.substituted, unit), e.source]
                                    for e in result.explanations]),
    ])


def _answer(result, unit: str) -> str:
    verdict = "" if result.fits else f"<p class='bad'>Does not fit: {escape(_reason(result, unit))}</p>"
    quick = ("<p><b>Quick rule</b> (bytes per parameter only)</p>"
             + _key_values(content.quick_rule_rows(result)))
    side_by_side = (f"<table width='100%' cellspacing='0' cellpadding='0'><tr>"
                    f"<td width='56%' valign='top'><p><b>Detailed estimate</b></p>"
                    f"{_key_values(content.answer_rows(result, unit))}</td>"
                    f"<td width='3%'></td><td width='41%' valign='top' class='quick'>{quick}</td></tr></table>")
    warnings = "<p><b>Warnings</b></p>" + _bullets([in_unit(w, unit) for w in result.warnings]) \
        if result.warnings else ""
    return verdict + side_by_side + warnings


def _reason(result, unit: str) -> str:
    """Why the plan fails, as the core decided it (the comparison table's `reason` is the same text)."""
    return in_unit(result.reason, unit) or "no layout fits"


def _candidates(result, table: pd.DataFrame, unit: str) -> str:
    headers, cells, is_plan = content.candidate_cells(result, table, unit)
    if not cells:
        return "<p>No candidate in the comparison table fits.</p>"
    mode_rows = int((table["mode"] == result.mode).sum())
    caption = (f"<p class='caption'>The {len(cells)} cheapest feasible of {mode_rows} "
               f"{'training' if content.is_training(result) else 'serving'} rows (every instance × precision); "
               "this plan in bold. The full table is in the CSV export.</p>")
    return caption + _grid(headers, cells, highlighted=is_plan, css="small")


def _trade_off_caption(result) -> str:
    if content.is_training(result):
        text = "Each circle is a feasible instance × precision; the black square is this plan."
    else:
        text = ("Each point is a batch size b of one replica: larger batches raise the total and lower each "
                "user's speed. The black square is the batch this plan serves at.")
    return f"<p class='caption'>{text}</p>"


def _chart_image(key: str, sizes: dict[str, QSizeF]) -> str:
    size = sizes[key]
    return f"<p><img src='{CHART_URL.format(key)}' width='{size.width():g}' height='{size.height():g}'></p>"


def _image_rect(doc: QTextDocument, url: str, size: QSizeF) -> QRectF:
    """Where the layout put the image named `url`, in document coordinates (across pages)."""
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().isImageFormat() and fragment.charFormat().toImageFormat().name() == url:
                layout = block.layout()
                line = layout.lineForTextPosition(fragment.position() - block.position())
                # PySide returns (x, cursor position) where the stub says float
                x = layout.position().x() + line.cursorToX(fragment.position() - block.position())[0]  # type: ignore[index]
                y = layout.position().y() + line.y()  # the image is the line's only content
                return QRectF(x, y, size.width(), size.height())
            it += 1
        block = block.next()
    raise LookupError(f"the report layout lost the chart {url}")


def _key_values(rows, css: str = "") -> str:
    body = "".join(f"<tr><td>{escape(k)}</td><td><b>{escape(v)}</b></td></tr>" for k, v in rows)
    return f"<table class='{css}' cellspacing='0' cellpadding='2'>{body}</table>"


def _two_column_grid(rows) -> str:
    """Key/value pairs in two side-by-side column pairs, to keep the inputs short."""
    half = (len(rows) + 1) // 2
    pairs = [rows[i:i + 1] + rows[half + i:half + i + 1] for i in range(half)]
    cells = [[text for pair in row for text in pair] for row in pairs]
    return _grid(["Input", "Value", "Input", "Value"], [c + [""] * (4 - len(c)) for c in cells])


def _grid(headers, rows, highlighted=None, css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    marks = highlighted or [False] * len(rows)
    body = "".join(f"<tr class='{'plan' if mark else ''}'>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row, mark in zip(rows, marks))
    return f"<table class='{css}' {GRID_TABLE}><thead><tr>{head}</tr></thead>{body}</table>"


def _bullets(lines) -> str:
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
