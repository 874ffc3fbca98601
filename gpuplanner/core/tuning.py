"""What an engineer tunes around the parallel layout: activation recomputation and the
micro-batch (the ZeRO stage is searched by the layout search itself).

Each recomputation mode the user allows gets its own layout search; the plan keeps the one
on the fewest GPUs (whole instances when billed by the instance), ties going to the mode that
recomputes less (full recomputation runs one more forward pass, 8/6 of the compute). The
runner-up is kept so the plan can show the alternative a user would otherwise try. The
micro-batch then grows (1, 2, 4, 8) while the chosen layout still fits: the GPUs are paid for
either way and larger micro-batches keep them busier.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from gpuplanner.core.parallelism import Candidate, fits_memory, search_training, training_setup
from gpuplanner.core.performance import hardware_flops
from gpuplanner.core.units import SECONDS_PER_DAY

RECOMPUTE_ORDER = ("none", "selective", "full")  # least recomputation first
MICRO_BATCHES = (1, 2, 4, 8)
RECOMPUTE_WORDS = {"none": "no recomputation", "selective": "selective recomputation", "full": "full recomputation"}


@dataclass(frozen=True)
class Option:
    """One recomputation mode at one micro-batch, searched."""

    recompute: str
    micro_batch: int
    candidate: Candidate
    notes: dict  # best layout per tensor degree
    hardware_flops: float
    cap: float = math.inf  # the search skipped layouts of more GPUs (another mode's plan)

    def key(self) -> tuple:
        """Fitting first, then fewest GPUs (smallest memory when nothing fits), then compute."""
        c = self.candidate
        return (not c.fits, c.layout.gpus if c.fits else c.breakdown.total, self.hardware_flops)


@dataclass(frozen=True)
class Tuned:
    best: Option
    runner_up: Option | None
    reasons: tuple  # what was chosen and why, for the layout notes
    min_gpus: int  # fewest GPUs that hold the job in any mode searched (0 if none fits)


def recompute_options(recompute: str, flash_attention: bool) -> tuple:
    """The modes to search: the user's, or (auto) all that differ. With FlashAttention the
    score matrix is never stored, so selective recomputation saves nothing over none."""
    if recompute != "auto":
        return (recompute,)
    return ("none", "full") if flash_attention else RECOMPUTE_ORDER


def setup_for(inputs, arch, recompute: str, micro_batch: int):
    """The layout search's TrainingSetup of the inputs at one recomputation and micro-batch."""
    return training_setup(arch, inputs.precision, inputs.train_method, inputs.optimizer, inputs.grad_dtype,
                          inputs.seq_len, micro_batch, recompute, inputs.flash_attention, inputs.lora_rank,
                          inputs.framework, inputs.sequence_parallel, inputs.offload_optimizer, inputs.offload_params,
                          inputs.chunked_loss, inputs.activation_offload, inputs.optimizer_in_backward)


def tune_training(inputs, arch, model_flops: float, peak: float, usable: float, frag: float, max_tp: int,
                  fixed_layout: dict, gpus_per_instance: int) -> Tuned | None:
    """Search recomputation (and then the micro-batch) around search_training; None when no
    tensor/pipeline degree is allowed at all."""
    per = gpus_per_instance or 1
    batch = inputs.micro_batch or 1

    def search(recompute, micro_batch, layout, min_gpus, cap):
        setup = setup_for(inputs, arch, recompute, micro_batch)
        return search_training(setup, usable, inputs.overhead_bytes, frag, max_tp, layout, min_gpus,
                               gpus_per_instance, cap)

    options: list = []
    for recompute in recompute_options(inputs.recompute, inputs.flash_attention):
        hw = hardware_flops(model_flops, recompute)
        min_gpus = 1
        if inputs.max_training_days and math.isfinite(peak):
            min_gpus = math.ceil(hw / (peak * inputs.mfu * inputs.max_training_days * SECONDS_PER_DAY))
        fitting = [o for o in options if o.candidate.fits]
        if any(o.candidate.min_gpus == 1 and o.candidate.layout.gpus <= math.ceil(min_gpus / per) * per
               for o in fitting):
            continue  # one GPU holds the job and this mode cannot use fewer GPUs; ties go to less compute
        # a mode with more compute wins only on fewer GPUs than the best so far
        cap = min((o.candidate.layout.gpus for o in fitting), default=math.inf)
        cand, notes = search(recompute, batch, fixed_layout, min_gpus, cap)
        if cand is None:
            return None
        options.append(Option(recompute, batch, cand, notes, hw, cap))
    options.sort(key=Option.key)
    best, runner_up = options[0], (options[1] if len(options) > 1 else None)
    reasons = [_recompute_reason(inputs.recompute, best, runner_up, inputs.flash_attention)]
    if not inputs.micro_batch:
        best = _grow_micro_batch(best, inputs, arch, usable, frag)
        reasons.append(f"micro-batch {best.micro_batch} (auto): the largest of "
                       f"{', '.join(map(str, MICRO_BATCHES))} that fits the same layout"
                       if best.candidate.fits else "micro-batch 1 (auto): nothing fits")
    if fixed_layout["zero"] < 0 and best.candidate.fits:
        reasons.append(f"ZeRO-{best.candidate.layout.zero_stage} (auto): the lowest stage on the fewest GPUs "
                       "(higher stages add communication)")
    if best.candidate.layout.tp > 1 and inputs.sequence_parallel:
        reasons.append("sequence parallelism assumed with tensor parallelism: activations divide by the "
                       "tensor degree (Korthikanti et al. 2022)")
    min_gpus = min((o.candidate.min_gpus for o in options if o.candidate.fits), default=0)
    return Tuned(best, runner_up, tuple(reasons), min_gpus)


def _grow_micro_batch(best: Option, inputs, arch, usable: float, frag: float) -> Option:
    """The largest micro-batch of MICRO_BATCHES at which the chosen layout still fits, by the
    breakdown the plan shows at that micro-batch (TrainingSetup.breakdown)."""
    cand = best.candidate
    if not cand.fits:
        return best
    grown = best
    for k in MICRO_BATCHES:
        if k <= best.micro_batch:
            continue
        breakdown = setup_for(inputs, arch, best.recompute, k).breakdown(cand.layout, inputs.overhead_bytes, frag)
        if not fits_memory(breakdown.total, usable):
            break  # memory grows with the micro-batch
        grown = replace(best, micro_batch=k, candidate=replace(cand, breakdown=breakdown))
    return grown


def _recompute_reason(asked: str, best: Option, runner_up: Option | None, flash: bool) -> str:
    if asked != "auto":
        return f"{RECOMPUTE_WORDS[best.recompute]} (as set)"
    text = f"{RECOMPUTE_WORDS[best.recompute]} (auto{'; with FlashAttention selective stores as much as none' * flash})"
    if runner_up is None:
        return text + ": needs no more GPUs than any mode that recomputes more"
    other = runner_up.candidate
    if not best.candidate.fits:
        return text + ": nothing fits; it needs the least memory"
    if other.fits and other.layout.gpus == best.candidate.layout.gpus:
        return text + f": {RECOMPUTE_WORDS[runner_up.recompute]} needs as many GPUs and more compute"
    if best.hardware_flops > runner_up.hardware_flops:
        return text + f": fewest GPUs, at {best.hardware_flops / runner_up.hardware_flops - 1:.0%} more compute"
    return text + ": fewest GPUs and least compute"


def runner_up_note(tuned: Tuned) -> str:
    """The alternative a user would otherwise try, with what it costs or saves."""
    r = tuned.runner_up
    if r is None:
        return ""
    if not r.candidate.fits:
        where = f" on {r.cap:,} GPUs or fewer" if math.isfinite(r.cap) else ""
        return f"runner-up: {RECOMPUTE_WORDS[r.recompute]} does not fit{where}"
    lay = r.candidate.layout
    saves = 1 - r.hardware_flops / tuned.best.hardware_flops
    extra = f"; {saves:.0%} less compute, so shorter and cheaper if those GPUs are available" if saves > 0 else ""
    return f"runner-up: {RECOMPUTE_WORDS[r.recompute]} on {lay.describe()} = {lay.gpus:,} GPUs{extra}"
