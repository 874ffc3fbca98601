"""`.gpuplan` documents: versioned JSON holding a plan's inputs.

    {"format": "gpuplanner-plan", "version": 1, "inputs": {...PlanInputs fields...}}

A model read from a config file is stored whole ({"arch": {...ModelArch fields...}}) so the
plan opens on a machine without that file. Loading validates everything and raises
PlanFileError with one sentence for the user; saving is atomic (temp file + os.replace), so
a crash never leaves half a plan. Qt-free.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, fields
from pathlib import Path

from gpuplanner.core.errors import InputError
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import ModelArch

FORMAT = "gpuplanner-plan"
VERSION = 1
SUFFIX = ".gpuplan"


class PlanFileError(Exception):
    """A plan file cannot be read or written; str() is the message for the user."""


def plan_to_dict(inputs: PlanInputs) -> dict:
    values = inputs.as_dict()
    if isinstance(inputs.model, ModelArch):  # NaN (unknown) is stored as null: plain JSON
        arch = asdict(inputs.model)
        values["model"] = {"arch": {k: None if isinstance(v, float) and math.isnan(v) else v
                                    for k, v in arch.items()}}
    return {"format": FORMAT, "version": VERSION, "inputs": values}


def plan_from_dict(doc, where: str = "the plan") -> PlanInputs:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PlanFileError(f"{where} is not a gpuplanner plan (no \"format\": \"{FORMAT}\").")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise PlanFileError(f"{where} has no valid version number.")
    if version > VERSION:
        raise PlanFileError(f"{where} was saved by a newer gpuplanner (plan version {version}; this one "
                            f"reads up to {VERSION}). Update gpuplanner to open it.")
    values = doc.get("inputs")
    if not isinstance(values, dict):
        raise PlanFileError(f"{where} has no \"inputs\" object.")
    known = {f.name for f in fields(PlanInputs)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise PlanFileError(f"{where} has unknown inputs: {', '.join(unknown)}.")
    values = dict(values)
    if isinstance(values.get("model"), dict):
        values["model"] = _arch(values["model"].get("arch"), where)
    elif not isinstance(values.get("model", ""), str):
        raise PlanFileError(f"{where} has a model that is neither a preset name nor an architecture.")
    try:
        return PlanInputs(**values).validated()
    except InputError as e:
        raise PlanFileError(f"{where} has a bad value for {e.field}: {e.message}") from None


def _arch(values, where: str) -> ModelArch:
    if not isinstance(values, dict):
        raise PlanFileError(f"{where} has a model without an \"arch\" object.")
    if "learned_positions" in values:  # plans saved before the position scheme was named
        values = dict(values)
        values.setdefault("positions", "learned" if values.pop("learned_positions") else "rope")
    float_fields = {f.name for f in fields(ModelArch) if f.type == "float"}
    values = {k: math.nan if v is None and k in float_fields else v for k, v in values.items()}
    try:
        arch = ModelArch(**values)
    except TypeError as e:
        raise PlanFileError(f"{where} has a model architecture that cannot be read: {e}") from None
    for f in fields(ModelArch):
        value = getattr(arch, f.name)
        expected = {"int": int, "float": (int, float), "str": str, "bool": bool}[f.type]
        if not isinstance(value, expected) or (f.type == "int" and isinstance(value, bool)):
            raise PlanFileError(f"{where} has a model architecture with a bad {f.name}: {value!r}.")
    return arch


def load_plan(path) -> PlanInputs:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise PlanFileError(f"{path.name} cannot be read: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise PlanFileError(f"{path.name} is not a valid plan file (corrupt JSON: {e}).") from None
    return plan_from_dict(doc, path.name)


def save_plan(path, inputs: PlanInputs) -> None:
    """Write atomically: a temp file in the target folder, then os.replace over the target."""
    path = Path(path)
    text = json.dumps(plan_to_dict(inputs), indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise PlanFileError(f"{path.name} cannot be saved in {path.parent}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise PlanFileError(f"{path.name} cannot be saved: {e.strerror or e}") from None
