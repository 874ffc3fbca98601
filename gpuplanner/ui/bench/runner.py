"""Runs the benchmark child under QProcess and turns its JSON lines into Qt signals.

Nothing here blocks the GUI thread: output arrives through readyRead signals, a silent
child is caught by a watchdog timer, and stop() asks politely (cancel message, closed
stdin) before a timer kills the child. Every way a run can end emits ``finished``
exactly once; every way but success first emits ``failed`` with a sentence for a human.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from gpuplanner.bench import launcher, protocol

if TYPE_CHECKING:  # the run's configuration is imported when a run starts (start-up time)
    from gpuplanner.bench.config import BenchConfig

log = logging.getLogger(__name__)

Command = Callable[[Sequence[str]], tuple[str, list[str]]]

MAX_LINE_BYTES = 1 << 20  # a longer unterminated "line" is garbage, not something to buffer forever
STDERR_TAIL_LINES = 5

_ERROR_TEMPLATES = {
    "oom": "The benchmark ran out of memory; try a smaller memory fraction or model. ({message})",
    "no_torch": "{message}",
    "no_device": "{message}",
    "cancelled": "The benchmark was cancelled.",
}


class BenchRunner(QObject):
    """Start, watch and stop one benchmark child at a time.

    A run ended by stop() also emits ``failed("The benchmark was cancelled.")``, so the
    panel always has a sentence to show. ``results``, ``hello_info`` and the rejected/unknown
    line counts stay readable after ``finished`` until the next start().
    ``command`` maps benchmark arguments to (program, arguments); it defaults to
    launcher.child_command, and the app passes ``functools.partial(child_command,
    python=...)`` when the user chose a Python with torch.
    """

    hello = Signal(object)  # dict
    progress = Signal(str, int, int)  # phase, step, total
    metrics = Signal(object)  # dict
    result = Signal(object)  # dict
    failed = Signal(str)
    finished = Signal(bool)  # ok

    def __init__(self, parent: QObject | None = None, *, command: Command = launcher.child_command,
                 silence_timeout_s: float = 60.0, stop_grace_s: float = 3.0) -> None:
        super().__init__(parent)
        self._command = command
        self._silence_timeout_s = silence_timeout_s
        self._stop_grace_s = stop_grace_s
        self._watchdog = self._single_shot_timer(self._on_silence)
        self._kill_timer = self._single_shot_timer(self._kill)
        self._process: QProcess | None = None
        self._reset()

    def _single_shot_timer(self, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(slot)
        return timer

    def _reset(self) -> None:
        self.hello_info: dict[str, Any] | None = None
        self.results: list[dict[str, Any]] = []
        self.rejected_line_count = 0
        self.unknown_message_count = 0
        self._valid_message_count = 0
        self._first_rejection = ""
        self._child_error: dict[str, Any] | None = None
        self._done_ok: bool | None = None
        self._runner_failure = ""
        self._stop_requested = False
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._program = ""
        self._group = 0  # the child's process group id (its PID) once started

    def set_command(self, command: Command) -> None:
        """Use another launch command from the next run on (e.g. a Python the user chose)."""
        self._command = command

    def process_id(self) -> int:
        """The running child's PID (0 when none), so telemetry can single it out."""
        return int(self._process.processId()) if self._process is not None else 0

    def is_running(self) -> bool:
        return self._process is not None

    def start(self, config: BenchConfig) -> None:
        """Launch the child; results arrive through the signals. One run at a time."""
        if self.is_running():
            raise RuntimeError("a benchmark is already running")
        self._reset()
        self._program, arguments = self._command(config.to_args())
        process = QProcess(self)
        process.setProgram(self._program)
        process.setArguments(arguments)
        environment = QProcessEnvironment()
        for name, value in launcher.environment_for(self._program).items():
            environment.insert(name, value)
        process.setProcessEnvironment(environment)
        if hasattr(QProcess, "setUnixProcessParameters") and sys.platform != "win32":
            # its own session and process group, so Stop also ends what the child starts itself
            process.setUnixProcessParameters(QProcess.UnixProcessFlag.CreateNewSession)
        process.started.connect(self._on_started)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.errorOccurred.connect(self._on_error)
        process.finished.connect(self._on_finished)
        self._process = process
        self._watchdog.start(round(self._silence_timeout_s * 1000))
        log.info("starting benchmark: %s %s", self._program, " ".join(arguments))
        process.start()

    def stop(self, grace_s: float | None = None) -> None:
        """Ask the child to stop (cancel message, then stdin closed); kill it after ``grace_s``."""
        process = self._process
        if process is None or self._stop_requested:
            return
        self._stop_requested = True
        if process.state() == QProcess.ProcessState.Running:
            process.write(protocol.encode(protocol.message("cancel")))
            process.closeWriteChannel()
        self._kill_timer.start(round((self._stop_grace_s if grace_s is None else grace_s) * 1000))

    def _on_started(self) -> None:
        if self._process is not None:
            self._group = int(self._process.processId())

    def _kill(self) -> None:
        if self._process is not None:
            self._kill_group()
            self._process.kill()

    def _kill_group(self) -> None:
        """SIGKILL everything left in the child's process group (its own children, e.g. workers)."""
        if not self._group or sys.platform == "win32":
            return
        if self._group == os.getpgrp():  # never our own group (the child did not get its own)
            return
        try:
            os.killpg(self._group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is empty already

    def unreadable_note(self) -> str:
        """A sentence about output lines that were skipped (empty when none were)."""
        if not self.rejected_line_count:
            return ""
        return (f"{self.rejected_line_count} unreadable benchmark line(s) skipped (first: {self._first_rejection}); "
                "is the benchmark Python running another gpuplanner version?")

    def _on_silence(self) -> None:
        self._runner_failure = (f"The benchmark showed no sign of life for {self._silence_timeout_s:g} s "
                                "and was stopped.")
        self._kill()

    def _read_stdout(self) -> None:
        process = self._process
        if process is None:
            return
        while process.canReadLine():
            self._handle_line(bytes(process.readLine().data()))
        if process.bytesAvailable() > MAX_LINE_BYTES:
            self._reject(protocol.ProtocolError("garbage", f"over {MAX_LINE_BYTES} bytes without a newline"))
            process.readAllStandardOutput()

    def _read_stderr(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", errors="replace")
        for line in text.splitlines():
            if line.strip():
                log.debug("benchmark stderr: %s", line)
                self._stderr_tail.append(line.strip())

    def _handle_line(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            msg = protocol.decode(line)
        except protocol.ProtocolError as exc:
            self._reject(exc)
            return
        self._valid_message_count += 1
        self._watchdog.start()
        kind = msg["type"]
        if kind == "hello":
            self.hello_info = msg
            self.hello.emit(msg)
        elif kind == "progress":
            self.progress.emit(msg["phase"], msg["step"], msg["total"])
        elif kind == "metrics":
            self.metrics.emit(msg)
        elif kind == "result":
            try:
                protocol.check_result(msg)
            except protocol.ProtocolError as exc:  # e.g. a child of another gpuplanner version
                self._reject(exc)
                return
            self.results.append(msg)
            self.result.emit(msg)
        elif kind == "error":
            self._child_error = msg
        elif kind == "done":
            self._done_ok = msg["ok"]

    def _reject(self, exc: protocol.ProtocolError) -> None:
        if exc.reason == "unknown_type":
            self.unknown_message_count += 1
            self._watchdog.start()  # a newer child's extra message is still a sign of life
            log.info("ignoring benchmark message: %s", exc)
            return
        self.rejected_line_count += 1
        self._first_rejection = self._first_rejection or str(exc)
        log.warning("unreadable benchmark output line: %s", exc)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        # Only a failed start ends here: every other error is followed by finished().
        if error == QProcess.ProcessError.FailedToStart:
            self._finish(f"Could not start the benchmark ({self._program}): {self._process.errorString()}.")

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._handle_line(bytes(self._process.readAllStandardOutput().data()))  # a last line with no newline
        self._read_stderr()
        self._finish(self._failure_message(exit_code, exit_status == QProcess.ExitStatus.CrashExit))

    def _failure_message(self, exit_code: int, crashed: bool) -> str:
        """Why the run failed, for a human; empty when it succeeded."""
        if self._runner_failure:
            return self._runner_failure
        if self._child_error is not None:
            template = _ERROR_TEMPLATES.get(self._child_error["kind"], "The benchmark failed: {message}")
            return template.format(message=self._child_error["message"])
        if self._stop_requested:
            return _ERROR_TEMPLATES["cancelled"]
        if crashed:
            return "The benchmark crashed." + self._stderr_note()
        if exit_code != 0:
            return f"The benchmark exited with code {exit_code}." + self._stderr_note()
        if self._valid_message_count == 0:
            return (f"The benchmark produced no readable output ({self.rejected_line_count} unreadable lines; "
                    f"{self._first_rejection or 'nothing at all'}). Is {self._program} the gpuplanner benchmark?")
        if self._done_ok is None:
            return "The benchmark stopped before it had finished." + self._stderr_note()
        return "" if self._done_ok else "The benchmark reported a failure without details."

    def _stderr_note(self) -> str:
        return f" Its last words: {' | '.join(self._stderr_tail)}" if self._stderr_tail else ""

    def _finish(self, failure_message: str) -> None:
        self._watchdog.stop()
        self._kill_timer.stop()
        self._kill_group()  # the child has ended; whatever it started itself ends with it
        process, self._process = self._process, None
        process.deleteLater()
        if failure_message:
            log.warning("benchmark failed: %s", failure_message)
            self.failed.emit(failure_message)
        self.finished.emit(not failure_message)
