"""Plans as documents: save/open round trip, bad files, unsaved changes, recent files, session."""
from __future__ import annotations

import json

import pytest

from gpuplanner.core import PlanInputs
from gpuplanner.core.model import synthesize
from gpuplanner.ui.dialogs import CANCEL, DISCARD, SAVE
from gpuplanner.ui.plan_file import PlanFileError, load_plan, plan_to_dict, save_plan
from test_ui_plan import choose, type_into

pytest_plugins = ("test_ui_support",)  # the window fixtures


def test_save_then_open_gives_the_same_inputs(make_window, qtbot, tmp_path, dialogs):
    window = make_window()
    choose(qtbot, window, window.form.model_combo, "mixtral-8x7b-v0.1")
    choose(qtbot, window, window.form.editor("mode"), "Serving")
    type_into(qtbot, window, "concurrency", "64")
    type_into(qtbot, window, "util_cap", "85")
    saved = window.form.inputs()
    dialogs.paths.append(str(tmp_path / "serving"))  # the suffix is added
    assert window.save_as()
    path = tmp_path / "serving.gpuplan"
    doc = json.loads(path.read_text())
    assert doc["format"] == "gpuplanner-plan" and doc["version"] == 1
    assert doc["inputs"]["concurrency"] == 64
    assert [p.name for p in tmp_path.iterdir() if p.name != "settings.ini"] == ["serving.gpuplan"]
    assert not window.windowTitle().startswith("*") and "serving.gpuplan" in window.windowTitle()

    window.new_plan()
    assert window.form.inputs() == PlanInputs()
    assert window.open_plan(str(path))
    assert window.form.inputs() == saved
    assert not window.is_dirty()


def test_corrupt_and_newer_plans_are_refused_clearly(make_window, tmp_path, dialogs):
    window = make_window()
    corrupt = tmp_path / "corrupt.gpuplan"
    corrupt.write_text('{"format": "gpuplanner-plan", "version": 1, "inputs": {')
    assert not window.open_plan(str(corrupt))
    title, text = dialogs.errors[-1]
    assert title == "Cannot open plan" and "corrupt JSON" in text
    assert window.form.inputs() == PlanInputs()  # nothing changed

    newer = tmp_path / "newer.gpuplan"
    newer.write_text(json.dumps({"format": "gpuplanner-plan", "version": 2, "inputs": {}}))
    with pytest.raises(PlanFileError, match="newer gpuplanner"):
        load_plan(newer)


@pytest.mark.parametrize("inputs, message", [
    ({"mode": "fly"}, "bad value for mode"),
    ({"colour": "red"}, "unknown inputs: colour"),
    ({"model": {"arch": {"name": "x"}}}, "architecture that cannot be read"),
    ({"model": ["a"]}, "neither a preset name nor an architecture"),
])
def test_invalid_plan_contents(tmp_path, inputs, message):
    path = tmp_path / "bad.gpuplan"
    path.write_text(json.dumps({"format": "gpuplanner-plan", "version": 1, "inputs": inputs}))
    with pytest.raises(PlanFileError, match=message):
        load_plan(path)


def test_a_loaded_architecture_round_trips(tmp_path):
    inputs = PlanInputs(model=synthesize(3e9, name="mine"), mode="infer")
    save_plan(tmp_path / "arch.gpuplan", inputs)
    assert "NaN" not in (tmp_path / "arch.gpuplan").read_text()  # plain JSON: unknown is null
    assert plan_to_dict(load_plan(tmp_path / "arch.gpuplan")) == plan_to_dict(inputs)


def test_a_plan_saved_with_the_old_position_flag_still_opens(tmp_path):
    """Plans written before `positions` named the scheme stored learned_positions: true/false."""
    doc = plan_to_dict(PlanInputs(model=synthesize(3e9, name="mine")))
    arch = doc["inputs"]["model"]["arch"]
    del arch["positions"]
    arch.update(learned_positions=True, max_positions=1024)
    (tmp_path / "old.gpuplan").write_text(json.dumps(doc))
    assert load_plan(tmp_path / "old.gpuplan").model.positions == "learned"


def test_an_inconsistent_architecture_in_a_plan_is_refused(tmp_path):
    doc = plan_to_dict(PlanInputs(model=synthesize(3e9, name="mine")))
    doc["inputs"]["model"]["arch"]["n_heads"] = 0
    (tmp_path / "bad.gpuplan").write_text(json.dumps(doc))
    with pytest.raises(PlanFileError, match="num_attention_heads"):
        load_plan(tmp_path / "bad.gpuplan")


def test_unsaved_changes_prompt(make_window, qtbot, tmp_path, dialogs):
    window = make_window()
    assert not window.is_dirty()
    window.new_plan()
    assert dialogs.asked == []  # nothing to lose, no question
    type_into(qtbot, window, "seq_len", "8192")
    dialogs.save_answers.append(CANCEL)
    window.new_plan()
    assert dialogs.asked == ["the new plan"]
    assert window.form.inputs().seq_len == 8192  # cancel keeps the edit

    dialogs.save_answers.append(SAVE)
    dialogs.paths.append(str(tmp_path / "kept.gpuplan"))
    window.new_plan()
    assert load_plan(tmp_path / "kept.gpuplan").seq_len == 8192
    assert window.form.inputs() == PlanInputs()

    type_into(qtbot, window, "seq_len", "1024")
    dialogs.save_answers.append(DISCARD)
    window.new_plan()
    assert window.form.inputs() == PlanInputs()


def test_recent_files_last_plan_and_geometry_restored(make_window, qtbot, tmp_path, settings, dialogs):
    window = make_window()
    choose(qtbot, window, window.form.model_combo, "llama-2-13b")
    dialogs.paths.append(str(tmp_path / "a.gpuplan"))
    window.save_as()
    window.resize(700, 650)  # within the offscreen screen, which restoreGeometry clamps to
    window.close()
    assert settings.recent_files() == [str(tmp_path / "a.gpuplan")]

    again = make_window()
    again.restore_session()
    assert again.path == tmp_path / "a.gpuplan"
    assert again.form.inputs().model == "llama-2-13b"
    assert again.size().width() == 700


def test_save_is_atomic_and_reports_unwritable_folders(tmp_path):
    target = tmp_path / "p.gpuplan"
    target.write_text("old")
    save_plan(target, PlanInputs(seq_len=123))
    assert json.loads(target.read_text()) == plan_to_dict(PlanInputs(seq_len=123))
    with pytest.raises(PlanFileError, match="cannot be saved"):
        save_plan(tmp_path / "missing-folder" / "p.gpuplan", PlanInputs())


def test_a_vanished_recent_plan_leaves_the_list(make_window, tmp_path, settings, dialogs):
    window = make_window()
    gone = str(tmp_path / "gone.gpuplan")
    settings.add_recent(gone)
    assert not window.open_recent(gone)
    assert "cannot be read" in dialogs.errors[-1][1]
    assert settings.recent_files() == []


def test_standard_shortcuts(make_window):
    from PySide6 import QtGui

    window = make_window()
    keys = QtGui.QKeySequence.StandardKey
    for action, key in ((window.new_action, keys.New), (window.open_action, keys.Open),
                        (window.save_action, keys.Save), (window.save_as_action, keys.SaveAs)):
        assert action.shortcut() == QtGui.QKeySequence(key)
    assert window.export_csv_action.shortcut().toString() == "Ctrl+E"
