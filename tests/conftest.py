"""Test configuration shared by every test.

Qt aborts the process without a display, so the offscreen platform is set before any
Qt import. A test that leaves a non-daemon thread running fails: every thread must
have an owner and a stop path (ARCHITECTURE.md rule 6). The user's data folder is a fresh
temporary one.
"""
import atexit
import importlib.util
import os
import shutil
import tempfile
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# No test reads or writes the user's data folder (downloaded prices would change every plan).
os.environ["GPUPLANNER_DATA_DIR"] = tempfile.mkdtemp(prefix="gpuplanner-test-data-")
atexit.register(shutil.rmtree, os.environ["GPUPLANNER_DATA_DIR"], True)

import pytest  # noqa: E402


def _has_torch() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


@pytest.fixture(scope="session")
def needs_torch():
    """Skips, saying why, a test that runs the real benchmark: the [test] extra alone has no torch."""
    if not _has_torch():
        pytest.skip("needs torch, the benchmark extra: pip install 'gpuplanner[bench]'")


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.daemon
    ]
    for t in leaked:
        t.join(timeout=2.0)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"test leaked running threads: {still}"
