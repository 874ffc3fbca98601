"""`.gpuplan` files in core: validation, a loaded architecture and a measured GPU stored whole,
the lowest version that holds a plan, and version-1 files still read."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.catalogs import GpuSpec
from gpuplanner.core.model import synthesize
from gpuplanner.core.planfile import (
    MEASURED_GPU_VERSION,
    PlanDocument,
    PlanFileError,
    load_plan,
    plan_to_dict,
    save_plan,
)

CATALOGS = load_catalogs()
MEASURED = GpuSpec(name="This machine", full_name="AMD EPYC 7B13 (measured)", memory_bytes_reported=24 * 2**30,
                   memory_gb_marketing=25.769803776, bandwidth_bytes_per_s=30e9,
                   peak_flops={"fp32": 0.19e12, "bf16": 0.41e12, "fp8": math.nan}, tdp_w=math.nan,
                   interconnect="", source="gpuplanner micro-benchmark on AMD EPYC 7B13", as_of="2026-11-21",
                   notes="achieved figures", measured=True)
ON_MACHINE = PlanInputs(model="gpt2", mode="infer", precision="fp32", instance="", gpu="This machine")


def _write(tmp_path, doc) -> str:
    path = tmp_path / "p.gpuplan"
    path.write_text(json.dumps(doc))
    return str(path)


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
    assert plan_to_dict(load_plan(tmp_path / "arch.gpuplan").inputs) == plan_to_dict(inputs)


def test_save_is_atomic_and_reports_unwritable_folders(tmp_path):
    target = tmp_path / "p.gpuplan"
    target.write_text("old")
    save_plan(target, PlanInputs(seq_len=123))
    assert json.loads(target.read_text()) == plan_to_dict(PlanInputs(seq_len=123))
    with pytest.raises(PlanFileError, match="cannot be saved"):
        save_plan(tmp_path / "missing-folder" / "p.gpuplan", PlanInputs())


def test_a_measured_gpu_is_stored_whole_and_reopens(tmp_path):
    gpus = CATALOGS.with_gpu(MEASURED).gpus
    save_plan(tmp_path / "m.gpuplan", ON_MACHINE, gpus)
    text = (tmp_path / "m.gpuplan").read_text()
    stored = json.loads(text)
    assert stored["version"] == MEASURED_GPU_VERSION and "NaN" not in text
    assert stored["inputs"]["gpu"]["spec"]["peak_flops"] == {"fp32": 0.19e12, "bf16": 0.41e12, "fp8": None}
    doc = load_plan(tmp_path / "m.gpuplan")
    assert doc.inputs == ON_MACHINE and doc.measured_gpu.measured and math.isnan(doc.measured_gpu.peak("fp8"))
    catalogs = doc.catalogs(CATALOGS)  # a machine that never ran the benchmark
    assert plan_to_dict(doc.inputs, catalogs.gpus) == stored
    result = estimate(doc.inputs, catalogs)
    assert result.gpu_name == "This machine" and result.fits


def test_a_plan_on_catalog_hardware_stays_version_1(tmp_path):
    save_plan(tmp_path / "p.gpuplan", PlanInputs(gpu="H100", instance=""), CATALOGS.with_gpu(MEASURED).gpus)
    assert json.loads((tmp_path / "p.gpuplan").read_text())["version"] == 1  # older gpuplanners still open it
    assert load_plan(tmp_path / "p.gpuplan") == PlanDocument(PlanInputs(gpu="H100", instance=""))
    assert plan_to_dict(ON_MACHINE)["inputs"]["gpu"] == "This machine"  # no catalog given: the name only


def _with_spec(**changes) -> dict:
    doc = plan_to_dict(ON_MACHINE, {"This machine": MEASURED})
    doc["inputs"]["gpu"]["spec"].update(changes)
    return doc


@pytest.mark.parametrize("doc, message", [
    (_with_spec(measured=False), "not marked measured"),
    (_with_spec(peak_flops={"fp64": 1e12}), "unknown dtypes: fp64"),
    (_with_spec(peak_flops={"fp32": "fast"}), "measured GPU with a bad peak_flops"),
    (_with_spec(memory_bytes_reported="24 GiB"), "measured GPU with a bad memory_bytes_reported"),
    (_with_spec(colour="red"), "measured GPU that cannot be read"),
    ({**_with_spec(), "version": 1}, "bad value for gpu"),  # version 1 has no stored GPU
    ({"format": "gpuplanner-plan", "version": 2, "inputs": {"gpu": {"name": "x"}}}, "GPU without a \"spec\""),
])
def test_a_bad_measured_gpu_is_refused_by_name(tmp_path, doc, message):
    with pytest.raises(PlanFileError, match=message):
        load_plan(_write(tmp_path, doc))


def test_a_measured_gpu_never_replaces_a_catalog_datasheet(tmp_path):
    doc = load_plan(_write(tmp_path, _with_spec(name="H100")))
    with pytest.raises(PlanFileError, match="p.gpuplan has a measured GPU called 'H100', like a catalog GPU"):
        doc.catalogs(CATALOGS, "p.gpuplan")
    measured_later = CATALOGS.with_gpu(replace(MEASURED, as_of="2027-01-01"))
    reopened = load_plan(_write(tmp_path, _with_spec())).catalogs(measured_later)
    assert reopened.gpus["This machine"].as_of == "2026-11-21"  # the plan's own measurement wins


def test_a_plan_saved_with_the_old_position_flag_still_opens(tmp_path):
    """Plans written before `positions` named the scheme stored learned_positions: true/false."""
    from gpuplanner.core.model import synthesize
    doc = plan_to_dict(PlanInputs(model=synthesize(3e9, name="mine")))
    arch = doc["inputs"]["model"]["arch"]
    del arch["positions"]
    arch.update(learned_positions=True, max_positions=1024)
    (tmp_path / "old.gpuplan").write_text(json.dumps(doc))
    assert load_plan(tmp_path / "old.gpuplan").inputs.model.positions == "learned"


def test_an_inconsistent_architecture_in_a_plan_is_refused(tmp_path):
    from gpuplanner.core.model import synthesize
    doc = plan_to_dict(PlanInputs(model=synthesize(3e9, name="mine")))
    doc["inputs"]["model"]["arch"]["n_heads"] = 0
    (tmp_path / "bad.gpuplan").write_text(json.dumps(doc))
    with pytest.raises(PlanFileError, match="num_attention_heads"):
        load_plan(tmp_path / "bad.gpuplan")
