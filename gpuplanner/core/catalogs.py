"""The bundled catalogs (GPUs, cloud instances, model presets) and user-supplied ones.

Each catalog is a CSV with source and as-of columns (resources/). Blank cells are gaps (NaN),
never zeros. A bad user file raises CatalogError naming file, row and column; the bundled
catalogs stay loaded, so the app keeps working.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gpuplanner.core import safe_io
from gpuplanner.core.errors import CatalogError, InputError
from gpuplanner.core.model import ModelArch
from gpuplanner.core.resource_files import resource_path, updated_prices_path
from gpuplanner.core.units import GB, MIB

if TYPE_CHECKING:  # core.links reads the catalog's GPUs and instances
    from gpuplanner.core.links import MeasuredLinks

PEAK_COLUMNS = {
    "fp32": "fp32_tflops", "tf32": "tf32_tflops_dense", "bf16": "bf16_tflops_dense",
    "fp16": "fp16_tflops_dense", "fp8": "fp8_tflops_dense", "int8": "int8_tops_dense", "fp4": "fp4_tflops_dense",
}


# Tensor-core data types each GPU generation has (vendor architecture whitepapers: Volta,
# Turing, Ampere, Ada, Hopper, Blackwell incl. Blackwell Ultra; AMD CDNA2/CDNA3/CDNA4). A blank
# datasheet cell for a type the generation has is a gap ("unknown"), not "unsupported". CDNA4
# (MI350 series) adds FP4/FP6; its TF32 is not listed here until a datasheet confirms it.
TENSOR_DTYPES = {
    "volta": {"fp16"}, "turing": {"fp16", "int8"},
    "ampere": {"fp16", "bf16", "tf32", "int8"}, "cdna2": {"fp16", "bf16", "int8"},
    "ada": {"fp16", "bf16", "tf32", "int8", "fp8"}, "hopper": {"fp16", "bf16", "tf32", "int8", "fp8"},
    "blackwell": {"fp16", "bf16", "tf32", "int8", "fp8", "fp4"}, "cdna3": {"fp16", "bf16", "tf32", "int8", "fp8"},
    "cdna4": {"fp16", "bf16", "int8", "fp8", "fp4"},
}


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """Datasheet facts for one GPU. Peaks are dense (no 2:4 sparsity), in FLOP/s."""

    name: str
    full_name: str
    memory_bytes_reported: float  # what nvidia-smi reports (NaN if not verified)
    memory_gb_marketing: float
    bandwidth_bytes_per_s: float
    peak_flops: dict  # dtype -> dense FLOP/s (or OP/s for int8); NaN = not supported/unknown
    tdp_w: float
    interconnect: str
    source: str
    as_of: str
    notes: str = ""
    measured: bool = False  # peaks are achieved throughput from this machine's benchmark
    architecture: str = ""  # e.g. "Hopper (GH100)": the generation serving efficiencies are fitted per
    nvlink_bytes_per_s: float = math.nan  # NVLink per GPU, both directions (NaN = none or unknown)
    pcie_bytes_per_s: float = math.nan  # PCIe per GPU, both directions

    @property
    def capacity_bytes(self) -> float:
        """Capacity used for fitting: the reported figure, else the marketing GB."""
        if math.isfinite(self.memory_bytes_reported):
            return self.memory_bytes_reported
        return self.memory_gb_marketing * GB

    @property
    def capacity_is_marketing(self) -> bool:
        return not math.isfinite(self.memory_bytes_reported)

    def peak(self, dtype: str) -> float:
        return self.peak_flops.get(dtype, math.nan)

    @property
    def generation(self) -> str:
        """'hopper', 'ampere', … from the architecture column ('' when not given)."""
        words = self.architecture.lower().split()
        return words[0] if words else ""

    def supports(self, dtype: str) -> bool:
        """The GPU runs `dtype` math: a published peak, or a generation known to have it."""
        if dtype == "fp32" or math.isfinite(self.peak(dtype)):
            return True
        return dtype in TENSOR_DTYPES.get(self.generation, ())


@dataclass(frozen=True, slots=True)
class Instance:
    """A cloud instance type. Prices are USD per hour for the whole instance (NaN = unknown)."""

    cloud: str
    instance_type: str
    gpu: str  # key into the GPU catalog ('' when the catalog has no spec for it)
    gpu_count: int
    price_usd_per_hour: float
    spot_price_usd_per_hour: float
    region: str
    source: str
    as_of: str
    notes: str = ""
    network_bytes_per_s: float = math.nan  # the instance's network (EFA, InfiniBand, …); NaN = unknown
    nvlink_domain_gpus: int = 0  # GPUs in one NVLink domain when the catalog says (GB200 NVL72: 72); 0 = from the GPU
    reserved_1y_price_usd_per_hour: float = math.nan  # 1-year reserved/committed-use price (optional column)
    cloud_gpu_name: str = ""  # the GPU as the cloud's price list spells it (GCP's "H100-MEGA"), for price updates


@dataclass(frozen=True)
class Catalogs:
    gpus: dict = field(default_factory=dict)  # name -> GpuSpec
    instances: dict = field(default_factory=dict)  # instance_type -> Instance
    models: dict = field(default_factory=dict)  # model_id -> ModelArch
    origins: tuple = ()  # the files these came from, for the About box and reports
    price_update_error: str = ""  # why the downloaded prices could not be used ('' = fine or none)
    measured_links: MeasuredLinks | None = None  # the collective benchmark's, used by plans that choose it

    def with_user_file(self, path) -> Catalogs:
        """A copy with the rows of a user CSV added (same type detected from its header);
        rows with an existing key replace the bundled ones, e.g. negotiated prices."""
        path = Path(path)
        frame = _read_csv(path)
        cols = set(frame.columns)
        if {"instance_type", "price_usd_per_hour"} <= cols:
            return replace(self, instances={**self.instances, **_instances(frame, path)},
                           origins=self.origins + (str(path),))
        if {"name", "memory_bandwidth_gb_s"} <= cols:
            return replace(self, gpus={**self.gpus, **_gpus(frame, path)},
                           origins=self.origins + (str(path),))
        if {"model_id", "num_hidden_layers"} <= cols:
            return replace(self, models={**self.models, **_models(frame, path)},
                           origins=self.origins + (str(path),))
        raise CatalogError(path, "is not a GPU, instance or model catalog: its header needs "
                           "instance_type+price_usd_per_hour, name+memory_bandwidth_gb_s, "
                           "or model_id+num_hidden_layers")

    def with_price_update(self, path) -> Catalogs:
        """A copy with downloaded prices (`catalog update`) laid over the instances: a known type
        keeps its GPU, network and NVLink facts and takes the new prices, region, source and
        as-of; a type the catalog lacks is added whole."""
        path = Path(path)
        fresh = _instances(_read_csv(path), path)
        price_fields = ("price_usd_per_hour", "spot_price_usd_per_hour", "region", "source", "as_of", "notes")
        merged = {**self.instances}
        for itype, new in fresh.items():
            old = merged.get(itype)
            merged[itype] = new if old is None else replace(old, **{f: getattr(new, f) for f in price_fields})
        origins = self.origins + (str(path),) * (str(path) not in self.origins)
        return replace(self, instances=merged, origins=origins)

    def with_gpu(self, gpu: GpuSpec) -> Catalogs:
        return replace(self, gpus={**self.gpus, gpu.name: gpu})

    def with_measured_links(self, links: MeasuredLinks) -> Catalogs:
        return replace(self, measured_links=links)

    def with_model(self, arch: ModelArch) -> Catalogs:
        return replace(self, models={**self.models, arch.name: arch})


@dataclass(frozen=True)
class _Table:
    """A CSV file as its stripped header and one dict per data row (every cell a string)."""

    columns: tuple
    records: list


def _read_csv(path: Path) -> _Table:
    """The csv module, not pandas: reading the catalogs is on every start-up path, and pandas
    alone takes longer to import than the whole plan takes to compute."""
    if not path.exists():
        raise CatalogError(path, "does not exist")
    data = safe_io.read_bytes(path, safe_io.CSV_MAX_BYTES)  # regular files only, size-capped
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as e:
        raise CatalogError(path, f"is not a readable UTF-8 CSV file: {e}") from None
    if not rows:
        raise CatalogError(path, "is not a readable UTF-8 CSV file: it is empty")
    header = tuple(c.strip() for c in rows[0])
    records = []
    for number, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are not rows
        if len(row) > len(header):
            raise CatalogError(path, f"is not a readable UTF-8 CSV file: row {number} has {len(row)} cells "
                               f"but the header names {len(header)} columns")
        records.append(dict(zip(header, row + [""] * (len(header) - len(row)))))
    return _Table(header, records)


def read_csv_records(path) -> list[dict]:
    """Every data row of a CSV file as a dict of strings (the catalogs' reader, for other tables)."""
    return _read_csv(Path(path)).records


class _Row:
    """Typed access to one CSV row that reports file, row (1 = first data row) and column."""

    def __init__(self, path, index, record):
        self.path, self.row, self.record = path, index + 1, record

    def text(self, col, required=False):
        value = str(self.record.get(col, "")).strip()
        if required and not value:
            raise CatalogError(self.path, "is empty; a value is required", self.row, col)
        return value

    def number(self, col, required=False, positive=True):
        value = self.text(col, required)
        if not value:
            return math.nan
        try:
            x = float(value)
        except ValueError:
            raise CatalogError(self.path, f"'{value}' is not a number", self.row, col) from None
        if not math.isfinite(x) or (positive and x <= 0) or x < 0:
            allowed = "a positive number" if positive else "zero or a positive number"
            raise CatalogError(self.path, f"'{value}' is not allowed; use {allowed} "
                               "or leave it blank for unknown", self.row, col)
        return x

    def integer(self, col, required=False, positive=True):
        x = self.number(col, required, positive)
        if math.isnan(x):
            return 0
        if x != int(x):
            raise CatalogError(self.path, f"'{self.text(col)}' is not a whole number", self.row, col)
        return int(x)

    def flag(self, col):
        value = self.text(col).lower()
        if value not in {"", "true", "false"}:
            raise CatalogError(self.path, f"'{value}' must be true, false or blank", self.row, col)
        return value == "true"


def _rows(frame, path, required):
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CatalogError(path, f"lacks the column(s) {', '.join(missing)}")
    for i, record in enumerate(frame.records):
        yield _Row(path, i, record)


def _gpus(frame, path) -> dict:
    out = {}
    for r in _rows(frame, path, ["name", "memory_bandwidth_gb_s"]):
        name = r.text("name", required=True)
        out[name] = GpuSpec(
            name=name,
            full_name=r.text("full_name") or name,
            memory_bytes_reported=r.number("memory_mib_reported") * MIB,
            memory_gb_marketing=r.number("memory_gb_marketing", required=True),
            bandwidth_bytes_per_s=r.number("memory_bandwidth_gb_s") * GB,
            peak_flops={dtype: r.number(col) * 1e12 for dtype, col in PEAK_COLUMNS.items()},
            tdp_w=r.number("tdp_watts"),
            interconnect=r.text("interconnect"),
            source=r.text("source"),
            as_of=r.text("as_of"),
            notes=r.text("notes"),
            architecture=r.text("architecture"),
            nvlink_bytes_per_s=r.number("nvlink_gb_s") * GB,
            pcie_bytes_per_s=r.number("pcie_gb_s") * GB,
        )
    return out


def _instances(frame, path) -> dict:
    out = {}
    for r in _rows(frame, path, ["instance_type", "gpu", "gpu_count", "price_usd_per_hour"]):
        itype = r.text("instance_type", required=True)
        out[itype] = Instance(
            cloud=r.text("cloud") or "custom",
            instance_type=itype,
            gpu=r.text("gpu"),
            gpu_count=r.integer("gpu_count", required=True),
            price_usd_per_hour=r.number("price_usd_per_hour"),
            spot_price_usd_per_hour=r.number("spot_price_usd_per_hour"),
            region=r.text("region"),
            source=r.text("source") or str(path),
            as_of=r.text("as_of"),
            notes=r.text("notes"),
            network_bytes_per_s=r.number("network_gbit_s") * 1e9 / 8,
            nvlink_domain_gpus=r.integer("nvlink_domain_gpus"),
            reserved_1y_price_usd_per_hour=r.number("reserved_1y_price_usd_per_hour"),
            cloud_gpu_name=r.text("cloud_gpu_name"),
        )
    return out


def _models(frame, path) -> dict:
    out = {}
    for r in _rows(frame, path, ["model_id", "num_hidden_layers", "hidden_size"]):
        model_type = r.text("architecture").lower()
        gpt_style = model_type in {"gpt2", "bert", ""} and r.text("norm") == "layernorm"
        mla = r.integer("kv_lora_rank") > 0
        name = r.text("model_id", required=True)
        arch = ModelArch(
            name=name,
            n_layers=r.integer("num_hidden_layers", required=True),
            hidden=r.integer("hidden_size", required=True),
            intermediate=r.integer("intermediate_size", required=True),
            n_heads=r.integer("num_attention_heads", required=True),
            n_kv_heads=r.integer("num_key_value_heads") or r.integer("num_attention_heads"),
            vocab=r.integer("vocab_size", required=True),
            head_dim=r.integer("head_dim"),
            max_positions=r.integer("max_position_embeddings"),
            tied_embeddings=r.flag("tie_word_embeddings") or (gpt_style and not r.text("tie_word_embeddings")),
            mlp_kind=r.text("mlp_kind") or "swiglu",
            norm=r.text("norm") or "rmsnorm",
            bias="all" if gpt_style else ("qkv" if r.flag("attention_bias") else "none"),
            positions="learned" if gpt_style else "rope",
            encoder=model_type == "bert",
            sliding_window=r.integer("sliding_window"),
            n_experts=r.integer("num_local_experts"),
            experts_per_token=r.integer("num_experts_per_tok"),
            expert_intermediate=r.integer("moe_intermediate_size"),
            n_shared_experts=r.integer("n_shared_experts"),
            first_dense_layers=r.integer("first_k_dense_replace"),
            router_bias=mla and r.integer("num_local_experts") > 0,
            q_lora_rank=r.integer("q_lora_rank"),
            kv_lora_rank=r.integer("kv_lora_rank"),
            qk_rope_head_dim=r.integer("qk_rope_head_dim"),
            qk_nope_head_dim=r.integer("qk_nope_head_dim"),
            v_head_dim=r.integer("v_head_dim"),
            dtype=r.text("torch_dtype"),
            published_params=r.number("published_params"),
            published_active_params=r.number("active_params"),
            source=_publisher_source(r.text("hf_repo"), r.text("config_source")) or str(path),
            hf_repo=r.text("hf_repo"),
        )
        try:
            out[name] = arch.check()
        except InputError as e:
            raise CatalogError(path, e.message, r.row, e.field) from None
    return out


def _publisher_source(hf_repo: str, copy_source: str) -> str:
    """The publisher's config.json first; the public copy it was read from after it."""
    if not hf_repo:
        return copy_source
    return f"huggingface.co/{hf_repo} config.json" + (f" (as copied in {copy_source})" if copy_source else "")


def load_catalogs(gpus=None, instances=None, models=None) -> Catalogs:
    """Load the bundled catalogs (or the given files in their place). Without an instances file,
    prices downloaded by `catalog update` are laid over the bundled ones; if that file cannot be
    read, the bundled prices stay and `price_update_error` says why."""
    paths = [Path(p) if p else resource_path(default) for p, default in
             ((gpus, "gpus.csv"), (instances, "instances.csv"), (models, "models.csv"))]
    catalogs = Catalogs(
        gpus=_gpus(_read_csv(paths[0]), paths[0]),
        instances=_instances(_read_csv(paths[1]), paths[1]),
        models=_models(_read_csv(paths[2]), paths[2]),
        origins=tuple(str(p) for p in paths),
    )
    update = updated_prices_path()
    if instances is not None or not update.exists():
        return catalogs
    try:
        return catalogs.with_price_update(update)
    except CatalogError as e:
        return replace(catalogs, price_update_error=f"downloaded prices not used: {e}")
