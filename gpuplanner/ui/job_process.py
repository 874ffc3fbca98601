"""Comparison jobs (sweeps, serving curves) in one child process.

A sweep is seconds of pure-Python work. On a thread it shares the GIL with the GUI thread, and
every Qt call the GUI thread makes releases the GIL and must then wait for the worker to give it
back (up to the interpreter's switch interval): a busy worker turned 100 ms of painting into
seconds of frozen window. In a child process the sweep runs on its own core and the window
never waits for it. The child stays up between jobs, so its memo (core.memo) stays warm.

`JobProcess.submit(fn, args, catalogs, done, group)` runs the function named `fn`
("module:function") as `fn(*args, catalogs=catalogs, stop=stop)` (without `catalogs` when
None, without `stop` when not cancellable) in the child, jobs in the order submitted, and calls `done(value, error)` on a
reader thread (error: a one-line message, or None). A job whose `stop()` answers True raises
core.errors.SweepCancelled and is dropped without calling `done`. `stop()` answers True once
a newer job of the same group is waiting, or `cancel(group)` was called: the newest request
wins. The catalogs travel once per catalogs object, not with every job, and every message
through a writer thread (a large one must never wait on the GUI thread for a busy child to
read). The child is spawned by `prepare()` (the window calls it once it is up) or the first
job, and again if it dies, on the writer thread (the caller never waits for a spawn); jobs it
was running report that it ended.

Functions travel by name, so the window imports nothing of a job's (the sweep's pandas loads
with its first table); its arguments and result must be picklable.
"""
from __future__ import annotations

import importlib
import itertools
import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

Done = Callable[[Any, "str | None"], None]
CHILD_NICENESS = 10  # added to the child's scheduling niceness (POSIX): the window comes first


class JobProcess:
    def __init__(self, name: str = "gpuplanner-jobs"):
        self.name = name
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._groups = itertools.count(1)
        self._process: _Child | None = None
        self._outbox: queue.SimpleQueue | None = None  # what the writer thread sends the child
        self._pending: dict[int, tuple[Any, Done]] = {}  # job → (the process running it, done)
        self._catalogs: object | None = None  # what the child holds (kept alive: compared by identity)

    def new_group(self) -> int:
        """A cancellation group of its own (one per requester)."""
        return next(self._groups)

    def submit(self, fn: str, args: tuple, catalogs, done: Done, group: int = 0, cancellable: bool = True) -> None:
        with self._lock:
            self._start_if_needed()
            if catalogs is not None and catalogs is not self._catalogs:
                self._send(("catalogs", catalogs))
                self._catalogs = catalogs
            job = next(self._ids)
            self._pending[job] = (self._process, done)
            self._send(("job", job, group if cancellable else None, fn, args, catalogs is not None))

    def call(self, fn: str, args: tuple, catalogs, cancellable: bool = True) -> Any:
        """Run a job and wait for its value: call it from a worker thread, never the GUI thread.
        A cancellable call gets a group of its own, so it queues behind a running job rather
        than cancelling it. Raises RuntimeError with the child's message when the job fails."""
        answered = threading.Event()
        answer: list = []

        def done(value, error) -> None:
            answer[:] = [value, error]
            answered.set()

        self.submit(fn, args, catalogs, done, self.new_group(), cancellable)
        answered.wait()
        value, error = answer
        if error:
            raise RuntimeError(error)
        return value

    def prepare(self, *functions: str) -> None:
        """Start the child now and have it import `functions` ("module:function"), so that the
        first job does not wait for the spawn and the imports (a second or two)."""
        with self._lock:
            self._start_if_needed()
            for fn in functions:
                self._send(("import", fn))

    def cancel(self, group: int) -> None:
        """The group's running and queued jobs stop at their next check."""
        with self._lock:
            if self._process is not None:
                self._send(("cancel", group))

    def close(self, timeout_s: float = 2.0) -> None:
        """End the child (after the job it runs checks `stop`, or by force after `timeout_s`)."""
        with self._lock:
            child, outbox = self._process, self._outbox
            self._process, self._outbox, self._catalogs = None, None, None
            self._pending = {job: entry for job, entry in self._pending.items() if entry[0] is not child}
            if child is None:
                return
            outbox.put(None)
        child.started.wait(timeout_s)
        child.join(timeout_s)
        if child.process.is_alive():
            child.process.terminate()
            child.join(timeout_s)  # its reader sees the pipe end and closes it

    def _start_if_needed(self) -> None:
        if self._process is not None and self._process.alive():
            return
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        parent, child_end = context.Pipe()
        child = _Child(context.Process(target=_serve, args=(child_end,), name=self.name, daemon=True))
        self._process, self._outbox, self._catalogs = child, queue.SimpleQueue(), None
        threading.Thread(target=self._start_then_write, args=(child, child_end, parent, self._outbox),
                         name=f"{self.name}-writer", daemon=True).start()

    def _start_then_write(self, child: _Child, child_end, conn, outbox: queue.SimpleQueue) -> None:
        """The writer thread: start the child (off the caller's thread: a first start costs it
        ~25 ms, the spawn and multiprocessing's resource tracker), give the answers' end of the
        pipe to a reader thread, then send the messages queued meanwhile and later."""
        try:
            child.process.start()
        except Exception as e:  # no process (out of memory, too many processes): its jobs fail
            child.error = f"the comparison process could not start: {type(e).__name__}: {e}"
        finally:
            child.started.set()
            child_end.close()
        threading.Thread(target=self._read, args=(child, conn), name=f"{self.name}-reader", daemon=True).start()
        if not child.error:
            _write(outbox, conn, self._failed)

    def _send(self, message) -> None:
        self._outbox.put(message)

    def _failed(self, job: int, error: str) -> None:
        with self._lock:
            entry = self._pending.pop(job, None)
        if entry is not None:
            entry[1](None, error)

    def _read(self, child: _Child, conn) -> None:
        """Hand each answer to its job's `done`; when the child ends, fail what it still owed."""
        while True:
            try:
                kind, job, *rest = conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                entry = self._pending.pop(job, None)
            if entry is not None and kind != "cancelled":
                try:
                    entry[1](*rest)
                except RuntimeError:  # its requester is gone (a closed window's deleted QObject)
                    pass
        conn.close()
        child.join(1.0)
        with self._lock:
            if self._process is child:  # it died (close() forgets it first): the next submit starts another
                self._process, self._outbox, self._catalogs = None, None, None
            owed = [done for c, done in self._pending.values() if c is child]
            self._pending = {job: entry for job, entry in self._pending.items() if entry[0] is not child}
        for done in owed:
            done(None, child.error or f"the comparison process ended unexpectedly (exit code {child.process.exitcode})")


class _Child:
    """One child process: started on its writer thread, then running until it ends."""

    def __init__(self, process):
        self.process = process
        self.started = threading.Event()  # start() has returned (or failed: `error` says why)
        self.error = ""

    def alive(self) -> bool:
        """Starting or running: a submit now reaches it."""
        return not self.started.is_set() or self.process.is_alive()

    def join(self, timeout_s: float) -> None:
        if self.process.pid is not None:  # started
            self.process.join(timeout_s)


def _write(outbox: queue.SimpleQueue, conn, failed: Callable[[int, str], None]) -> None:
    """Send the child its messages in order, off the caller's thread: a large one (a user's
    catalog) fills the pipe and waits until the child reads, which a running job does only
    between its blocks. None (sent too) ends the child and this thread."""
    while True:
        message = outbox.get()
        try:
            conn.send(message)
        except OSError:  # the child is gone: the reader reports its pending jobs
            return
        except Exception as e:  # it cannot be pickled (nothing was sent): its job fails, the others go on
            if message[0] == "job":
                failed(message[1], f"{type(e).__name__}: {e}")
        if message is None:
            return


def _function(name: str) -> Callable:
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _serve(conn) -> None:
    """The child's loop: read messages, run jobs in order, answer each one. It runs at a lower
    scheduling priority: it is background work, and where cores are few the window must win."""
    from gpuplanner.core.errors import SweepCancelled

    if hasattr(os, "nice"):
        os.nice(CHILD_NICENESS)

    inbox: deque = deque()
    cancelled: set[int] = set()  # groups cancelled since their last job started
    catalogs = None

    def read_waiting() -> None:
        while conn.poll():
            message = conn.recv()
            if message is not None and message[0] == "cancel":
                cancelled.add(message[1])
            inbox.append(message)

    while True:
        if not inbox:
            try:
                inbox.append(conn.recv())
            except EOFError:
                return
        message = inbox.popleft()
        if message is None:
            return
        if message[0] == "catalogs":
            catalogs = message[1]
            continue
        if message[0] == "import":
            _function(message[1])
            continue
        if message[0] == "cancel":
            cancelled.discard(message[1])
            continue
        _, job, group, fn, args, with_catalogs = message

        def stop(group=group) -> bool:
            read_waiting()
            return group in cancelled or any(m is not None and m[0] == "job" and m[2] == group for m in inbox)

        try:
            keywords = {"catalogs": catalogs} if with_catalogs else {}
            if group is not None:
                keywords["stop"] = stop
            answer = ("done", job, _function(fn)(*args, **keywords), None)
        except SweepCancelled:
            answer = ("cancelled", job)
        except Exception as e:  # reported to the requester; the child lives on
            answer = ("done", job, None, f"{type(e).__name__}: {e}")
        try:
            conn.send(answer)
        except OSError:  # the window's process is gone
            return
        except Exception as e:  # an answer that cannot be pickled (pickled whole before anything is sent)
            conn.send(("done", job, None, f"{type(e).__name__}: {e}"))


_SHARED: dict[str, JobProcess] = {}


def shared(name: str = "gpuplanner-jobs") -> JobProcess:
    """The one child of this name every window uses (the comparisons', the plans'): its memo
    serves them all."""
    if name not in _SHARED:
        _SHARED[name] = JobProcess(name)
    return _SHARED[name]
