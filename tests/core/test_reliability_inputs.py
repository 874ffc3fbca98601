"""Hostile input files (issue 14, defects 5 and 7): every reader goes through core.safe_io, so deep
nesting, Infinity/NaN, 10**400, named pipes, /dev/zero and over-long names are refused with a
message naming the file and the field, never a traceback or a hang."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading

import pytest

from gpuplanner.bench.results import load_results
from gpuplanner.core import load_catalogs
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.model_readers import load_config_json, load_model_folder
from gpuplanner.core.planfile import PlanFileError, load_plan

CONFIG = {"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 512, "intermediate_size": 1376,
          "num_attention_heads": 8, "num_key_value_heads": 8, "vocab_size": 32000}
DEEP = '{"a":' * 5000 + "1" + "}" * 5000  # json.loads alone raises RecursionError on this
HUGE_INT = "1" + "0" * 400  # valid JSON; int() accepts it, float() of it overflows


def _plan_text(n_layers: str) -> str:
    arch = ('{"name": "x", "n_layers": ' + n_layers + ', "hidden": 512, "intermediate": 1376, "n_heads": 8, '
            '"n_kv_heads": 8, "vocab": 32000}')
    return '{"format": "gpuplanner-plan", "version": 1, "inputs": {"model": {"arch": ' + arch + '}}}'


def _config_text(value: str) -> str:
    return json.dumps(CONFIG).replace('"num_hidden_layers": 4', f'"num_hidden_layers": {value}')


@pytest.mark.parametrize("text, field", [
    (DEEP, None),
    (_config_text("Infinity"), "num_hidden_layers"),
    (_config_text("NaN"), "num_hidden_layers"),
    (_config_text(HUGE_INT), "num_hidden_layers"),
    (_config_text("1e400"), "num_hidden_layers"),
])
def test_config_json_with_extreme_values_is_refused_naming_the_field(tmp_path, text, field):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(CatalogError) as error:
        load_config_json(path)
    assert str(path) in str(error.value)
    assert field is None or f"field '{field}'" in str(error.value)
    assert "nests" in str(error.value) or "finite numbers" in str(error.value)


@pytest.mark.parametrize("header", [DEEP, '{"w": {"dtype": "F16", "shape": [Infinity], "data_offsets": [0, 2]}}'])
def test_safetensors_header_with_extreme_values_is_refused(tmp_path, header):
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    raw = header.encode()
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(CatalogError, match=r"model\.safetensors.*not a safetensors"):
        load_model_folder(tmp_path)


@pytest.mark.parametrize("text, words", [
    (DEEP, "nests objects or lists deeper"),
    (_plan_text(HUGE_INT), "field inputs.model.arch.n_layers"),
    (_plan_text("Infinity"), "field inputs.model.arch.n_layers"),
])
def test_plan_file_with_extreme_values_is_refused(tmp_path, text, words):
    path = tmp_path / "bad.gpuplan"
    path.write_text(text)
    with pytest.raises(PlanFileError, match=words) as error:
        load_plan(path)
    assert str(error.value).startswith("bad.gpuplan")


def test_benchmark_results_with_deep_nesting_are_refused(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(DEEP)
    with pytest.raises(ValueError, match="not a gpuplanner benchmark results file.*nests"):
        load_results(path)


def _finishes(call, timeout_s: float = 10.0):
    """Run call() in a daemon thread; return its exception, or fail if it is still running (a hang)."""
    outcome = {}

    def run():
        try:
            call()
        except Exception as e:  # the refusal is what we want to see
            outcome["error"] = e
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout_s)
    assert not worker.is_alive(), "the reader hung"
    return outcome.get("error")


READERS = {
    "config.json": load_config_json,
    "plan": load_plan,
    "catalog": lambda path: load_catalogs().with_user_file(path),
    "benchmark results": load_results,
}


@pytest.mark.parametrize("reader", READERS)
def test_a_named_pipe_is_refused_not_waited_on(tmp_path, reader):
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    error = _finishes(lambda: READERS[reader](fifo))
    assert isinstance(error, (CatalogError, PlanFileError, ValueError))
    assert "not a regular file" in str(error) and "input.json" in str(error)


@pytest.mark.parametrize("reader", READERS)
def test_dev_zero_is_refused_not_read(reader):
    error = _finishes(lambda: READERS[reader]("/dev/zero"))
    assert "not a regular file" in str(error) and "zero" in str(error)


def test_an_oversized_catalog_is_refused_before_reading(tmp_path, monkeypatch):
    from gpuplanner.core import safe_io
    catalogs = load_catalogs()
    monkeypatch.setattr(safe_io, "CSV_MAX_BYTES", 1000)
    path = tmp_path / "prices.csv"
    path.write_text("instance_type,price_usd_per_hour\n" + "x,1\n" * 500)
    with pytest.raises(CatalogError, match=r"prices\.csv.*at most 1,000 bytes"):
        catalogs.with_user_file(path)


def test_cli_config_name_over_255_characters_is_a_clear_message(tmp_path):
    long_name = tmp_path / ("c" * 300 + ".json")
    done = subprocess.run([sys.executable, "-m", "gpuplanner.cli", "plan", "--config", str(long_name)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "305 bytes long; at most 255 are allowed" in done.stderr
