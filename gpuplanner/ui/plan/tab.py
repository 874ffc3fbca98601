"""The Plan tab: summary cards, warnings, the memory breakdown and the Explain area.

It shows results it is given and turns clicks into explanations; it computes nothing. While
another tab is showing, a new answer is only kept: the cards, chart and explanation are drawn
when the tab is shown again (drawing them costs more than the estimate). A new answer's
Explain text follows the cards and chart in the event loop's next turn (also when the tab
is shown), so no single turn holds the whole redraw. The memory chart itself is built after
the window's first paint, once pyqtgraph is loaded (build_chart, ui.chart_library): until then
an empty area of its size holds its place.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from gpuplanner.core.errors import InputError
from gpuplanner.core.result import PlanResult
from gpuplanner.core.text import in_unit
from gpuplanner.ui.plan.explain import ExplainPanel
from gpuplanner.ui.plan.form import ERROR_STYLE
from gpuplanner.ui.plan.summary import SummaryPanel
from gpuplanner.ui.settled_paint import paint_when_settled

if TYPE_CHECKING:  # imported by build_chart: pyqtgraph is loaded after the first paint (ui.chart_library)
    from gpuplanner.ui.plan.breakdown_chart import BreakdownChart

WARNING_STYLE = "color: #b26a00;"
CHART_HEIGHTS = (150, 230)  # the memory chart's least and most height (px)


class PlanTab(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.results: dict[str, PlanResult] = {}  # "train"/"serve" -> the last good results
        self.primary: PlanResult | None = None
        self.explained = ""  # "train:<key>" / "serve:<key>" shown in the Explain area
        self.stale = False  # the answer on show is for earlier inputs (a newer one is computing)
        self.drawn = True  # the cards, chart and explanation show `primary` (False: drawn when shown)
        self.summary = SummaryPanel()
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.warnings = QtWidgets.QLabel()
        self.warnings.setStyleSheet(WARNING_STYLE)
        self.warnings.setWordWrap(True)
        self.chart_title = QtWidgets.QLabel()
        self._chart: BreakdownChart | None = None  # build_chart()
        self._chart_slot = QtWidgets.QWidget()  # its place until then
        self._chart_slot.setMinimumHeight(CHART_HEIGHTS[0])
        self._chart_slot.setMaximumHeight(CHART_HEIGHTS[1])
        self._chart_slot.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.explain = ExplainPanel()
        self._explain_later = QtCore.QTimer(self)  # a new answer's Explain text, in the event loop's next turn
        self._explain_later.setSingleShot(True)
        self._explain_later.setInterval(0)
        self._explain_later.timeout.connect(lambda: self.explain_link(self.explained))
        self.summary.explain_requested.connect(self.explain_link)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.error)
        layout.addWidget(self.summary)
        layout.addWidget(self.warnings)
        layout.addWidget(self.chart_title)
        layout.addWidget(self._chart_slot)
        layout.addWidget(self.explain, 1)

    @property
    def chart(self) -> BreakdownChart:
        """The memory chart, built now if build_chart() has not run yet."""
        if self._chart is None:
            self.build_chart()
        return self._chart

    def build_chart(self) -> None:
        """Build the memory chart in its place, showing the answer on show (once)."""
        if self._chart is not None:
            return
        from gpuplanner.ui.plan.breakdown_chart import BreakdownChart

        chart = self._chart = BreakdownChart()
        chart.setMinimumHeight(CHART_HEIGHTS[0])
        chart.setMaximumHeight(CHART_HEIGHTS[1])
        chart.segment_clicked.connect(self.explain_primary)
        chart.set_unit(self.summary.unit)
        chart.set_greyed(self._greyed())
        if self.drawn and self.primary is not None:
            chart.show_result(self.primary)
        self.layout().replaceWidget(self._chart_slot, chart)
        self._chart_slot.deleteLater()

    def show_results(self, primary: PlanResult, train: PlanResult | InputError,
                     serve: PlanResult | InputError) -> None:
        self.primary = primary
        self._last_pair = (train, serve)
        self.results = {k: r for k, r in (("train", train), ("serve", serve)) if isinstance(r, PlanResult)}
        self.set_error("")
        self.drawn = False
        if not self.isHidden():  # hidden: another tab is current; drawn when this one shows
            self._draw(explain_now=False)

    def setVisible(self, visible: bool) -> None:
        if visible and self.isHidden() and self.window().isVisible():  # another tab was current
            paint_when_settled(self, shown=True)
        if visible and not self.drawn and self.primary is not None:
            self._draw(explain_now=False)  # before showing: the layout that showing runs sizes the new texts once
        super().setVisible(visible)

    def _draw(self, explain_now: bool = True) -> None:
        """Draw the answer on show; `explain_now` False leaves the Explain text (laying out its
        assumptions table is the costliest part) to the event loop's next turn, after the
        cards and the chart have been painted."""
        primary, (train, serve) = self.primary, self._last_pair
        self.drawn = True
        if self.isVisible():  # a new answer on show: its cards, chart and layout painted once, laid out
            paint_when_settled(self)
        self.summary.show_results(primary, train, serve)
        self.warnings.setText("\n".join(f"⚠ {in_unit(w, self.explain.unit)}" for w in primary.warnings))
        self.warnings.setVisible(bool(primary.warnings))
        what = "training" if primary.mode == "train" else "serving (one replica)"
        self.chart_title.setText(f"<b>Memory on the busiest GPU, {html.escape(what)}</b> — "
                                 f"{html.escape(primary.layout.describe())} on {html.escape(primary.gpu_name)}")
        if self._chart is not None:
            self._chart.show_result(primary)
        if explain_now:
            self.explain_link(self.explained)
        else:
            self._explain_later.start()

    def set_memory_unit(self, unit: str) -> None:
        """Show memory in GiB (2^30 bytes) or GB (10^9 bytes) and redraw the last results."""
        self.summary.unit = self.explain.unit = unit
        if self._chart is not None:
            self._chart.set_unit(unit)
        if self.primary is not None:
            self.show_results(self.primary, *self._last_pair)
            if self.drawn:  # a menu choice: the Explain text changes unit with the rest, at once
                self.explain_link(self.explained)

    def set_error(self, message: str) -> None:
        """Show why there is no new answer (empty: there is one); the last answer greys out."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self._grey()

    def set_stale(self, stale: bool) -> None:
        """A newer answer is on its way: the one on show greys out until it arrives."""
        self.stale = stale
        self._grey()

    def _greyed(self) -> bool:
        return self.stale or not self.error.isHidden()

    def _grey(self) -> None:
        greyed = self._greyed()
        for w in (self.summary, self.warnings, self.chart_title, self.explain):
            w.setEnabled(not greyed)
        if self._chart is not None:
            self._chart.set_greyed(greyed)

    def explain_link(self, href: str) -> None:
        """`href` is "train:<key>" or "serve:<key>" from a summary link ('' = assumptions only)."""
        self._explain_later.stop()
        which, _, key = href.partition(":")
        result = self.results.get(which, self.primary)
        if result is not None:
            self.explained = href
            self.explain.explain(result, key)

    def explain_primary(self, key: str) -> None:
        """Explain a figure of the chosen mode's result (e.g. a breakdown segment)."""
        if self.primary is not None:
            self.explain_link(f"{'train' if self.primary.mode == 'train' else 'serve'}:{key}")
