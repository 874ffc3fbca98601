"""The Plan tab driven through the real form: shown numbers equal the core's estimate."""
from __future__ import annotations

import json

import pytest
from PySide6 import QtCore, QtWidgets
from ui_support import settle

from gpuplanner.core import PlanInputs, estimate
from gpuplanner.ui.plan.explain import assumptions_html, explanation_html
from gpuplanner.ui.plan.form import CUSTOM_MODEL
from gpuplanner.ui.plan.formatting import quick_vs_detailed, serve_texts, train_texts
from gpuplanner.ui.plan.summary import SummaryPanel


def type_into(qtbot, window, name: str, text: str) -> None:
    editor = window.form.editor(name)
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    settle(qtbot, window)


def choose(qtbot, window, combo, text: str) -> None:
    """Pick the item shown as `text`, or whose id (e.g. an instance type) is `text`."""
    index = combo.findText(text)
    combo.setCurrentIndex(index if index >= 0 else combo.findData(text))
    settle(qtbot, window)


def assert_shows(window, catalogs, inputs: PlanInputs) -> None:
    """The cards show exactly the texts of the core's results for these inputs."""
    train = estimate(inputs.with_(mode="train"), catalogs)
    serve = estimate(inputs.with_(mode="infer"), catalogs)
    primary = train if inputs.mode == "train" else serve
    assert window.state.result.to_dict() == primary.to_dict()
    summary = window.plan_tab.summary
    assert summary.train_card.values == train_texts(train)
    assert summary.serve_card.values == serve_texts(serve)
    assert summary.quick_text == quick_vs_detailed(primary)
    for text in train_texts(train).values():
        assert text.replace("&", "&amp;") in summary.train_card.body.text()


def test_preset_precision_and_instance_update_the_cards(make_window, qtbot, catalogs):
    window = make_window()
    choose(qtbot, window, window.form.model_combo, "llama-3.1-70b")
    assert_shows(window, catalogs, PlanInputs(model="llama-3.1-70b"))
    assert window.state.result.gpus == estimate(PlanInputs(model="llama-3.1-70b"), catalogs).gpus

    choose(qtbot, window, window.form.editor("precision"), "fp8")
    choose(qtbot, window, window.form.instance_combo, "a3-highgpu-8g")
    expected = PlanInputs(model="llama-3.1-70b", precision="fp8", instance="a3-highgpu-8g")
    assert window.form.inputs() == expected
    assert_shows(window, catalogs, expected)
    assert "Quick rule: 70.6 × 18 × 1.25 / 80 GB = 19.8 → 20 GPUs" in window.plan_tab.summary.quick.text()


def test_typing_a_quantity_updates_as_you_type(make_window, qtbot, catalogs):
    window = make_window()
    type_into(qtbot, window, "training_tokens", "2T")
    assert window.form.inputs().training_tokens == 2e12
    assert_shows(window, catalogs, PlanInputs(training_tokens=2e12))


def test_custom_parameter_count(make_window, qtbot, catalogs):
    window = make_window()
    choose(qtbot, window, window.form.model_combo, CUSTOM_MODEL)
    assert window.form.params_edit.isEnabled()
    type_into(qtbot, window, "params", "13B")
    assert_shows(window, catalogs, PlanInputs(model="", params=13e9))


def test_custom_mixture_of_experts(make_window, qtbot, catalogs):
    """Experts beside a bare parameter count plan a synthesized MoE, as --experts does; beside a
    preset they are neither editable nor read."""
    window = make_window()
    assert not window.form.editor("experts").isEnabled()
    choose(qtbot, window, window.form.model_combo, CUSTOM_MODEL)
    assert window.form.editor("experts").isEnabled() and window.form.editor("experts_per_token").isEnabled()
    type_into(qtbot, window, "params", "1.8T")
    type_into(qtbot, window, "experts", "16")
    expected = PlanInputs(model="", params=1.8e12, experts=16)
    assert window.form.inputs() == expected
    assert_shows(window, catalogs, expected)
    assert window.state.result.model_name == "1.8T parameters, 16 experts"
    assert window.state.result.params_active < 0.5 * window.state.result.params_total  # 2 of 16 experts

    choose(qtbot, window, window.form.model_combo, "llama-3.1-70b")
    assert not window.form.editor("experts").isEnabled()
    assert window.form.inputs().experts == 0
    window.form.set_inputs(expected)  # e.g. an opened plan file
    assert window.form.editor("experts").text() == "16" and window.form.inputs() == expected


def test_bad_value_is_marked_inline_and_last_answer_stays_greyed(make_window, qtbot):
    window = make_window()
    before = dict(window.plan_tab.summary.train_card.values)
    type_into(qtbot, window, "seq_len", "abc")
    assert window.form.error_text("seq_len") == "'abc' is not a whole number"
    assert window.plan_tab.error.isVisibleTo(window)
    assert not window.plan_tab.summary.isEnabled()
    assert window.plan_tab.summary.train_card.values == before  # the last good answer stays
    assert window.windowTitle().startswith("*")

    type_into(qtbot, window, "seq_len", "2048")
    assert window.form.error_text("seq_len") == ""
    assert window.plan_tab.summary.isEnabled()
    assert window.state.result.inputs.seq_len == 2048


def test_core_errors_are_shown_on_their_field(make_window, qtbot):
    window = make_window()
    type_into(qtbot, window, "mfu", "250")
    assert "must be a number from 0.0001 to 1" in window.form.error_text("mfu")
    type_into(qtbot, window, "micro_batch", "-1")  # the core calls this field 'batch'; 0 is auto
    assert "whole number from 0" in window.form.error_text("micro_batch")


def test_int4_full_training_names_the_precision_field(make_window, qtbot):
    window = make_window()
    choose(qtbot, window, window.form.editor("precision"), "int4")
    assert "cannot be used for full training" in window.form.error_text("precision")
    choose(qtbot, window, window.form.editor("mode"), "Serving")
    assert window.form.error_text("precision") == ""
    assert window.state.result.mode == "infer" and window.state.result.precision == "int4"


def test_unknown_preset_text_is_an_inline_error(make_window, qtbot):
    window = make_window()
    window.form.model_combo.setEditText("no-such-model")
    settle(qtbot, window)
    assert "is not a preset or loaded model" in window.form.error_text("model")


def test_summary_link_and_breakdown_click_explain(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    window.plan_tab.summary.train_card.body.linkActivated.emit("train:training_time_s")
    text = window.plan_tab.explain.toPlainText()
    assert "step = micro-batch time × (m + (p − 1)/v)" in text  # the step model (an MFU is not pinned)
    assert "Source:" in text

    chart = window.plan_tab.chart
    segment = chart.segments["activations"]
    scene_point = chart.plotItem.vb.mapViewToScene(segment.boundingRect().center())
    qtbot.mouseClick(chart.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=chart.mapFromScene(scene_point))
    assert window.plan_tab.explain.key == "activations"
    assert "Korthikanti" in window.plan_tab.explain.toPlainText()


def test_breakdown_has_one_segment_per_component(make_window, catalogs):
    window = make_window()
    result = estimate(PlanInputs(), catalogs)
    total = sum(s.opts["width"][0] for s in window.plan_tab.chart.segments.values() if s.isVisible())
    assert total == pytest.approx(result.memory_per_gpu_bytes / 2**30)
    assert window.plan_tab.chart.usable_line.value() == pytest.approx(result.usable_bytes / 2**30)
    legend = [label.text for _, label in window.plan_tab.chart.legend.items]
    assert legend[0] == f"weights {result.breakdown_bytes.weights / 2**30:,.1f}"


def test_load_model_config_and_bad_config(make_window, qtbot, tmp_path, dialogs, catalogs):
    window = make_window()
    folder = tmp_path / "tiny"
    folder.mkdir()
    config = {"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 512, "intermediate_size": 1376,
              "num_attention_heads": 8, "num_key_value_heads": 8, "vocab_size": 32000,
              "max_position_embeddings": 4096}
    (folder / "config.json").write_text(json.dumps(config))
    assert window.sources.load_model(str(folder / "config.json"))
    settle(qtbot, window)
    assert window.state.result.model_name == "tiny"
    (tmp_path / "broken.json").write_text("{not json")
    assert not window.sources.load_model(str(tmp_path / "broken.json"))
    assert "is not valid JSON" in dialogs.errors[-1][1]


def test_spot_price_kind_puts_spot_costs_first(make_window, qtbot, catalogs):
    window = make_window()
    choose(qtbot, window, window.form.editor("price_kind"), "spot")
    assert_shows(window, catalogs, PlanInputs(price_kind="spot"))
    keys = list(window.plan_tab.summary.train_card.values)
    assert keys.index("spot_cost_usd") < keys.index("cost_usd")
    keys = list(window.plan_tab.summary.serve_card.values)
    assert keys.index("spot_monthly_cost_usd") < keys.index("monthly_cost_usd")


def test_charts_follow_a_dark_palette(make_window):
    from PySide6 import QtGui

    window = make_window()
    chart = window.plan_tab.chart
    dark = QtGui.QPalette()
    dark.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor("#202020"))
    dark.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor("#eeeeee"))
    chart.setPalette(dark)
    assert chart.backgroundBrush().color().name() == "#202020"
    assert chart.getAxis("bottom").textPen().color().name() == "#eeeeee"


def test_dropping_a_plan_or_a_model_folder_opens_it(make_window, tmp_path):
    from PySide6 import QtGui

    from gpuplanner.core.planfile import save_plan

    window = make_window()
    save_plan(tmp_path / "dropped.gpuplan", PlanInputs(seq_len=1234))
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(tmp_path / "dropped.gpuplan"))])
    drop = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.DropAction.CopyAction, mime,
                            QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.form.inputs().seq_len == 1234 and window.document.path == tmp_path / "dropped.gpuplan"


def test_plan_by_gpu_and_a_plan_that_does_not_fit(make_window, qtbot, catalogs):
    window = make_window()
    choose(qtbot, window, window.form.instance_combo, "(plan by GPU only)")
    assert window.form.gpu_combo.isEnabled()
    choose(qtbot, window, window.form.gpu_combo, "A100-80GB")
    assert_shows(window, catalogs, PlanInputs(instance="", gpu="A100-80GB"))

    choose(qtbot, window, window.form.model_combo, "llama-3.1-405b")
    choose(qtbot, window, window.form.gpu_combo, "T4")
    type_into(qtbot, window, "tp", "1")
    type_into(qtbot, window, "pp", "1")
    expected = PlanInputs(model="llama-3.1-405b", instance="", gpu="T4", tp=1, pp=1)
    assert not estimate(expected, catalogs).fits
    assert_shows(window, catalogs, expected)
    assert window.plan_tab.summary.train_card.values["fits"].startswith("Does not fit")


def test_card_messages_show_quotes_not_html_entities(qtbot):
    from gpuplanner.ui.plan.summary import SummaryPanel
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    panel.train_card.show_message("'int4' cannot be used for full training")
    shown = _shown_text(panel.train_card.body)
    assert "&#x27;" not in shown and "'int4' cannot" in shown


def _shown_text(label) -> str:
    """What a QLabel displays (rich text rendered to plain text)."""
    from PySide6 import QtGui
    doc = QtGui.QTextDocument()
    if label.textFormat() == QtCore.Qt.TextFormat.RichText:
        doc.setHtml(label.text())
    else:
        doc.setPlainText(label.text())
    return doc.toPlainText()


def test_an_unknown_instance_in_the_form_suggests_the_close_names(make_window):
    """Issue 12: a mistyped instance type is answered with the names it may mean."""
    window = make_window()
    window.form.instance_combo.setCurrentText("p5.48xl")
    window.state.recompute()
    assert "did you mean p5.48xlarge" in window.plan_tab.error.text()


def test_memory_in_gb_reaches_the_explanations_the_assumptions_and_the_warnings(make_window, qtbot):
    window = make_window()
    for name in ("tp", "pp", "dp"):  # one GPU: llama-2-7b training does not fit
        type_into(qtbot, window, name, "1")
    assert "does not fit" in window.plan_tab.warnings.text() and "GiB" in window.plan_tab.warnings.text()
    window.plan_tab.summary.train_card.body.linkActivated.emit("train:gpus")
    assert "GiB" in window.plan_tab.explain.toPlainText()
    window.set_memory_unit("GB")
    shown = window.plan_tab.warnings.text() + window.plan_tab.explain.toPlainText()
    assert "GiB" not in shown and " GB" in shown


def test_card_sizes_follow_their_figures_and_keep_through_greying(qtbot):
    """Issue 12: a card keeps its text's size answers between layouts (laying its rich text out
    again for each size question was most of showing an answer); new figures are measured
    again, and greying (a recolour) gives the same sizes without laying the text out again."""
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    card = panel.train_card

    def qt_height(width):  # what a plain QLabel answers for the text on show
        label = QtWidgets.QLabel()
        label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setFont(card.body.font())
        label.setText(card.body.text())
        return label.heightForWidth(width)

    card.show_texts({"gpus": "8"})
    short = card.body.heightForWidth(300)
    assert short == qt_height(300)
    card.show_texts({key: "a long figure " * 3 for key in ("gpus", "instances", "layout", "price_usd_per_hour")})
    tall = card.body.heightForWidth(300)
    assert tall == qt_height(300) > short
    card.setEnabled(False)
    qtbot.waitUntil(lambda: "color:#" in card.body.text())  # the links recoloured
    asked = []
    real = QtWidgets.QLabel.heightForWidth
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(QtWidgets.QLabel, "heightForWidth", lambda self, w: asked.append(w) or real(self, w))
        assert card.body.heightForWidth(300) == tall
    assert asked == []


def test_a_hidden_plan_tab_draws_the_newest_answer_when_shown(make_window, qtbot):
    """While Compare is showing, answers are kept, not drawn; showing the Plan tab draws the
    newest: cards and chart before its first paint, the Explain text in the next turn."""
    window = make_window()
    window.show()
    card = window.plan_tab.summary.train_card
    before = dict(card.values)
    window.tabs.setCurrentWidget(window.compare_tab)
    type_into(qtbot, window, "seq_len", "16384")
    assert not window.plan_tab.drawn and card.values == before
    window.tabs.setCurrentWidget(window.plan_tab)
    result = window.state.results["train"]
    assert window.plan_tab.drawn and card.values == train_texts(result)
    assert window.plan_tab.chart.usable_line.value() == pytest.approx(result.usable_bytes / 2**30)
    qtbot.waitUntil(lambda: assumptions_html(result) in window.plan_tab.explain.shown_html)  # the next turn


def test_the_explain_area_follows_a_new_answer(make_window, qtbot):
    """Issue 12: a new answer's Explain text is drawn in the event loop's next turn (after the
    cards and chart); it shows the new answer's formula and assumptions."""
    window = make_window()
    window.show()
    window.plan_tab.summary.train_card.body.linkActivated.emit("train:gpus")
    before = window.plan_tab.explain.shown_html
    type_into(qtbot, window, "seq_len", "16384")
    result = window.state.results["train"]
    expected = (explanation_html(result, "gpus"), assumptions_html(result))
    assert expected[0] not in before
    qtbot.waitUntil(lambda: all(part in window.plan_tab.explain.shown_html for part in expected))
