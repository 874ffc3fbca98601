"""A model from the Hugging Face Hub: `org/name[@revision]` to an architecture, its exact
parameter counts and the precision its checkpoint is stored in, without downloading weights.

config.json goes through huggingface_hub's download cache (so HF_HUB_OFFLINE=1 reads it
again later); the safetensors headers are read by HTTP range requests and kept beside it, in the
repository's folder of that cache, keyed by commit. The architecture comes from
core.model_readers.from_hf_config and the counts from its summarize_headers, the same readers a
local model folder uses. huggingface_hub is the optional `hub` extra, imported only when a Hub
id is used, so the rest of the planner runs without it. Environment variables (HF_ENDPOINT,
HF_HUB_CACHE/HF_HOME, HF_HUB_OFFLINE, HF_TOKEN) are read at each fetch, not at import.
"""
from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from gpuplanner.core import safe_io
from gpuplanner.core.atomic import atomic_write_text
from gpuplanner.core.errors import CatalogError, InputError
from gpuplanner.core.hub_id import HubId, parse_hub_id
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import ModelArch
from gpuplanner.core.model_readers import CheckpointSummary, from_hf_config, summarize_headers

INSTALL_HINT = "pip install gpuplanner[hub]"
DEFAULT_ENDPOINT = "https://huggingface.co"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
HEADERS_FORMAT = "gpuplanner-hub-headers"
HEADERS_MAX_BYTES = 256 * safe_io.MIB  # every tensor name of a 160-shard MoE is ~15 MiB


# ---- quantized checkpoints ---------------------------------------------------------------------
@dataclass(frozen=True)
class Quantization:
    """What a config's quantization_config says: the method, and the planner precision its
    weights are stored in ('' when the planner has none for it)."""

    method: str
    bits: int
    precision: str

    def describe(self) -> str:
        return f"{self.method} {self.bits}-bit" if self.bits else self.method


_INT_PRECISION = {4: "int4", 8: "int8"}
_FLOAT_PRECISION = {4: "fp4", 8: "fp8"}


def checkpoint_quantization(cfg: dict) -> Quantization | None:
    """The quantization of a checkpoint from its config's quantization_config (None: not
    quantized). GPTQ/AWQ/bitsandbytes store integers, FP8 and ModelOpt FP8/NVFP4 floats;
    compressed-tensors says which in its weight scheme."""
    q = cfg.get("quantization_config")
    if not isinstance(q, dict):
        return None
    method = str(q.get("quant_method", "unknown")).lower()
    if method in ("gptq", "awq"):
        bits = _whole(q.get("bits", q.get("w_bit", 4)))
        return Quantization(method.upper(), bits, _INT_PRECISION.get(bits, ""))
    if method == "bitsandbytes":
        bits = 4 if q.get("load_in_4bit") else 8
        return Quantization("bitsandbytes", bits, _INT_PRECISION[bits])
    if method in ("fp8", "fbgemm_fp8"):
        return Quantization("FP8", 8, "fp8")
    if method == "mxfp4":
        return Quantization("MXFP4", 4, "fp4")
    if method == "modelopt":
        algo = str(q.get("quant_algo", "")).upper()
        bits = 4 if "FP4" in algo else 8 if "FP8" in algo else 0
        return Quantization(f"ModelOpt {algo or '?'}", 0, _FLOAT_PRECISION.get(bits, ""))
    if method == "compressed-tensors":
        return _compressed_tensors(q)
    return Quantization(method, 0, "")


def _compressed_tensors(q: dict) -> Quantization:
    """compressed-tensors (llm-compressor): the first config group's weight scheme."""
    groups = q.get("config_groups")
    group: object = next(iter(groups.values()), {}) if isinstance(groups, dict) and groups else {}
    weights = group.get("weights") if isinstance(group, dict) else None
    weights = weights if isinstance(weights, dict) else {}
    bits = _whole(weights.get("num_bits"))
    table = _FLOAT_PRECISION if weights.get("type") == "float" else _INT_PRECISION
    name = str(q.get("format") or "compressed-tensors")
    return Quantization(f"compressed-tensors {name}", bits, table.get(bits, ""))


def _whole(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ---- the fetched model ------------------------------------------------------------------------
@dataclass(frozen=True)
class HubModel:
    """An architecture read from the Hub, with what its checkpoint's headers and config add."""

    arch: ModelArch
    checkpoint: CheckpointSummary | None
    quantization: Quantization | None
    from_cache: bool

    def describe(self) -> str:
        """One line for the terminal or the status bar."""
        where = "from the cache" if self.from_cache else "from the Hub"
        text = f"{self.arch.hf_repo} @ {self.arch.hf_revision[:12]} ({where})"
        c = self.checkpoint
        if c is None:
            text += ": no safetensors weights; parameters counted from config.json"
        elif self.quantization is None:
            dtypes = ", ".join(f"{dtype} {n:,}" for dtype, n in sorted(c.params_by_dtype.items()))
            text += f": {c.params:,} parameters ({dtypes}), {c.bytes / 1e9:.2f} GB of weights"
        else:
            text += (f": {self.quantization.describe()} checkpoint, {c.bytes / 1e9:.2f} GB of weights; "
                     "parameters counted from config.json (packed tensors hold several per element)")
        return text

    def with_precision(self, inputs: PlanInputs) -> tuple[PlanInputs, str]:
        """``inputs`` planned at the checkpoint's precision when it is quantized and that precision
        is allowed for what is planned, and a note saying what was done ('' if nothing to say)."""
        q = self.quantization
        if q is None:
            return inputs, ""
        if not q.precision:
            return inputs, f"{q.describe()} has no matching planner precision; planning at {inputs.precision}"
        try:
            planned = inputs.with_(precision=q.precision).validated()
        except InputError:
            return inputs, (f"{q.describe()} checkpoint ({q.precision}) cannot be planned for this mode; "
                            f"planning at {inputs.precision} (serve it with mode infer, or train QLoRA)")
        return planned, f"{q.describe()} checkpoint: planning at {q.precision}"


def fetch_hub_model(text: str) -> HubModel:
    """The model a Hub id names: from the Hub, or from the cache when offline (HF_HUB_OFFLINE=1
    or no network). Every failure is an InputError on field 'model' saying what to do."""
    hub_id = parse_hub_id(text)
    if hub_id is None:
        raise InputError("model", f"'{text}' is not a Hugging Face model id; use org/name or org/name@revision")
    hf = _import_hub()
    settings = _Settings.from_environment()
    unreachable = ""
    if not settings.offline:
        try:
            return _fetch(hf, hub_id, settings)
        except _transport_errors(hf) as e:
            unreachable = f"cannot reach {settings.endpoint} ({type(e).__name__})"
        except Exception as e:
            raise _refusal(hf, e, hub_id, settings) from None
    cached = _from_cache(hf, hub_id, settings)
    if cached is None:
        why = unreachable or "HF_HUB_OFFLINE is set"
        raise InputError("model", f"{why}, and {hub_id} is not in the cache folder {settings.cache}; "
                         "fetch it once while online (then it opens offline too)")
    return cached


def _import_hub():
    try:
        # The parts used, named: the package imports them lazily, which a bundler would not see.
        import huggingface_hub
        import huggingface_hub.file_download
        import huggingface_hub.hf_api
        import huggingface_hub.utils
    except ImportError:
        raise InputError("model", "reading a model from the Hugging Face Hub needs the optional "
                         f"huggingface_hub package: {INSTALL_HINT}") from None
    return huggingface_hub


@dataclass(frozen=True)
class _Settings:
    endpoint: str
    cache: Path
    offline: bool

    @classmethod
    def from_environment(cls) -> _Settings:
        env = os.environ
        home = env.get("HF_HOME") or str(Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface")
        cache = Path(env.get("HF_HUB_CACHE") or Path(home) / "hub").expanduser()
        offline = env.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")
        return cls((env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/"), cache, offline)


def _transport_errors(hf) -> tuple[type[BaseException], ...]:
    """Errors that mean the Hub could not be reached (not an HTTP answer): those of the HTTP
    client huggingface_hub uses (requests before 1.0, httpx after) and its own offline errors."""
    errors: list[type[BaseException]] = [hf.utils.LocalEntryNotFoundError, ConnectionError, TimeoutError]
    for module, names in (("requests.exceptions", ("ConnectionError", "Timeout")),
                          ("httpx", ("TransportError",)), ("httpx2", ("TransportError",))):
        try:
            imported = importlib.import_module(module)
        except ImportError:
            continue
        errors += [getattr(imported, name) for name in names if hasattr(imported, name)]
    return tuple(errors)


def _fetch(hf, hub_id: HubId, s: _Settings) -> HubModel:
    api = hf.HfApi(endpoint=s.endpoint)
    files = {sibling.rfilename for sibling in api.model_info(hub_id.repo, revision=hub_id.revision).siblings or ()}
    if "config.json" not in files:
        raise InputError("model", f"{hub_id} has no config.json: not a transformers model this planner can read")
    config = Path(hf.hf_hub_download(hub_id.repo, "config.json", revision=hub_id.revision, cache_dir=s.cache,
                                     endpoint=s.endpoint))
    commit = config.parent.name  # the snapshot folder is named after the commit it holds
    shards: list[str] = []
    if INDEX_FILE in files:
        index = hf.hf_hub_download(hub_id.repo, INDEX_FILE, revision=commit, cache_dir=s.cache, endpoint=s.endpoint)
        shards = _shards(safe_io.load_json(Path(index)), hub_id)
    elif SINGLE_FILE in files:
        shards = [SINGLE_FILE]
    headers = {shard: _header(api, hub_id.repo, shard, commit) for shard in shards}
    path = _headers_path(s.cache, hub_id.repo, commit)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"format": HEADERS_FORMAT, "repo": hub_id.repo, "commit": commit,
                                            "files": headers}))
    except OSError:  # WriteError is one
        pass  # a read-only cache only costs the offline copy of the counts, not this plan
    return _model(config, headers, hub_id, commit, from_cache=False)


def _shards(index, hub_id: HubId) -> list[str]:
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(f, str) for f in weight_map.values()):
        raise InputError("model", f"{hub_id}: {INDEX_FILE} has no weight_map of tensor names to file names")
    return sorted(set(weight_map.values()))


def _header(api, repo: str, filename: str, commit: str) -> dict:
    """One file's safetensors header as the file spells it, read by huggingface_hub's range request."""
    tensors = api.parse_safetensors_file_metadata(repo, filename, revision=commit).tensors
    return {name: {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": list(t.data_offsets)}
            for name, t in tensors.items()}


def _headers_path(cache: Path, repo: str, commit: str) -> Path:
    """Beside huggingface_hub's own folders of this repository (snapshots, refs, blobs)."""
    return cache / f"models--{repo.replace('/', '--')}" / "gpuplanner" / f"{commit}.json"


def _from_cache(hf, hub_id: HubId, s: _Settings) -> HubModel | None:
    config = hf.try_to_load_from_cache(hub_id.repo, "config.json", cache_dir=s.cache, revision=hub_id.revision)
    if not isinstance(config, str):
        return None
    commit = Path(config).parent.name
    path = _headers_path(s.cache, hub_id.repo, commit)
    if not path.is_file():
        return None
    doc = safe_io.load_json(path, max_bytes=HEADERS_MAX_BYTES)
    if not isinstance(doc, dict) or doc.get("format") != HEADERS_FORMAT or not isinstance(doc.get("files"), dict):
        raise CatalogError(path, f"is not a {HEADERS_FORMAT} file; delete it and fetch {hub_id} again")
    return _model(Path(config), doc["files"], hub_id, commit, from_cache=True)


def _model(config: Path, headers: dict, hub_id: HubId, commit: str, from_cache: bool) -> HubModel:
    where = f"{hub_id.repo}@{commit[:12]}"
    try:
        cfg = safe_io.load_json(config)
        if not isinstance(cfg, dict):
            raise CatalogError(f"{where}/config.json", "must hold a JSON object")
        arch = from_hf_config(cfg, name=hub_id.repo, path=f"{where}/config.json")
        summary = summarize_headers((f"{where}/{f}", h) for f, h in sorted(headers.items())) if headers else None
    except CatalogError as e:
        raise InputError("model", str(e)) from None
    quantization = checkpoint_quantization(cfg)
    exact = summary is not None and quantization is None  # packed quantized tensors are not parameter counts
    arch = replace(arch, hf_repo=hub_id.repo, hf_revision=commit,
                   published_params=float(summary.params) if exact and summary else arch.published_params,
                   source=f"huggingface.co/{hub_id.repo} @{commit}: config.json"
                          + (" and safetensors headers" if summary else ""))
    return HubModel(arch, summary, quantization, from_cache)


def _refusal(hf, e: Exception, hub_id: HubId, s: _Settings) -> InputError:
    """The Hub's answer as a sentence naming what to do (HF_TOKEN, the id, the revision)."""
    if isinstance(e, InputError):
        return e
    u = hf.utils
    response = getattr(e, "response", None)
    status = getattr(response, "status_code", 0)
    token = bool(os.environ.get("HF_TOKEN"))
    page = f"{s.endpoint}/{hub_id.repo}"
    if isinstance(e, u.GatedRepoError):
        return InputError("model", f"{hub_id.repo} is a gated model: accept its terms at {page} and set HF_TOKEN "
                          "to a read token of that account" + (" (the token given has no access yet)" if token else ""))
    if status == 401 and token:
        return InputError("model", f"the Hub refused the token in HF_TOKEN (401 Unauthorized) for {hub_id.repo}; "
                          "make a new read token at https://huggingface.co/settings/tokens")
    if isinstance(e, u.RevisionNotFoundError):
        return InputError("model", f"revision '{hub_id.revision}' is not in {hub_id.repo}; after @ give a branch, "
                          "tag or commit id")
    if isinstance(e, u.RepositoryNotFoundError) or status == 404:
        return InputError("model", f"{hub_id.repo} is not a model on the Hugging Face Hub ({status or 404}); check "
                          "the id, or set HF_TOKEN if it is private")
    if status == 403:
        return InputError("model", f"the Hub refused access to {hub_id.repo} (403 Forbidden); set HF_TOKEN to a "
                          "token with read access to it")
    if status == 401:
        return InputError("model", f"{hub_id.repo} needs a login (401 Unauthorized); set HF_TOKEN to a read token")
    if isinstance(e, u.HfHubHTTPError):
        return InputError("model", f"the Hub answered {status} for {hub_id}; try again later")
    if isinstance(e, u.SafetensorsParsingError):
        return InputError("model", f"{hub_id}: a safetensors header cannot be read ({e})")
    raise e
