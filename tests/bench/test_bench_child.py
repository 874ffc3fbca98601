"""The real benchmark child on this CPU: its JSON lines, cancel, missing torch, bad flags."""
import json
import subprocess
import sys

import pytest

from gpuplanner.bench import protocol
from gpuplanner.bench.calibration import machine_gpu
from gpuplanner.bench.config import default_train_config
from gpuplanner.bench.run import BenchRun

CHILD = [sys.executable, "-m", "gpuplanner.bench"]
NO_TORCH_CHILD = [sys.executable, "-c", "import sys; sys.modules['torch'] = None; "
                  "from gpuplanner.bench.child import main; raise SystemExit(main(sys.argv[1:]))"]


def start(argv, tmp_path):
    """Start a child with stdin as an open pipe (as QProcess does) and stderr in a file."""
    with open(tmp_path / "stderr.txt", "wb") as stderr:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)


def finish(proc, timeout_s=60):
    """Read the rest of stdout, close stdin, reap; returns (messages, exit code). Every line must decode."""
    lines = proc.stdout.read().splitlines()
    proc.stdin.close()
    exit_code = proc.wait(timeout=timeout_s)
    proc.stdout.close()
    return [protocol.decode(line) for line in lines], exit_code


def of(messages, type_, **match):
    return [m for m in messages if m["type"] == type_ and all(m.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def quick_run(needs_torch, tmp_path_factory):
    proc = start([*CHILD, "--quick", "--device", "cpu"], tmp_path_factory.mktemp("child"))
    return finish(proc)


@pytest.mark.slow
def test_quick_run_speaks_only_protocol_and_ends_cleanly(quick_run):
    messages, exit_code = quick_run
    assert exit_code == protocol.EXIT_OK
    assert messages[0]["type"] == "hello" and messages[0]["device_type"] == "cpu" and messages[0]["threads"] >= 1
    assert messages[-1] == protocol.message("done", ok=True)
    assert not of(messages, "error")
    assert [m["phase"] for m in of(messages, "result")][::-1][:2] == ["train", "bandwidth"]


@pytest.mark.slow
def test_quick_run_measures_positive_throughput(quick_run):
    messages, _ = quick_run
    matmul = of(messages, "result", phase="matmul")
    assert {m["dtype"] for m in matmul} >= {"fp32", "bf16"}
    assert all(m["flops_per_s"] > 0 and m["duration_s"] > 0 and m["iterations"] >= 3 for m in matmul)
    [bandwidth] = of(messages, "result", phase="bandwidth")
    assert bandwidth["bytes_per_s"] > 0 and bandwidth["tensor_bytes"] > 0


@pytest.mark.slow
def test_figures_arrive_in_canonical_units_and_stay_so_to_the_planner(quick_run):
    """FLOP/s and bytes/s on the wire, in the BenchRun, in its saved JSON and in the measured GPU."""
    messages, _ = quick_run
    matmul = of(messages, "result", phase="matmul")
    for m in matmul:
        assert m["flops_per_s"] == pytest.approx(2 * m["size"] ** 3 / m["duration_s"])
    [bandwidth] = of(messages, "result", phase="bandwidth")
    assert bandwidth["bytes_per_s"] == pytest.approx(2 * bandwidth["tensor_bytes"] / bandwidth["duration_s"])
    run = BenchRun.from_messages(of(messages, "hello")[0], of(messages, "result"))
    assert run.device.type == "cpu" and run.device.total_memory_bytes > 0 and run.train is not None
    assert BenchRun.from_json(json.loads(json.dumps(run.to_json()))) == run
    gpu = machine_gpu(run)
    assert gpu.peak("fp32") == max(m["flops_per_s"] for m in matmul if m["dtype"] == "fp32")
    assert gpu.bandwidth_bytes_per_s == bandwidth["bytes_per_s"]
    assert gpu.memory_bytes_reported == of(messages, "hello")[0]["total_memory_bytes"]


@pytest.mark.slow
def test_quick_run_echoes_the_training_config_with_its_peak_memory(quick_run):
    messages, _ = quick_run
    [train] = of(messages, "result", phase="train")
    assert train["config"] == default_train_config("cpu", quick=True).as_dict()
    assert train["param_count"] > 0 and train["peak_memory_bytes"] > 0
    assert train["peak_memory_method"] == "rss_high_water_delta"
    assert train["step_duration_s"] > 0 and train["tokens_per_s"] > 0


@pytest.mark.slow
def test_memory_climbs_then_is_given_back(quick_run):
    messages, _ = quick_run
    [ramp] = of(messages, "result", phase="memory")
    ramp_end = messages.index(ramp)
    ramp_metrics = of(messages[:ramp_end], "metrics")
    allocated = [m["allocated_bytes"] for m in ramp_metrics]
    peak = allocated.index(max(allocated))
    assert allocated[:peak + 1] == sorted(allocated[:peak + 1]) and max(allocated) == ramp["budget_bytes"] // 8 * 8
    assert allocated[peak:] == sorted(allocated[peak:], reverse=True) and allocated[-1] == 0
    # The process really took the memory from the OS and really gave it back.
    reserved = [m["reserved_bytes"] for m in ramp_metrics]
    assert max(reserved) - reserved[-1] >= 0.9 * ramp["budget_bytes"]
    final = of(messages, "metrics")[-1]
    assert final["allocated_bytes"] == 0 and messages.index(final) > messages.index(of(messages, "result")[-1])


@pytest.mark.slow
@pytest.mark.usefixtures("needs_torch")
@pytest.mark.parametrize("how", ["message", "close_stdin"])
def test_cancel_stops_the_child_between_steps(tmp_path, how):
    proc = start([*CHILD, "--device", "cpu"], tmp_path)  # full size: would take many seconds
    assert protocol.decode(proc.stdout.readline())["type"] == "hello"
    if how == "message":
        proc.stdin.write(protocol.encode(protocol.message("cancel")))
        proc.stdin.flush()
    else:
        proc.stdin.close()
    messages, exit_code = finish(proc, timeout_s=10)
    assert exit_code == protocol.EXIT_FAILED
    assert of(messages, "error") == [protocol.message("error", kind="cancelled", message="the benchmark was cancelled")]
    assert messages[-1] == protocol.message("done", ok=False)
    assert of(messages, "metrics")[-1]["allocated_bytes"] == 0


def test_missing_torch_is_a_clean_error(tmp_path):
    messages, exit_code = finish(start([*NO_TORCH_CHILD, "--quick"], tmp_path))
    assert exit_code == protocol.EXIT_FAILED
    assert messages == [protocol.message("error", kind="no_torch", message=protocol.NO_TORCH_MESSAGE),
                        protocol.message("done", ok=False)]
    assert protocol.NO_TORCH_MESSAGE == "torch is not installed: pip install 'gpuplanner[bench]'"


@pytest.mark.slow
@pytest.mark.usefixtures("needs_torch")
def test_cuda_requested_without_a_gpu(tmp_path):
    messages, exit_code = finish(start([*CHILD, "--device", "cuda", "--quick"], tmp_path))
    assert exit_code == protocol.EXIT_FAILED
    assert [m["type"] for m in messages] == ["error", "done"] and messages[0]["kind"] == "no_device"


def test_bad_flags_exit_with_usage_and_no_stdout(tmp_path):
    messages, exit_code = finish(start([*NO_TORCH_CHILD, "--phases", "nap"], tmp_path))
    assert exit_code == protocol.EXIT_USAGE and messages == []
    assert "phases must be" in (tmp_path / "stderr.txt").read_text()


def test_a_matmul_size_too_slow_to_time_is_left_out_with_the_reason(monkeypatch, capsys):
    """A dtype whose one call at the next size would outlast MAX_CALL_S (at the rate it reached
    one size down) is not timed there: the run keeps showing progress instead of going silent
    (a CPU without bf16 units once made the full benchmark trip the parent's watchdog)."""
    import io
    import threading

    import torch

    from gpuplanner.bench import kernels
    from gpuplanner.bench.session import Session

    def run(max_call_s: float) -> list[dict]:
        monkeypatch.setattr(kernels, "MAX_CALL_S", max_call_s)
        out = io.BytesIO()
        sizes = kernels.Sizes(None, 1, 0.0, (64, 128), (), 0.001)
        kernels.run_matmul(Session(out, threading.Event()), torch.device("cpu"), sizes,
                           kernels.MemoryProbe(torch.device("cpu")))
        return [json.loads(line) for line in out.getvalue().splitlines()]

    everything = run(1.0)
    timed = {(m["dtype"], m["size"]) for m in everything if m["type"] == "result"}
    assert {size for _, size in timed} == {64, 128}
    messages = run(1e-7)  # no 128³ call is that fast: every dtype stops at 64
    timed = [(m["dtype"], m["size"]) for m in messages if m["type"] == "result"]
    assert timed and {size for _, size in timed} == {64}
    steps = [m["step"] for m in messages if m["type"] == "progress"]
    assert steps == list(range(1, 2 * len(timed) + 1))  # every job, timed or left out, shows progress
    assert "skipping fp32 matmul at 128: one call would take" in capsys.readouterr().err
