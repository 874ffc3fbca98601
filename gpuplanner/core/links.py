"""The links a group of GPUs talks over, defined once for serving and training.

A collective among `group` GPUs runs over NVLink/NVSwitch while the group fits in one NVLink
domain (a whole HGX board, a bridged pair, or a rack-scale domain such as GB200 NVL72, which
spans several instances), over PCIe while it fits in one instance, and over the instance
network beyond. Every figure is one direction, per GPU, in bytes/s; where it came from
(datasheet, instance catalog, or this cluster's measured collectives) is kept in `source`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from gpuplanner.core.catalogs import GpuSpec, Instance
from gpuplanner.core.errors import InputError

NETWORK_ASSUMED_BYTES_PER_S = 12.5e9  # 100 Gb/s per instance, used only when its network is unknown
# Planning by GPU (no instance): a GPU cluster's compute fabric, one 400 Gb/s NIC per GPU (the
# NVIDIA HGX/DGX H100, H200 and B200 reference designs, ConnectX-7), one direction
BY_GPU_NETWORK_BYTES_PER_S_PER_GPU = 50e9
PCIE_ASSUMED_BYTES_PER_S = 16e9  # PCIe Gen4 x16, one direction, when the datasheet gives none
# NCCL's own cost model of a collective (src/graph/tuning.cc, Ring algorithm): a base latency
# plus one hop latency per ring step, the hop by the fabric crossed, per protocol: Simple for
# large buffers (training's gradients), LL for the small ones of a decode step; microseconds
# there, seconds here.
NCCL_BASE_LATENCY_S = {"simple": 8.4e-6, "ll": 6.6e-6}
NCCL_HOP_LATENCY_S = {"simple": {"nvlink": 3.4e-6, "pcie": 5.7e-6, "network": 14.0e-6},
                      "ll": {"nvlink": 0.6e-6, "pcie": 1.0e-6, "network": 2.7e-6}}


@dataclass(frozen=True)
class Links:
    """Bandwidths one GPU sees, one direction, and the sizes of the domains they join."""

    nvlink_domain_gpus: int  # GPUs joined by NVLink/NVSwitch (1: none; 2: bridged pairs)
    gpus_per_instance: int
    nvlink_bytes_per_s: float  # per GPU, one direction (NaN: no NVLink)
    pcie_bytes_per_s: float  # per GPU, one direction
    network_bytes_per_s: float  # per instance, one direction (NaN: unknown, 100 Gb/s assumed)
    source: str = "datasheet and instance catalog"

    def fabric(self, group: int) -> str:
        """The slowest fabric a collective among `group` GPUs crosses: nvlink, pcie or network."""
        if group <= self.nvlink_domain_gpus and math.isfinite(self.nvlink_bytes_per_s):
            return "nvlink"
        return "pcie" if group <= self.gpus_per_instance else "network"

    def bytes_per_s(self, group: int) -> float:
        """One direction of the slowest link a collective among `group` GPUs crosses, per GPU."""
        fabric = self.fabric(group)
        if fabric == "nvlink":
            return self.nvlink_bytes_per_s
        if fabric == "pcie":
            return self.pcie_bytes_per_s if math.isfinite(self.pcie_bytes_per_s) else PCIE_ASSUMED_BYTES_PER_S
        net = self.network_bytes_per_s if math.isfinite(self.network_bytes_per_s) else NETWORK_ASSUMED_BYTES_PER_S
        return net / self.gpus_per_instance

    def collective_latency_s(self, group: int, protocol: str = "simple", collective: str = "all_reduce") -> float:
        """NCCL's latency of one collective among `group` GPUs, its bytes aside: a hop per step,
        2(n − 1) ring steps for an all-reduce, n − 1 sends (one per peer) for an all-to-all, one
        for a send (a pipeline hand-off)."""
        if group <= 1:
            return 0.0
        hops = {"all_reduce": 2 * (group - 1), "all_to_all": group - 1, "send": 1}[collective]
        return NCCL_BASE_LATENCY_S[protocol] + hops * NCCL_HOP_LATENCY_S[protocol][self.fabric(group)]

    def crosses_network(self, group: int) -> bool:
        """A group of this size needs the instance network (not one NVLink domain or instance)."""
        return group > max(self.gpus_per_instance, self.nvlink_domain_gpus if
                           math.isfinite(self.nvlink_bytes_per_s) else 0)


def links_for(gpu: GpuSpec, instance: Instance | None, gpus_per_instance: int) -> Links:
    """The catalog's links: the GPU's datasheet NVLink and PCIe (both directions, halved), the
    instance's NVLink domain (an NVLink bridge joins pairs only) and network (by GPU only: a
    cluster fabric of one 400 Gb/s NIC per GPU)."""
    bridged = "bridge" in gpu.interconnect.lower()
    has_nvlink = math.isfinite(gpu.nvlink_bytes_per_s)
    domain = instance.nvlink_domain_gpus if instance is not None and instance.nvlink_domain_gpus else \
        (min(2, gpus_per_instance) if bridged else gpus_per_instance) if has_nvlink else 1
    return Links(nvlink_domain_gpus=domain, gpus_per_instance=gpus_per_instance,
                 nvlink_bytes_per_s=gpu.nvlink_bytes_per_s / 2, pcie_bytes_per_s=gpu.pcie_bytes_per_s / 2,
                 network_bytes_per_s=instance.network_bytes_per_s if instance is not None else
                 BY_GPU_NETWORK_BYTES_PER_S_PER_GPU * gpus_per_instance)


@dataclass(frozen=True)
class MeasuredLinks:
    """A cluster's measured all-reduce bus bandwidths (nccl-tests' busbw: per GPU, one direction,
    so comparable with a link's datasheet figure), from `python -m gpuplanner.bench --collectives`.

    `intra_node_bytes_per_s` is measured among the GPUs of one node (NaN: one GPU per node),
    `inter_node_bytes_per_s` across all nodes (NaN: one node was measured).
    """

    intra_node_bytes_per_s: float
    gpus_per_node: int
    inter_node_bytes_per_s: float = math.nan
    nodes: int = 1
    measured_at: str = ""  # ISO date of the run
    method: str = ""  # what was measured: operation, backend, devices

    def __post_init__(self) -> None:
        for name in ("gpus_per_node", "nodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError("interconnect", f"measured {name} must be a whole number ≥ 1, got {value!r}")
        for name, needed in (("intra_node_bytes_per_s", self.gpus_per_node > 1),
                             ("inter_node_bytes_per_s", self.nodes > 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (needed and not (math.isfinite(value) and value > 0)):
                raise InputError("interconnect", f"measured {name} must be a positive number of bytes/s, "
                                 f"got {value!r}")
        if not (self.gpus_per_node > 1 or self.nodes > 1):
            raise InputError("interconnect", "a measurement of one GPU says nothing about links")

    @property
    def source(self) -> str:
        return f"measured: collectives {self.measured_at}".rstrip()

    def describe(self) -> str:
        """The figures as the assumptions list them (GB/s = 10⁹ bytes/s)."""
        parts = []
        if math.isfinite(self.intra_node_bytes_per_s):
            parts.append(f"inside a node {self.intra_node_bytes_per_s / 1e9:,.3g} GB/s per GPU "
                         f"({self.gpus_per_node} GPUs)")
        if math.isfinite(self.inter_node_bytes_per_s):
            parts.append(f"across nodes {self.inter_node_bytes_per_s / 1e9:,.3g} GB/s per GPU ({self.nodes} nodes)")
        return "; ".join(parts) + (f" ({self.method})" if self.method else "")

    def applied_to(self, links: Links) -> Links:
        """`links` with the measured figures in place of the catalog's: the intra-node figure for any
        group inside one instance (NVLink or PCIe), the inter-node one for groups spanning instances
        (whatever fabric joins them, a rack-scale NVLink domain included). A figure not measured
        keeps the catalog's."""
        out = replace(links, source=self.source)
        if math.isfinite(self.intra_node_bytes_per_s):
            nvlink = self.intra_node_bytes_per_s if math.isfinite(links.nvlink_bytes_per_s) else math.nan
            out = replace(out, nvlink_bytes_per_s=nvlink, pcie_bytes_per_s=self.intra_node_bytes_per_s)
        if math.isfinite(self.inter_node_bytes_per_s):
            out = replace(out, nvlink_domain_gpus=min(links.nvlink_domain_gpus, links.gpus_per_instance),
                          network_bytes_per_s=self.inter_node_bytes_per_s * links.gpus_per_instance)
        return out
