"""The training search's shortcuts give the answers of the breakdown they stand for: its fit test
reads the quick total of zero_terms and defers to TrainingSetup.breakdown only near the usable
bytes, and billed by the instance it skips layouts that cannot change the plan. Checked against
the breakdown itself, not against the search."""
import itertools
import math

import pytest

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.parallelism import _ROUNDING, MAX_DP, _Fit, _quick_total, fits_memory, search_space
from gpuplanner.core.pricing import resolve_hardware
from gpuplanner.core.result import Layout
from gpuplanner.core.tuning import setup_for
from gpuplanner.core.units import GIB

CATALOGS = load_catalogs()
MODELS = ("llama-2-7b", "mixtral-8x7b-v0.1", "deepseek-v3")
FRAMEWORKS = ("zero", "fsdp", "megatron")
NO_FIXED = {"dp": 0, "tp": 0, "pp": 0, "ep": 0, "zero": -1}


def _setups():
    for model, fw, method in itertools.product(MODELS, FRAMEWORKS, ("full", "lora")):
        inputs = PlanInputs(model=model, framework=fw, train_method=method, seq_len=4096)
        yield inputs, setup_for(inputs, CATALOGS.models[model], "none", 1)


def _layouts(setup):
    tps, pps, eps, zeros = search_space(setup, 8, NO_FIXED)
    for t, p, e, z in itertools.product(tps, pps[::3], eps[::2], zeros):
        for dp in (1, 3, 64, 1000):
            yield Layout(dp * e, t, p, e, z)


def test_quick_total_is_the_breakdown_total_to_rounding():
    """The margin the fit test allows (_ROUNDING) is far above what the two totals differ by."""
    worst = 0.0
    for inputs, setup in _setups():
        for lay in _layouts(setup):
            phases = setup.zero_terms(lay.tp, lay.pp, lay.ep)[lay.zero_stage]
            quick = _quick_total(phases, lay.dp, inputs.overhead_bytes, 1 + inputs.fragmentation)
            total = setup.breakdown(lay, inputs.overhead_bytes, inputs.fragmentation).total
            worst = max(worst, abs(quick - total) / total)
    assert worst < _ROUNDING / 100


def test_fit_test_is_fits_memory_of_the_breakdown_at_the_threshold():
    """With the usable bytes at a layout's own total (and a hair either side), where the quick
    total cannot decide, the fit test answers what fits_memory of the breakdown answers."""
    decided = 0
    for inputs, setup in _setups():
        overhead, frag = inputs.overhead_bytes, inputs.fragmentation
        for lay in itertools.islice(_layouts(setup), 0, None, 7):
            total = setup.breakdown(lay, overhead, frag).total
            phases = setup.zero_terms(lay.tp, lay.pp, lay.ep)[lay.zero_stage]
            quick = _quick_total(phases, lay.dp, overhead, 1 + frag)
            for usable in (total, total / (1 + 1e-9), total / (1 + 1e-9) * (1 - 1e-15), total * (1 - 1e-6)):
                fit = _Fit(setup, usable, overhead, frag)
                c = (lay.dp, lay.tp, lay.pp, lay.ep, lay.zero_stage)
                assert fit(quick, c) == fits_memory(total, usable), (lay, usable)
                decided += 1
    assert decided > 100


@pytest.mark.parametrize("model", MODELS)
def test_billed_plan_has_no_rival_on_fewer_instances(model):
    """Billed by the instance (the search skips layouts of more GPUs than the fewest instances
    found hold), no layout of the search's own degrees and stages fits, by the breakdown, on
    fewer instances than the plan, for every instance size of a few GPUs."""
    instances = [i for i in CATALOGS.instances.values() if i.gpu in ("H100", "A100-80GB", "L4", "A10G")]
    assert instances
    for inst, precision in itertools.product(instances, ("bf16", "fp8")):
        inputs = PlanInputs(model=model, instance=inst.instance_type, gpu="", precision=precision,
                            training_tokens=2e12)
        r = estimate(inputs, CATALOGS, explain=False)
        if not r.fits:
            continue
        setup = setup_for(inputs, CATALOGS.models[model], r.recompute, 1)
        hw = resolve_hardware(inputs, CATALOGS)
        per = hw.gpus_per_instance
        fewer = (math.ceil(r.gpus / per) - 1) * per  # GPUs of one instance fewer
        tps, pps, eps, zeros = search_space(setup, hw.max_tp, NO_FIXED)
        for t, p, e, z in itertools.product(tps, pps, eps, zeros):
            dp = min(fewer // (t * p) // e * e, MAX_DP)
            if dp < e:
                continue
            rival = setup.breakdown(Layout(dp, t, p, e, z), inputs.overhead_bytes, inputs.fragmentation)
            assert not fits_memory(rival.total, r.usable_bytes), (
                f"{inst.instance_type} {precision}: TP{t} PP{p} EP{e} DP{dp} ZeRO-{z} fits on {fewer} GPUs "
                f"({rival.total / GIB:.2f} GiB of {r.usable_bytes / GIB:.2f}) but the plan is {r.layout.describe()}")
