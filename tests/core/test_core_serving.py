"""The serving model (core.serving): step physics, steady states, service levels, and how the
plan uses them."""
import importlib
import math
from dataclasses import replace

import pytest

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import serving_model
from gpuplanner.core.links import links_for
from gpuplanner.core.model import sizes
from gpuplanner.core.serving import CHUNK_TOKENS, EFFICIENCY, SEARCH_TOLERANCE, Load, Replica, ServingModel

CATALOGS = load_catalogs()
H100 = CATALOGS.gpus["H100"]
LLAMA8 = CATALOGS.models["llama-3.1-8b"]
SEARCH = importlib.import_module("gpuplanner.core.estimate")  # the module (its name is also a function's)


def replica(tp=1, gpus_per_instance=8, network=math.nan, **kw):
    base = dict(dense_weight_bytes=16e9, expert_weight_bytes=0.0, kv_bytes_per_token=131072.0,
                peak_flops=H100.peak("bf16"), mbu=0.7, compute_efficiency=0.7, step_s=0.001)
    base.update(kw)
    links = replace(links_for(H100, None, gpus_per_instance), network_bytes_per_s=network)
    return Replica(LLAMA8, H100, tp, 1, 1, links=links, **base)


def test_a_small_decode_step_is_bytes_over_bandwidth_plus_the_fixed_cost():
    r = replica()
    expected = (16e9 + 1000 * 131072) / (3350e9 * 0.7) + 0.001
    assert r.step(1, 0, 1000) == pytest.approx(expected)


def test_a_large_prompt_chunk_is_compute_bound():
    r = replica()
    chunk = r.step(0, CHUNK_TOKENS, 2048)
    assert chunk > 20 * r.step(1, 0, 2048)  # far above the weight read


def test_tensor_parallel_traffic_costs_more_over_the_network_than_over_nvlink():
    inside = replica(tp=8, gpus_per_instance=8)
    across = replica(tp=8, gpus_per_instance=4, network=400e9 / 8)
    assert replica(tp=1).comm_s(64) == 0
    assert 0 < inside.comm_s(64) < across.comm_s(64)


def test_gemms_and_decode_attention_are_two_rooflines_in_turn():
    """At a batch whose GEMMs are compute-bound, the KV read still adds its own time: the
    attention kernels run after the GEMMs, not under them."""
    r = replica(step_s=0.0)
    b, context = 2048, 4000
    gemm_s = b * 2.0 * sizes(LLAMA8).matmul_active / (H100.peak("bf16") * 0.7)
    kv_s = b * context * 131072.0 / (3350e9 * 0.7)
    assert gemm_s > 16e9 / (3350e9 * 0.7)  # compute-bound GEMMs
    assert r.step(b, 0, context) == pytest.approx(gemm_s + kv_s)


def test_every_tensor_rank_reads_the_whole_mla_latent():
    """Heads split over tensor ranks split the KV read; MLA's latent is read whole by each rank."""
    ds = CATALOGS.models["deepseek-v3"]

    def kv_time(arch, tp):
        r = Replica(arch, H100, tp, 1, 1, dense_weight_bytes=0.0, expert_weight_bytes=0.0, kv_bytes_per_token=1e5,
                    peak_flops=1e30, mbu=0.7, compute_efficiency=0.7, step_s=0.0,
                    links=links_for(H100, None, 8))
        return r.step(64, 0, 1000) - r.comm_s(64)
    assert kv_time(LLAMA8, 8) == pytest.approx(kv_time(LLAMA8, 1) / 8)
    assert kv_time(ds, 8) == pytest.approx(kv_time(ds, 1))


def test_a_collective_costs_nccls_latency_for_small_buffers():
    r = replica(tp=2)
    assert r.comm_s(0) == pytest.approx(2 * LLAMA8.n_layers * r.links.collective_latency_s(2, "ll"))
    ds = CATALOGS.models["deepseek-v3"]
    wide = Replica(ds, H100, 1, 1, 16, dense_weight_bytes=1e9, expert_weight_bytes=1e9, kv_bytes_per_token=1e5,
                   peak_flops=1e15, mbu=0.7, compute_efficiency=0.7, step_s=0.0, links=links_for(H100, None, 8))
    # dispatch and combine per MoE layer, each a send to every other GPU of the group
    assert wide.comm_s(0) == pytest.approx(2 * ds.moe_layers * wide.links.collective_latency_s(16, "ll", "all_to_all"))


def model(**load):
    return ServingModel(replica(), Load(**{"prompt_tokens": 2048, "output_tokens": 256, **load}), max_concurrency=256)


def test_steady_state_obeys_littles_law():
    point = model().at_rate(5.0)
    assert point.requests_per_s == pytest.approx(5.0, rel=SEARCH_TOLERANCE)
    assert point.concurrency == pytest.approx(point.requests_per_s * (point.ttft_s + 256 * point.tpot_s))


def test_more_load_means_slower_tokens_and_later_first_tokens():
    m = model()
    low, high = m.at_rate(1.0), m.at_rate(20.0)
    assert high.tpot_s > low.tpot_s and high.ttft_s > low.ttft_s and high.concurrency > low.concurrency


def test_capacity_keeps_every_service_level():
    m = model()
    free = m.capacity()
    floor = m.capacity(min_tokens_per_s_per_user=40.0)
    target = m.capacity(ttft_target_s=0.3)
    assert floor.decode_tokens_per_s_per_user >= 40.0 and floor.requests_per_s < free.requests_per_s
    assert target.ttft_s <= 0.3 and target.requests_per_s <= free.requests_per_s * (1 + SEARCH_TOLERANCE)
    assert free.concurrency <= 256
    assert not m.capacity(min_tokens_per_s_per_user=1e6).within  # out of reach even idle


def test_prefix_cache_hits_shorten_the_first_token():
    assert model(prefix_hit_rate=0.8).at_rate(2.0).ttft_s < model().at_rate(2.0).ttft_s


def test_closed_loop_trades_interactivity_for_throughput():
    m = model()
    points = [m.closed_loop(u) for u in (1, 8, 64, 256)]
    speeds = [p.decode_tokens_per_s_per_user for p in points]
    totals = [p.requests_per_s for p in points]
    assert speeds == sorted(speeds, reverse=True) and totals == sorted(totals)
    assert m.max_throughput().concurrency == 256


def test_the_plan_reports_its_figures_at_the_requested_concurrency():
    inputs = PlanInputs(model="llama-3.1-8b", mode="infer", instance="p5.48xlarge", concurrency=32)
    r = estimate(inputs, CATALOGS)
    point = serving_model(inputs, CATALOGS).closed_loop(32)
    assert r.ttft_s == pytest.approx(point.ttft_s) and r.tpot_s == pytest.approx(point.tpot_s)
    assert r.decode_tokens_per_s_per_user == pytest.approx(1 / r.tpot_s)
    assert r.max_throughput_tokens_per_s >= r.decode_tokens_per_s_total
    assert r.to_dict()["max_throughput_concurrency"] == r.max_batch


def test_a_first_token_target_needs_a_bigger_fleet():
    base = dict(model="llama-3.1-70b", mode="infer", instance="p5.48xlarge", requests_per_s=20, prompt_tokens=8000)
    loose = estimate(PlanInputs(**base), CATALOGS, explain=False)
    tight = estimate(PlanInputs(**base, max_ttft_s=1.0), CATALOGS, explain=False)
    assert tight.meets_slo and tight.fleet_capacity_requests_per_s > 0
    assert tight.monthly_cost_usd > loose.monthly_cost_usd


def test_fitted_efficiencies_are_physical():
    for eff in EFFICIENCY.values():
        assert 0 < eff.compute <= 1 and 0 <= eff.step_s < 0.05 and 0 <= eff.layer_step_s < 0.05 / 32 and eff.step_s + eff.layer_step_s > 0 and 0 <= eff.tp_loss < 1 and eff.source


@pytest.mark.parametrize("model,precision,instance", [
    ("llama-3.1-70b", "bf16", "p5.48xlarge"), ("deepseek-v3", "fp8", "g6.xlarge"),
    ("mixtral-8x7b-v0.1", "bf16", "g6e.12xlarge")])
@pytest.mark.parametrize("floor", [0.0, 5.0, 20.0, 60.0])
def test_the_pruning_bound_never_undercuts_the_capacity(model, precision, instance, floor):
    """The search skips layouts by this bound, so it must be an upper bound (MoE steps grow in
    jumps as a batch touches more experts, which a straight-line argument would miss)."""
    m = serving_model(PlanInputs(model=model, mode="infer", precision=precision, instance=instance), CATALOGS)
    capacity = m.capacity(min_tokens_per_s_per_user=floor)
    assert capacity.requests_per_s <= m.rate_upper_bound(floor) * (1 + 1e-9)


@pytest.mark.parametrize("model,precision,instance", [
    ("llama-3.1-70b", "bf16", "p5.48xlarge"), ("deepseek-v3", "fp8", "g6.xlarge"),
    ("mixtral-8x7b-v0.1", "bf16", "g6e.12xlarge"), ("deepseek-v3", "fp8", "p5en.48xlarge")])
@pytest.mark.parametrize("floor", [0.0, 5.0, 20.0, 60.0])
def test_a_rate_out_of_reach_is_above_the_capacity(model, precision, instance, floor):
    """The search rules layouts out when they cannot reach the rate they need: a rate the
    capacity carries is never out of reach, and one far above it is shown to be."""
    m = serving_model(PlanInputs(model=model, mode="infer", precision=precision, instance=instance), CATALOGS)
    capacity = m.capacity(min_tokens_per_s_per_user=floor).requests_per_s
    for share in (0.5, 0.99, 1.0):
        assert not m.out_of_reach(capacity * share, floor)
    assert capacity == 0 or m.out_of_reach(capacity * 10.0, floor)


@pytest.mark.parametrize("model,precision,instance,changes", [
    ("llama-3.1-70b", "bf16", "p5.48xlarge", {}), ("deepseek-v3", "fp8", "p5.48xlarge", {}),
    ("mixtral-8x7b-v0.1", "bf16", "g6e.12xlarge", {"requests_per_s": 20.0, "max_ttft_s": 1.0}),
    ("mixtral-8x7b-v0.1", "int4", "g6.xlarge", {"min_tokens_per_s_per_user": 60.0}),
    ("llama-3.1-70b", "fp8", "g6e.12xlarge", {"min_tokens_per_s_per_user": 1e4})])  # nothing keeps the floor
def test_pruning_never_changes_the_chosen_replica(model, precision, instance, changes):
    """The search skips layouts whose rate bounds cannot beat the best so far; evaluating every
    layout it could try, in the same order, must choose the same replica and fleet."""
    est = SEARCH  # the private search, to compare it with no pruning
    inputs = PlanInputs(model=model, mode="infer", precision=precision, instance=instance, **changes).validated()
    ctx = est._context(inputs, CATALOGS)
    setup, fitting, _, _ = est._inference_search(ctx)
    replica_model = est._replica_models(ctx, setup)
    every = [est._serving(deeper, ctx, replica_model) for cand in sorted(fitting, key=lambda c: c.layout.gpus)
             for deeper in est._deepening(cand, ctx, setup)]
    exhaustive = min(every, key=est._Serving.key)  # min keeps the first of equal keys, as the search does
    chosen = est._best_serving(ctx, setup, fitting)
    assert (chosen.candidate.layout, chosen.fleet, chosen.capacity) == \
        (exhaustive.candidate.layout, exhaustive.fleet, exhaustive.capacity)


def test_a_rack_scale_nvlink_domain_keeps_wide_groups_on_nvlink_across_instances():
    """GB200 NVL72: 4-GPU trays, one 72-GPU NVLink domain; an 8-GPU HGX board stops at 8."""
    from gpuplanner.core.catalogs import Instance
    tray = Instance("aws", "rack", "GB200", 4, 1.0, 1.0, "", "", "", network_bytes_per_s=400e9 / 8,
                    nvlink_domain_gpus=72)
    rack = links_for(H100, tray, 4)
    hgx = links_for(H100, None, 8)
    assert rack.bytes_per_s(64) == hgx.bytes_per_s(8) == H100.nvlink_bytes_per_s / 2
    assert not rack.crosses_network(72) and rack.crosses_network(73)
    assert hgx.bytes_per_s(16) < hgx.bytes_per_s(8) and hgx.crosses_network(16)


def test_multi_step_scheduling_makes_a_prompt_wait_for_the_pass_in_flight():
    """vLLM's --num-scheduler-steps N admits new prompts only between passes of N decode steps: a
    prompt waits half a pass instead of half a step; the steps themselves are unchanged."""
    multi = ServingModel(replica(scheduler_steps=10), Load(2048, 256), max_concurrency=256)
    for x in (0.0, 0.02, 0.2):
        one, ten = model().at_x(x), multi.at_x(x)
        assert ten.tpot_s == one.tpot_s and ten.requests_per_s == one.requests_per_s
        assert ten.ttft_s - one.ttft_s == pytest.approx(0.5 * 9 * one.tpot_s)


def test_a_prefill_apart_from_decoding_stalls_every_sequence():
    """Without mixed batches (SGLang's default; vLLM before V1) a prefill is a step of its own that
    every decoding sequence waits through: the time per output token is the decode step plus the
    prefill steps that fall to each decode step, more than the mixed step at the same rate."""
    apart = ServingModel(replica(mixed_prefill=False), Load(2048, 256), max_concurrency=256)
    r, context = apart.replica, 2048 + 128
    prefill = r.step(0, 2048, context)
    for x in (0.0, 0.5):  # one prompt per prefill step
        point = apart.at_x(x)
        assert point.tpot_s == pytest.approx(r.step(256 * x, 0, context) + x * prefill)
        assert point.ttft_s >= prefill
    batched = apart.at_x(2.0)  # two prompts per decode step: prefilled together, one weight read
    assert batched.tpot_s == pytest.approx(r.step(512, 0, context) + r.step(0, 4096, context))
    assert apart.at_rate(5.0).tpot_s > model().at_rate(5.0).tpot_s
    assert apart.max_throughput().requests_per_s < model().max_throughput().requests_per_s


@pytest.mark.parametrize("floor", [0.0, 20.0, 60.0])
def test_the_search_bounds_hold_for_a_prefill_apart(floor):
    """The mixed step is a lower bound of the step a prefill apart adds up to: the rate bounds
    the search prunes with stay bounds."""
    inputs = PlanInputs(model="llama-3.1-70b", mode="infer", instance="p5.48xlarge", mixed_prefill=False)
    m = serving_model(inputs, CATALOGS)
    assert not m.replica.mixed_prefill
    capacity = m.capacity(min_tokens_per_s_per_user=floor).requests_per_s
    assert capacity <= m.rate_upper_bound(floor) * (1 + 1e-9)
    assert not m.out_of_reach(capacity, floor) and (capacity == 0 or m.out_of_reach(capacity * 10.0, floor))


def test_the_engines_cap_on_running_sequences_limits_the_batch():
    inputs = PlanInputs(model="llama-3.1-8b", mode="infer", gpu="H100", tp=1, pp=1, ep=1, min_tokens_per_s_per_user=0.0)
    free, capped = serving_model(inputs, CATALOGS), serving_model(inputs.with_(max_num_seqs=64), CATALOGS)
    assert free.max_concurrency > 64 == capped.max_concurrency
    assert capped.max_throughput().concurrency == 64
    assert capped.max_throughput().requests_per_s < free.max_throughput().requests_per_s
    flags = estimate(inputs.with_(max_num_seqs=64), CATALOGS).engine_flags
    assert "--max-num-seqs 64" in flags["vllm"].command and "--max-running-requests 64" in flags["sglang"].command


@pytest.mark.parametrize("field,value", [("max_num_seqs", -1), ("scheduler_steps", 0), ("mixed_prefill", "no")])
def test_engine_scheduler_inputs_are_checked(field, value):
    with pytest.raises(InputError) as e:
        PlanInputs(mode="infer", **{field: value}).validated()
    assert e.value.field == field
