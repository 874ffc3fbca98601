"""The command line, run as a user would: a real subprocess for exit codes and output."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from gpuplanner.cli import main
from gpuplanner.core import PlanInputs, estimate, load_catalogs


def cli(*args):
    return subprocess.run([sys.executable, "-m", "gpuplanner.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_plan_json_equals_the_core_result():
    done = cli("plan", "--model", "llama-3.1-70b", "--tokens", "2T", "--instance", "p5.48xlarge", "--zero", "auto",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    r = estimate(PlanInputs(model="llama-3.1-70b", training_tokens=2e12, instance="p5.48xlarge"), load_catalogs())
    assert data["gpus"] == r.gpus and data["instances"] == r.instances
    assert data["cost_usd"] == pytest.approx(r.cost_usd)
    assert data["breakdown_bytes"]["activations"] == pytest.approx(r.breakdown_bytes.activations)
    assert data["quick_rule"]["gpus"] == 20


def test_quick_method_prints_the_rule_only(capsys):
    assert main(["plan", "--params", "7B", "--mode", "infer", "--gpu", "T4", "--method", "quick"]) == 0
    out = capsys.readouterr().out
    assert "7 × 2 × 1.25 / 16 GB = 1.09 → 2 GPUs" in out
    assert "Detailed" not in out


def test_table_output_names_the_answer(capsys):
    assert main(["plan", "--model", "mixtral-8x7b-v0.1", "--mode", "infer", "--precision", "int4",
                 "--instance", "g6e.12xlarge"]) == 0
    out = capsys.readouterr().out
    assert "46.7B params (12.9B active)" in out and "tok/s per user" in out and "/1M tokens" in out


@pytest.mark.parametrize("args,option", [
    (["--mode", "bogus"], "--mode"),
    (["--params", "7Q"], "--params"),
    (["--mfu", "3"], "--mfu"),
    (["--model", "nope"], "--model"),
    (["--zero", "5"], "--zero"),
    (["--instance", "x9.huge"], "--instance"),
    (["--seq-len", "0"], "--seq-len"),
    (["--precision", "int4", "--mode", "train"], "--precision"),
])
def test_bad_input_exits_2_with_one_line(args, option):
    done = cli("plan", *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_sweep_csv_round_trips_through_pandas(tmp_path):
    done = cli("sweep", "--model", "llama-2-7b", "--format", "csv")
    assert done.returncode == 0, done.stderr
    path = tmp_path / "sweep.csv"
    path.write_text(done.stdout)
    frame = pd.read_csv(path)
    assert len(frame) == 11 * len(load_catalogs().instances)  # 4 training + 7 serving precisions (fp4 added)
    assert frame["training_cost_usd"].dtype == float


def test_catalog_lists_and_user_catalog_errors(tmp_path):
    done = cli("catalog", "gpus", "--format", "json")
    assert done.returncode == 0
    gpus = {g["name"]: g for g in json.loads(done.stdout)}
    assert gpus["H100"]["bf16_tflops_dense"] == 989.5 and gpus["A10G"]["bandwidth_bytes_per_s"] is None
    bad = tmp_path / "prices.csv"
    bad.write_text("instance_type,gpu,gpu_count,price_usd_per_hour\nmy-8xh100,H100,8,cheap\n")
    done = cli("plan", "--catalog", str(bad))
    assert done.returncode == 2
    assert "prices.csv, row 1, column 'price_usd_per_hour'" in done.stderr and "'cheap' is not a number" in done.stderr


def test_user_catalog_with_negotiated_price(tmp_path, capsys):
    prices = tmp_path / "prices.csv"
    prices.write_text("instance_type,gpu,gpu_count,price_usd_per_hour,as_of\nmy-8xh100,H100,8,20.0,2026-11-01\n")
    assert main(["plan", "--catalog", str(prices), "--instance", "my-8xh100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["price_usd_per_hour"] == 20.0 * data["instances"] and data["price_as_of"] == "2026-11-01"


def test_config_json_as_model(tmp_path, capsys):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
                               "num_attention_heads": 32, "num_hidden_layers": 32, "vocab_size": 32000}))
    assert main(["plan", "--config", str(cfg), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["params_total"] == 6_738_415_616


def test_report_option_writes_pdf_and_csv(tmp_path):
    """Headless: no DISPLAY in the child; the report selects offscreen Qt itself."""
    import os

    from pypdf import PdfReader
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    pdf = tmp_path / "plan.pdf"
    done = subprocess.run([sys.executable, "-m", "gpuplanner.cli", "plan", "--model", "llama-2-7b", "--report",
                           str(pdf), "--page-size", "Letter"], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "llama-2-7b" in text and "Page 1 of" in text
    assert main(["plan", "--model", "llama-2-7b", "--report", str(tmp_path / "plan.csv")]) == 0
    frame = pd.read_csv(tmp_path / "plan.csv")
    assert frame.loc[0, "gpus"] == estimate(PlanInputs(model="llama-2-7b"), load_catalogs()).gpus


def test_report_to_a_missing_folder_is_a_clear_error(tmp_path):
    done = cli("plan", "--report", str(tmp_path / "nope" / "plan.csv"))
    assert done.returncode == 2 and "--report" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _saved_plan(tmp_path, inputs, gpus=None):
    from gpuplanner.core.planfile import save_plan
    path = tmp_path / "saved.gpuplan"
    save_plan(path, inputs, gpus)
    return str(path)


SAVED = PlanInputs(model="llama-2-13b", mode="infer", concurrency=64, seq_len=8192, instance="g6e.12xlarge")


def _json_plan(capsys, *args):
    assert main(["plan", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_file_gives_the_inputs(tmp_path, capsys):
    data = _json_plan(capsys, "--plan", _saved_plan(tmp_path, SAVED))
    assert data["inputs"] == SAVED.as_dict()
    assert data["usd_per_million_tokens"] == pytest.approx(estimate(SAVED, load_catalogs()).usd_per_million_tokens)


def test_typed_options_override_the_plan_file(tmp_path, capsys):
    """The rule: an option typed on the command line wins over the file, even when it types the
    default value; untyped options keep the file's values (not the CLI defaults)."""
    path = _saved_plan(tmp_path, SAVED)
    data = _json_plan(capsys, "--plan", path, "--concurrency", "8", "--seq-len", "4096")
    assert data["inputs"] == SAVED.with_(concurrency=8, seq_len=4096).as_dict()
    by_gpu = _json_plan(capsys, "--plan", path, "--gpu", "H100")  # hardware is one choice: no instance left
    assert by_gpu["inputs"] == SAVED.with_(gpu="H100", instance="").as_dict()
    bare = _json_plan(capsys, "--plan", path, "--params", "7B")  # the model is one choice too
    assert bare["inputs"] == estimate(SAVED.with_(model="", params=7e9), load_catalogs()).to_dict()["inputs"]
    assert bare["inputs"]["params"] == 7e9 and bare["inputs"]["concurrency"] == 64


def test_a_plan_on_a_measured_gpu_plans_on_any_machine(tmp_path, capsys):
    from gpuplanner.core.catalogs import GpuSpec
    gpu = GpuSpec(name="This machine", full_name="AMD EPYC 7B13 (measured)", memory_bytes_reported=24 * 2**30,
                  memory_gb_marketing=25.77, bandwidth_bytes_per_s=30e9, peak_flops={"fp32": 0.19e12, "bf16": 0.41e12},
                  tdp_w=float("nan"), interconnect="", source="gpuplanner micro-benchmark", as_of="2026-11-21",
                  measured=True)
    inputs = PlanInputs(model="gpt2", mode="infer", precision="bf16", instance="", gpu="This machine")
    data = _json_plan(capsys, "--plan", _saved_plan(tmp_path, inputs, load_catalogs().with_gpu(gpu).gpus))
    assert data["gpu"] == "This machine" and data["peak_flops"] == 0.41e12 and data["fits"]


@pytest.mark.parametrize("content, words", [
    (None, "cannot be read"),
    ('{"format": "gpuplanner-plan", "version": 1, "inputs": {"mode": "fly"}}', "bad value for mode"),
])
def test_a_bad_plan_file_exits_2_naming_the_option(tmp_path, content, words):
    path = tmp_path / "bad.gpuplan"
    if content is not None:
        path.write_text(content)
    done = cli("plan", "--plan", str(path))
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpuplanner-cli: error: --plan: bad.gpuplan") and words in lines[0]


def test_an_unknown_instance_suggests_the_close_names(capsys):
    """Issue 12: `--instance p5.48xl` said only that it is not in the catalog."""
    assert main(["plan", "--instance", "p5.48xl"]) == 2
    err = capsys.readouterr().err
    assert "did you mean p5.48xlarge" in err and "--instance" in err
    assert main(["plan", "--instance", "zz-nothing-like-it"]) == 2
    assert "did you mean" not in capsys.readouterr().err
