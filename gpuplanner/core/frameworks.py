"""How each training framework stores model states, in bytes per parameter, and the transient
buffers it needs on top (full training; LoRA keeps the frozen base and its adapters alike
everywhere).

A state is held whole below the ZeRO stage that shards it, divided by the data-parallel
degree from that stage on, and not held at all from the stage that releases it (its bytes then
live only in the framework's gather buffers). Sources, per framework:
- zero: the ZeRO paper's accounting (Rajbhandari et al. 2020, §3: 2 + 2 + K·Ψ with K = 12),
  16-bit weights and gradients (fp32 gradients when asked);
- megatron: Megatron-LM docs/distrib_optimizer.md (bytes per parameter: bf16 parameters with
  fp32 gradient accumulation 18, or 6 + 12/d with the distributed optimizer; fp16 20 or
  4 + 16/d; fp32 16 or 8 + 8/d); ZeRO-2/3 are not Megatron options;
- deepspeed: the estimators in deepspeed/runtime/zero/stage_1_and_2.py
  (estimate_zero2_model_states_mem_needs: 2Ψ + 18Ψ/N, "18 = 2 grads 16-bit + 4 grads 32-bit +
  4 params 32-bit + 8 optimizer states") and stage3.py (4·largest layer + 18Ψ/N: the largest
  parameter tensor gathered whole with its gradient) of microsoft/DeepSpeed @022f2236 / @70adb32a;
  an fp32 model under its ZeRO optimizer (stage ≥ 1) still gets a cloned fp32 partition
  (stage_1_and_2.py / stage3.py: `.clone().float()`) but no second gradient copy, so ZeRO-2
  holds 4Ψ + 16Ψ/N: the estimator's form before DeepSpeed PR #5099 (commit f4cb866, 2024), which
  counted 4-byte parameters and gradients and which docs memory.rst still prints;
- fsdp: PyTorch FSDP with MixedPrecision (sharded fp32 parameters, gradients and optimizer
  states; 16-bit parameters materialized per unit: kept after forward with SHARD_GRAD_OP,
  gathered per transformer block with FULL_SHARD, the next block prefetched in backward);
  its stages are NO_SHARD (0), SHARD_GRAD_OP (2) and FULL_SHARD (3);
- hf: Hugging Face Trainer with torch.autocast mixed precision and DDP: fp32 weights, fp32
  gradients and optimizer states, plus the 16-bit copies of the linear weights autocast makes
  in the forward pass and keeps for backward;
- torchtune: its full fine-tuning recipes load the model in bf16 with no fp32 copy, so
  gradients and torch.optim.AdamW states are bf16 too (8 B/param); the distributed recipe
  shards all three with FSDP2 (ZeRO-3), the single-device one keeps them whole. Its recipes
  free the gradients after every step (optimizer.zero_grad(set_to_none=True) in
  recipes/full_finetune_single_device.py and full_finetune_distributed.py): backward builds
  them layer by layer as it frees that layer's activations, so the peak holds either the
  activations (end of forward) or the gradients (end of backward), not both. Without a chunked
  loss its decoder returns fp32 logits (TransformerDecoder: self.output(h).float()) for
  torch.nn.CrossEntropyLoss, an unfused cross-entropy (memory.loss_bytes). Its decoders have no
  dropout (torchtune/modules/transformer.py has none; attention dropout defaults to 0.0), so no
  dropout masks are stored.
"""
from __future__ import annotations

from dataclasses import dataclass

FRAMEWORKS = ("zero", "megatron", "deepspeed", "fsdp", "hf", "torchtune")
NEVER = 4  # a ZeRO stage no framework reaches: never sharded


@dataclass(frozen=True)
class State:
    component: str  # MemoryBreakdown field it adds to
    bytes: float  # per parameter
    stage: int = NEVER  # ZeRO stage from which it is divided over data-parallel ranks
    released: int = NEVER + 1  # ZeRO stage from which it is not held at all
    held: int = 0  # ZeRO stage from which it is held at all (a ZeRO optimizer's own copy)

    def held_at(self, zero: int) -> bool:
        return self.held <= zero < self.released


@dataclass(frozen=True)
class Framework:
    name: str
    zero_stages: tuple  # ZeRO stages (or their equivalents) the framework offers
    data_parallel_only: bool = False  # no tensor, pipeline or expert parallelism (HF Trainer with DDP)
    transient_gradients: bool = False  # gradients freed every step: the peak holds them or the activations
    eager_loss: bool = False  # unfused cross-entropy on fp32 logits (memory.loss_bytes)
    dropout: bool = True  # its models store 1-byte dropout masks (Korthikanti et al.'s count)


_SPECS = {
    "zero": Framework("zero", (0, 1, 2, 3)),
    "megatron": Framework("megatron", (0, 1)),
    "deepspeed": Framework("deepspeed", (0, 1, 2, 3)),
    "fsdp": Framework("fsdp", (0, 2, 3)),
    "hf": Framework("hf", (0,), data_parallel_only=True),
    "torchtune": Framework("torchtune", (0, 3), data_parallel_only=True, transient_gradients=True, eager_loss=True,
                           dropout=False),
}


def framework(name: str) -> Framework:
    return _SPECS[name]


def full_training_states(name: str, compute_bytes: float, precision: str, grad_fp32: bool,
                         optimizer_bytes: float) -> tuple:
    """The States of full training in framework `name`; compute_bytes is the 16-bit (or fp32)
    width of the math; fp32 training needs no master copy anywhere."""
    c, opt = compute_bytes, State("optimizer", optimizer_bytes, 1)
    if c == 4.0 and name == "deepspeed":  # the ZeRO optimizer's fp32 partition is a clone even of fp32 weights
        return State("weights", 4.0, 3), State("gradients", 4.0, 2), State("master_weights", 4.0, 1, held=1), opt
    if c == 4.0 and name != "hf":
        return State("weights", 4.0, 3), State("gradients", 4.0, 2), opt
    if name == "megatron":  # fp32 main gradients by default; fp16 keeps an extra fp32 copy in the optimizer
        grads = (State("gradients", 2.0), State("gradients", 4.0, 1)) if precision == "fp16" \
            else (State("gradients", 4.0),)
        return (State("weights", c), *grads, State("master_weights", 4.0, 1), opt)
    if name == "deepspeed":
        return (State("weights", c, 3), State("gradients", c, 2, released=3), State("gradients", 4.0, 1),
                State("master_weights", 4.0, 1), opt)
    if name == "fsdp":
        return (State("weights", c, released=3), State("master_weights", 4.0, 2), State("gradients", 4.0, 2),
                State("optimizer", optimizer_bytes, 2))
    if name == "hf":
        return State("weights", 4.0), State("gradients", 4.0), State("optimizer", optimizer_bytes)
    if name == "torchtune":  # the whole model in bf16: gradients and AdamW states follow the parameters
        return (State("weights", c, 3), State("gradients", c, 3),
                State("optimizer", optimizer_bytes * (c / 4.0 if optimizer_bytes == 8.0 else 1.0), 3))
    return (State("weights", c, 3), State("master_weights", 4.0, 1),
            State("gradients", 4.0 if grad_fp32 else c, 2), opt)


def buffer_bytes(name: str, zero: int, compute_bytes: float, largest_tensor: float, block: float,
                 linear: float, optimizer_in_backward: bool = False) -> float:
    """Transient buffers on one GPU beyond the model states, for full training: DeepSpeed
    ZeRO-3 gathers the largest parameter tensor whole with its gradient (4 bytes each, as its
    estimator counts); FSDP FULL_SHARD (and torchtune's FSDP2) holds one transformer block gathered, the next one
    prefetched and the current block's unsharded gradients; HF autocast keeps a 16-bit copy of
    the linear weights. With the optimizer step in backward (torchtune's optimizer_in_bwd, a
    post-accumulate-grad hook per parameter) no gradients are kept as a state; unsharded, the
    largest tensor's gradient is the one alive at a time. Arguments are parameter counts
    already divided by tensor parallelism."""
    if name == "deepspeed" and zero == 3:
        return 4.0 * largest_tensor
    if name in ("fsdp", "torchtune") and zero == 3:  # torchtune's distributed recipes shard with FSDP2
        return 3 * compute_bytes * block
    one_gradient = compute_bytes * largest_tensor if optimizer_in_backward else 0.0
    if name == "hf" and compute_bytes < 4.0:
        return compute_bytes * linear + one_gradient
    return one_gradient


def frozen_gather_bytes(name: str, zero: int, weight_bytes: float, block: float) -> float:
    """LoRA/QLoRA under FSDP (fsdp, torchtune's distributed recipes) with the frozen base
    sharded (ZeRO-3): one transformer block's base weights gathered whole and the next one
    prefetched, in their stored format (NF4 for QLoRA); frozen weights have no gradients.
    `block` is a block's parameters already divided by tensor parallelism."""
    return 2 * weight_bytes * block if name in ("fsdp", "torchtune") and zero == 3 else 0.0
