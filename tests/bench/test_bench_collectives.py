"""The collective benchmark: nccl-tests' bandwidth definitions, its results file, and real runs
on this CPU (gloo) under torchrun (one node of 2 ranks) and as two nodes of 1 rank, feeding a plan."""
import json
import math
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from gpuplanner.bench.collectives import (
    OPS,
    CollectiveResult,
    CollectivesRun,
    bus_factor,
    load_collectives,
    message_bytes,
    parse_args,
    save_collectives,
)
from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.planfile import load_plan, save_plan

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
BENCH = ["-m", "gpuplanner.bench", "--collectives", "--sizes", "4K,256K", "--warmup", "1", "--iterations", "3"]


def test_bus_bandwidth_factors_are_nccl_tests():
    assert bus_factor("all_reduce", 8) == pytest.approx(2 * 7 / 8)
    for op in ("all_gather", "reduce_scatter", "all_to_all"):
        assert bus_factor(op, 8) == pytest.approx(7 / 8)
    assert bus_factor("all_reduce", 2) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="broadcast"):
        bus_factor("broadcast", 2)


def test_message_sizes_split_into_equal_float_chunks():
    assert message_bytes(4096, 3) == 4092 and message_bytes(4096, 3) % (4 * 3) == 0
    assert message_bytes(8, 4) == 0  # too small for one float per rank


def test_sizes_on_the_command_line_are_binary_multiples_and_must_be_positive():
    assert parse_args(["--collectives", "--sizes", "1K,64MiB,100"]).sizes_bytes == (1024, 64 * 2**20, 100)
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--collectives", "--sizes", "0"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        parse_args(["--collectives", "--ops", "broadcast"])


def test_a_results_file_round_trips_and_bad_fields_are_named(tmp_path):
    run = CollectivesRun("nccl", "NVIDIA H100", "2.13.0", 16, 8, datetime(2026, 5, 1, tzinfo=UTC),
                         (CollectiveResult("all_reduce", "intra_node", 8, 2**30, 2**30 / 360e9 * 1.75),
                          CollectiveResult("all_reduce", "inter_node", 16, 2**30, 2**30 / 45e9 * 1.875)))
    path = save_collectives(tmp_path / "c.json", run)
    assert load_collectives(path) == run
    links = run.measured_links()
    assert links.intra_node_bytes_per_s == pytest.approx(360e9) and links.inter_node_bytes_per_s == pytest.approx(45e9)
    assert (links.gpus_per_node, links.nodes, links.source) == (8, 2, "measured: collectives 2026-05-01")
    doc = json.loads(path.read_text())
    del doc["results"][0]["time_s"]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"results\[0\]\.time_s"):
        load_collectives(tmp_path / "bad.json")


def test_without_torch_or_torchrun_the_benchmark_says_what_is_missing():
    no_torch = subprocess.run([sys.executable, "-c", "import sys; sys.modules['torch'] = None; "
                               "from gpuplanner.bench.collectives import main; raise SystemExit(main(sys.argv[1:]))",
                               "--collectives"], capture_output=True, text=True, timeout=60)
    assert no_torch.returncode == 1 and "torch is needed" in no_torch.stderr and no_torch.stdout == ""


@pytest.mark.slow
def test_outside_torchrun_the_benchmark_names_the_launcher(needs_torch):
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "LOCAL_WORLD_SIZE", "RANK", "LOCAL_RANK")}
    alone = subprocess.run([sys.executable, *BENCH], capture_output=True, text=True, timeout=120, env=env)
    assert alone.returncode == 2 and "run under torchrun" in alone.stderr


def _check_document(doc, scope, ranks):
    """Every operation measured (or named unsupported by gloo); bandwidths as nccl-tests defines them."""
    assert doc["format"] == "gpuplanner-collectives" and doc["backend"] == "gloo"
    measured = {r["op"] for r in doc["results"]}
    refused = {u["op"]: u["reason"] for u in doc["unsupported"]}
    assert measured | set(refused) == set(OPS)
    assert all(reason.startswith("not supported by gloo") for reason in refused.values())
    for r in doc["results"]:
        assert (r["scope"], r["ranks"]) == (scope, ranks)
        algbw = r["size_bytes"] / r["time_s"]
        factor = 2 * (ranks - 1) / ranks if r["op"] == "all_reduce" else (ranks - 1) / ranks
        assert r["algbw_bytes_per_s"] == pytest.approx(algbw)
        assert r["busbw_bytes_per_s"] == pytest.approx(algbw * factor) and r["busbw_bytes_per_s"] > 0
    assert {r["size_bytes"] for r in doc["results"]} == {4096, 256 * 1024}


@pytest.fixture(scope="module")
def one_node(needs_torch, tmp_path_factory):
    out = tmp_path_factory.mktemp("coll") / "one-node.json"
    proc = subprocess.run([*TORCHRUN, "--nproc-per-node", "2", *BENCH, "--output", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stdout


@pytest.mark.slow
def test_two_ranks_on_one_node_measure_every_operation_inside_the_node(one_node):
    path, stdout = one_node
    doc = json.loads(path.read_text())
    assert (doc["world_size"], doc["local_world_size"], doc["nodes"]) == (2, 2, 1)
    _check_document(doc, "intra_node", 2)
    assert "busbw (GB/s)" in stdout and str(path) in stdout


@pytest.mark.slow
def test_measured_bandwidth_feeds_a_tensor_parallel_serving_plan_and_survives_its_file(one_node, tmp_path):
    run = load_collectives(one_node[0])
    links = run.measured_links()
    assert math.isnan(links.inter_node_bytes_per_s)
    catalogs = load_catalogs().with_measured_links(links)
    inputs = PlanInputs(mode="infer", model="llama-3.1-8b", instance="p5.48xlarge", tp=2, pp=1)
    catalog_plan = estimate(inputs, catalogs)
    measured_inputs = inputs.with_(interconnect="measured")
    measured_plan = estimate(measured_inputs, catalogs)
    # gloo between two CPU processes is far slower than H100 NVLink: every decode step waits longer
    assert measured_plan.tpot_s > catalog_plan.tpot_s
    named = {a.name: a for a in measured_plan.assumptions}["link bandwidths"]
    assert named.source == f"measured: collectives {run.measured_at.date().isoformat()}"
    assert {a.name: a for a in catalog_plan.assumptions}["link bandwidths"].source == "datasheet and instance catalog"

    save_plan(tmp_path / "p.gpuplan", measured_inputs, catalogs.gpus, catalogs.measured_links)
    doc = load_plan(tmp_path / "p.gpuplan")
    assert doc.measured_links == links
    reopened = estimate(doc.inputs, doc.catalogs(load_catalogs()))
    assert reopened.tpot_s == measured_plan.tpot_s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_measure_across_nodes(needs_torch, tmp_path):
    """Two ranks started with the variables torchrun sets on each of two nodes of one rank
    (torchrun's own agents would double the processes this shared machine starts)."""
    out, port = tmp_path / "two-nodes.json", str(_free_port())
    procs = [subprocess.Popen([sys.executable, *BENCH, "--output", str(out)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1", "RANK": str(node),
                                   "LOCAL_RANK": "0", "GROUP_RANK": str(node), "MASTER_ADDR": "127.0.0.1",
                                   "MASTER_PORT": port})
             for node in (0, 1)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    doc = json.loads(out.read_text())
    assert (doc["world_size"], doc["local_world_size"], doc["nodes"]) == (2, 1, 2)
    _check_document(doc, "inter_node", 2)
    links = load_collectives(out).measured_links()
    assert links.nodes == 2 and links.inter_node_bytes_per_s > 0 and math.isnan(links.intra_node_bytes_per_s)


def test_the_cli_plans_with_a_results_file_only_when_told_to(tmp_path, capsys):
    from gpuplanner.cli import main

    run = CollectivesRun("nccl", "NVIDIA H100", "2.13.0", 8, 8, datetime(2026, 5, 1, tzinfo=UTC),
                         (CollectiveResult("all_reduce", "intra_node", 8, 2**30, 2**30 * 1.75 / 20e9),))
    path = save_collectives(tmp_path / "c.json", run)
    plan = ["plan", "--mode", "infer", "--model", "llama-3.1-8b", "--tp", "4", "--pp", "1", "--format", "json"]
    outputs = []
    for extra in ([], ["--collectives", str(path)], ["--collectives", str(path), "--interconnect", "measured"]):
        assert main([*plan, *extra]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0]["tpot_s"] == outputs[1]["tpot_s"] < outputs[2]["tpot_s"]  # 20 GB/s, not NVLink's 450
    assert main([*plan, "--interconnect", "measured"]) == 2
    assert "--interconnect: no measured link bandwidths" in capsys.readouterr().err
