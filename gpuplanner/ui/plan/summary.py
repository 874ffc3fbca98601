"""Summary cards: what training and serving need and cost, with the quick rule beside them.

Every number is a link: clicking it asks for its explanation (`explain_requested` with
"train:<key>" or "serve:<key>"). A disabled QLabel greys its text but not its links, so greyed
(stale) figures are drawn again in the palette's disabled text colour.
"""
from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.core.errors import InputError
from gpuplanner.core.fields import result_label
from gpuplanner.core.result import PlanResult
from gpuplanner.ui.plan.formatting import band_texts, quick_vs_detailed, serve_texts, train_texts

# Captions are the field table's labels; the layout line, the "does not fit" line and the
# engines' launch commands have their own.
CAPTIONS = {"fits": "", "layout": "Layout", "engine_vllm": "vLLM", "engine_sglang": "SGLang"}
# The explanation (PlanResult.explanation key) behind each shown figure.
EXPLAIN_KEYS = {
    "fits": "gpus", "instances": "gpus", "layout": "gpus", "spot_cost_usd": "cost_usd",
    "price_usd_per_hour": "cost_usd", "gpu_hours": "training_time_s", "serving_instances": "replicas",
    "decode_tokens_per_s_total": "decode_tokens_per_s_per_user", "monthly_cost_usd": "replicas",
    "spot_monthly_cost_usd": "replicas", "replica_price_usd_per_hour": "monthly_cost_usd",
    "reserved_cost_usd": "cost_usd", "reserved_monthly_cost_usd": "monthly_cost_usd",
    "replicas_by_hour": "monthly_cost_usd", "api_monthly_cost_usd": "breakeven_requests_per_s",
}


def link(href: str, text: str, color: str = "") -> str:
    """An explanation link; `color` ('' = the palette's link colour) greys a stale figure."""
    style = "text-decoration:none" + (f"; color:{color}" if color else "")
    return f'<a href="{html.escape(href)}" style="{style}">{html.escape(text)}</a>'


def link_color(widget: QtWidgets.QWidget) -> str:
    """'' while `widget` is enabled; the disabled text colour while it is greyed out."""
    if widget.isEnabled():
        return ""
    return widget.palette().color(QtGui.QPalette.ColorGroup.Disabled, QtGui.QPalette.ColorRole.Text).name()


class _CardText(QtWidgets.QLabel):
    """A word-wrapped rich-text label that lays its text out once per width. QLabel lays the
    whole document out again for every size question, and one answer asks ~6 (the card, the
    row of cards, the scroll area fitting them); greying recolours the links without moving
    them, so it keeps the sizes worked out (`set_text`'s `layout_key`)."""

    def __init__(self):
        super().__init__()
        self.layout_key: object = None
        self._sizes: dict = {}  # ("hfw", width) / "hint" / "minimum" -> answer, for layout_key

    def set_text(self, text: str, layout_key: object) -> None:
        """Show `text`; a `layout_key` equal to the last one says it lays out the same."""
        if layout_key != self.layout_key:
            self.layout_key, self._sizes = layout_key, {}
        self.setText(text)

    def _held(self, key, ask):
        value = self._sizes.get(key)
        if value is None:
            value = self._sizes[key] = ask()
        return value

    def heightForWidth(self, width: int) -> int:
        return self._held(("hfw", width), lambda: super(_CardText, self).heightForWidth(width))

    def sizeHint(self) -> QtCore.QSize:
        return self._held("hint", lambda: super(_CardText, self).sizeHint())

    def minimumSizeHint(self) -> QtCore.QSize:
        return self._held("minimum", lambda: super(_CardText, self).minimumSizeHint())

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.StyleChange):
            self._sizes = {}
        super().changeEvent(event)


class Card(QtWidgets.QFrame):
    """One titled card of caption/value lines; `values` holds the plain texts shown."""

    def __init__(self, title: str, prefix: str, explain_requested: QtCore.SignalInstance):
        super().__init__()
        self.prefix = prefix
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.values: dict[str, str] = {}
        self.bands: dict[str, str] = {}  # error band shown after a line's value, by line key
        self.linked = False  # the body shows figures (links), not a message
        self._restyle = QtCore.QTimer(self)  # links recoloured after an enable/disable, unless new
        self._restyle.setSingleShot(True)  # texts arrive first (an answer both ungreys and replaces)
        self._restyle.setInterval(0)
        self._restyle.timeout.connect(self._render)
        self.title = QtWidgets.QLabel(f"<b>{html.escape(title)}</b>")
        self.body = _CardText()
        self.body.setTextFormat(QtCore.Qt.TextFormat.RichText)  # escaped text must never show as '&#x27;'
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.LinksAccessibleByMouse
                                          | QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.linkActivated.connect(explain_requested)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addStretch(1)  # top-aligned when the other card is taller

    def show_texts(self, texts: dict[str, str], bands: dict[str, str] | None = None) -> None:
        self.values = dict(texts)
        self.bands = {k: b for k, b in (bands or {}).items() if k in texts}
        self.linked = True
        self._render()

    def _render(self) -> None:
        self._restyle.stop()
        lines, color = [], link_color(self)
        for key, text in self.values.items():
            caption = CAPTIONS.get(key) if key in CAPTIONS else result_label(key)
            value = link(f"{self.prefix}:{EXPLAIN_KEYS.get(key, key)}", text, color)
            if key in self.bands:
                value += f' <span style="color:gray; font-size:small">{html.escape(self.bands[key])}</span>'
            lines.append(f"{html.escape(caption)}: {value}" if caption else value)
        self.body.set_text("<br>".join(lines), (tuple(self.values.items()), tuple(self.bands.items())))

    def show_message(self, message: str) -> None:
        self.values = {"message": message}
        self.bands = {}
        self.linked = False
        self._restyle.stop()
        self.body.set_text(html.escape(message), message)

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.EnabledChange and self.linked:
            self._restyle.start()


class _CardsArea(QtWidgets.QScrollArea):
    """The cards at their full height up to MAX_HEIGHT, scrolling beyond it (the money and
    energy lines make them taller than a laptop screen leaves room for)."""

    MAX_HEIGHT = 300

    def fit(self) -> None:
        inner = self.widget()
        width = max(self.viewport().width(), 400)
        height = inner.heightForWidth(width) if inner.hasHeightForWidth() else inner.sizeHint().height()
        self.setFixedHeight(min(max(height, inner.sizeHint().height()), self.MAX_HEIGHT) + 2 * self.frameWidth())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit()


class SummaryPanel(QtWidgets.QWidget):
    """The training card, the serving card and the quick-rule comparison line."""

    explain_requested = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.train_card = Card("TRAIN", "train", self.explain_requested)
        self.serve_card = Card("SERVE", "serve", self.explain_requested)
        self.quick = QtWidgets.QLabel()
        self.quick.setWordWrap(True)
        self.quick.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.LinksAccessibleByMouse
                                           | QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.quick.linkActivated.connect(self.explain_requested)
        self.copy_vllm = QtWidgets.QPushButton("Copy vLLM command")
        self.copy_sglang = QtWidgets.QPushButton("Copy SGLang command")
        engines = QtWidgets.QHBoxLayout()
        for button, engine in ((self.copy_vllm, "vllm"), (self.copy_sglang, "sglang")):
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, e=engine: self.copy_command(e))
            engines.addWidget(button)
        engines.addStretch(1)
        self.serve_card.layout().insertLayout(2, engines)
        self.commands: dict[str, str] = {}
        holder = QtWidgets.QWidget()
        cards = QtWidgets.QHBoxLayout(holder)
        cards.setContentsMargins(0, 0, 0, 0)
        cards.addWidget(self.train_card, 1)
        cards.addWidget(self.serve_card, 1)
        self.cards_area = _CardsArea()
        self.cards_area.setWidgetResizable(True)
        self.cards_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.cards_area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards_area.setWidget(holder)
        self._fit_timer = QtCore.QTimer(self)  # sizing the cards lays out their text again (~20 ms):
        self._fit_timer.setSingleShot(True)  # done once, after the event loop has turned
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self.cards_area.fit)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.cards_area)
        layout.addWidget(self.quick)
        self.quick_text = ""
        self.unit = "GiB"  # memory unit of the texts (GiB or GB)
        self.band_rows = None  # the evaluated ledger's BandRows, once they are there: the error bands
        self._shown: tuple | None = None

    def copy_command(self, engine: str) -> None:
        """Put the serving plan's launch command for `engine` on the clipboard."""
        QtWidgets.QApplication.clipboard().setText(self.commands.get(engine, ""))

    def show_results(self, primary: PlanResult, train: PlanResult | InputError,
                     serve: PlanResult | InputError) -> None:
        """`primary` is the result of the chosen mode; the other mode's may be an error."""
        self._shown = (primary, train, serve)
        for card, result, texts in ((self.train_card, train, train_texts), (self.serve_card, serve, serve_texts)):
            if isinstance(result, InputError):
                card.show_message(f"Not available: {result.message}")
            else:
                card.show_texts(texts(result, self.unit), band_texts(result, self.band_rows))
        self.commands = {} if isinstance(serve, InputError) else \
            {name: launch.command for name, launch in serve.engine_flags.items()}
        self._fit_timer.start()
        self.copy_vllm.setEnabled("vllm" in self.commands)
        self.copy_sglang.setEnabled("sglang" in self.commands)
        self.quick_text = quick_vs_detailed(primary, self.unit)
        self._render_quick()

    def _render_quick(self) -> None:
        if self._shown is not None:
            prefix = "train" if self._shown[0].mode == "train" else "serve"
            self.quick.setText(f"{html.escape(self.quick_text)} "
                               f"{link(f'{prefix}:quick_rule', '(formula)', link_color(self))}")

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.EnabledChange:
            self._render_quick()

    def set_band_rows(self, band_rows) -> None:
        """The evaluated ledger has arrived: show the error bands beside the headline figures."""
        self.band_rows = band_rows
        if self._shown is not None:
            self.show_results(*self._shown)
