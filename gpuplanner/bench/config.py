"""What a benchmark run does, and its command line: one definition for parent and child.

The parent turns a BenchConfig into arguments with ``to_args``; the child reads them
back with ``parse_args``, so the two can never disagree on a flag's name. Torch-free.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

PHASES = ("memory", "matmul", "bandwidth", "train")
DEVICES = ("auto", "cpu", "cuda")
TRAIN_DTYPES = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class TrainConfig:
    """A small GPT-style model and batch for the measured training step."""

    layers: int
    hidden: int
    heads: int
    vocab: int
    seq_len: int
    batch: int
    dtype: str = "fp32"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "dtype" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"train.{f.name} must be a positive integer, got {value!r}")
        if self.hidden % self.heads:
            raise ValueError(f"train.hidden ({self.hidden}) must be a multiple of train.heads ({self.heads})")
        if self.dtype not in TRAIN_DTYPES:
            raise ValueError(f"train.dtype must be one of {TRAIN_DTYPES}, got {self.dtype!r}")

    def with_overrides(self, overrides: dict[str, Any]) -> TrainConfig:
        """Replace the given fields; unknown keys are an error rather than silently ignored."""
        unknown = set(overrides) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown train config keys: {sorted(unknown)}")
        return replace(self, **overrides)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_train_config(device_type: str, quick: bool) -> TrainConfig:
    """Sizes that finish in seconds: tiny for CI, modest on a CPU, larger on a GPU."""
    if quick:
        return TrainConfig(layers=2, hidden=64, heads=4, vocab=512, seq_len=32, batch=2)
    if device_type == "cuda":
        return TrainConfig(layers=4, hidden=1024, heads=16, vocab=32000, seq_len=512, batch=8, dtype="bf16")
    return TrainConfig(layers=2, hidden=256, heads=4, vocab=2048, seq_len=128, batch=4)


@dataclass(frozen=True)
class BenchConfig:
    """Options of one run. ``train`` holds overrides of the device's default TrainConfig."""

    device: str = "auto"
    quick: bool = False
    phases: tuple[str, ...] = PHASES
    mem_fraction: float = 0.5
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        bad = [p for p in self.phases if p not in PHASES]
        if bad or not self.phases:
            raise ValueError(f"phases must be a non-empty subset of {PHASES}, got {list(self.phases)}")
        if not 0.0 < self.mem_fraction <= 0.95:
            raise ValueError(f"mem_fraction must be in (0, 0.95], got {self.mem_fraction}")

    def to_args(self) -> list[str]:
        """Command-line arguments for ``python -m gpuplanner.bench``."""
        args = ["--device", self.device, "--phases", ",".join(self.phases),
                "--mem-fraction", repr(self.mem_fraction)]
        if self.quick:
            args.append("--quick")
        if self.train:
            args += ["--train-config", json.dumps(self.train)]
        return args


def parse_args(argv: Sequence[str]) -> BenchConfig:
    """Parse the child's arguments; bad ones exit with argparse's usage error (code 2)."""
    parser = argparse.ArgumentParser(
        prog="python -m gpuplanner.bench",
        description="Measure this machine: memory ramp, matmul TFLOP/s, copy GB/s, a training step. "
                    "Writes JSON lines (gpuplanner.bench.protocol) on stdout; logs on stderr.")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--quick", action="store_true", help="CI-sized run (seconds)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--mem-fraction", type=float, default=0.5,
                        help="share of free device memory the memory ramp may take (CPU: capped small)")
    parser.add_argument("--train-config", default="{}", help="JSON object overriding the training-step model, "
                        "keys: " + ", ".join(f.name for f in fields(TrainConfig)))
    ns = parser.parse_args(list(argv))
    try:
        train = json.loads(ns.train_config)
        if not isinstance(train, dict):
            raise ValueError("--train-config must be a JSON object")
        config = BenchConfig(device=ns.device, quick=ns.quick, mem_fraction=ns.mem_fraction, train=train,
                             phases=tuple(p for p in ns.phases.split(",") if p))
        default_train_config("cpu", config.quick).with_overrides(train)  # validate now, not mid-run
    except ValueError as exc:
        parser.error(str(exc))
    return config
