"""The input form: every PlanInputs field, grouped as a user thinks about a plan.

The form only turns widgets into PlanInputs and back, and marks bad fields; it computes
nothing. Every editor's own change signal is forwarded to `changed`, so the owner can
debounce and recompute. Text fields accept human quantities ("2T", "1.5e9").
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError, did_you_mean
from gpuplanner.core.fields import GROUPS, INPUT_FIELDS, InputField, count_text, field_for_error
from gpuplanner.core.hub_id import parse_hub_id
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import ModelArch
from gpuplanner.core.units import parse_count

CUSTOM_MODEL = "Custom parameter count"
MOE_FIELDS = ("experts", "experts_per_token")  # with a bare parameter count: a synthesized mixture of experts
BY_GPU = "(plan by GPU only)"
ERROR_STYLE = "color: #d32f2f;"


def searchable_combo() -> QtWidgets.QComboBox:
    """An editable combo whose completer matches anywhere in the item text."""
    combo = QtWidgets.QComboBox()
    combo.setEditable(True)
    combo.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
    completer = combo.completer()
    completer.setFilterMode(QtCore.Qt.MatchFlag.MatchContains)
    completer.setCompletionMode(QtWidgets.QCompleter.CompletionMode.PopupCompletion)
    combo.setMaxVisibleItems(20)
    return combo


def combo_value(combo: QtWidgets.QComboBox, field: str, what: str):
    """The data of the item whose text (or bare id, e.g. a typed instance type) is shown, or
    InputError for text that names none."""
    text = combo.currentText().strip()
    index = combo.findText(text, QtCore.Qt.MatchFlag.MatchFixedString)
    if index < 0:
        index = combo.findData(text)
    if index < 0:
        names = [data for data in map(combo.itemData, range(combo.count())) if isinstance(data, str)]
        raise InputError(field, f"'{combo.currentText()}' is not {what}{did_you_mean(text, names)}; "
                         "pick one from the list")
    return combo.itemData(index)


def select(combo: QtWidgets.QComboBox, value: str) -> None:
    """Show the item whose data is `value`; an unknown value stays as typed text (and is then
    reported by combo_value)."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)
    else:
        combo.setCurrentText(value)


def instance_text(inst) -> str:
    """'p5.48xlarge — 8 × H100, $55.04/h': what a planner compares when picking an instance."""
    price = f"${inst.price_usd_per_hour:,.2f}/h" if math.isfinite(inst.price_usd_per_hour) else "price unknown"
    return f"{inst.instance_type} — {inst.gpu_count} × {inst.gpu or 'GPU without datasheet'}, {price}"


class _Row:
    """One field's editor, unit and red hint. The hint label is made when a first error is
    marked, and a field without a unit has no unit label: sixty-odd fields' labels cost the
    first paint tens of milliseconds to build, style and lay out."""

    def __init__(self, label: str, editor: QtWidgets.QWidget, unit: str, tip: str):
        self.label = QtWidgets.QLabel(label)
        self.editor = editor
        self.unit = QtWidgets.QLabel(unit) if unit else None
        self.hint: QtWidgets.QLabel | None = None
        self._grid: tuple | None = None  # (grid, row) where the hint goes
        for w in (self.label, self.editor, self.unit):
            if w is not None:
                w.setToolTip(tip)

    def add_to(self, grid: QtWidgets.QGridLayout) -> None:
        row = grid.rowCount()
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.editor, row, 1)
        if self.unit is not None:
            grid.addWidget(self.unit, row, 2)
        grid.setRowMinimumHeight(row + 1, 0)  # the hint's row, kept empty until an error is marked
        self._grid = (grid, row + 1)

    def mark(self, message: str) -> None:
        if self.hint is None:
            if not message:
                return
            self.hint = QtWidgets.QLabel()
            self.hint.setStyleSheet(ERROR_STYLE)
            self.hint.setWordWrap(True)
            grid, row = self._grid
            grid.addWidget(self.hint, row, 0, 1, 3)
        self.hint.setText(message)
        self.hint.setVisible(bool(message))
        if isinstance(self.editor, QtWidgets.QLineEdit):
            self.editor.setStyleSheet("border: 1px solid #d32f2f;" if message else "")

    def error_text(self) -> str:
        return self.hint.text() if self.hint is not None and not self.hint.isHidden() else ""


class FormPanel(QtWidgets.QScrollArea):
    """The left-hand form. `inputs()` reads it; `set_inputs()` fills it."""

    changed = QtCore.Signal()
    hub_requested = QtCore.Signal(str)  # a Hugging Face Hub id to fetch (Enter or the Fetch button)

    def __init__(self, catalogs: Catalogs, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rows: dict[str, _Row] = {}
        self.specs: dict[str, InputField] = {}
        body = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(body)
        column.addWidget(self._model_group())
        for group in GROUPS:
            column.addWidget(self._group(group))
        column.addStretch(1)
        self.setWidget(body)
        self.set_catalogs(catalogs)
        self.set_inputs(PlanInputs())
        self.model_combo.currentTextChanged.connect(self._update_enabled)
        self.model_combo.lineEdit().returnPressed.connect(self._request_hub)
        self.fetch_hub_button.clicked.connect(self._request_hub)
        self.instance_combo.currentTextChanged.connect(self._update_enabled)
        self.editor("train_method").currentIndexChanged.connect(self._update_enabled)

    # ----- construction ---------------------------------------------------------------
    def _add(self, grid, name: str, label: str, editor, unit: str, tip: str) -> None:
        row = _Row(label, editor, unit, tip)
        row.add_to(grid)
        self.rows[name] = row
        signal = {QtWidgets.QLineEdit: "textChanged", QtWidgets.QCheckBox: "toggled"}.get(
            type(editor), "currentTextChanged")
        getattr(editor, signal).connect(self.changed)

    def _model_group(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Model")
        grid = QtWidgets.QGridLayout(box)
        self.model_combo = searchable_combo()
        self._add(grid, "model", "Model", self.model_combo, "",
                  "A model from the bundled catalog (type to search), a loaded config, a Hugging Face Hub "
                  "id (org/name or org/name@revision, then Enter), or a bare parameter count. "
                  "Typical: llama-3.1-70b.")
        self.params_edit = QtWidgets.QLineEdit()
        self._add(grid, "params", "Parameters", self.params_edit, "params",
                  "Total parameter count when no architecture is known, e.g. 70B, 6.74e9, 350M.")
        for name in MOE_FIELDS:  # read like the form's fields, but only beside a bare parameter count
            spec = INPUT_FIELDS[name]
            self._add(grid, name, spec.label, self._editor_for(spec), spec.unit, spec.tip)
        self.load_model_button = QtWidgets.QPushButton("Open config.json / model folder…")
        self.load_model_button.setToolTip("Read a Hugging Face config.json (and safetensors headers) "
                                          "without loading weights; you can also drop it on the window.")
        self.fetch_hub_button = QtWidgets.QPushButton("Fetch from Hugging Face Hub")
        self.fetch_hub_button.setToolTip("Read the typed Hub id's config.json and safetensors headers (no "
                                         "weights). HF_TOKEN opens gated models; fetched models open offline.")
        grid.addWidget(self.load_model_button, grid.rowCount(), 0, 1, 3)
        grid.addWidget(self.fetch_hub_button, grid.rowCount(), 0, 1, 3)
        self.model_note = QtWidgets.QLabel()  # what the Hub said about the chosen model
        self.model_note.setWordWrap(True)
        self._notes: dict[str, str] = {}
        grid.addWidget(self.model_note, grid.rowCount(), 0, 1, 3)
        return box

    def _group(self, group) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox(group.title)
        grid = QtWidgets.QGridLayout(box)
        grid.setColumnStretch(1, 1)
        if group.title.startswith("Hardware"):
            self.instance_combo = searchable_combo()
            self._add(grid, "instance", "Instance type", self.instance_combo, "",
                      "Cloud instance: its GPU, count per instance and hourly price. Typical: p5.48xlarge.")
            self.gpu_combo = searchable_combo()
            self._add(grid, "gpu", "GPU", self.gpu_combo, "",
                      "Plan by GPU only (priced at the cheapest instance per GPU). Typical: H100.")
        for spec in group.fields:
            self.specs[spec.name] = spec
            self._add(grid, spec.name, spec.label, self._editor_for(spec), spec.unit, spec.tip)
        return box

    @staticmethod
    def _editor_for(spec: InputField) -> QtWidgets.QWidget:
        if spec.kind == "bool":
            return QtWidgets.QCheckBox()
        if spec.kind == "choice":
            combo = QtWidgets.QComboBox()
            for value, label in spec.choices:
                combo.addItem(label, value)
            return combo
        return QtWidgets.QLineEdit()

    def editor(self, name: str) -> QtWidgets.QWidget:
        return self.rows[name].editor

    # ----- catalogs -------------------------------------------------------------------
    def set_catalogs(self, catalogs: Catalogs) -> None:
        """Refill the model, instance and GPU pickers, keeping the current choices."""
        keep = [c.currentData() if c.currentIndex() >= 0 and c.currentText() == c.itemText(c.currentIndex())
                else c.currentText() for c in (self.model_combo, self.instance_combo, self.gpu_combo)]
        with QtCore.QSignalBlocker(self.model_combo), QtCore.QSignalBlocker(self.instance_combo), \
                QtCore.QSignalBlocker(self.gpu_combo):
            loaded = [(self.model_combo.itemText(i), self.model_combo.itemData(i))
                      for i in range(self.model_combo.count())
                      if isinstance(self.model_combo.itemData(i), ModelArch)]
            self.model_combo.clear()
            self.model_combo.addItem(CUSTOM_MODEL, "")
            for name in sorted(catalogs.models):
                self.model_combo.addItem(name, name)
            for text, arch in loaded:
                self.model_combo.addItem(text, arch)
            self.instance_combo.clear()
            self.instance_combo.addItem(BY_GPU, "")
            for inst in sorted(catalogs.instances.values(),
                               key=lambda i: (i.gpu or "~", i.gpu_count, i.price_usd_per_hour, i.instance_type)):
                self.instance_combo.addItem(instance_text(inst), inst.instance_type)
                gpu = catalogs.gpus.get(inst.gpu)
                memory = f", {gpu.memory_gb_marketing:g} GB each" if gpu else ""
                self.instance_combo.setItemData(self.instance_combo.count() - 1,
                                                f"{inst.cloud} {inst.region}: {inst.gpu_count} × {inst.gpu or '?'}"
                                                f"{memory}; prices {inst.as_of}", QtCore.Qt.ItemDataRole.ToolTipRole)
            self.gpu_combo.clear()
            for name in sorted(catalogs.gpus):
                self.gpu_combo.addItem(name, name)
            for combo, value in zip((self.model_combo, self.instance_combo, self.gpu_combo), keep):
                if isinstance(value, str):
                    select(combo, value)
                else:
                    combo.setCurrentIndex(max(0, combo.findData(value)))
        self._update_enabled()

    def add_model(self, arch: ModelArch, note: str = "") -> None:
        """Offer a model read from a config file or the Hub and select it; `note` is shown under
        the picker while it is chosen."""
        text = f"{arch.name} ({'Hub' if arch.hf_revision else 'config'})"
        if arch.hf_revision and not note:  # e.g. from a saved plan
            note = f"{arch.hf_repo} @ {arch.hf_revision[:12]} (read from the Hugging Face Hub)"
        self._notes[text] = note
        index = self.model_combo.findText(text)
        if index < 0:
            self.model_combo.addItem(text, arch)
        else:
            self.model_combo.setItemData(index, arch)
        self.model_combo.setCurrentText(text)
        self.model_combo.lineEdit().setCursorPosition(0)  # a long Hub id shows its organisation
        self._update_enabled()  # the note, also when the text shown is unchanged

    # ----- reading and writing --------------------------------------------------------
    def inputs(self) -> PlanInputs:
        """The form's PlanInputs; marks every unreadable field and raises the first error."""
        values, errors = {}, []
        readers = {"model": self._read_model, "params": self._read_params,
                   "instance": lambda: combo_value(self.instance_combo, "instance", "an instance type"),
                   "gpu": self._read_gpu}
        readers.update({name: (lambda n=name: self._read_moe(n)) for name in MOE_FIELDS})
        readers.update({name: (lambda s=spec: self._read_spec(s)) for name, spec in self.specs.items()})
        for name, read in readers.items():
            try:
                values[name] = read()
            except InputError as e:
                errors.append(e)
        self.clear_errors()
        for e in errors:
            self.show_error(e)
        if errors:
            raise errors[0]
        return PlanInputs(**values)

    def _read_model(self):
        hub_id = self._typed_hub_id()
        if hub_id:
            raise InputError("model", f"press Enter or Fetch to read {hub_id} from the Hugging Face Hub")
        return combo_value(self.model_combo, "model", "a preset or loaded model")

    def _typed_hub_id(self) -> str:
        """The combo's text when it is a Hub id not yet in the list, else ''."""
        text = self.model_combo.currentText().strip()
        if parse_hub_id(text) is None or self.model_combo.findText(text, QtCore.Qt.MatchFlag.MatchFixedString) >= 0:
            return ""
        return text

    def _request_hub(self) -> None:
        if self._typed_hub_id():
            self.hub_requested.emit(self._typed_hub_id())

    def set_hub_busy(self, busy: bool) -> None:
        """While a Hub fetch runs, the picker and its buttons wait (the window shows progress)."""
        for widget in (self.model_combo, self.load_model_button, self.fetch_hub_button):
            widget.setEnabled(not busy)
        self.fetch_hub_button.setText("Fetching…" if busy else "Fetch from Hugging Face Hub")
        if not busy:
            self._update_enabled()

    def set_precision(self, precision: str) -> None:
        self._write_spec(self.specs["precision"], precision)

    def _read_params(self) -> float:
        if self._read_model_or_none():
            return 0.0
        return parse_count(self.params_edit.text(), "params")

    def _read_moe(self, name: str) -> int:
        """Experts count the same way as the parameters they go with: not at all beside a model."""
        if self._read_model_or_none():
            return 0
        return INPUT_FIELDS[name].parse(self.editor(name).text())

    def _read_model_or_none(self):
        try:
            return self._read_model()
        except InputError:
            return None

    def _read_gpu(self) -> str:
        if self.instance_combo.currentText() != BY_GPU:
            return ""
        return combo_value(self.gpu_combo, "gpu", "a GPU in the catalog")

    def _read_spec(self, spec: InputField):
        editor = self.editor(spec.name)
        if spec.kind == "bool":
            return editor.isChecked()
        if spec.kind == "choice":
            return editor.currentData()
        return spec.parse(editor.text())

    def set_inputs(self, inputs: PlanInputs) -> None:
        """Show `inputs` in the widgets without emitting `changed` once per field."""
        self.blockSignals(True)
        try:
            if isinstance(inputs.model, ModelArch):
                self.add_model(inputs.model)
            else:
                self.model_combo.setCurrentText(inputs.model or CUSTOM_MODEL)
            self.params_edit.setText(count_text(inputs.params) if inputs.params else "")
            for name in MOE_FIELDS:
                self._write_spec(INPUT_FIELDS[name], getattr(inputs, name))
            select(self.instance_combo, inputs.instance)
            if inputs.gpu:
                select(self.gpu_combo, inputs.gpu)
            for name, spec in self.specs.items():
                self._write_spec(spec, getattr(inputs, name))
        finally:
            self.blockSignals(False)
        self.clear_errors()
        self._update_enabled()

    def _write_spec(self, spec: InputField, value) -> None:
        editor = self.editor(spec.name)
        if spec.kind == "bool":
            editor.setChecked(bool(value))
        elif spec.kind == "choice":
            editor.setCurrentIndex(max(0, editor.findData(value)))
        else:
            editor.setText(spec.format(value))

    # ----- errors and enabling ----------------------------------------------------------
    def show_error(self, error: InputError) -> str | None:
        """Mark the field `error` names; returns that field's name (None if no field matches)."""
        name = field_for_error(error.field)
        if name is not None:
            self.rows[name].mark(error.message)
        return name

    def clear_errors(self) -> None:
        for row in self.rows.values():
            row.mark("")

    def error_text(self, name: str) -> str:
        return self.rows[name].error_text()

    def _update_enabled(self) -> None:
        custom = self.model_combo.currentText() == CUSTOM_MODEL
        for editor in (self.params_edit, *map(self.editor, MOE_FIELDS)):
            editor.setEnabled(custom)
        self.fetch_hub_button.setEnabled(bool(self._typed_hub_id()))
        note = self._notes.get(self.model_combo.currentText(), "")
        self.model_note.setText(note)
        self.model_note.setVisible(bool(note))
        self.gpu_combo.setEnabled(self.instance_combo.currentText() == BY_GPU)
        self.editor("lora_rank").setEnabled(self.editor("train_method").currentData() != "full")
