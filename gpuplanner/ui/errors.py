"""The window's last line of defence: an unexpected error is logged and shown, and the app goes on.

Without it an exception in a Qt slot only reaches stderr, which a desktop user never sees, and the
screen keeps showing an answer that no longer matches the form. `ErrorReporter.installed()` puts
a sys.excepthook in place while the event loop runs (app.py); the window also reports errors it
catches itself (an estimate that fails). Each report appends the traceback to a log file in the
user's data folder and shows one dialog through the injectable Dialogs seam, saying what failed
and where the details are. Reports while a dialog is open are logged only (no dialog storm).
"""
from __future__ import annotations

import contextlib
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from PySide6 import QtWidgets

from gpuplanner.ui.dialogs import Dialogs

LOG_NAME = "gpuplanner-errors.log"
LOG_MAX_BYTES = 1_000_000  # past this the log starts over: it is for the latest errors


class ErrorReporter:
    def __init__(self, dialogs: Dialogs, parent: QtWidgets.QWidget, log_path: Path | None):
        self.dialogs = dialogs
        self.parent = parent
        self.log_path = log_path
        self.count = 0
        self._showing = False

    def report(self, what: str, error: BaseException) -> None:
        """Log ``error`` (with its traceback) and tell the user ``what`` failed; never raises."""
        self.count += 1
        where = self._log(error)
        if self._showing:
            return
        self._showing = True
        try:
            self.dialogs.error(self.parent, "Unexpected error",
                               f"{what} failed: {type(error).__name__}: {error}\n\n"
                               f"gpuplanner keeps running and nothing was discarded. Details: {where}.")
        except Exception:  # a failing dialog must not recurse into the hook
            pass
        finally:
            self._showing = False

    def excepthook(self, exc_type, error, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, error, tb)
            return
        if error.__traceback__ is None:
            error = error.with_traceback(tb)
        self.report("An action", error)

    @contextlib.contextmanager
    def installed(self):
        """sys.excepthook is this reporter's while the block runs (the event loop)."""
        previous = sys.excepthook
        sys.excepthook = self.excepthook
        try:
            yield self
        finally:
            sys.excepthook = previous

    def _log(self, error: BaseException) -> str:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        if self.log_path is None:
            print(f"{stamp} {text}", file=sys.stderr)
            return "printed to the terminal (no log folder)"
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            mode = "w" if self.log_path.is_file() and self.log_path.stat().st_size > LOG_MAX_BYTES else "a"
            with open(self.log_path, mode, encoding="utf-8") as log:
                log.write(f"--- {stamp}\n{text}")
        except OSError as e:
            print(f"{stamp} {text}", file=sys.stderr)
            return f"printed to the terminal ({self.log_path} cannot be written: {e.strerror or e})"
        return f"written to {self.log_path}"
