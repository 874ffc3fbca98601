"""A small client for the Prometheus HTTP API (instant and range queries) over urllib.

Why not a library: two GET endpoints and a JSON envelope do not justify a dependency.
Every failure becomes one ``PrometheusError`` whose ``failure`` says what went wrong
(unreachable, credentials refused, too slow, bad query, not Prometheus), so the
cluster view can show a state instead of a traceback. Calls block for at most about
``timeout_s`` per socket operation: they belong on a worker thread, never the GUI's.
API: https://prometheus.io/docs/prometheus/latest/querying/api/
"""
from __future__ import annotations

import base64
import enum
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from gpuplanner.core.errors import InputError

MAX_RESPONSE_BYTES = 64 * 2**20  # a range query over a whole cluster stays far below this


@dataclass(frozen=True)
class PrometheusConfig:
    """Where the server is and how to log in; TLS certificates are checked unless told not to."""

    url: str
    bearer_token: str = ""
    username: str = ""  # basic auth when set
    password: str = ""
    verify_tls: bool = True
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlparse(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError("url", f"'{self.url}' is not an http:// or https:// address of a Prometheus server")
        if self.bearer_token and self.username:
            raise InputError("auth", "give a bearer token or a user name and password, not both")
        if not self.timeout_s > 0:
            raise InputError("timeout_s", f"must be a positive number of seconds, not {self.timeout_s}")


class Failure(enum.Enum):
    """Why a query gave no answer; the view shows each differently."""

    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth failed"
    TIMEOUT = "timed out"
    BAD_QUERY = "bad query"
    BAD_RESPONSE = "bad response"


class PrometheusError(Exception):
    def __init__(self, failure: Failure, message: str) -> None:
        self.failure = failure
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class InstantSeries:
    """One series of an instant vector: its labels and its value at ``timestamp_s``."""

    labels: Mapping[str, str]
    timestamp_s: float
    value: float


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range matrix: samples at the query's steps (gaps are left out)."""

    labels: Mapping[str, str]
    times_s: tuple[float, ...]
    values: tuple[float, ...]


def _labels(metric: dict) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in metric.items()})


class PrometheusClient:
    """Blocking queries against one server; safe to use from one worker thread at a time."""

    def __init__(self, config: PrometheusConfig) -> None:
        self.config = config
        context = ssl.create_default_context()
        if not config.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        self._base = config.url.rstrip("/") + "/api/v1/"

    def query(self, expr: str, at_s: float | None = None) -> tuple[InstantSeries, ...]:
        params = {"query": expr, **({"time": f"{at_s:.3f}"} if at_s is not None else {})}
        data = self._get("query", params)
        if data.get("resultType") != "vector":
            raise PrometheusError(Failure.BAD_QUERY, f"expected an instant vector, got {data.get('resultType')}")
        try:
            return tuple(InstantSeries(_labels(s["metric"]), float(s["value"][0]), float(s["value"][1]))
                         for s in data["result"])
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise PrometheusError(Failure.BAD_RESPONSE, f"unreadable query result ({e})") from None

    def query_range(self, expr: str, start_s: float, end_s: float, step_s: float) -> tuple[RangeSeries, ...]:
        params = {"query": expr, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}", "step": f"{step_s:g}"}
        data = self._get("query_range", params)
        try:
            return tuple(RangeSeries(_labels(s["metric"]), tuple(float(t) for t, _ in s["values"]),
                                     tuple(float(v) for _, v in s["values"]))
                         for s in data["result"])
        except (KeyError, TypeError, ValueError) as e:
            raise PrometheusError(Failure.BAD_RESPONSE, f"unreadable range result ({e})") from None

    # ----- transport ------------------------------------------------------------------------
    def _request(self, endpoint: str, params: dict[str, str]) -> urllib.request.Request:
        request = urllib.request.Request(self._base + endpoint + "?" + urllib.parse.urlencode(params))
        request.add_header("Accept", "application/json")
        if self.config.bearer_token:
            request.add_header("Authorization", f"Bearer {self.config.bearer_token}")
        elif self.config.username:
            pair = f"{self.config.username}:{self.config.password}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode("ascii"))
        return request

    def _get(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        server = self.config.url
        try:
            with self._opener.open(self._request(endpoint, params), timeout=self.config.timeout_s) as response:
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as e:
            raise _http_failure(server, e) from None
        except TimeoutError:
            raise PrometheusError(Failure.TIMEOUT, f"{server} did not answer within {self.config.timeout_s:g} s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise PrometheusError(Failure.TIMEOUT,
                                      f"{server} did not answer within {self.config.timeout_s:g} s") from None
            if isinstance(e.reason, ssl.SSLCertVerificationError):
                raise PrometheusError(Failure.UNREACHABLE, f"{server}: TLS certificate not trusted "
                                      f"({e.reason.verify_message})") from None
            raise PrometheusError(Failure.UNREACHABLE, f"cannot reach {server} ({e.reason})") from None
        except (OSError, ValueError) as e:  # connection reset mid-answer, malformed address
            raise PrometheusError(Failure.UNREACHABLE, f"cannot reach {server} ({e})") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise PrometheusError(Failure.BAD_RESPONSE, f"{server} sent more than {MAX_RESPONSE_BYTES >> 20} MiB: "
                                  "narrow the label filter")
        return _envelope_data(server, body)


def _envelope_data(server: str, body: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
    except ValueError:
        raise PrometheusError(Failure.BAD_RESPONSE, f"{server} did not answer like a Prometheus server") from None
    if not isinstance(envelope, dict) or envelope.get("status") != "success" or not isinstance(
            envelope.get("data"), dict):
        message = envelope.get("error", "no data") if isinstance(envelope, dict) else "no data"
        raise PrometheusError(Failure.BAD_RESPONSE, f"{server}: {message}")
    return envelope["data"]


def _http_failure(server: str, error: urllib.error.HTTPError) -> PrometheusError:
    """Map an HTTP error status (and Prometheus's JSON error, if any) to a failure."""
    try:
        detail = json.loads(error.read(65536)).get("error", "")
    except (ValueError, AttributeError, OSError):
        detail = ""
    detail = detail or error.reason or ""
    if error.code in (401, 403):
        return PrometheusError(Failure.AUTH_FAILED, f"{server} refused the credentials (HTTP {error.code})")
    if error.code in (400, 422):
        return PrometheusError(Failure.BAD_QUERY, f"{server} rejected the query: {detail}")
    if error.code == 503 and "timeout" in str(detail) or error.code == 504:
        return PrometheusError(Failure.TIMEOUT, f"{server}: the query took too long ({detail})")
    return PrometheusError(Failure.BAD_RESPONSE, f"{server} answered HTTP {error.code} ({detail})")
