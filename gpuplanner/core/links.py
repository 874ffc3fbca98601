"""The links a group of GPUs talks over, defined once for serving and training.

A collective among `group` GPUs runs over NVLink/NVSwitch while the group fits in one NVLink
domain (a whole HGX board, a bridged pair, or a rack-scale domain such as GB200 NVL72, which
spans several instances), over PCIe while it fits in one instance, and over the instance
network beyond. Every figure is one direction, per GPU, in bytes/s; where it came from
(datasheet, instance catalog, or this cluster's measured collectives) is kept in `source`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gpuplanner.core.catalogs import GpuSpec, Instance

NETWORK_ASSUMED_BYTES_PER_S = 12.5e9  # 100 Gb/s per instance, used only when its network is unknown
# Planning by GPU (no instance): a GPU cluster's compute fabric, one 400 Gb/s NIC per GPU (the
# NVIDIA HGX/DGX H100, H200 and B200 reference designs, ConnectX-7), one direction
BY_GPU_NETWORK_BYTES_PER_S_PER_GPU = 50e9
PCIE_ASSUMED_BYTES_PER_S = 16e9  # PCIe Gen4 x16, one direction, when the datasheet gives none


@dataclass(frozen=True)
class Links:
    """Bandwidths one GPU sees, one direction, and the sizes of the domains they join."""

    nvlink_domain_gpus: int  # GPUs joined by NVLink/NVSwitch (1: none; 2: bridged pairs)
    gpus_per_instance: int
    nvlink_bytes_per_s: float  # per GPU, one direction (NaN: no NVLink)
    pcie_bytes_per_s: float  # per GPU, one direction
    network_bytes_per_s: float  # per instance, one direction (NaN: unknown, 100 Gb/s assumed)
    source: str = "datasheet and instance catalog"

    def bytes_per_s(self, group: int) -> float:
        """One direction of the slowest link a collective among `group` GPUs crosses, per GPU."""
        if group <= self.nvlink_domain_gpus and math.isfinite(self.nvlink_bytes_per_s):
            return self.nvlink_bytes_per_s
        if group <= self.gpus_per_instance:
            return self.pcie_bytes_per_s if math.isfinite(self.pcie_bytes_per_s) else PCIE_ASSUMED_BYTES_PER_S
        net = self.network_bytes_per_s if math.isfinite(self.network_bytes_per_s) else NETWORK_ASSUMED_BYTES_PER_S
        return net / self.gpus_per_instance

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
