"""The report's charts, drawn with QPainter as vectors (crisp at any zoom; labels stay text).

Each chart draws in a logical frame CHART_WIDTH units wide, scaled to the rectangle it is given,
so sizes here do not depend on the device's resolution. Fills pair a gray level with a hatch
pattern so every series stays distinguishable when printed in grayscale."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen

from gpuplanner.core.units import MEMORY_UNITS, fmt_memory
from gpuplanner.report import content
from gpuplanner.report.ticks import Scale

CHART_WIDTH = 720.0
MEMORY_HEIGHT = 172.0
PLOT_HEIGHT = 330.0
TEXT_PX = 11
SMALL_PX = 9
BLACK = QColor(0, 0, 0)
GRID = QColor(205, 205, 205)
# component -> (fill gray level, hatch pattern drawn in dark gray over it)
COMPONENT_STYLE = {
    "weights": (70, Qt.BrushStyle.NoBrush),
    "master_weights": (215, Qt.BrushStyle.BDiagPattern),
    "gradients": (150, Qt.BrushStyle.NoBrush),
    "optimizer": (235, Qt.BrushStyle.DiagCrossPattern),
    "activations": (255, Qt.BrushStyle.FDiagPattern),
    "kv_cache": (185, Qt.BrushStyle.CrossPattern),
    "buffers": (120, Qt.BrushStyle.HorPattern),
    "overhead": (240, Qt.BrushStyle.Dense6Pattern),
}


@dataclass(frozen=True)
class Chart:
    """A chart drawn in logical units (CHART_WIDTH × height), painted scaled into any rectangle."""

    height: float
    draw: Callable[[QPainter, QFont], None]

    @property
    def aspect(self) -> float:
        return self.height / CHART_WIDTH

    def paint(self, painter: QPainter, rect: QRectF, base_font: QFont) -> None:
        painter.save()
        painter.translate(rect.topLeft())
        painter.scale(rect.width() / CHART_WIDTH, rect.height() / self.height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.draw(painter, _font(base_font, TEXT_PX))
        painter.restore()


def memory_chart(result, unit: str = "GiB") -> Chart:
    """One stacked bar of the busiest GPU's memory (in `unit`: GiB or GB) against the
    usable-capacity and capacity lines."""
    size = MEMORY_UNITS[unit]

    def draw(p: QPainter, font: QFont) -> None:
        parts = content.component_rows(result)
        left, right, top, bar_h = 10.0, CHART_WIDTH - 10, 34.0, 44.0
        x = Scale(0.0, max(result.memory_per_gpu_bytes, result.capacity_bytes) / size * 1.04, left, right - 25)
        start = 0.0
        for key, _, n_bytes in parts:
            _swatch(p, key, QRectF(x(start), top, x(start + n_bytes / size) - x(start), bar_h))
            start += n_bytes / size
        p.setFont(font)
        for value in x.ticks():
            p.drawLine(QPointF(x(value), top + bar_h), QPointF(x(value), top + bar_h + 4))
            _text(p, QPointF(x(value), top + bar_h + 16), f"{value:,.0f}", Qt.AlignmentFlag.AlignHCenter)
        _text(p, QPointF(right, top + bar_h + 16), unit, Qt.AlignmentFlag.AlignRight)
        capacity, usable = result.capacity_bytes, result.usable_bytes
        _marker_line(p, x(capacity / size), 11, top + bar_h, f"capacity {fmt_memory(capacity, unit)}",
                     Qt.PenStyle.SolidLine)
        _marker_line(p, x(usable / size), 27, top + bar_h, f"usable {fmt_memory(usable, unit)}", Qt.PenStyle.DashLine)
        for i, (key, label, n_bytes) in enumerate(parts):
            cell = QPointF(left + (i % 3) * 235, top + bar_h + 38 + (i // 3) * 20)
            _swatch(p, key, QRectF(cell.x(), cell.y() - 11, 14, 14))
            _text(p, cell + QPointF(20, 0), f"{label} {n_bytes / size:,.2f} {unit}")
    return Chart(MEMORY_HEIGHT, draw)


def cost_time_chart(result, table) -> Chart:
    """Training: cost against days for every feasible candidate (log-log), this plan marked."""
    points = content.cost_time_points(table)
    plan = content.plan_cost_time(result)

    def draw(p: QPainter, font: QFont) -> None:
        p.setFont(font)
        if not points:
            _no_data(p, "No feasible candidate to compare")
            return
        everything = points + ([(*plan, "")] if plan else [])
        x = Scale.fitting([d for d, _, _ in everything], 80, CHART_WIDTH - 10, log=True)
        y = Scale.fitting([c for _, c, _ in everything], PLOT_HEIGHT - 40, 10, log=True)
        _axes(p, x, y, lambda v: f"{v:,.0f}", _money_tick, "training time, days (log)", "cost on-demand (log)")
        p.setPen(QPen(BLACK, 1.2))
        for days, cost, _ in points:
            p.drawEllipse(QPointF(x(days), y(cost)), 4, 4)
        cheapest, fastest = points[0], min(points, key=lambda pt: pt[0])
        labels = _Labels(_frame(x, y))
        if plan:
            _plan_marker(p, QPointF(x(plan[0]), y(plan[1])), "this plan", labels)
        p.setFont(_font(font, SMALL_PX))
        named = (("cheapest and fastest", cheapest),) if cheapest == fastest else \
            (("cheapest", cheapest), ("fastest", fastest))
        for prefix, (days, cost, label) in named:
            labels.place(p, QPointF(x(days), y(cost)), f"{prefix}: {label}")
    return Chart(PLOT_HEIGHT, draw)


def throughput_chart(result) -> Chart:
    """Serving: total tokens/s against tokens/s per user along the batch sweep of one replica."""
    curve = result.curve
    floor = float(result.inputs.min_tokens_per_s_per_user)

    def draw(p: QPainter, font: QFont) -> None:
        p.setFont(font)
        if not curve:
            _no_data(p, "No throughput curve: the plan does not run")
            return
        x = Scale.fitting([pt.tokens_per_s_per_user for pt in curve] + [floor], 80, CHART_WIDTH - 10, from_zero=True)
        y = Scale.fitting([pt.tokens_per_s_total for pt in curve], PLOT_HEIGHT - 40, 10, from_zero=True)
        _axes(p, x, y, lambda v: f"{v:,.0f}", lambda v: f"{v:,.0f}",
              "tokens/s per user", "tokens/s per replica")
        p.setPen(QPen(BLACK, 1.5))
        at = [QPointF(x(pt.tokens_per_s_per_user), y(pt.tokens_per_s_total)) for pt in curve]
        p.drawPolyline(at)
        labels = _Labels(_frame(x, y))
        serving = next((xy for pt, xy in zip(curve, at) if pt.batch == result.serving_batch), None)
        if serving is not None:  # the plan's label first: it must find a place
            _plan_marker(p, serving, f"serving batch {result.serving_batch}", labels)
        p.setFont(_font(font, SMALL_PX))
        if floor > 0:
            p.setPen(QPen(BLACK, 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x(floor), y(y.lo)), QPointF(x(floor), y(y.hi)))
            labels.place(p, QPointF(x(floor), y(y.hi) + 6), f"floor {floor:g} tok/s per user")
            p.setPen(QPen(BLACK, 1.5))
        for pt, xy in zip(curve, at):
            p.drawEllipse(xy, 3.5, 3.5)
            labels.place(p, xy, f"b={pt.batch}", optional=True)  # crowded small batches go unlabelled
    return Chart(PLOT_HEIGHT, draw)


def frontier_chart(frontier) -> Chart:
    """Serving: output tokens/s per GPU against tokens/s per user over every replica layout and
    batch of the plan's hardware (gray), the Pareto frontier (line), this plan (square)."""
    def draw(p: QPainter, font: QFont) -> None:
        p.setFont(font)
        if frontier is None or not frontier.pareto:
            _no_data(p, "No frontier: nothing fits on this hardware")
            return
        shown = list(frontier.points) + ([frontier.chosen] if frontier.chosen else [])
        x = Scale.fitting([q.tokens_per_s_per_user for q in shown], 80, CHART_WIDTH - 10, from_zero=True)
        y = Scale.fitting([q.tokens_per_s_per_gpu for q in shown], PLOT_HEIGHT - 40, 10, from_zero=True)
        _axes(p, x, y, lambda v: f"{v:,.0f}", lambda v: f"{v:,.0f}", "tokens/s per user", "tokens/s per GPU")
        p.setPen(QPen(GRID, 1))
        for q in frontier.points:
            p.drawEllipse(QPointF(x(q.tokens_per_s_per_user), y(q.tokens_per_s_per_gpu)), 2, 2)
        p.setPen(QPen(BLACK, 1.5))
        p.drawPolyline([QPointF(x(q.tokens_per_s_per_user), y(q.tokens_per_s_per_gpu)) for q in frontier.pareto])
        if frontier.chosen:
            c = frontier.chosen
            _plan_marker(p, QPointF(x(c.tokens_per_s_per_user), y(c.tokens_per_s_per_gpu)),
                         f"this plan: {c.describe()}", _Labels(_frame(x, y)))
    return Chart(PLOT_HEIGHT, draw)


def _no_data(p: QPainter, message: str) -> None:
    _text(p, QPointF(CHART_WIDTH / 2, PLOT_HEIGHT / 2), message, Qt.AlignmentFlag.AlignHCenter)


def _axes(p: QPainter, x: Scale, y: Scale, x_label, y_label, x_title: str, y_title: str) -> None:
    p.setPen(QPen(GRID, 0.8, Qt.PenStyle.DotLine))
    for v in x.ticks():
        p.drawLine(QPointF(x(v), y.start), QPointF(x(v), y.end))
    for v in y.ticks():
        p.drawLine(QPointF(x.start, y(v)), QPointF(x.end, y(v)))
    p.setPen(QPen(BLACK, 1))
    p.drawRect(QRectF(QPointF(x.start, y.end), QPointF(x.end, y.start)))
    for v in x.ticks():
        _text(p, QPointF(x(v), y.start + 18), x_label(v), Qt.AlignmentFlag.AlignHCenter)  # below the y labels
    for v in y.ticks():
        _text(p, QPointF(x.start - 5, y(v) + 4), y_label(v), Qt.AlignmentFlag.AlignRight)
    _text(p, QPointF((x.start + x.end) / 2, y.start + 35), x_title, Qt.AlignmentFlag.AlignHCenter)
    p.save()
    p.translate(12, (y.start + y.end) / 2)
    p.rotate(-90)
    _text(p, QPointF(0, 0), y_title, Qt.AlignmentFlag.AlignHCenter)
    p.restore()


def _swatch(p: QPainter, key: str, rect: QRectF) -> None:
    gray, pattern = COMPONENT_STYLE[key]
    p.setPen(QPen(BLACK, 0.8))
    p.setBrush(QColor(gray, gray, gray))
    p.drawRect(rect)
    p.setBrush(QBrush(QColor(60, 60, 60), pattern))
    p.drawRect(rect)
    p.setBrush(Qt.BrushStyle.NoBrush)


def _marker_line(p: QPainter, at_x: float, label_y: float, bottom: float, label: str, style: Qt.PenStyle) -> None:
    p.setPen(QPen(BLACK, 1.6, style))
    p.drawLine(QPointF(at_x, label_y + 3), QPointF(at_x, bottom + 4))
    fits_left = p.fontMetrics().horizontalAdvance(label) + 4 < at_x
    if fits_left:
        _text(p, QPointF(at_x - 4, label_y), label, Qt.AlignmentFlag.AlignRight)
    else:
        _text(p, QPointF(at_x + 4, label_y), label)


def _plan_marker(p: QPainter, at: QPointF, label: str, labels: _Labels) -> None:
    p.setPen(QPen(BLACK, 1))
    p.setBrush(BLACK)
    p.drawRect(QRectF(at.x() - 5, at.y() - 5, 10, 10))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setFont(_font(p.font(), TEXT_PX, bold=True))
    labels.place(p, at, label)


def _frame(x: Scale, y: Scale) -> QRectF:
    """The plot's frame (inside the axes: annotations never cover tick labels)."""
    return QRectF(QPointF(x.start, y.end), QPointF(x.end, y.start))


class _Labels:
    """Annotations placed next to their point where they overlap no earlier one and stay inside
    the frame: right-below, right-above, left-below, left-above, then a line further away on each
    side. An optional one that finds no place is left out (its point stays marked)."""

    GAP = 7.0

    def __init__(self, frame: QRectF):
        self.frame = frame
        self.taken: list[QRectF] = []

    def place(self, p: QPainter, at: QPointF, text: str, optional: bool = False) -> bool:
        metrics = p.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 4, metrics.height() + 2
        tries = [(side, drop, below) for drop in range(6) for side in (1, -1) for below in (True, False)]
        for side, drop, below in tries:
            left = at.x() + self.GAP if side > 0 else at.x() - self.GAP - width
            top = at.y() + self.GAP / 2 + drop * height if below else at.y() - self.GAP / 2 - (drop + 1) * height
            box = QRectF(left, top, width, height)
            if self.frame.contains(box) and not any(box.intersects(t) for t in self.taken):
                return self._draw(p, box, text)
        if optional:
            return False
        box = QRectF(at.x() + self.GAP, at.y() + self.GAP / 2, width, height)
        return self._draw(p, box, text)  # nowhere free: at its point, over what is there

    def _draw(self, p: QPainter, box: QRectF, text: str) -> bool:
        self.taken.append(box)
        _label(p, QPointF(box.left() + 2, box.top() + 1 + p.fontMetrics().ascent()), text)
        return True


def _text(p: QPainter, at: QPointF, text: str, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
    """Draw text with its baseline at `at`, anchored left, centred or right."""
    width = p.fontMetrics().horizontalAdvance(text)
    shift = {Qt.AlignmentFlag.AlignHCenter: width / 2, Qt.AlignmentFlag.AlignRight: width}.get(align, 0.0)
    p.drawText(QPointF(at.x() - shift, at.y()), text)


def _label(p: QPainter, at: QPointF, text: str, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
    """Text on a white box, readable where it crosses points and grid lines."""
    metrics = p.fontMetrics()
    width = metrics.horizontalAdvance(text)
    left = at.x() - {Qt.AlignmentFlag.AlignHCenter: width / 2, Qt.AlignmentFlag.AlignRight: width}.get(align, 0.0)
    p.fillRect(QRectF(left - 2, at.y() - metrics.ascent() - 1, width + 4, metrics.height() + 2), QColor("white"))
    _text(p, at, text, align)


def _money_tick(usd: float) -> str:
    """Axis labels stay short: $500k, $2M, $100M."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if usd >= scale:
            return f"${usd / scale:g}{suffix}"
    return f"${usd:g}"


def _font(base: QFont, pixels: int, bold: bool = False) -> QFont:
    font = QFont(base)
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font
