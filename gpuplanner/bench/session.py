"""The child's side of a run: writing messages and noticing a cancel request.

Kernels report through a Session and call ``check_cancel`` between steps; they never
touch stdout or stdin themselves. Torch-free.
"""
from __future__ import annotations

import logging
import os
import stat
import threading
import time
from typing import Any, BinaryIO

from gpuplanner.bench import protocol

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised by Session.check_cancel once the parent asked the run to stop."""


class Session:
    """Sends protocol messages line by line and carries the cancel flag."""

    def __init__(self, out: BinaryIO, cancel: threading.Event) -> None:
        self._out = out
        self.cancel = cancel
        self._start_s = time.monotonic()

    def send(self, type_: str, **fields: Any) -> None:
        """Write one message and flush, so the parent sees it at once.

        A broken pipe means the parent is gone: stop the run instead of crashing.
        """
        line = protocol.encode(protocol.message(type_, **fields))
        try:
            self._out.write(line)
            self._out.flush()
        except (BrokenPipeError, ValueError):  # ValueError: write to a closed file
            self.cancel.set()

    def progress(self, phase: str, step: int, total: int) -> None:
        self.send("progress", phase=phase, step=step, total=total)

    def metrics(self, allocated_bytes: int, reserved_bytes: int, **extra: Any) -> None:
        self.send("metrics", timestamp_s=self.elapsed_s(), allocated_bytes=allocated_bytes,
                  reserved_bytes=reserved_bytes, **extra)

    def result(self, phase: str, **figures: Any) -> None:
        self.send("result", phase=phase, **figures)

    def elapsed_s(self) -> float:
        return round(time.monotonic() - self._start_s, 4)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()


def watch_stdin(stdin_fd: int, cancel: threading.Event) -> threading.Thread:
    """Start a daemon thread that sets ``cancel`` on a cancel message or, for a pipe, on EOF.

    EOF from a terminal or /dev/null is not a request to stop (someone ran the module by
    hand); EOF on a pipe means the parent closed it or died. Daemon, and reading the raw
    file descriptor: a buffered reader blocked at interpreter exit aborts Python, and a
    blocked read must not keep the child alive after the run ends.
    """
    eof_cancels = _is_pipe(stdin_fd)

    def read() -> None:
        pending = b""
        while chunk := _read_or_eof(stdin_fd):
            *lines, pending = (pending + chunk).split(b"\n")
            if any(_is_cancel(line) for line in lines):
                cancel.set()
                return
        if eof_cancels:
            cancel.set()

    thread = threading.Thread(target=read, name="bench-stdin", daemon=True)
    thread.start()
    return thread


def _read_or_eof(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # closed or invalid descriptor: nothing more will come
        return b""


def _is_cancel(line: bytes) -> bool:
    if not line.strip():
        return False
    try:
        return protocol.decode(line)["type"] == "cancel"
    except protocol.ProtocolError as exc:
        log.warning("ignoring stdin line: %s", exc)
        return False


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
