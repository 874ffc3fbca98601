"""Measured link bandwidths (core.links.MeasuredLinks): where they replace the catalog's figures,
how a plan chooses them, and what a bad measurement says."""
import math

import pytest

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.catalogs import Instance
from gpuplanner.core.errors import InputError
from gpuplanner.core.links import MeasuredLinks, links_for
from gpuplanner.core.planfile import PlanFileError, plan_from_dict, plan_to_dict

CATALOGS = load_catalogs()
H100 = CATALOGS.gpus["H100"]
INTRA = MeasuredLinks(300e9, 8, measured_at="2026-05-01", method="test")
BOTH = MeasuredLinks(300e9, 8, 40e9, 4, "2026-05-01")


def test_a_node_measurement_replaces_nvlink_and_pcie_inside_an_instance_only():
    catalog = links_for(H100, None, 8)
    links = INTRA.applied_to(catalog)
    assert links.bytes_per_s(2) == links.bytes_per_s(8) == 300e9
    assert links.bytes_per_s(16) == catalog.bytes_per_s(16)  # the network was not measured
    assert links.source == "measured: collectives 2026-05-01" and catalog.source != links.source


def test_a_cluster_measurement_replaces_the_network_per_gpu():
    links = BOTH.applied_to(links_for(H100, None, 8))
    assert links.bytes_per_s(8) == 300e9 and links.bytes_per_s(16) == pytest.approx(40e9)
    assert links.crosses_network(16) and not links.crosses_network(8)


def test_across_instances_of_a_rack_scale_domain_the_measured_inter_node_figure_applies():
    tray = Instance("aws", "rack", "GB200", 4, 1.0, 1.0, "", "", "", network_bytes_per_s=400e9 / 8,
                    nvlink_domain_gpus=72)
    catalog = links_for(H100, tray, 4)
    assert catalog.bytes_per_s(64) == H100.nvlink_bytes_per_s / 2
    assert BOTH.applied_to(catalog).bytes_per_s(64) == pytest.approx(40e9)
    assert INTRA.applied_to(catalog).bytes_per_s(64) == 300e9  # still NVLink: the node's figure


@pytest.mark.parametrize("kwargs", [dict(intra_node_bytes_per_s=math.nan, gpus_per_node=8),
                                    dict(intra_node_bytes_per_s=-1.0, gpus_per_node=8),
                                    dict(intra_node_bytes_per_s=1e9, gpus_per_node=8, nodes=2),
                                    dict(intra_node_bytes_per_s=1e9, gpus_per_node=0),
                                    dict(intra_node_bytes_per_s=1e9, gpus_per_node=1)])
def test_a_measurement_that_cannot_be_used_is_refused_naming_the_field(kwargs):
    with pytest.raises(InputError) as error:
        MeasuredLinks(**kwargs)
    assert error.value.field == "interconnect"


def test_choosing_measured_links_without_a_measurement_is_an_input_error():
    with pytest.raises(InputError) as error:
        estimate(PlanInputs(mode="infer", interconnect="measured"), CATALOGS)
    assert error.value.field == "interconnect" and "collective benchmark" in error.value.message


def test_a_faster_measured_link_shortens_a_tensor_parallel_decode_step():
    """On H100 NVLink (450 GB/s each way) a measured 1 TB/s shortens TPOT and 10 GB/s lengthens it."""
    inputs = PlanInputs(mode="infer", model="llama-3.1-8b", instance="p5.48xlarge", tp=4, pp=1)
    slow = CATALOGS.with_measured_links(MeasuredLinks(10e9, 8, measured_at="2026-05-01"))
    fast = CATALOGS.with_measured_links(MeasuredLinks(1000e9, 8, measured_at="2026-05-01"))
    catalog = estimate(inputs, CATALOGS).tpot_s
    slower = estimate(inputs.with_(interconnect="measured"), slow).tpot_s
    faster = estimate(inputs.with_(interconnect="measured"), fast).tpot_s
    assert faster < catalog < slower
    assert estimate(inputs, slow).tpot_s == catalog  # a measurement not chosen changes nothing


def test_plan_files_hold_the_measurement_only_when_the_plan_uses_it():
    inputs = PlanInputs(mode="infer", interconnect="measured")
    doc = plan_to_dict(inputs, CATALOGS.gpus, BOTH)
    assert doc["version"] == 3 and doc["inputs"]["interconnect"]["measured"]["inter_node_bytes_per_s"] == 40e9
    back = plan_from_dict(doc)
    assert back.inputs == inputs and back.measured_links == BOTH
    assert back.catalogs(CATALOGS).measured_links == BOTH
    assert plan_to_dict(PlanInputs(), CATALOGS.gpus, BOTH)["version"] == 1  # catalog links: nothing embedded
    doc["inputs"]["interconnect"]["measured"]["nodes"] = 0
    with pytest.raises(PlanFileError, match="nodes"):
        plan_from_dict(doc)


def test_a_collectives_latency_is_a_hop_per_step_over_the_fabric_it_crosses():
    links = links_for(H100, None, 8)
    assert links.collective_latency_s(1) == 0
    # an all-reduce rings 2(n − 1) steps, an all-to-all sends to n − 1 peers, a hand-off once
    assert links.collective_latency_s(8, "ll") > links.collective_latency_s(8, "ll", "all_to_all") > \
        links.collective_latency_s(8, "ll", "send") > 0
    assert links.collective_latency_s(16, "ll", "all_to_all") > 2 * links.collective_latency_s(8, "ll", "all_to_all")
    # small buffers (LL protocol) pay less per hop than large ones (Simple)
    assert links.collective_latency_s(8, "ll") < links.collective_latency_s(8, "simple")
