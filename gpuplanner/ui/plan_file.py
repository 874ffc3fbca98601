"""`.gpuplan` documents: versioned JSON holding a plan's inputs.

    {"format": "gpuplanner-plan", "version": 1, "inputs": {...PlanInputs fields...}}

A model read from a config file is stored whole ({"arch": {...ModelArch fields...}}) so the
plan opens on a machine without that file. Loading validates everything and raises
PlanFileError with one sentence for the user; saving is atomic (core.atomic), so
a crash never leaves half a plan. Qt-free.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from pathlib import Path

from gpuplanner.core import safe_io
from gpuplanner.core.atomic import WriteError, atomic_write_text
from gpuplanner.core.errors import InputError
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import ModelArch

FORMAT = "gpuplanner-plan"
VERSION = 1
SUFFIX = ".gpuplan"
PLAN_MAX_BYTES = 2**20  # a plan with an embedded architecture is a few KiB


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
    except (TypeError, ValueError, ArithmeticError) as e:  # a value of the wrong type
        raise PlanFileError(f"{where} has inputs of the wrong type: {e}") from None


def _arch(values, where: str) -> ModelArch:
    if not isinstance(values, dict):
        raise PlanFileError(f"{where} has a model without an \"arch\" object.")
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
    """Read through core.safe_io: regular files only, a size cap, bounded nesting, finite numbers."""
    path = Path(path)
    try:
        doc = safe_io.load_json(path, max_bytes=PLAN_MAX_BYTES)
    except safe_io.UnsafeFileError as e:
        field = f", field {e.column}," if e.column else ""
        raise PlanFileError(f"{path.name}{field} {e.message}.") from None
    return plan_from_dict(doc, path.name)


def save_plan(path, inputs: PlanInputs) -> None:
    """Write atomically (core.atomic): a crash or a full disk never leaves half a plan."""
    path = Path(path)
    text = json.dumps(plan_to_dict(inputs), indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        atomic_write_text(path, text)
    except WriteError as e:
        raise PlanFileError(f"{path.name} cannot be saved: {e.reason}") from None
