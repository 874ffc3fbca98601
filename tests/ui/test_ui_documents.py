"""Plans as documents: save/open round trip, bad files, unsaved changes, recent files, session."""
from __future__ import annotations

import json
from datetime import UTC

import pytest
from test_ui_plan import choose, type_into

from gpuplanner.core import PlanInputs
from gpuplanner.core.planfile import VERSION, PlanFileError, load_plan
from gpuplanner.ui.dialogs import CANCEL, DISCARD, SAVE


def test_save_then_open_gives_the_same_inputs(make_window, qtbot, tmp_path, dialogs):
    window = make_window()
    choose(qtbot, window, window.form.model_combo, "mixtral-8x7b-v0.1")
    choose(qtbot, window, window.form.editor("mode"), "Serving")
    type_into(qtbot, window, "concurrency", "64")
    type_into(qtbot, window, "util_cap", "85")
    saved = window.form.inputs()
    dialogs.paths.append(str(tmp_path / "serving"))  # the suffix is added
    assert window.document.save_as()
    path = tmp_path / "serving.gpuplan"
    doc = json.loads(path.read_text())
    assert doc["format"] == "gpuplanner-plan" and doc["version"] == 1
    assert doc["inputs"]["concurrency"] == 64
    assert [p.name for p in tmp_path.iterdir() if p.name != "settings.ini"] == ["serving.gpuplan"]
    assert not window.windowTitle().startswith("*") and "serving.gpuplan" in window.windowTitle()

    window.document.new_plan()
    assert window.form.inputs() == PlanInputs()
    assert window.document.open_plan(str(path))
    assert window.form.inputs() == saved
    assert not window.document.is_dirty()


def test_corrupt_and_newer_plans_are_refused_clearly(make_window, tmp_path, dialogs):
    window = make_window()
    corrupt = tmp_path / "corrupt.gpuplan"
    corrupt.write_text('{"format": "gpuplanner-plan", "version": 1, "inputs": {')
    assert not window.document.open_plan(str(corrupt))
    title, text = dialogs.errors[-1]
    assert title == "Cannot open plan" and "corrupt JSON" in text
    assert window.form.inputs() == PlanInputs()  # nothing changed

    newer = tmp_path / "newer.gpuplan"
    newer.write_text(json.dumps({"format": "gpuplanner-plan", "version": VERSION + 1, "inputs": {}}))
    assert not window.document.open_plan(str(newer))
    assert "newer gpuplanner" in dialogs.errors[-1][1]
    with pytest.raises(PlanFileError, match="newer gpuplanner"):
        load_plan(newer)


def test_unsaved_changes_prompt(make_window, qtbot, tmp_path, dialogs):
    window = make_window()
    assert not window.document.is_dirty()
    window.document.new_plan()
    assert dialogs.asked == []  # nothing to lose, no question
    type_into(qtbot, window, "seq_len", "8192")
    dialogs.save_answers.append(CANCEL)
    window.document.new_plan()
    assert dialogs.asked == ["the new plan"]
    assert window.form.inputs().seq_len == 8192  # cancel keeps the edit

    dialogs.save_answers.append(SAVE)
    dialogs.paths.append(str(tmp_path / "kept.gpuplan"))
    window.document.new_plan()
    assert load_plan(tmp_path / "kept.gpuplan").inputs.seq_len == 8192
    assert window.form.inputs() == PlanInputs()

    type_into(qtbot, window, "seq_len", "1024")
    dialogs.save_answers.append(DISCARD)
    window.document.new_plan()
    assert window.form.inputs() == PlanInputs()


def test_recent_files_last_plan_and_geometry_restored(make_window, qtbot, tmp_path, settings, dialogs):
    window = make_window()
    choose(qtbot, window, window.form.model_combo, "llama-2-13b")
    dialogs.paths.append(str(tmp_path / "a.gpuplan"))
    window.document.save_as()
    window.resize(700, 650)  # within the offscreen screen, which restoreGeometry clamps to
    window.close()
    assert settings.recent_files() == [str(tmp_path / "a.gpuplan")]

    again = make_window()
    again.restore_session()
    assert again.document.path == tmp_path / "a.gpuplan"
    assert again.form.inputs().model == "llama-2-13b"
    assert again.size().width() == 700


def test_a_vanished_recent_plan_leaves_the_list(make_window, tmp_path, settings, dialogs):
    window = make_window()
    gone = str(tmp_path / "gone.gpuplan")
    settings.add_recent(gone)
    assert not window.document.open_recent(gone)
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


def _measured_gpu():
    from datetime import datetime

    from gpuplanner.bench.calibration import machine_gpu
    from gpuplanner.bench.run import BenchRun
    hello = {"device_name": "AMD EPYC 7B13", "device_type": "cpu", "threads": 2, "total_memory_bytes": 24 * 2**30}
    results = [{"phase": "matmul", "dtype": "fp32", "size": 1024, "flops_per_s": 0.18e12},
               {"phase": "bandwidth", "tensor_bytes": 1 << 25, "bytes_per_s": 30.0e9}]
    return machine_gpu(BenchRun.from_messages(hello, results, datetime(2026, 11, 21, tzinfo=UTC)))


def test_a_plan_on_this_machine_reopens_with_its_measured_gpu(make_window, tmp_path, dialogs, settings):
    """Issue 12: "Use for planning" is saved with the plan, which reopens unmodified on a machine
    (here: a new window) that never ran the benchmark."""
    window = make_window()
    window.use_machine_gpu(_measured_gpu())
    assert window.state.wait()
    assert window.state.result.gpu_name == "This machine"
    dialogs.paths.append(str(tmp_path / "mine"))
    assert window.document.save_as()
    window.close()
    path = tmp_path / "mine.gpuplan"

    fresh = make_window()
    assert "This machine" not in fresh.state.catalogs.gpus
    assert fresh.document.open_plan(str(path)) and fresh.state.wait()
    assert fresh.state.result is not None and fresh.state.result.gpu_name == "This machine"
    assert fresh.state.catalogs.gpus["This machine"].as_of == "2026-11-21"
    assert fresh.form.gpu_combo.currentData() == "This machine"
    assert not fresh.document.is_dirty() and fresh.windowTitle().startswith("mine.gpuplan — ")  # no '*'
    assert dialogs.errors == []

    restored = make_window()  # the last plan comes back at start with its GPU too
    restored.restore_session()
    assert restored.state.wait()
    assert restored.document.path == path and restored.state.result.gpu_name == "This machine" and not restored.document.is_dirty()


def test_a_new_measurement_marks_a_plan_on_this_machine_modified(make_window, tmp_path, dialogs):
    from dataclasses import replace

    window = make_window()
    gpu = _measured_gpu()
    window.use_machine_gpu(gpu)
    dialogs.paths.append(str(tmp_path / "mine.gpuplan"))
    assert window.document.save_as() and not window.document.is_dirty()
    window.use_machine_gpu(replace(gpu, peak_flops={**gpu.peak_flops, "fp32": 0.2e12}, as_of="2026-11-22"))
    assert window.document.is_dirty()  # saving would store other figures


@pytest.mark.parametrize("inputs", [PlanInputs(), PlanInputs(gpu="H100", instance=""),
                                    PlanInputs(mode="infer", precision="int4", concurrency=64, util_cap=0.85)])
def test_opening_a_plan_does_not_mark_it_modified(make_window, tmp_path, inputs):
    from gpuplanner.core.planfile import save_plan

    save_plan(tmp_path / "p.gpuplan", inputs)
    window = make_window()
    assert window.document.open_plan(str(tmp_path / "p.gpuplan")) and window.state.wait()
    assert not window.document.is_dirty() and window.windowTitle().startswith("p.gpuplan — ")  # no '*'


def test_file_dialogs_start_in_the_last_folder_and_propose_the_model(make_window, monkeypatch, tmp_path):
    """Real Dialogs with Qt's file dialog replaced: where it starts and what name it proposes."""
    from PySide6 import QtWidgets

    from gpuplanner.ui.dialogs import Dialogs
    asked = []

    def save_dialog(parent, title, start, file_filter):
        asked.append(start)
        return (str(tmp_path / "sub" / "mine.gpuplan"), file_filter)

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", save_dialog)
    (tmp_path / "sub").mkdir()
    window = make_window()
    window.dialogs = Dialogs(str(tmp_path))
    assert window.document.save_as()
    assert asked[0] == str(tmp_path / "llama-2-7b-training.gpuplan")  # last folder, the model's name
    window.dialogs.save_path(window, "Export", "*.pdf", "x.pdf")
    assert asked[1] == str(tmp_path / "sub" / "x.pdf")  # the folder the user went to last
    window.close()
    assert window.settings.last_folder() == str(tmp_path / "sub")
