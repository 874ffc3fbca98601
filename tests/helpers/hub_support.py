"""A Hugging Face Hub on 127.0.0.1 serving recorded answers, for the Hub tests (no test touches
the internet). Started per test; HF_ENDPOINT points at it (the `hub_env` fixture keeps the machine's cache and
token out).

The answers follow what the Hub sends (huggingface_hub's hf_raise_for_status reads the same
headers): model info at /api/models/{repo}[/revision/{rev}]; files at
/{repo}/resolve/{rev}/{file} with X-Repo-Commit and ETag, byte ranges answered 206; a missing
or private repo is 401 for an anonymous caller and 404 with a token (X-Error-Code: RepoNotFound);
a gated repo 401 anonymous, 403 for a token without access (GatedRepo); an unknown revision or
file 404 (RevisionNotFound, EntryNotFound); a bad token 401 "Invalid credentials in
Authorization header". The config.json files are the published ones (fixtures/hub/); the
safetensors files are their headers only, built from the checkpoints' tensor names and shapes.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hub"
TINYLLAMA_PARAMS = 1_100_048_384  # TinyLlama-1.1B's safetensors header count (tests/core/test_hub.py)
GRANTED_TOKEN = "hf_granted"  # a token that may read every repo here
OTHER_TOKEN = "hf_other"  # a valid token without access to gated or private repos
TINYLLAMA = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
LLAMA_GATED = "meta-llama/Llama-3.2-1B"
GPTQ = "TheBloke/TinyLlama-1.1B-Chat-v1.0-GPTQ"


@dataclass
class Repo:
    commit: str
    files: dict[str, bytes]
    gated: bool = False
    private: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]], metadata: dict | None = None) -> bytes:
    """A safetensors file without its weights: the 8-byte length and the JSON header."""
    sizes = {"BF16": 2, "F16": 2, "F32": 4, "I32": 4}
    header: dict = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for x in shape:
            n *= x
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text


def llama_tensors(cfg: dict, dtype: str, gptq_bits: int = 0) -> dict[str, tuple[str, list[int]]]:
    """The tensor names and shapes transformers saves for a Llama/Qwen2 checkpoint (GPTQ: each
    linear layer as qweight/qzeros/scales/g_idx, 32 // bits values packed per int32)."""
    h, inter, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    a = cfg["num_attention_heads"]
    d = cfg.get("head_dim") or h // a
    k = cfg["num_key_value_heads"]
    bias = cfg["model_type"] == "qwen2"
    out: dict[str, tuple[str, list[int]]] = {"model.embed_tokens.weight": (dtype, [v, h])}
    linears = {"self_attn.q_proj": (a * d, h), "self_attn.k_proj": (k * d, h), "self_attn.v_proj": (k * d, h),
               "self_attn.o_proj": (h, a * d), "mlp.gate_proj": (inter, h), "mlp.up_proj": (inter, h),
               "mlp.down_proj": (h, inter)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for name, (rows, cols) in linears.items():
            if gptq_bits:
                pack, group = 32 // gptq_bits, 128
                out[p + name + ".qweight"] = ("I32", [cols // pack, rows])
                out[p + name + ".qzeros"] = ("I32", [cols // group, rows // pack])
                out[p + name + ".scales"] = ("F16", [cols // group, rows])
                out[p + name + ".g_idx"] = ("I32", [cols])
            else:
                out[p + name + ".weight"] = (dtype, [rows, cols])
            if bias and name in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                out[p + name + ".bias"] = (dtype, [rows])
        out[p + "input_layernorm.weight"] = (dtype, [h])
        out[p + "post_attention_layernorm.weight"] = (dtype, [h])
    out["model.norm.weight"] = (dtype, [h])
    if not cfg.get("tie_word_embeddings", False):
        out["lm_head.weight"] = (dtype, [v, h])
    return out


def _config(repo: str) -> tuple[dict, bytes]:
    raw = (FIXTURES / repo.replace("/", "--") / "config.json").read_bytes()
    return json.loads(raw), raw


def _commit(repo: str) -> str:
    return hashlib.sha1(repo.encode()).hexdigest()


def recorded_repos() -> dict[str, Repo]:
    """Four repositories: a single-file model, a sharded one (index + 2 shards, one header
    over 100 kB so it takes a second range request), a gated one and a GPTQ checkpoint."""
    repos = {}
    cfg, raw = _config(TINYLLAMA)
    repos[TINYLLAMA] = Repo(_commit(TINYLLAMA), {"config.json": raw,
                                                "model.safetensors": safetensors_bytes(llama_tensors(cfg, "BF16"))},
                            tags={"v1.0": _commit(TINYLLAMA)})
    cfg, raw = _config(QWEN)
    tensors = list(llama_tensors(cfg, "BF16").items())
    half = len(tensors) // 2
    shards = {"model-00001-of-00002.safetensors": dict(tensors[:half]),
              "model-00002-of-00002.safetensors": dict(tensors[half:])}
    files = {"config.json": raw}
    for i, (name, part) in enumerate(shards.items()):
        files[name] = safetensors_bytes(part, {"format": "pt", "note": "x" * 120_000} if i else None)
    files["model.safetensors.index.json"] = json.dumps(
        {"metadata": {"total_size": 988_065_536},
         "weight_map": {t: name for name, part in shards.items() for t in part}}).encode()
    repos[QWEN] = Repo(_commit(QWEN), files)
    cfg, raw = _config(LLAMA_GATED)
    repos[LLAMA_GATED] = Repo(_commit(LLAMA_GATED), {"config.json": raw, "model.safetensors": safetensors_bytes(
        llama_tensors(cfg, "BF16"))}, gated=True)
    cfg, raw = _config(GPTQ)
    repos[GPTQ] = Repo(_commit(GPTQ), {"config.json": raw, "model.safetensors": safetensors_bytes(
        {**llama_tensors(cfg, "F16", gptq_bits=4)})})
    return repos


class FakeHub:
    """The server: `url` for HF_ENDPOINT, `requests` as (method, path, range) seen so far."""

    def __init__(self, repos: dict[str, Repo] | None = None, delay_s: float = 0.0):
        self.repos = recorded_repos() if repos is None else repos
        self.delay_s = delay_s  # before each answer: a slow network
        self.requests: list[tuple[str, str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hub._answer(self, body=True)

            def do_HEAD(self):
                hub._answer(self, body=False)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- routing ------------------------------------------------------------------------
    def _answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        path = handler.path.split("?", 1)[0]
        self.requests.append((handler.command, path, handler.headers.get("Range", "")))
        time.sleep(self.delay_s)
        token = (handler.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        api = re.match(r"^/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?$", path)
        resolve = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if token and token not in (GRANTED_TOKEN, OTHER_TOKEN):
            return _send(handler, 401, b"", {"X-Error-Message": "Invalid credentials in Authorization header"}, body)
        if api is None and resolve is None:
            return _send(handler, 404, b"Not Found", {}, body)
        repo_id, revision = (api[1], api[2] or "main") if api else (resolve[1], resolve[2])
        repo = self.repos.get(repo_id)
        if repo is None or repo.private and token != GRANTED_TOKEN:
            return _send(handler, 404 if token else 401, b'{"error":"Repository not found"}',
                         {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}, body)
        commit = {"main": repo.commit, repo.commit: repo.commit, **repo.tags}.get(revision.replace("%2F", "/"))
        if commit is None:
            return _send(handler, 404, b"", {"X-Error-Code": "RevisionNotFound",
                                             "X-Error-Message": "Invalid rev id: " + revision}, body)
        if api:
            return _send(handler, 200, json.dumps(_model_info(repo_id, repo)).encode(),
                         {"Content-Type": "application/json"}, body)
        return self._file(handler, repo_id, repo, resolve[3], token, body)

    def _file(self, handler, repo_id: str, repo: Repo, name: str, token: str, body: bool) -> None:
        if repo.gated and token != GRANTED_TOKEN:
            message = (f"Access to model {repo_id} is restricted. You must have access to it and be "
                       "authenticated to access it. Please log in." if not token else
                       f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                       f"Visit https://huggingface.co/{repo_id} to ask for access.")
            return _send(handler, 403 if token else 401, message.encode(),
                         {"X-Error-Code": "GatedRepo", "X-Error-Message": message}, body)
        data = repo.files.get(name)
        if data is None:
            return _send(handler, 404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.commit,
                                             "X-Error-Message": "Entry not found"}, body)
        headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        ranged = re.match(r"^bytes=(\d+)-(\d*)$", handler.headers.get("Range", ""))
        if ranged:
            start = int(ranged[1])
            end = min(int(ranged[2]) if ranged[2] else len(data) - 1, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return _send(handler, 206, data[start:end + 1], headers, body)
        return _send(handler, 200, data, headers, body)


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    """A private cache folder and no token or offline flag from the machine running the tests."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _model_info(repo_id: str, repo: Repo) -> dict:
    """The fields of GET /api/models/{repo} that huggingface_hub's ModelInfo reads."""
    return {"_id": repo.commit[:24], "id": repo_id, "modelId": repo_id, "author": repo_id.split("/")[0],
            "sha": repo.commit, "lastModified": "2024-09-25T14:32:18.000Z", "createdAt": "2024-09-18T15:03:14.000Z",
            "private": repo.private, "disabled": False, "gated": "manual" if repo.gated else False,
            "downloads": 0, "likes": 0, "library_name": "transformers", "pipeline_tag": "text-generation",
            "tags": ["transformers", "safetensors", "text-generation"],
            "siblings": [{"rfilename": name} for name in sorted(repo.files)]}


def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict, body: bool) -> None:
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if body:
        handler.wfile.write(data)
