"""The benchmark child process: ``python -m gpuplanner.bench`` (or the frozen app's hidden flag).

Claims the real stdout for protocol lines (anything else printed, even by native code,
goes to stderr), imports torch only through the kernels module so a missing torch is a
clean ``no_torch`` error, runs the chosen phases and always ends with ``done``.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import BinaryIO

from gpuplanner.bench import protocol
from gpuplanner.bench.config import BenchConfig, default_train_config, parse_args
from gpuplanner.bench.session import Cancelled, Session, watch_stdin

log = logging.getLogger(__name__)

Failure = tuple[str, str]  # (error kind, human message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one benchmark; returns the process exit code (protocol.EXIT_*)."""
    config = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="bench: %(message)s")
    cancel = threading.Event()
    if sys.stdin is not None:
        watch_stdin(sys.stdin.fileno(), cancel)
    session = Session(_claim_stdout(), cancel)
    failure = _run(session, config)
    if failure is not None:
        session.send("error", kind=failure[0], message=failure[1])
    session.send("done", ok=failure is None)
    return protocol.EXIT_OK if failure is None else protocol.EXIT_FAILED


def _claim_stdout() -> BinaryIO:
    """Keep a private handle on stdout and point fd 1 and sys.stdout at stderr."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb")


def _run(session: Session, config: BenchConfig) -> Failure | None:
    try:
        from gpuplanner.bench import kernels
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            return "no_torch", protocol.NO_TORCH_MESSAGE
        return "exception", f"torch failed to import: {exc}"
    except ImportError as exc:
        return "exception", f"torch failed to import: {exc}"
    try:
        device = kernels.select_device(config.device)
    except kernels.NoDevice as exc:
        return "no_device", str(exc)
    info = kernels.device_info(device)
    session.send("hello", **info)
    log.info("measuring %s (%s) with %d threads", info["device_name"], device, info["threads"])

    sizes = kernels.sizes_for(device, config.quick)
    probe = kernels.MemoryProbe(device)
    train = default_train_config(device.type, config.quick).with_overrides(config.train)
    phases = {
        "memory": lambda: kernels.run_memory_ramp(session, device, sizes, probe, config.mem_fraction),
        "matmul": lambda: kernels.run_matmul(session, device, sizes, probe),
        "bandwidth": lambda: kernels.run_bandwidth(session, device, sizes, probe),
        "train": lambda: kernels.run_train_step(session, device, train),
    }
    failure = None
    try:
        for name in config.phases:
            phases[name]()
    except Cancelled:
        failure = "cancelled", "the benchmark was cancelled"
    except Exception as exc:  # noqa: BLE001 - every failure must become a protocol error
        traceback.print_exc(file=sys.stderr)
        kind = "oom" if kernels.is_out_of_memory(exc) else "exception"
        failure = kind, f"{type(exc).__name__}: {exc}"
    # Outside the except blocks, so the traceback no longer pins the phase's tensors.
    kernels.release(device)
    session.metrics(**probe.sample(held_bytes=0))
    return failure
