"""The Explain area: the formula behind a number, the user's values substituted, the source.

It renders the core's Explanation texts only (the core builds them from the finished
result, so they always match the figure shown).
"""
from __future__ import annotations

import html

from PySide6 import QtWidgets

from gpuplanner.core.result import BREAKDOWN_KEYS, PlanResult
from gpuplanner.core.units import fmt_gib
from gpuplanner.ui.formatting import COMPONENT_LABELS

PROMPT = "Click a number or a bar segment to see its formula, your values and the source."


def explanation_html(result: PlanResult, key: str) -> str:
    e = result.explanation(key)
    title = COMPONENT_LABELS.get(key, key.replace("_", " "))
    if e is None:
        value = f" = {fmt_gib(getattr(result.breakdown_bytes, key))} per GPU" if key in BREAKDOWN_KEYS else ""
        return (f"<b>{html.escape(title)}</b>{html.escape(value)}<br>No formula is recorded for this "
                f"figure in {html.escape(result.mode)} mode.")
    return (f"<b>{html.escape(title)}</b> = {html.escape(e.formula)}<br>"
            f"<tt>{html.escape(e.substituted)}</tt><br><i>Source: {html.escape(e.source)}</i>")


class ExplainPanel(QtWidgets.QTextBrowser):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setMaximumHeight(110)
        self.setPlaceholderText(PROMPT)
        self.key = ""

    def explain(self, result: PlanResult, key: str) -> None:
        self.key = key
        self.setHtml(explanation_html(result, key))
