"""Models from the Hugging Face Hub, fetched from a loopback Hub (tests/hub_support.py) that serves
recorded answers: exact counts from safetensors headers read by range, quantized checkpoints,
revisions, gated and missing repos, tokens, the offline cache, and the CLI and plan files on top."""
import json
import sys

import pytest
from hub_support import GPTQ, GRANTED_TOKEN, LLAMA_GATED, OTHER_TOKEN, QWEN, TINYLLAMA, TINYLLAMA_PARAMS, FakeHub, Repo
from import_probe import loaded_after_a_plan

from gpuplanner.cli import main
from gpuplanner.core import PlanInputs
from gpuplanner.core.errors import InputError
from gpuplanner.core.hub import checkpoint_quantization, fetch_hub_model, parse_hub_id
from gpuplanner.core.model import ModelArch
from gpuplanner.core.planfile import HUB_MODEL_VERSION, load_plan, plan_to_dict, save_plan

# Published parameter counts (model cards / the Hub's safetensors totals)
QWEN_PARAMS = 494_032_768
LLAMA_32_1B_PARAMS = 1_235_814_400


@pytest.fixture
def hub(hub_env):
    with FakeHub() as server:
        hub_env.setenv("HF_ENDPOINT", server.url)
        yield server


def refusal(text: str) -> str:
    with pytest.raises(InputError) as e:
        fetch_hub_model(text)
    assert e.value.field == "model"
    return e.value.message


def test_hub_ids_are_told_from_preset_ids():
    assert parse_hub_id("org/name").revision == "main"
    assert parse_hub_id("Qwen/Qwen2.5-0.5B-Instruct@v1.0").revision == "v1.0"
    assert str(parse_hub_id("org/name@refs/pr/1")) == "org/name@refs/pr/1"
    for text in ("llama-2-7b", "a/b/c", "org/name@", "/name", "org/", "org/../x", "org/name@a@b", "org/-x"):
        assert parse_hub_id(text) is None, text


def test_single_file_counts_come_from_the_header_read_by_range(hub):
    model = fetch_hub_model(TINYLLAMA)
    assert model.checkpoint.params == TINYLLAMA_PARAMS == model.arch.total_params()
    assert model.checkpoint.params_by_dtype == {"BF16": TINYLLAMA_PARAMS}
    assert model.checkpoint.bytes == 2 * TINYLLAMA_PARAMS
    assert model.arch.published_params == TINYLLAMA_PARAMS
    assert model.arch.hf_repo == TINYLLAMA and model.arch.hf_revision == hub.repos[TINYLLAMA].commit
    assert model.quantization is None and not model.from_cache
    weights = [r for r in hub.requests if r[1].endswith(".safetensors")]
    assert weights == [("GET", f"/{TINYLLAMA}/resolve/{hub.repos[TINYLLAMA].commit}/model.safetensors",
                        "bytes=0-100000")]  # the header only, never the weights


def test_sharded_checkpoints_sum_every_shard_listed_in_the_index(hub):
    model = fetch_hub_model(QWEN)
    assert model.checkpoint.params == QWEN_PARAMS == model.arch.total_params()
    ranges = [r[2] for r in hub.requests if r[1].endswith("model-00002-of-00002.safetensors")]
    assert ranges[0] == "bytes=0-100000" and ranges[1].startswith("bytes=8-")  # a header over 100 kB


def test_a_revision_is_resolved_to_its_commit(hub):
    commit = hub.repos[TINYLLAMA].commit
    assert fetch_hub_model(f"{TINYLLAMA}@v1.0").arch.hf_revision == commit
    assert fetch_hub_model(f"{TINYLLAMA}@{commit}").checkpoint.params == TINYLLAMA_PARAMS
    message = refusal(f"{TINYLLAMA}@v9")
    assert "revision 'v9'" in message and "branch, tag or commit" in message


def test_gated_repos_say_how_to_get_access(hub, monkeypatch):
    assert "gated" in refusal(LLAMA_GATED) and "set HF_TOKEN" in refusal(LLAMA_GATED)
    monkeypatch.setenv("HF_TOKEN", OTHER_TOKEN)
    assert "no access yet" in refusal(LLAMA_GATED)
    monkeypatch.setenv("HF_TOKEN", "hf_expired")
    assert "401 Unauthorized" in refusal(LLAMA_GATED)
    monkeypatch.setenv("HF_TOKEN", GRANTED_TOKEN)
    model = fetch_hub_model(LLAMA_GATED)
    assert model.checkpoint.params == LLAMA_32_1B_PARAMS == model.arch.total_params()
    files = [r for r in hub.requests if "/resolve/" in r[1]]
    assert files and all(r[0] in ("GET", "HEAD") for r in files)


def test_a_missing_or_private_repo_names_the_id(hub, monkeypatch):
    assert "acme/none is not a model on the Hugging Face Hub (401)" in refusal("acme/none")
    monkeypatch.setenv("HF_TOKEN", OTHER_TOKEN)
    assert "(404)" in refusal("acme/none")


def test_repos_without_a_readable_config_are_refused_by_name(hub_env):
    unknown = json.dumps({"model_type": "mamba", "hidden_size": 8}).encode()
    repos = {"acme/weights-only": Repo("a" * 40, {"pytorch_model.bin": b"x"}),
             "acme/mamba": Repo("b" * 40, {"config.json": unknown})}
    with FakeHub(repos) as server:
        hub_env.setenv("HF_ENDPOINT", server.url)
        assert "has no config.json" in refusal("acme/weights-only")
        message = refusal("acme/mamba")
    assert "model_type" in message and "'mamba'" in message


def test_offline_the_cache_answers_alone(hub_env):
    with FakeHub() as server:
        hub_env.setenv("HF_ENDPOINT", server.url)
        online = fetch_hub_model(QWEN)
    hub_env.setenv("HF_HUB_OFFLINE", "1")
    cached = fetch_hub_model(QWEN)
    assert cached.from_cache and cached.checkpoint == online.checkpoint and cached.arch == online.arch
    assert "HF_HUB_OFFLINE is set" in refusal(TINYLLAMA)
    hub_env.delenv("HF_HUB_OFFLINE")
    assert fetch_hub_model(QWEN).from_cache  # the server is gone: no network falls back to the cache
    message = refusal(TINYLLAMA)
    assert "cannot reach" in message and "not in the cache folder" in message


def test_without_the_extra_the_message_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert "pip install gpuplanner[hub]" in refusal(TINYLLAMA)


@pytest.mark.parametrize("config, method, precision", [
    ({"quant_method": "gptq", "bits": 4}, "GPTQ 4-bit", "int4"),
    ({"quant_method": "gptq", "bits": 8}, "GPTQ 8-bit", "int8"),
    ({"quant_method": "gptq", "bits": 3}, "GPTQ 3-bit", ""),
    ({"quant_method": "awq", "bits": 4, "version": "gemm"}, "AWQ 4-bit", "int4"),
    ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes 4-bit", "int4"),
    ({"quant_method": "bitsandbytes", "load_in_8bit": True}, "bitsandbytes 8-bit", "int8"),
    ({"quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}, "FP8 8-bit", "fp8"),
    ({"quant_method": "modelopt", "quant_algo": "NVFP4"}, "ModelOpt NVFP4", "fp4"),
    ({"quant_method": "modelopt", "quant_algo": "FP8"}, "ModelOpt FP8", "fp8"),
    ({"quant_method": "compressed-tensors", "format": "nvfp4-pack-quantized",
      "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "float"}}}},
     "compressed-tensors nvfp4-pack-quantized 4-bit", "fp4"),
    ({"quant_method": "compressed-tensors", "format": "float-quantized",
      "config_groups": {"group_0": {"weights": {"num_bits": 8, "type": "float"}}}},
     "compressed-tensors float-quantized 8-bit", "fp8"),
    ({"quant_method": "compressed-tensors", "format": "pack-quantized",
      "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "int"}}}},
     "compressed-tensors pack-quantized 4-bit", "int4"),
    ({"quant_method": "mxfp4"}, "MXFP4 4-bit", "fp4"),
    ({"quant_method": "hqq"}, "hqq", ""),
])
def test_quantization_configs_map_to_planner_precisions(config, method, precision):
    q = checkpoint_quantization({"quantization_config": config})
    assert (q.describe(), q.precision) == (method, precision)


def test_unquantized_configs_have_no_quantization():
    assert checkpoint_quantization({"model_type": "llama"}) is None


def test_a_quantized_checkpoint_counts_parameters_from_its_architecture(hub):
    model = fetch_hub_model(GPTQ)
    assert model.quantization.precision == "int4"
    assert model.arch.total_params() == TINYLLAMA_PARAMS
    assert model.checkpoint.params < TINYLLAMA_PARAMS / 4  # int32 elements hold 8 weights each
    assert "I32" in model.checkpoint.params_by_dtype and "parameters counted from config.json" in model.describe()
    serving, note = model.with_precision(PlanInputs(model=model.arch, mode="infer"))
    assert serving.precision == "int4" and "planning at int4" in note
    training, note = model.with_precision(PlanInputs(model=model.arch))
    assert training.precision == "bf16" and "cannot be planned" in note
    qlora, _ = model.with_precision(PlanInputs(model=model.arch, train_method="qlora"))
    assert qlora.precision == "int4"


def test_cli_plans_a_hub_model(hub, capsys):
    assert main(["plan", "--model", TINYLLAMA, "--mode", "infer", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["params_total"] == TINYLLAMA_PARAMS and data["model"] == TINYLLAMA
    assert f"{TINYLLAMA_PARAMS:,} parameters" in err
    assert main(["plan", "--model", GPTQ, "--mode", "infer", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["precision"] == "int4"
    assert main(["plan", "--model", GPTQ, "--mode", "infer", "--precision", "fp16", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["precision"] == "fp16"  # typed wins over the checkpoint


def test_cli_refusals_name_the_model_option(hub, capsys):
    assert main(["plan", "--model", "acme/none"]) == 2
    assert capsys.readouterr().err.startswith("gpuplanner-cli: error: --model: acme/none is not a model")
    assert main(["plan", "--model", f"{TINYLLAMA}@nope"]) == 2
    assert "revision 'nope'" in capsys.readouterr().err


def test_a_saved_plan_keeps_the_hub_id_and_commit_and_reopens_offline(hub_env, tmp_path, capsys):
    with FakeHub() as server:
        hub_env.setenv("HF_ENDPOINT", server.url)
        model = fetch_hub_model(f"{TINYLLAMA}@v1.0")
        commit = server.repos[TINYLLAMA].commit
    path = tmp_path / "tiny.gpuplan"
    save_plan(path, PlanInputs(model=model.arch, mode="infer"))
    saved = json.loads(path.read_text())
    assert saved["version"] == HUB_MODEL_VERSION  # gpuplanners before the Hub field say "newer", not "broken"
    assert (saved["inputs"]["model"]["arch"]["hf_repo"], saved["inputs"]["model"]["arch"]["hf_revision"]) == (
        TINYLLAMA, commit)
    reopened = load_plan(path).inputs.model
    assert reopened == model.arch
    assert main(["plan", "--plan", str(path), "--format", "json"]) == 0  # the server is gone
    assert json.loads(capsys.readouterr().out)["params_total"] == TINYLLAMA_PARAMS


def test_a_preset_plan_does_not_import_huggingface_hub():
    assert loaded_after_a_plan(("huggingface_hub",)) == []


def test_a_config_model_plan_keeps_its_old_version():
    arch = ModelArch(name="tiny", n_layers=2, hidden=64, intermediate=128, n_heads=4, n_kv_heads=4, vocab=100)
    doc = plan_to_dict(PlanInputs(model=arch))
    assert doc["version"] == 1 and "hf_revision" not in doc["inputs"]["model"]["arch"]
