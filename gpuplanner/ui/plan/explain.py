"""The Explain area: the formula behind a number, the user's values substituted, the source,
above the plan's assumptions.

It renders the core's Explanation and Assumption texts only (the core builds them from the
finished result, so they always match the figures shown).
"""
from __future__ import annotations

import html

from PySide6 import QtWidgets

from gpuplanner.core.fields import figure_label
from gpuplanner.core.result import BREAKDOWN_KEYS, PlanResult
from gpuplanner.core.text import in_unit
from gpuplanner.core.units import fmt_memory
from gpuplanner.ui.plan.formatting import COMPONENT_LABELS

PROMPT = "Click a number or a bar segment to see its formula, your values and the source."


def explanation_html(result: PlanResult, key: str, unit: str = "GiB") -> str:
    e = result.explanation(key)
    title = COMPONENT_LABELS.get(key) or figure_label(key)
    if e is None:
        value = f" = {fmt_memory(getattr(result.breakdown_bytes, key), unit)} per GPU" if key in BREAKDOWN_KEYS else ""
        return (f"<b>{html.escape(title)}</b>{html.escape(value)}<br>No formula is recorded for this "
                f"figure in {html.escape(result.mode)} mode.")
    return (f"<b>{html.escape(title)}</b> = {html.escape(e.formula)}<br>"
            f"<tt>{html.escape(in_unit(e.substituted, unit))}</tt><br><i>Source: {html.escape(e.source)}</i>")


def assumptions_html(result: PlanResult, unit: str = "GiB") -> str:
    rows = "".join(f"<tr><td>{html.escape(a.name)}</td><td>{html.escape(in_unit(a.value, unit))}</td>"
                   f"<td><i>{html.escape(a.source)}</i></td></tr>" for a in result.assumptions)
    return f"<p><b>Assumptions</b></p><table cellspacing='0' cellpadding='2'>{rows}</table>"


class ExplainPanel(QtWidgets.QTextBrowser):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.key = ""
        self.unit = "GiB"
        self.shown_html = ""  # what setHtml was last given

    def explain(self, result: PlanResult, key: str) -> None:
        """Show `key`'s explanation ('' = only the prompt) and the result's assumptions."""
        self.key = key
        top = explanation_html(result, key, self.unit) if key else html.escape(PROMPT)
        text = f"<p>{top}</p>{assumptions_html(result, self.unit)}"
        if text != self.shown_html:  # parsing and laying out the assumptions table costs ~6 ms
            self.shown_html = text
            self.setHtml(text)
