"""The benchmark's wire format: one JSON object per line on the child's stdout.

Torch-free and Qt-free, so the parent (GUI) and the child share one definition.
Every message carries ``type`` and the protocol version ``v``; the parent rejects lines
from another version instead of misreading them. Message order from the child:
``hello`` first (absent only when torch is missing), then ``progress``/``metrics``/
``result`` in any order, any ``error``, and ``done`` last whenever the child exits on
its own terms. The parent may send ``cancel`` on the child's stdin (or close it).
Figures travel in canonical units (FLOP/s, bytes/s, bytes, seconds), so no reader converts;
version 2 renamed version 1's ``tflops`` and ``gbytes_per_s`` to ``flops_per_s`` and ``bytes_per_s``.
"""
from __future__ import annotations

import json
import math
from typing import Any

PROTOCOL_VERSION = 2

# Exit codes of the child: a clean run, a reported failure (see the error message),
# bad command-line arguments (argparse's own code).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

NO_TORCH_MESSAGE = "torch is not installed: pip install 'gpuplanner[bench]'"

# Fields each message type must carry, with the JSON types allowed for them.
_NUMBER = (int, float)
_REQUIRED_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "hello": {"device_type": (str,), "device_name": (str,), "threads": (int,)},
    "progress": {"phase": (str,), "step": (int,), "total": (int,)},
    "metrics": {"timestamp_s": _NUMBER, "allocated_bytes": (int,), "reserved_bytes": (int,)},
    "result": {"phase": (str,)},
    "error": {"kind": (str,), "message": (str,)},
    "done": {"ok": (bool,)},
    "cancel": {},
}
MESSAGE_TYPES = frozenset(_REQUIRED_FIELDS)
# What each result phase must carry for the results table, calibration and "Use for planning";
# a result from another gpuplanner version that lacks one is rejected, not half-read.
_RESULT_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "memory": {"budget_bytes": (int,)},
    "matmul": {"dtype": (str,), "size": (int,), "flops_per_s": _NUMBER},
    "bandwidth": {"tensor_bytes": (int,), "bytes_per_s": _NUMBER},
    "train": {"config": (dict,), "param_count": (int,), "peak_memory_bytes": (int,)},
}


class ProtocolError(ValueError):
    """A line that is not a valid message; ``reason`` says which check it failed.

    ``reason`` is ``"garbage"`` (not a JSON object), ``"version"``, ``"unknown_type"``
    or ``"fields"``, so a reader can count unknown types apart from plain noise.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def message(type_: str, **fields: Any) -> dict[str, Any]:
    """Build a message dict of a known type (checked like a decoded one)."""
    msg = {"type": type_, "v": PROTOCOL_VERSION, **fields}
    _check_fields(msg)
    return msg


def encode(msg: dict[str, Any]) -> bytes:
    """One UTF-8 line ending in a newline; non-finite floats become null (JSON has none)."""
    return (json.dumps(_finite(msg), separators=(",", ":"), allow_nan=False) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    """Parse one line into a message dict; raises only ProtocolError, whatever the input."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        obj = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("garbage", f"not JSON ({exc.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise ProtocolError("garbage", "not a JSON object")
    if obj.get("v") != PROTOCOL_VERSION:
        raise ProtocolError("version", f"protocol version {obj.get('v')!r}, expected {PROTOCOL_VERSION}")
    _check_fields(obj)
    return obj


def _check_fields(msg: dict[str, Any]) -> None:
    type_ = msg.get("type")
    required = _REQUIRED_FIELDS.get(type_) if isinstance(type_, str) else None
    if required is None:
        raise ProtocolError("unknown_type", f"message type {msg.get('type')!r}")
    require(msg, required, type_)


def check_hello(msg: dict[str, Any]) -> None:
    """Raise ProtocolError unless a hello message (or its saved copy) says what was measured."""
    require(msg, _REQUIRED_FIELDS["hello"], "hello")


def check_result(msg: dict[str, Any]) -> None:
    """Raise ProtocolError unless a result message (or its saved copy) has the figures its phase
    needs to be shown and used (a phase this version does not know passes: a newer child may add some)."""
    require(msg, _REQUIRED_FIELDS["result"], "result")
    require(msg, _RESULT_FIELDS.get(msg["phase"], {}), f"result {msg['phase']}")


def require(msg: dict[str, Any], required: dict[str, tuple[type, ...]], what: str) -> None:
    """Raise ProtocolError("fields") naming the first of ``required`` that ``msg`` lacks or mistypes."""
    for name, allowed in required.items():
        value = msg.get(name)
        # bool is an int subclass in Python; only "done.ok" may be a bool.
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ProtocolError("fields", f"{what}.{name} missing or not {allowed[0].__name__}")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
