"""The collective benchmark's definitions: its command line, its results as typed values, their
JSON file, and the link bandwidths a plan takes from them. Torch-free and Qt-free (the torch side
is gpuplanner.bench.collective_kernels, run under torchrun).

Time, algorithm bandwidth and bus bandwidth follow nccl-tests (doc/PERFORMANCE.md): the message
size S is nccl-tests' size column (the whole buffer: all-reduce's buffer, all-gather's gathered
output, reduce-scatter's input, all-to-all's per-rank send buffer), algbw = S / t and
busbw = algbw × 2(n−1)/n for all-reduce, × (n−1)/n for all-gather, reduce-scatter and all-to-all,
so busbw is comparable with one link's one-direction bandwidth whatever the rank count.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpuplanner.core import safe_io
from gpuplanner.core.atomic import atomic_write
from gpuplanner.core.links import MeasuredLinks

FORMAT = "gpuplanner-collectives"
VERSION = 1
OPS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all")
SCOPES = ("intra_node", "inter_node")  # among one node's ranks (all nodes at once); among all ranks
BACKENDS = ("auto", "gloo", "nccl")
DEFAULT_SIZES = "1K,16K,256K,4M,64M,256M"
ELEMENT_BYTES = 4  # float32 buffers
PLANNING_OP = "all_reduce"  # what tensor parallelism runs; its busbw becomes the plan's link bandwidth


def bus_factor(op: str, ranks: int) -> float:
    """nccl-tests' busbw / algbw for `op` among `ranks` ranks."""
    if op not in OPS:
        raise ValueError(f"unknown collective {op!r}; one of {', '.join(OPS)}")
    share = (ranks - 1) / ranks
    return 2 * share if op == "all_reduce" else share


def message_bytes(requested: int, ranks: int) -> int:
    """The largest size ≤ `requested` that splits into `ranks` equal float32 chunks (0: none)."""
    quantum = ELEMENT_BYTES * ranks
    return requested // quantum * quantum


# ---- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CollectiveResult:
    """One operation at one size among `ranks` ranks; time_s is the slowest rank's mean."""

    op: str
    scope: str
    ranks: int
    size_bytes: int
    time_s: float

    @property
    def algbw_bytes_per_s(self) -> float:
        return self.size_bytes / self.time_s

    @property
    def busbw_bytes_per_s(self) -> float:
        return self.algbw_bytes_per_s * bus_factor(self.op, self.ranks)


@dataclass(frozen=True)
class Unsupported:
    """An operation the backend refused (e.g. "not supported by gloo"): reported, never a number."""

    op: str
    scope: str
    reason: str


@dataclass(frozen=True)
class CollectivesRun:
    backend: str  # "gloo" or "nccl"
    device_name: str
    torch_version: str
    world_size: int
    local_world_size: int  # ranks per node (torchrun's LOCAL_WORLD_SIZE)
    measured_at: datetime
    results: tuple[CollectiveResult, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()

    def __post_init__(self) -> None:
        if self.local_world_size < 1 or self.world_size % self.local_world_size:
            raise ValueError(f"world_size {self.world_size} is not a whole number of nodes of "
                             f"{self.local_world_size} ranks")
        for r in self.results:
            if r.op not in OPS or r.scope not in SCOPES:
                raise ValueError(f"unknown collective {r.op!r} or scope {r.scope!r}")
            if not (r.ranks >= 2 and r.size_bytes > 0 and math.isfinite(r.time_s) and r.time_s > 0):
                raise ValueError(f"{r.op} {r.scope} of {r.size_bytes} bytes: ranks ≥ 2, a positive size "
                                 f"and time are needed, got {r.ranks}, {r.size_bytes}, {r.time_s}")

    @property
    def nodes(self) -> int:
        return self.world_size // self.local_world_size

    def scopes(self) -> tuple[str, ...]:
        """The scopes this run measured, in SCOPES order."""
        measured = {r.scope for r in self.results} | {u.scope for u in self.unsupported}
        return tuple(s for s in SCOPES if s in measured)

    def series(self, op: str, scope: str) -> list[CollectiveResult]:
        """`op`'s results in `scope`, smallest message first."""
        return sorted((r for r in self.results if r.op == op and r.scope == scope), key=lambda r: r.size_bytes)

    def best_busbw_bytes_per_s(self, scope: str, op: str = PLANNING_OP) -> float:
        """The highest bus bandwidth `op` reached in `scope` over the sizes (NaN: not measured);
        large messages reach it, where the fixed cost per call no longer counts."""
        return max((r.busbw_bytes_per_s for r in self.series(op, scope)), default=math.nan)

    def measured_links(self) -> MeasuredLinks:
        """The link bandwidths a plan uses: all-reduce bus bandwidth inside a node and, with several
        nodes, across them. InputError("interconnect") when the run measured neither."""
        sizes = len({r.size_bytes for r in self.results if r.op == PLANNING_OP})
        return MeasuredLinks(
            intra_node_bytes_per_s=self.best_busbw_bytes_per_s("intra_node"), gpus_per_node=self.local_world_size,
            inter_node_bytes_per_s=self.best_busbw_bytes_per_s("inter_node"), nodes=self.nodes,
            measured_at=self.measured_at.date().isoformat(),
            method=f"best all-reduce bus bandwidth of {sizes} message sizes, {self.backend} on {self.device_name}")

    # ---- the file ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The results document: canonical units, derived bandwidths included for other readers."""
        head = {k: v for k, v in asdict(self).items() if k not in ("results", "unsupported", "measured_at")}
        return {"format": FORMAT, "version": VERSION, "measured_at": self.measured_at.isoformat(), **head,
                "nodes": self.nodes,
                "results": [{**asdict(r), "algbw_bytes_per_s": r.algbw_bytes_per_s,
                             "busbw_bytes_per_s": r.busbw_bytes_per_s} for r in self.results],
                "unsupported": [asdict(u) for u in self.unsupported]}

    @classmethod
    def from_json(cls, doc: Any) -> CollectivesRun:
        """Read a results document; ValueError names what is missing or wrong. The derived
        bandwidths are recomputed from size and time, never trusted from the file."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a collective benchmark results document (no \"format\": \"{FORMAT}\")")
        if doc.get("version") != VERSION:
            raise ValueError(f"results version {doc.get('version')!r}; this gpuplanner reads version {VERSION}")
        _require(doc, {"backend": str, "device_name": str, "torch_version": str, "world_size": int,
                       "local_world_size": int, "measured_at": str, "results": list, "unsupported": list}, "")
        results, unsupported = [], []
        for i, r in enumerate(doc["results"]):
            _require(r, {"op": str, "scope": str, "ranks": int, "size_bytes": int, "time_s": float},
                     f"results[{i}].")
            results.append(CollectiveResult(r["op"], r["scope"], r["ranks"], r["size_bytes"], float(r["time_s"])))
        for i, u in enumerate(doc["unsupported"]):
            _require(u, {"op": str, "scope": str, "reason": str}, f"unsupported[{i}].")
            unsupported.append(Unsupported(u["op"], u["scope"], u["reason"]))
        return cls(doc["backend"], doc["device_name"], doc["torch_version"], doc["world_size"],
                   doc["local_world_size"], datetime.fromisoformat(doc["measured_at"]), tuple(results),
                   tuple(unsupported))


def _require(obj: Any, types: dict[str, type], where: str) -> None:
    if not isinstance(obj, dict):
        raise ValueError(f"{where.rstrip('.') or 'document'} is not a JSON object")
    for name, kind in types.items():
        value = obj.get(name)
        allowed = (int, float) if kind is float else (kind,)
        if not isinstance(value, allowed) or isinstance(value, bool):
            raise ValueError(f"{where}{name} missing or not {kind.__name__}")


def save_collectives(path: Path, run: CollectivesRun) -> Path:
    """Write the results document atomically (core.atomic): never half a file."""
    document = run.to_json()

    def write(temp: Path) -> None:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write({path: write})
    return path


def load_collectives(path: Path) -> CollectivesRun:
    """Read a file written by save_collectives; ValueError with the path and the field at fault."""
    try:
        return CollectivesRun.from_json(safe_io.load_json(path))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a gpuplanner collective results file ({exc})") from exc


def default_output(now: datetime | None = None) -> Path:
    return Path(f"collectives-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.json")


# ---- command line ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CollectivesConfig:
    sizes_bytes: tuple[int, ...]
    ops: tuple[str, ...] = OPS
    backend: str = "auto"  # auto: nccl when CUDA is usable, else gloo
    warmup: int = 2
    iterations: int = 10
    output: Path | None = None  # None: collectives-<date>.json in the working directory


def parse_args(argv: Sequence[str]) -> CollectivesConfig:
    """The benchmark's arguments (after --collectives); bad ones exit with argparse's code 2."""
    parser = argparse.ArgumentParser(
        prog="torchrun --nproc-per-node N -m gpuplanner.bench --collectives",
        description="Time all-reduce, all-gather, reduce-scatter and all-to-all over message sizes and "
                    "report algorithm and bus bandwidth as nccl-tests does. Rank 0 writes the JSON results.")
    parser.add_argument("--collectives", action="store_true", required=True)
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help="comma-separated message sizes in bytes (K, M, G = 2^10, 2^20, 2^30)")
    parser.add_argument("--ops", default=",".join(OPS), help=f"comma-separated subset of {','.join(OPS)}")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--output", type=Path, help="results file (default: collectives-<date>.json here)")
    ns = parser.parse_args(list(argv))
    try:
        sizes = tuple(_size(text) for text in ns.sizes.split(",") if text.strip())
        ops = tuple(op for op in ns.ops.split(",") if op)
        if not sizes:
            raise ValueError("--sizes needs at least one size")
        if not ops or set(ops) - set(OPS):
            raise ValueError(f"--ops must be a non-empty subset of {','.join(OPS)}, got {ns.ops!r}")
        if ns.warmup < 0 or ns.iterations < 1:
            raise ValueError("--warmup must be ≥ 0 and --iterations ≥ 1")
    except ValueError as exc:
        parser.error(str(exc))
    return CollectivesConfig(sizes, ops, ns.backend, ns.warmup, ns.iterations, ns.output)


_BINARY = {"K": 2**10, "M": 2**20, "G": 2**30}


def _size(text: str) -> int:
    """'64M' → 2^26 bytes; a plain number is bytes."""
    clean = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = _BINARY.get(clean[-1:], 1)
    try:
        value = float(clean[:-1] if scale > 1 else clean) * scale
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"--sizes: {text.strip()!r} is not a positive size in bytes")
    return int(value)


def format_table(run: CollectivesRun) -> str:
    """nccl-tests' columns, one block per operation and scope, for the terminal."""
    lines = [f"# {run.backend} on {run.device_name}: {run.world_size} ranks, {run.nodes} node(s) × "
             f"{run.local_world_size}",
             f"# {'op':<15}{'scope':<12}{'ranks':>6}{'size (B)':>13}{'time (us)':>12}{'algbw (GB/s)':>14}"
             f"{'busbw (GB/s)':>14}"]
    for r in run.results:
        lines.append(f"  {r.op:<15}{r.scope:<12}{r.ranks:>6}{r.size_bytes:>13}{r.time_s * 1e6:>12.1f}"
                     f"{r.algbw_bytes_per_s / 1e9:>14.3f}{r.busbw_bytes_per_s / 1e9:>14.3f}")
    lines += [f"  {u.op:<15}{u.scope:<12}{u.reason}" for u in run.unsupported]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    """Run under torchrun; returns the exit code (0 ok, 1 failed, 2 usage)."""
    config = parse_args(argv)
    try:
        from gpuplanner.bench import collective_kernels
    except ImportError as exc:
        print(f"gpuplanner.bench --collectives: torch is needed ({exc}): pip install 'gpuplanner[bench]'",
              file=sys.stderr)
        return 1
    try:
        run = collective_kernels.measure(config)
    except collective_kernels.NotDistributed as exc:
        print(f"gpuplanner.bench --collectives: {exc}", file=sys.stderr)
        return 2
    if run is None:  # not rank 0: rank 0 reports
        return 0
    path = save_collectives(config.output or default_output(run.measured_at), run)
    print(format_table(run))
    print(f"# results written to {path}")
    return 0
