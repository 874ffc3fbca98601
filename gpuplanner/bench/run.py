"""One benchmark run as a typed value in canonical units (FLOP/s, bytes/s, bytes, seconds).

The child's messages become a BenchRun once, here, with every field checked (a missing or
mistyped one is named); the results view, calibration and the results files read attributes,
never string keys. Saved files hold the same messages, so one constructor validates both.
Torch-free and Qt-free.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gpuplanner.bench import protocol

RESULTS_FORMAT = 2  # 1: protocol version 1 figures (tflops, gbytes_per_s), read and converted

Fields = dict[str, tuple[type, ...]]
_OPTIONAL_HELLO: Fields = {"total_memory_bytes": (int,), "torch_version": (str,)}
_OPTIONAL_TRAIN: Fields = {"peak_memory_method": (str,), "step_duration_s": (int, float),
                           "tokens_per_s": (int, float)}
# Format 1 figure → (its canonical name, factor to canonical units)
_FORMAT_1_FIGURES = {"tflops": ("flops_per_s", 1e12), "gbytes_per_s": ("bytes_per_s", 1e9)}


@dataclass(frozen=True)
class Device:
    """What was measured, with which software (the child's hello message)."""

    name: str
    type: str  # "cpu" or "cuda"
    threads: int
    total_memory_bytes: int | None = None  # None: the child did not say
    torch_version: str = ""


@dataclass(frozen=True)
class MatmulResult:
    """An n×n×n matmul (2·n³ floating-point operations per call) in one dtype."""

    dtype: str
    size: int
    flops_per_s: float


@dataclass(frozen=True)
class CopyResult:
    """A device-to-device copy; bytes_per_s counts bytes read plus bytes written."""

    tensor_bytes: int
    bytes_per_s: float


@dataclass(frozen=True)
class TrainStepResult:
    """The measured training step. ``config`` is the child's TrainConfig as it echoed it, kept
    as sent: one from another version may not be readable, and the rest of the run still is."""

    config: Mapping[str, Any]
    param_count: int
    peak_memory_bytes: int
    peak_memory_method: str = ""
    step_duration_s: float | None = None
    tokens_per_s: float | None = None


@dataclass(frozen=True)
class BenchRun:
    device: Device
    measured_at: datetime
    matmul: tuple[MatmulResult, ...] = ()
    copy: tuple[CopyResult, ...] = ()
    train: TrainStepResult | None = None

    @classmethod
    def from_messages(cls, hello: Mapping[str, Any], results: Sequence[Mapping[str, Any]],
                      measured_at: datetime | None = None) -> BenchRun:
        """A run from the child's hello and result messages; protocol.ProtocolError names the
        first missing or mistyped field. Phases this version does not use are skipped."""
        protocol.check_hello(dict(hello))
        _check_optional(hello, _OPTIONAL_HELLO, "hello")
        device = Device(name=hello["device_name"], type=hello["device_type"], threads=hello["threads"],
                        total_memory_bytes=hello.get("total_memory_bytes"),
                        torch_version=hello.get("torch_version") or "")
        matmul, copy, train = [], [], None
        for result in results:
            result = dict(result)
            protocol.check_result(result)
            if result["phase"] == "matmul":
                matmul.append(MatmulResult(result["dtype"], result["size"], float(result["flops_per_s"])))
            elif result["phase"] == "bandwidth":
                copy.append(CopyResult(result["tensor_bytes"], float(result["bytes_per_s"])))
            elif result["phase"] == "train":
                _check_optional(result, _OPTIONAL_TRAIN, "result train")
                train = TrainStepResult(
                    config=dict(result["config"]), param_count=result["param_count"],
                    peak_memory_bytes=result["peak_memory_bytes"],
                    peak_memory_method=result.get("peak_memory_method") or "",
                    step_duration_s=result.get("step_duration_s"), tokens_per_s=result.get("tokens_per_s"))
        return cls(device, measured_at or datetime.now(UTC), tuple(matmul), tuple(copy), train)

    def to_messages(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(hello, results) as the child would send them: from_messages reads them back unchanged."""
        d = self.device
        hello = {"device_name": d.name, "device_type": d.type, "threads": d.threads, "torch_version": d.torch_version}
        if d.total_memory_bytes is not None:
            hello["total_memory_bytes"] = d.total_memory_bytes
        results: list[dict[str, Any]] = [
            {"phase": "matmul", "dtype": m.dtype, "size": m.size, "flops_per_s": m.flops_per_s} for m in self.matmul]
        results += [{"phase": "bandwidth", "tensor_bytes": c.tensor_bytes, "bytes_per_s": c.bytes_per_s}
                    for c in self.copy]
        if self.train is not None:
            t = self.train
            train = {"phase": "train", "config": dict(t.config), "param_count": t.param_count,
                     "peak_memory_bytes": t.peak_memory_bytes, "peak_memory_method": t.peak_memory_method,
                     "step_duration_s": t.step_duration_s, "tokens_per_s": t.tokens_per_s}
            results.append({k: v for k, v in train.items() if v is not None})
        return hello, results

    def to_json(self) -> dict[str, Any]:
        """The saved results file's document (format RESULTS_FORMAT)."""
        hello, results = self.to_messages()
        return {"format": RESULTS_FORMAT, "measured_at": self.measured_at.isoformat(), "hello": hello,
                "results": results}

    @classmethod
    def from_json(cls, document: Any) -> BenchRun:
        """Read a results document of format 2, or of format 1 (TFLOP/s and GB/s, converted);
        ValueError (a ProtocolError for a bad field) says what is wrong."""
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        fmt = document.get("format")
        if fmt not in (1, RESULTS_FORMAT):
            raise ValueError(f"results format {fmt!r}; this gpuplanner reads formats 1 and {RESULTS_FORMAT}")
        when = document.get("measured_at" if fmt == RESULTS_FORMAT else "saved_at")
        hello, results = document.get("hello"), document.get("results")
        if not isinstance(when, str) or not isinstance(hello, dict) or not isinstance(results, list) \
                or not all(isinstance(r, dict) for r in results):
            raise ValueError(f"a format {fmt} file needs a date, a hello object and a list of results")
        if fmt == 1:
            results = [_from_format_1(r) for r in results]
        return cls.from_messages(hello, results, datetime.fromisoformat(when))

    def best_flops_per_s(self) -> dict[str, float]:
        """The best achieved FLOP/s of each measured dtype."""
        best: dict[str, float] = {}
        for m in self.matmul:
            best[m.dtype] = max(best.get(m.dtype, 0.0), m.flops_per_s)
        return best

    def best_bytes_per_s(self) -> float | None:
        """The best achieved copy bandwidth (None: no copy was measured)."""
        return max((c.bytes_per_s for c in self.copy), default=None)


def _check_optional(msg: Mapping[str, Any], optional: Fields, what: str) -> None:
    """Type-check the optional fields ``msg`` has (null counts as absent)."""
    present = {name: allowed for name, allowed in optional.items() if msg.get(name) is not None}
    protocol.require(dict(msg), present, what)


def _from_format_1(result: dict[str, Any]) -> dict[str, Any]:
    converted = dict(result)
    for old, (new, factor) in _FORMAT_1_FIGURES.items():
        if isinstance(converted.get(old), (int, float)):
            converted[new] = converted.pop(old) * factor
    return converted
