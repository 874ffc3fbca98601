"""The real window on a real X server: Qt's xcb platform (what a Linux desktop uses), not offscreen.

Xvfb is the X server; scripts/setup.sh installs it and the libraries xcb needs. Without them
(a non-root set-up on a machine that lacks them) the test says so and skips.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("Xvfb") is None,
                                reason="needs Xvfb (scripts/setup.sh installs it when run as root)")


@pytest.fixture
def x_display():
    """A private Xvfb server on the first free display number; stopped after the test."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    try:
        assert number, server.stderr.read().decode(errors="replace") if server.poll() is not None else "no display"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()


@pytest.mark.slow
def test_window_paints_on_x11_with_the_xcb_platform(x_display):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=x_display, QT_QPA_PLATFORM="xcb", QT_DEBUG_PLUGINS="0")
    done = subprocess.run([sys.executable, "-m", "gpuplanner", "--smoke-test"], capture_output=True, text=True,
                          timeout=90, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^first paint: \d+ ms$", done.stdout, re.M), done.stdout
    assert "could not load the Qt platform plugin" not in done.stderr
