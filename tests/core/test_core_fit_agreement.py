"""The layout search and the memory breakdown are one figure (issue 10: in FSDP mode at ZeRO-3
the search once counted the bf16 weights the breakdown showed as 0, and rejected the NeMo
AutoModel gpt-oss layouts). Over models × frameworks × ZeRO stages × recomputation × offload ×
GPUs: a plan that fits shows a breakdown within the usable memory, and no layout the search
walks (its own degrees and stages) fits, by that same breakdown, on fewer GPUs than the plan,
or at all when the plan says nothing fits. The data-parallel degree of each rival layout is the
largest under the plan's GPUs, found here by plain division, not by the search's closed form."""
import itertools

import pytest

from gpuplanner.core import InputError, PlanInputs, estimate, load_catalogs
from gpuplanner.core.accuracy import Plans, predict
from gpuplanner.core.frameworks import FRAMEWORKS, framework
from gpuplanner.core.ledger import load_cases, model_for
from gpuplanner.core.parallelism import MAX_DP, fits_memory, search_space
from gpuplanner.core.pricing import resolve_hardware
from gpuplanner.core.result import Layout
from gpuplanner.core.tuning import setup_for

CATALOGS = load_catalogs()
GPT_OSS_20B = model_for("GPT-OSS 20B")  # the model, read from its config by the ledger
MODELS = ("llama-2-7b", "llama-2-70b", "mixtral-8x7b-v0.1", GPT_OSS_20B)
OFFLOADS = (("none", "none"), ("cpu", "none"), ("cpu", "cpu"))  # (optimizer, parameters)


def _arch(model):
    return CATALOGS.models[model] if isinstance(model, str) else model


def _check(inputs: PlanInputs) -> None:
    r = estimate(inputs, CATALOGS, explain=False)
    arch, usable = _arch(inputs.model), r.usable_bytes
    setup = setup_for(inputs, arch, r.recompute, r.micro_batch)
    fixed = {"dp": 0, "tp": 0, "pp": 0, "ep": 0, "zero": inputs.zero_stage}
    if r.fits:
        assert r.breakdown_bytes == setup.breakdown(r.layout, inputs.overhead_bytes, inputs.fragmentation)
        assert fits_memory(r.breakdown_bytes.total, usable)
    else:
        assert not fits_memory(r.breakdown_bytes.total, usable)
    tps, pps, eps, zeros = search_space(setup, resolve_hardware(inputs, CATALOGS).max_tp, fixed)
    for t, p, e, z in itertools.product(tps, pps, eps, zeros):
        dp = (r.gpus - 1) // (t * p) // e * e if r.fits else MAX_DP // e * e
        if dp < e:
            continue
        rival = setup.breakdown(Layout(dp, t, p, e, z), inputs.overhead_bytes, inputs.fragmentation)
        assert not fits_memory(rival.total, usable), (
            f"TP{t} PP{p} EP{e} DP{dp} ZeRO-{z} fits ({rival.total / 2**30:.2f} GiB of {usable / 2**30:.2f}) "
            f"but the plan is {r.layout.describe() if r.fits else 'nothing fits'}")


def _grid(fw: str):
    for zero, recompute, (opt, params) in itertools.product(framework(fw).zero_stages, ("none", "selective", "full"),
                                                             OFFLOADS):
        if params != "none" and zero != 3:
            continue  # parameter offload is a ZeRO-3 option
        yield dict(framework=fw, zero_stage=zero, recompute=recompute, offload_optimizer=opt, offload_params=params)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m if isinstance(m, str) else m.name)
@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_search_and_breakdown_agree(model, fw):
    for case, gpu in itertools.product(_grid(fw), ("H100", "L4")):
        _check(PlanInputs(model=model, gpu=gpu, instance="", seq_len=2048, micro_batch=1, **case))


@pytest.mark.parametrize("fw", ("fsdp", "torchtune", "deepspeed"))
def test_grown_micro_batch_and_lora_agree(fw):
    """The auto micro-batch is grown by the same breakdown; LoRA's frozen base too."""
    for model, method in itertools.product(("llama-2-7b", GPT_OSS_20B), ("full", "lora")):
        _check(PlanInputs(model=model, gpu="H100", instance="", seq_len=2048, framework=fw, train_method=method))


def test_fsdp_zero3_moe_expert_degree_shrinks_the_gathered_block():
    """FSDP gathers one block of the experts an expert-parallel rank holds: at ZeRO-3 a larger
    expert degree needs less memory, so the search must try it (it once skipped e > 1 at ZeRO-3
    as if only the data-parallel degree changed)."""
    setup = setup_for(PlanInputs(framework="fsdp"), GPT_OSS_20B, "full", 1)
    one, eight = (setup.breakdown(Layout(64, 1, 1, e, 3), 0, 0) for e in (1, 8))
    assert eight.buffers < one.buffers and eight.total < one.total


def test_the_automodel_gpt_oss_rows_are_predicted():
    """The ledger's NeMo AutoModel gpt-oss rows (FSDP2 = ZeRO-3) fit on the GPUs they ran on,
    with no 16-bit weights held whole."""
    plans = Plans(CATALOGS)
    rows = [c for c in load_cases() if c.dataset == "nemo_throughput" and c.model.startswith("GPT-OSS")]
    assert len(rows) == 2
    for case in rows:
        assert predict(case, plans).ok
        r = plans.result(case.inputs)
        assert r.fits and r.breakdown_bytes.weights == 0 and r.gpus == case.inputs.dp


@pytest.mark.parametrize("model", ("deepseek-v3", model_for("GPT-OSS 120B")), ids=("deepseek-v3", "gpt-oss-120b"))
def test_large_moe_under_fsdp_agree(model):
    """Large mixtures of experts, where FSDP's gathered block is large enough that the expert
    degree decides the fewest GPUs at ZeRO-3."""
    for recompute, gpu in itertools.product(("none", "full"), ("H100", "L4")):
        _check(PlanInputs(model=model, gpu=gpu, instance="", seq_len=2048, micro_batch=1, framework="fsdp",
                          zero_stage=3, recompute=recompute))


@pytest.mark.parametrize("fw", ("hf", "torchtune"))
def test_data_parallel_only_frameworks_have_no_expert_parallelism(fw):
    """HF Trainer (DDP) and torchtune's recipes shard over data-parallel ranks only: the search
    walks no expert degree, and a fixed one is refused naming the field."""
    setup = setup_for(PlanInputs(framework=fw), GPT_OSS_20B, "full", 1)
    assert search_space(setup, 8, {"dp": 0, "tp": 0, "pp": 0, "ep": 0, "zero": -1})[2] == [1]
    with pytest.raises(InputError) as e:
        PlanInputs(model=GPT_OSS_20B, framework=fw, ep=2).validated()
    assert e.value.field == "ep"
