"""The cluster view's worker: polls Prometheus for DCGM series on its own thread.

The GUI calls ``connect``/``request_history`` (they return at once) and drains results on a
timer, like the local sampler; every query has the client's timeout, so a dead or slow server
shows up as a state within ``timeout_s``. ``busy_for_s`` tells the view how long the current
query has been waiting, so it can say "slow" before the timeout ends it. History comes from
range queries, never from accumulated polls.
"""
from __future__ import annotations

import enum
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from gpuplanner.monitor.dcgm import (
    SELECTOR_NAME,
    ClusterGpu,
    ClusterSnapshot,
    GpuHistory,
    LabelFilter,
    histories_of,
    history_step_s,
    snapshot_of,
)
from gpuplanner.monitor.dcgm import (
    escape_label_value as _escape,
)
from gpuplanner.monitor.prometheus import Failure, PrometheusClient, PrometheusConfig, PrometheusError

STOP_WAIT_S = 1.0  # quitting never waits longer for a query under way


class ClusterState(enum.Enum):
    IDLE = "not connected"
    CONNECTING = "connecting"
    BAD_INPUT = "bad input"
    OK = "ok"
    NO_SERIES = "no series"
    UNREACHABLE = Failure.UNREACHABLE.value
    AUTH_FAILED = Failure.AUTH_FAILED.value
    TIMEOUT = Failure.TIMEOUT.value
    BAD_QUERY = Failure.BAD_QUERY.value
    BAD_RESPONSE = Failure.BAD_RESPONSE.value
    ERROR = "error"


_HINTS = {
    ClusterState.UNREACHABLE: "Check the address and that Prometheus is running; polling goes on.",
    ClusterState.AUTH_FAILED: "Check the bearer token or user name and password, then Connect again.",
    ClusterState.TIMEOUT: "The server is slow or overloaded: narrow the label filter or raise the timeout.",
    ClusterState.NO_SERIES: "Is dcgm-exporter scraped by this server, and does the label filter match its labels?",
}


@dataclass(frozen=True)
class ClusterStatus:
    state: ClusterState
    message: str

    @property
    def hint(self) -> str:
        return _HINTS.get(self.state, "")

    @property
    def ok(self) -> bool:
        return self.state is ClusterState.OK


@dataclass(frozen=True)
class HistoryResult:
    """The range-query history of the GPUs asked for."""

    histories: tuple[GpuHistory, ...]


Event = ClusterStatus | ClusterSnapshot | HistoryResult


def history_matchers(gpus: Sequence[ClusterGpu]) -> str:
    """The GPUs by UUID (dcgm-exporter always labels it); without, a superset by node × index
    (``Hostname`` may be absent with --no-hostname: then the node is Prometheus's ``instance``)."""
    def alternatives(values) -> str:
        return _escape("|".join(sorted({re.escape(v) for v in values})))

    if all(g.uuid for g in gpus):
        return f'UUID=~"{alternatives(g.uuid for g in gpus)}"'
    return (f'{gpus[0].host_label}=~"{alternatives(g.hostname for g in gpus)}", '
            f'gpu=~"{alternatives(str(g.index) for g in gpus)}"')


class ClusterPoller:
    """Owns one worker thread; ``stop()`` ends it within about one query timeout."""

    def __init__(self, interval_s: float = 5.0, clock: Callable[[], float] = time.time,
                 client_factory: Callable[[PrometheusConfig], PrometheusClient] = PrometheusClient) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._client_factory = client_factory
        self._wake = threading.Condition()
        self._events: list[tuple[int, Event]] = []
        self._generation = 0
        self._client: PrometheusClient | None = None
        self._filter = LabelFilter()
        self._poll_due = False
        self._history_request: tuple[tuple[ClusterGpu, ...], float] | None = None
        self._busy_since: float | None = None
        self._stopping = False
        self._active = True
        self._thread: threading.Thread | None = None

    # ----- called from the GUI thread -----------------------------------------------------------
    def start(self) -> None:
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(target=self._run, name="gpuplanner-cluster", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:  # a daemon: a query still waiting ends by its own timeout, unread
            self._thread.join(timeout=STOP_WAIT_S)

    def connect(self, config: PrometheusConfig, label_filter: LabelFilter) -> None:
        """Use this server and filter from now on; earlier results still in flight are dropped."""
        with self._wake:
            self._generation += 1
            self._client = self._client_factory(config)
            self._filter = label_filter
            self._poll_due = True
            self._history_request = None
            self._wake.notify_all()
        self.start()

    def request_history(self, gpus: Sequence[ClusterGpu], window_s: float) -> None:
        """Fetch these GPUs' curves over the last ``window_s`` (replaces an unstarted request)."""
        with self._wake:
            self._history_request = (tuple(gpus), float(window_s))
            self._wake.notify_all()

    def set_active(self, active: bool) -> None:
        """Pause polling while nobody looks (the view is hidden); resuming polls at once."""
        with self._wake:
            self._active = active
            self._poll_due = self._poll_due or active
            self._wake.notify_all()

    def drain(self) -> list[Event]:
        """Results since the last drain, oldest first, from the current connection only."""
        with self._wake:
            events = [event for generation, event in self._events if generation == self._generation]
            self._events.clear()
        return events

    def busy_for_s(self) -> float:
        """How long the query under way has been waiting (0 when none is)."""
        since = self._busy_since
        return 0.0 if since is None else max(0.0, time.monotonic() - since)

    # ----- worker thread --------------------------------------------------------------------------
    def _run(self) -> None:
        next_poll = 0.0
        while True:
            with self._wake:
                while not self._stopping and (not self._active or self._client is None or (
                        not self._poll_due and self._history_request is None and time.monotonic() < next_poll)):
                    idle = not self._active or self._client is None
                    self._wake.wait(timeout=None if idle else max(0.0, next_poll - time.monotonic()))
                if self._stopping:
                    return
                generation, client, label_filter = self._generation, self._client, self._filter
                history, self._history_request = self._history_request, None
                poll = self._poll_due or time.monotonic() >= next_poll
                self._poll_due = False
            if poll:
                next_poll = time.monotonic() + self.interval_s
                self._post(generation, self._query(partial(self._overview, client, label_filter)))
            if history is not None:
                self._post(generation, self._query(partial(self._history, client, label_filter, *history)))

    def _query(self, work: Callable[[], Event]) -> Event:
        self._busy_since = time.monotonic()
        try:
            return work()
        except PrometheusError as e:
            return ClusterStatus(ClusterState(e.failure.value), e.message)
        except Exception as e:  # a bug must not end the thread silently: it becomes a state on screen
            return ClusterStatus(ClusterState.ERROR, f"unexpected error reading the cluster ({type(e).__name__}: {e})")
        finally:
            self._busy_since = None

    def _post(self, generation: int, event: Event) -> None:
        with self._wake:
            self._events.append((generation, event))

    def _overview(self, client: PrometheusClient, label_filter: LabelFilter) -> Event:
        now_s = self._clock()
        snapshot = snapshot_of(client.query(f"{{{SELECTOR_NAME}{label_filter.matchers()}}}", at_s=now_s), now_s)
        if not snapshot.readings:
            where = f" matching {label_filter.matchers().lstrip(', ')}" if label_filter.matchers() else ""
            return ClusterStatus(ClusterState.NO_SERIES, f"{client.config.url} has no DCGM-exporter series{where}")
        return snapshot

    def _history(self, client: PrometheusClient, label_filter: LabelFilter, gpus: tuple[ClusterGpu, ...],
                 window_s: float) -> Event:
        if not gpus:
            return HistoryResult(())
        end_s = float(int(self._clock()))
        step_s = history_step_s(window_s)
        start_s = end_s - window_s
        expr = f"{{{SELECTOR_NAME}, {history_matchers(gpus)}{label_filter.matchers()}}}"
        wanted = {g.key for g in gpus}
        found = histories_of(client.query_range(expr, start_s, end_s, step_s), start_s, end_s, step_s)
        return HistoryResult(tuple(h for h in found if h.gpu.key in wanted))
