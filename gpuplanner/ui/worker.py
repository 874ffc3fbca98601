"""One long-lived worker thread that runs submitted jobs in order.

Starting a thread per request makes the GUI thread wait until the new thread first holds the
GIL (Thread.start waits for it): tens of milliseconds on a busy machine, per keystroke. A
queue to one thread costs the GUI thread a put.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class Worker:
    """`submit(job)` runs `job()` on the worker thread; `stop()` ends the thread after the job
    that runs (later submissions start a new one)."""

    def __init__(self, name: str):
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Let the queued jobs see they are stale, end the thread and wait up to `timeout_s`."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()
