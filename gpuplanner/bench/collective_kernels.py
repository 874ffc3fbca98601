"""The collective benchmark's measurements, run by every rank under torchrun.

Besides gpuplanner.bench.kernels, the only module that imports torch, and only in the benchmark
process. One code path for both backends: gloo with CPU tensors, NCCL with each rank's GPU
(LOCAL_RANK). Whether ranks share a node comes from torchrun's WORLD_SIZE and LOCAL_WORLD_SIZE:
with several nodes each operation runs twice, inside every node at once and across all ranks.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

import torch
import torch.distributed as dist

from gpuplanner.bench import kernels
from gpuplanner.bench.collectives import (
    CollectiveResult,
    CollectivesConfig,
    CollectivesRun,
    Unsupported,
    message_bytes,
)


class NotDistributed(RuntimeError):
    """Not started by torchrun (or an equivalent launcher), or with too few ranks to measure."""


def measure(config: CollectivesConfig) -> CollectivesRun | None:
    """Run every operation at every size; rank 0 gets the run, the other ranks None."""
    world, local, rank, local_rank = _torchrun_env()
    backend = config.backend if config.backend != "auto" else "nccl" if torch.cuda.is_available() else "gloo"
    device = torch.device("cpu")
    if backend == "nccl":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group(backend)
    try:
        results: list[CollectiveResult] = []
        unsupported: list[Unsupported] = []
        for scope, group, ranks in _scopes(world, local):
            for op in config.ops:
                try:
                    for size in config.sizes_bytes:
                        size = message_bytes(size, ranks)
                        if size:
                            time_s = _time_s(_call(op, size, ranks, group, device), device, config)
                            results.append(CollectiveResult(op, scope, ranks, size, time_s))
                except (RuntimeError, NotImplementedError) as exc:
                    if not _unsupported(exc):
                        raise
                    unsupported.append(Unsupported(op, scope, f"not supported by {backend}: {exc}".strip()))
        info = kernels.device_info(device)
        return CollectivesRun(backend, info["device_name"], torch.__version__, world, local, datetime.now(UTC),
                              tuple(results), tuple(unsupported)) if rank == 0 else None
    finally:
        dist.destroy_process_group()


def _torchrun_env() -> tuple[int, int, int, int]:
    try:
        world, local = int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_WORLD_SIZE"])
        rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    except (KeyError, ValueError):
        raise NotDistributed("run under torchrun, e.g. torchrun --nproc-per-node 2 -m gpuplanner.bench "
                             "--collectives (WORLD_SIZE, LOCAL_WORLD_SIZE, RANK, LOCAL_RANK unset)") from None
    if world < 2 or local < 1 or world % local:
        raise NotDistributed(f"{world} ranks in nodes of {local}: at least 2 ranks, the same number on each node")
    return world, local, rank, local_rank


def _scopes(world: int, local: int) -> list[tuple[str, dist.ProcessGroup | None, int]]:
    """(scope, process group, ranks in it): one node's ranks (torchrun numbers them node by node),
    and all ranks when there are several nodes. Every rank creates every group, as torch requires."""
    if world == local:
        return [("intra_node", None, world)]
    scopes: list[tuple[str, dist.ProcessGroup | None, int]] = []
    if local > 1:
        node_group, _ = dist.new_subgroups(group_size=local)
        scopes.append(("intra_node", node_group, local))
    return [*scopes, ("inter_node", None, world)]


def _call(op: str, size_bytes: int, ranks: int, group, device: torch.device) -> Callable[[], object]:
    """One call of `op` on nccl-tests' buffers for message size S (see gpuplanner.bench.collectives)."""
    whole = torch.zeros(size_bytes // 4, dtype=torch.float32, device=device)
    chunk = torch.zeros(whole.numel() // ranks, dtype=torch.float32, device=device)
    other = torch.zeros_like(whole)
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    scatter = getattr(dist, "reduce_scatter_single", None) or dist.reduce_scatter_tensor
    calls = {
        "all_reduce": lambda: dist.all_reduce(whole, group=group),
        "all_gather": lambda: gather(whole, chunk, group=group),
        "reduce_scatter": lambda: scatter(chunk, whole, group=group),
        "all_to_all": lambda: dist.all_to_all_single(other, whole, group=group),
    }
    return calls[op]


def _time_s(call: Callable[[], object], device: torch.device, config: CollectivesConfig) -> float:
    """Mean time of one call on the slowest rank (all ranks of the world agree on it)."""
    for _ in range(config.warmup):
        call()
    kernels.synchronize(device)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(config.iterations):
        call()
    kernels.synchronize(device)
    elapsed = torch.tensor([(time.perf_counter() - start) / config.iterations], dtype=torch.float64, device=device)
    dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
    return float(elapsed.item())


def _unsupported(exc: BaseException) -> bool:
    """The backend refused the operation (every rank raises alike, before any traffic)."""
    return isinstance(exc, NotImplementedError) or "support" in str(exc).lower()
