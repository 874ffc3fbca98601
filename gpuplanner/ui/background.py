"""File loads off the GUI thread, with Cancel.

`run_in_background(parent, label, load)` runs `load()` on a worker thread and keeps the event
loop turning until it ends, so the window repaints and answers while a large catalog or model
folder is read. A load that takes longer than `DIALOG_DELAY_MS` shows a progress dialog whose
Cancel returns at once (raising Cancelled): the reads are size-capped (core.safe_io), so the
worker, a daemon thread, finishes soon after and its result is dropped. Errors from `load()`
are raised here, on the GUI thread, as if it had run inline.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6 import QtCore, QtWidgets

T = TypeVar("T")
DIALOG_DELAY_MS = 400  # a load faster than this never shows a dialog
POLL_MS = 15


class Cancelled(Exception):
    """The user pressed Cancel while a file was loading."""


def run_in_background(parent: QtWidgets.QWidget | None, label: str, load: Callable[[], T]) -> T:
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = load()
        except BaseException as e:  # handed to the GUI thread below
            outcome["error"] = e
        finally:
            finished.set()

    threading.Thread(target=work, name="gpuplanner-file-load", daemon=True).start()
    if not finished.wait(0.05):  # most loads end here, without an event loop or a dialog
        _wait_with_dialog(parent, label, finished)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _wait_with_dialog(parent, label: str, finished: threading.Event) -> None:
    loop = QtCore.QEventLoop()
    progress = QtWidgets.QProgressDialog(label, "Cancel", 0, 0, parent)
    progress.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    progress.reset()  # a QProgressDialog shows itself on its own only when told of progress:
    appear = QtCore.QTimer(progress)  # here it appears once the load has taken DIALOG_DELAY_MS
    appear.setSingleShot(True)
    appear.timeout.connect(progress.show)
    appear.start(DIALOG_DELAY_MS)
    progress.canceled.connect(loop.quit)  # the Cancel button, Escape or closing the dialog
    poll = QtCore.QTimer()
    poll.setInterval(POLL_MS)
    poll.timeout.connect(lambda: (finished.is_set() or progress.wasCanceled()) and loop.quit())
    poll.start()
    try:
        loop.exec()
    finally:
        poll.stop()
        cancelled = progress.wasCanceled()
        progress.close()
        progress.deleteLater()
    if cancelled and not finished.is_set():
        raise Cancelled(f"{label} cancelled")
