"""The serving frontier (core.frontier), rack-scale NVLink domains and synthesized MoE models."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import serving_frontier
from gpuplanner.core.frontier import FrontierPoint, pareto
from gpuplanner.core.model import sizes, synthesize

CATALOGS = load_catalogs()
NVL72_ROW = ("cloud,instance_type,gpu,gpu_count,price_usd_per_hour,spot_price_usd_per_hour,region,network_gbit_s,"
             "nvlink_domain_gpus,source,as_of\n"
             "test,gb200-nvl72-tray,GB200,4,42.0,,test,400,72,test fixture,2026\n")
MOE_1_8T = dict(model="", params=1.8e12, experts=16, experts_per_token=2, mode="infer", precision="fp4",
                requests_per_s=5.0, min_tokens_per_s_per_user=20.0)


@pytest.fixture(scope="module")
def rack(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "nvl72.csv"
    path.write_text(NVL72_ROW)
    return CATALOGS.with_user_file(path)


def test_a_synthesized_moe_has_the_given_total_and_routes_k_of_e_experts():
    arch = synthesize(1.8e12, "gpt-moe", experts=16, experts_per_token=2)
    assert arch.is_moe and (arch.n_experts, arch.experts_per_token) == (16, 2)
    assert sizes(arch).total == pytest.approx(1.8e12, rel=0.01)
    assert 0.1 < sizes(arch).active / sizes(arch).total < 0.2  # two of sixteen experts plus attention
    assert arch.n_heads % 16 == 0  # heads split over 16 tensor ranks of a rack-scale domain
    with pytest.raises(InputError) as err:
        synthesize(1e9, "x", experts=4, experts_per_token=5)
    assert err.value.field == "experts_per_token"


def test_tensor_parallelism_spans_a_rack_scale_nvlink_domain(rack):
    inputs = PlanInputs(**MOE_1_8T, instance="gb200-nvl72-tray", tp=16)
    r = estimate(inputs, rack)
    assert r.fits and r.layout.tp == 16 and r.gpus_per_instance == 4
    assert not any("crosses" in w or "network" in w for w in r.warnings)  # 16 GPUs: one NVLink domain
    with pytest.raises(InputError) as err:  # an 8-GPU HGX board stops at 8
        estimate(PlanInputs(**MOE_1_8T, instance="p5.48xlarge", tp=16), CATALOGS)
    assert err.value.field == "tp"


def test_the_frontier_is_pareto_and_marks_the_plan(rack):
    for instance, catalogs in (("p5.48xlarge", CATALOGS), ("gb200-nvl72-tray", rack)):
        inputs = PlanInputs(**{**MOE_1_8T, "precision": "fp8"}, instance=instance)
        f = serving_frontier(inputs, catalogs)
        assert f.hardware == instance and len(f.pareto) >= 3
        for q in f.pareto:  # nothing evaluated beats a frontier point on both axes
            assert not any(p.tokens_per_s_per_user > q.tokens_per_s_per_user and
                           p.tokens_per_s_per_gpu > q.tokens_per_s_per_gpu for p in f.points)
        plan = estimate(inputs, catalogs)
        assert (f.chosen.tp, f.chosen.pp, f.chosen.ep) == (plan.layout.tp, plan.layout.pp, plan.layout.ep)
        assert f.chosen.tokens_per_s_per_gpu > 0
    # the rack reaches a per-user speed no 64-GPU HGX layout reaches
    hgx = serving_frontier(PlanInputs(**{**MOE_1_8T, "precision": "fp8"}, instance="p5.48xlarge"), CATALOGS)
    nvl = serving_frontier(PlanInputs(**{**MOE_1_8T, "precision": "fp8"}, instance="gb200-nvl72-tray"), rack)
    assert max(q.tokens_per_s_per_gpu for q in nvl.pareto) > max(q.tokens_per_s_per_gpu for q in hgx.pareto)


def test_no_frontier_when_nothing_fits():
    f = serving_frontier(PlanInputs(model="llama-3.1-405b", mode="infer", precision="bf16", instance="g5.xlarge"),
                         CATALOGS)
    assert f.points == () and f.pareto == () and f.chosen is None


POINTS = st.lists(st.tuples(st.floats(0.1, 1e3), st.floats(0.1, 1e4)), min_size=1, max_size=40)


@given(points=POINTS)
@settings(max_examples=60, deadline=None)
def test_pareto_keeps_exactly_the_undominated_points(points):
    pts = [FrontierPoint(u, g, 1, 1, 1, 1) for u, g in points]
    front = pareto(pts)
    for q in pts:
        dominated = any(p.tokens_per_s_per_user >= q.tokens_per_s_per_user and
                        p.tokens_per_s_per_gpu >= q.tokens_per_s_per_gpu and p != q for p in pts)
        if not dominated:
            assert any(math.isclose(f.tokens_per_s_per_user, q.tokens_per_s_per_user) and
                       math.isclose(f.tokens_per_s_per_gpu, q.tokens_per_s_per_gpu) for f in front)
    users = [f.tokens_per_s_per_user for f in front]
    gpus = [f.tokens_per_s_per_gpu for f in front]
    assert users == sorted(users, reverse=True) and gpus == sorted(gpus)


def test_a_comparison_table_shares_its_frontier_with_every_column_read():
    """pandas deep-copies DataFrame.attrs into each column or slice read; the frontier (thousands
    of points) is immutable, so each copy is the frontier itself: the report's candidate table
    read ~50 columns and spent seconds copying it."""
    import copy

    from gpuplanner.core.frontier import FRONTIER_ATTR
    from gpuplanner.core.sweep import comparison

    inputs = PlanInputs(model="llama-2-7b", mode="infer")
    table = comparison(inputs, ("infer",), catalogs=CATALOGS)
    frontier = table.attrs[FRONTIER_ATTR]
    assert frontier is not None and len(frontier.points) > 10
    assert copy.deepcopy(frontier) is frontier
    assert table["gpu"].attrs[FRONTIER_ATTR] is frontier and table.iloc[:3].attrs[FRONTIER_ATTR] is frontier
