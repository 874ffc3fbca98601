"""A real Prometheus (Debian's package) scraping fake dcgm-exporters, for the cluster tests.

Three exporters: node-a and node-b with 8 GPUs each and every field, node-c with 2 GPUs and
no power, free-memory or profiling series (a missing series). Prometheus listens on a free
loopback port with basic auth (bcrypt hash of PASSWORD), scrapes every second, and keeps its
data in a temporary folder, so it can be stopped and started again mid-test.
"""
from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

EXPORTER = Path(__file__).parents[1] / "fixtures" / "dcgm_exporter.py"
USER = "planner"
PASSWORD = "gpuplanner-test"
PASSWORD_BCRYPT = "$2b$10$Kq5vzQL6jarhzUmhKc3.z.g2qmSLE8ZpAqqdLLNhWS6vZeJN.6kdG"  # crypt(3) of PASSWORD
NODES = {"node-a": ["--job", "4242"], "node-b": [],
         "node-c": ["--gpus", "2", "--omit", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_FB_FREE",
                    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE"]}
GPU_COUNT = 18


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The exporters and the Prometheus server; ``url`` stays the same across restarts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.exporters = []
        targets = []
        for host, extra in NODES.items():
            port = free_port()
            proc = subprocess.Popen([sys.executable, str(EXPORTER), str(port), host, *extra],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "ready"
            self.exporters.append(proc)
            targets.append(f"127.0.0.1:{port}")
        (folder / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: dcgm\n    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n")
        (folder / "web.yml").write_text(f"basic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n")
        self.server: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.server = subprocess.Popen(
            [shutil.which("prometheus"), f"--config.file={self.folder / 'prometheus.yml'}",
             f"--web.config.file={self.folder / 'web.yml'}", f"--storage.tsdb.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_for_series(GPU_COUNT)

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=10)
            self.server = None

    def close(self) -> None:
        self.stop()
        for proc in self.exporters:
            proc.stdin.close()
            proc.terminate()
            proc.wait(timeout=5)
            proc.stdout.close()

    def _get(self, path: str) -> dict:
        request = urllib.request.Request(self.url + path)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read())

    def wait_for_series(self, count: int, deadline_s: float = 20.0) -> None:
        """Until Prometheus answers and has scraped ``count`` GPUs' utilisation at least twice."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                result = self._get("/api/v1/query?query=count_over_time(DCGM_FI_DEV_GPU_UTIL[1m])")["data"]["result"]
                if len(result) == count and all(float(r["value"][1]) >= 2 for r in result):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"Prometheus at {self.url} did not scrape {count} GPUs within {deadline_s} s")


_shared: list[Cluster] = []  # one server for the whole session, whichever test module asks first


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """Session-wide: each importing module gets its own fixture definition, all share one server
    (its start-up takes about 8 s, mostly Prometheus's 5 s target-discovery throttle)."""
    if shutil.which("prometheus") is None:
        pytest.fail("Debian's prometheus package is missing: run scripts/setup.sh (it installs it)")
    if not _shared:
        _shared.append(Cluster(tmp_path_factory.mktemp("prometheus")))
    running = _shared[0]
    if running.server is None:  # a test stopped it and failed before starting it again
        running.start()
    yield running
    if _shared:
        _shared.pop().close()
