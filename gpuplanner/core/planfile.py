"""`.gpuplan` documents: versioned JSON holding a plan's inputs. Qt-free, so the window and
`gpuplanner-cli plan --plan FILE` read the same files.

    {"format": "gpuplanner-plan", "version": 1, "inputs": {...PlanInputs fields...}}

What a plan names but another machine may lack is stored whole: a model read from a config file
({"model": {"arch": {...ModelArch fields...}}}) and, from version 2, a GPU measured by the
benchmark ({"gpu": {"spec": {...GpuSpec fields...}}}); from version 3, a model read from the
Hugging Face Hub keeps its id and commit (hf_repo, hf_revision), so it reopens offline and says
what it was read from, and the link bandwidths measured by the collective benchmark are kept
when the plan uses them ({"interconnect": {"measured": {...MeasuredLinks fields...}}}). A file
is written with the lowest version that holds it, so plans without these still open in
gpuplanner versions reading only 1.
Loading validates everything and raises PlanFileError with one sentence for the user; saving is
atomic (core.atomic), so a crash never leaves half a plan.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from gpuplanner.core import safe_io
from gpuplanner.core.atomic import WriteError, atomic_write_text
from gpuplanner.core.catalogs import PEAK_COLUMNS, Catalogs, GpuSpec
from gpuplanner.core.errors import InputError
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.links import MeasuredLinks
from gpuplanner.core.model import ModelArch

FORMAT = "gpuplanner-plan"
VERSION = 3  # the newest version this gpuplanner reads and writes
MEASURED_GPU_VERSION = 2  # the first version that embeds a measured GPU
HUB_MODEL_VERSION = 3  # the first version whose model may name the Hugging Face Hub commit it was read at
MEASURED_LINKS_VERSION = 3  # the first version that embeds measured link bandwidths
SUFFIX = ".gpuplan"
PLAN_MAX_BYTES = 2**20  # a plan with an embedded architecture is a few KiB


class PlanFileError(Exception):
    """A plan file cannot be read or written; str() is the message for the user."""


@dataclass(frozen=True)
class PlanDocument:
    """What a plan file holds: the inputs and, when they plan on a measured GPU or measured link
    bandwidths, those measurements."""

    inputs: PlanInputs
    measured_gpu: GpuSpec | None = None
    measured_links: MeasuredLinks | None = None

    def catalogs(self, base: Catalogs, where: str = "the plan") -> Catalogs:
        """``base`` with the embedded measured GPU and link bandwidths added (replacing earlier
        measurements); PlanFileError if the GPU would replace a catalog GPU of the same name."""
        if self.measured_links is not None:
            base = base.with_measured_links(self.measured_links)
        gpu = self.measured_gpu
        if gpu is None:
            return base
        known = base.gpus.get(gpu.name)
        if known is not None and not known.measured:
            raise PlanFileError(f"{where} has a measured GPU called '{gpu.name}', like a catalog GPU; "
                                "it is not opened, so that GPU's datasheet stays.")
        return base.with_gpu(gpu)


def plan_to_dict(inputs: PlanInputs, gpus: Mapping[str, GpuSpec] | None = None,
                 measured_links: MeasuredLinks | None = None) -> dict:
    """The file's document. ``gpus`` is the GPU catalog in use: a measured GPU the inputs
    name is embedded from it; ``measured_links`` (the catalogs' in use) is embedded when the
    inputs plan with measured link bandwidths."""
    values = inputs.as_dict()
    version = 1
    if isinstance(inputs.model, ModelArch):
        arch = _plain(asdict(inputs.model))
        if inputs.model.hf_revision:
            version = HUB_MODEL_VERSION
        else:
            del arch["hf_revision"]  # a config's model stays readable by gpuplanners before the Hub
        for name, default in _LATER_ARCH_FIELDS.items():  # and by gpuplanners before these fields
            if arch[name] == default:
                del arch[name]
        values["model"] = {"arch": arch}
    gpu = (gpus or {}).get(inputs.gpu)
    if inputs.gpu and gpu is not None and gpu.measured:
        values["gpu"] = {"spec": _plain(asdict(gpu))}
        version = max(version, MEASURED_GPU_VERSION)
    if inputs.interconnect == "measured" and measured_links is not None:
        values["interconnect"] = {"measured": _plain(asdict(measured_links))}
        version = max(version, MEASURED_LINKS_VERSION)
    return {"format": FORMAT, "version": version, "inputs": values}


def _plain(values):
    """NaN (unknown) as null, so the file is plain JSON."""
    if isinstance(values, dict):
        return {k: _plain(v) for k, v in values.items()}
    return None if isinstance(values, float) and math.isnan(values) else values


def plan_from_dict(doc, where: str = "the plan") -> PlanDocument:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PlanFileError(f"{where} is not a gpuplanner plan (no \"format\": \"{FORMAT}\").")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
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
        values["model"] = _record(ModelArch, _named_positions(values["model"]), "arch", where, "model",
                                  "model architecture")
    elif not isinstance(values.get("model", ""), str):
        raise PlanFileError(f"{where} has a model that is neither a preset name nor an architecture.")
    measured_gpu = None
    if isinstance(values.get("gpu"), dict) and version >= MEASURED_GPU_VERSION:
        measured_gpu = _record(GpuSpec, values["gpu"], "spec", where, "GPU", "measured GPU")
        if not measured_gpu.measured:
            raise PlanFileError(f"{where} stores a GPU that is not marked measured; a plan stores only "
                                "GPUs measured by the benchmark, catalog GPUs by name.")
        unknown = sorted(set(measured_gpu.peak_flops) - set(PEAK_COLUMNS))
        if unknown:
            raise PlanFileError(f"{where} has a measured GPU with unknown dtypes: {', '.join(unknown)}.")
        values["gpu"] = measured_gpu.name
    measured_links = None
    if isinstance(values.get("interconnect"), dict) and version >= MEASURED_LINKS_VERSION:
        try:
            measured_links = _record(MeasuredLinks, values["interconnect"], "measured", where, "interconnect",
                                     "measured interconnect")
        except InputError as e:
            raise PlanFileError(f"{where} has measured link bandwidths that cannot be used: {e.message}") from None
        values["interconnect"] = "measured"
    try:
        return PlanDocument(PlanInputs(**values).validated(), measured_gpu, measured_links)
    except InputError as e:
        raise PlanFileError(f"{where} has a bad value for {e.field}: {e.message}") from None
    except (TypeError, ValueError, ArithmeticError) as e:  # a value of the wrong type
        raise PlanFileError(f"{where} has inputs of the wrong type: {e}") from None


def _named_positions(model: dict) -> dict:
    """Plans saved before the position scheme had a name say `learned_positions: true/false`."""
    arch = model.get("arch")
    if not isinstance(arch, dict) or "learned_positions" not in arch:
        return model
    arch = dict(arch)
    arch.setdefault("positions", "learned" if arch.pop("learned_positions") else "rope")
    return {**model, "arch": arch}


_TYPES: dict[str, type | tuple[type, ...]] = {"int": int, "float": (int, float), "str": str, "bool": bool,
                                              "dict": dict, "tuple[str, ...]": tuple}
# ModelArch fields added after plan version 3 was written: left out of a plan at their default
_LATER_ARCH_FIELDS = {"layer_types": (), "attention_sinks": False, "checkpoint_quantization": ""}


def _record(cls, holder: dict, key: str, where: str, noun: str, what: str):
    """A ModelArch or GpuSpec from ``holder[key]``, each field type-checked; null floats are NaN
    (also inside a dict of floats, the GPU's peaks)."""
    values = holder.get(key)
    if not isinstance(values, dict):
        raise PlanFileError(f"{where} has a {noun} without a \"{key}\" object.")
    values = dict(values)
    for f in fields(cls):
        value = values.get(f.name)
        if f.type == "float" and f.name in values and value is None:
            values[f.name] = math.nan
        elif f.type == "dict" and isinstance(value, dict):
            values[f.name] = {k: math.nan if v is None else v for k, v in value.items()}
        elif f.type == "tuple[str, ...]" and isinstance(value, list):  # JSON has lists
            values[f.name] = tuple(value)
    try:
        record = cls(**values)
    except TypeError as e:
        raise PlanFileError(f"{where} has a {what} that cannot be read: {e}") from None
    for f in fields(cls):
        value = getattr(record, f.name)
        if not _has_type(value, str(f.type)):  # annotations are strings (from __future__ import annotations)
            raise PlanFileError(f"{where} has a {what} with a bad {f.name}: {value!r}.")
    return record


def _has_type(value, type_name: str) -> bool:
    if type_name == "dict":  # a dict of floats by name
        return isinstance(value, dict) and all(isinstance(k, str) and _has_type(v, "float") for k, v in value.items())
    if type_name == "tuple[str, ...]":
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    if type_name in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[type_name])


def load_plan(path) -> PlanDocument:
    """Read through core.safe_io: regular files only, a size cap, bounded nesting, finite numbers."""
    path = Path(path)
    try:
        doc = safe_io.load_json(path, max_bytes=PLAN_MAX_BYTES)
    except safe_io.UnsafeFileError as e:
        field = f", field {e.column}," if e.column else ""
        raise PlanFileError(f"{path.name}{field} {e.message}.") from None
    return plan_from_dict(doc, path.name)


def save_plan(path, inputs: PlanInputs, gpus: Mapping[str, GpuSpec] | None = None,
              measured_links: MeasuredLinks | None = None) -> None:
    """Write atomically (core.atomic): a crash or a full disk never leaves half a plan. ``gpus``
    and ``measured_links`` as for plan_to_dict."""
    path = Path(path)
    text = json.dumps(plan_to_dict(inputs, gpus, measured_links), indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        atomic_write_text(path, text)
    except WriteError as e:
        raise PlanFileError(f"{path.name} cannot be saved: {e.reason}") from None
