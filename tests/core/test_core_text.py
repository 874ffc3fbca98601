"""Memory figures in core sentences stay numbers until a face picks the unit."""
import copy
import json

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.text import Text, in_unit
from gpuplanner.core.units import GB, GIB


def test_a_text_reads_in_gib_and_rewrites_in_gb():
    t = Text("need {need} of {usable:2}", need=80 * GIB, usable=1e9)
    assert t == "need 80.0 GiB of 0.93 GiB" and json.dumps(t) == '"need 80.0 GiB of 0.93 GiB"'
    assert in_unit(t, "GB") == f"need {80 * GIB / GB:,.1f} GB of 1.00 GB"
    assert in_unit("plain", "GB") == "plain"
    assert in_unit(copy.deepcopy(t), "GB") == in_unit(t, "GB")  # results are copied by dataclasses.asdict


def test_every_memory_figure_in_a_plans_sentences_follows_the_unit():
    catalogs = load_catalogs()
    for inputs in (PlanInputs(model="llama-3.1-70b", instance="p5.48xlarge"),
                   PlanInputs(model="llama-3.1-70b", mode="infer", instance="p5.48xlarge"),
                   PlanInputs(model="llama-3.1-405b", instance="g6e.xlarge", tp=1, pp=1, dp=1)):
        r = estimate(inputs, catalogs)
        texts = [e.substituted for e in r.explanations] + [a.value for a in r.assumptions] + list(r.warnings)
        assert any("GiB" in t for t in texts)
        assert not any("GiB" in in_unit(t, "GB") for t in texts)
