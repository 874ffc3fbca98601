"""The window's Hub picker against the loopback Hub (tests/hub_support.py): a typed id is fetched
off the GUI thread with the picker busy, planned, and a refusal is shown as a message."""
from __future__ import annotations

from hub_support import GPTQ, TINYLLAMA, TINYLLAMA_PARAMS, FakeHub
from PySide6 import QtCore
from ui_support import settle

from gpuplanner.core import PlanInputs


def type_model(qtbot, window, text: str) -> None:
    window.form.model_combo.setCurrentText(text)
    settle(qtbot, window)


def test_a_typed_hub_id_is_fetched_and_planned(make_window, qtbot, hub_env):
    with FakeHub(delay_s=0.3) as server:
        hub_env.setenv("HF_ENDPOINT", server.url)
        window = make_window()
        form = window.form
        type_model(qtbot, window, TINYLLAMA)
        assert form.fetch_hub_button.isEnabled()
        assert "press Enter or Fetch" in form.error_text("model")
        seen = {}

        def during():
            seen.update(button=form.fetch_hub_button.text(), picker=form.model_combo.isEnabled(),
                        status=window.statusBar().currentMessage())
        QtCore.QTimer.singleShot(150, during)  # runs while the fetch waits on the slow server
        qtbot.keyClick(form.model_combo.lineEdit(), QtCore.Qt.Key.Key_Return)
        settle(qtbot, window)
    assert seen == {"button": "Fetching…", "picker": False,
                    "status": f"Fetching {TINYLLAMA} from the Hugging Face Hub…"}
    assert form.model_combo.currentText() == f"{TINYLLAMA} (Hub)" and form.model_combo.isEnabled()
    assert window.state.result.model_name == TINYLLAMA
    assert window.state.result.params_total == TINYLLAMA_PARAMS
    assert f"{TINYLLAMA_PARAMS:,} parameters" in form.model_note.text() and form.model_note.isVisibleTo(window)
    arch = window.form.inputs().model
    type_model(qtbot, window, "llama-3.1-70b")
    assert not form.model_note.isVisibleTo(window)
    window.show_plan(PlanInputs(model=arch), None)  # as a saved plan reopens it, offline
    assert window.state.wait()
    assert form.model_combo.currentText() == f"{TINYLLAMA} (Hub)"
    assert form.model_note.text() == f"{TINYLLAMA} @ {arch.hf_revision[:12]} (read from the Hugging Face Hub)"
    assert window.state.result.params_total == TINYLLAMA_PARAMS


def test_a_quantized_checkpoint_sets_the_serving_precision(make_window, qtbot, hub_env):
    with FakeHub() as server:
        hub_env.setenv("HF_ENDPOINT", server.url)
        window = make_window()
        precision = window.form.editor("precision")
        mode = window.form.editor("mode")
        mode.setCurrentIndex(mode.findData("infer"))
        type_model(qtbot, window, GPTQ)
        qtbot.mouseClick(window.form.fetch_hub_button, QtCore.Qt.MouseButton.LeftButton)
        settle(qtbot, window)
    assert precision.currentData() == "int4"
    assert window.state.result.precision == "int4" and window.state.result.model_name == GPTQ
    assert "planning at int4" in window.form.model_note.text()


def test_a_refusal_is_shown_and_the_picker_comes_back(make_window, qtbot, hub_env, dialogs):
    with FakeHub() as server:
        hub_env.setenv("HF_ENDPOINT", server.url)
        window = make_window()
        assert not window.sources.load_hub_model("acme/none")
    assert dialogs.errors[-1][0] == "Cannot read model from the Hub"
    assert "acme/none is not a model on the Hugging Face Hub" in dialogs.errors[-1][1]
    assert window.form.model_combo.isEnabled()
    assert window.form.fetch_hub_button.text() == "Fetch from Hugging Face Hub"
