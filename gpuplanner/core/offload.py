"""ZeRO-Offload / ZeRO-Infinity: model states kept in host memory (or on NVMe) instead of on
the GPU, the host memory a node then needs, and the PCIe traffic a step pays for it.

- Optimizer offload (Ren et al. 2021, "ZeRO-Offload", §4): the fp32 master weights, the
  optimizer states and the gradients live on the host; the GPU keeps its 16-bit weights, sends
  each step's gradients down and receives the updated 16-bit weights back.
- Parameter offload (Rajbhandari et al. 2021, "ZeRO-Infinity", §5; ZeRO-3 only): the 16-bit
  weights live on the host too and are fetched for every micro-batch's forward and backward pass.
- Host memory in DeepSpeed mode is DeepSpeed's own estimator, per node
  (estimate_zero2_model_states_mem_needs / estimate_zero3_model_states_mem_needs in
  deepspeed/runtime/zero/stage_1_and_2.py and stage3.py, documented at
  https://deepspeed.readthedocs.io/en/latest/memory.html): it keeps every state live, times a
  1.5 buffer factor. Other frameworks hold exactly the offloaded states of the node's GPUs.
"""
from __future__ import annotations

from gpuplanner.core.errors import InputError

OFFLOAD_DEVICES = ("none", "cpu", "nvme")
OFFLOADED_BY_OPTIMIZER = ("gradients", "master_weights", "optimizer")  # MemoryBreakdown components
DEEPSPEED_BUFFER_FACTOR = 1.5  # the estimators' additional_buffer_factor
NVME_ASSUMED_BYTES_PER_S = 6e9  # a PCIe Gen4 NVMe drive's sequential rate, per node (an assumption)


def check_offload(optimizer: str, params: str, zero_stage: int, method: str) -> None:
    """Parameter offload needs ZeRO-3 (DeepSpeed's offload_param is a stage-3 option); offload
    applies to full training (LoRA's trained states are tiny)."""
    if params != "none" and zero_stage not in (-1, 3):
        raise InputError("offload_params", "parameter offload needs ZeRO-3 (set zero to 3 or auto)")
    if (optimizer != "none" or params != "none") and method != "full":
        raise InputError("offload_optimizer", "offload applies to full training; LoRA's trained states are small")


def gpu_states(states: tuple, optimizer: str, params: str) -> tuple:
    """The frameworks.State values that stay on the GPU."""
    gone = (OFFLOADED_BY_OPTIMIZER if optimizer != "none" else ()) + (("weights",) if params != "none" else ())
    return tuple(st for st in states if st.component not in gone)


def offloaded_bytes_per_param(states: tuple, optimizer: str, params: str) -> float:
    """Bytes per parameter the host holds for the states moved off the GPU (before sharding)."""
    kept = gpu_states(states, optimizer, params)
    return sum(st.bytes for st in states if st not in kept)


def host_memory_bytes(framework: str, zero: int, params: float, largest_layer: float, offload_optimizer: str,
                      offload_params: str, gpus_per_node: int, nodes: int, offloaded_per_param: float) -> float:
    """Host memory one node needs for the model states. DeepSpeed: its estimator's figure (see the
    module docstring; ZeRO-0/1/2 use the stage-2 estimator, zero_init on for ZeRO-3); others:
    the offloaded states of the node's GPUs (each GPU's shard of the whole model)."""
    f = DEEPSPEED_BUFFER_FACTOR
    if framework == "deepspeed":
        if zero < 3:
            if offload_optimizer != "none":
                return params * max(4 * gpus_per_node, 16) * f
            return params * 4 * gpus_per_node * f
        if offload_params != "none":
            return params * 18 / nodes * f
        if offload_optimizer != "none":
            return params * 16 / nodes * f
        return largest_layer * 4 * gpus_per_node * f
    return offloaded_per_param * params / nodes
