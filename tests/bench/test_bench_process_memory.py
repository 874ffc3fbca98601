"""The RSS high-water mark used for the CPU training step's peak memory (Linux)."""
import sys

import pytest

from gpuplanner.bench import process_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM and clear_refs are Linux's")


def test_high_water_sees_a_short_lived_peak_after_a_reset():
    process_memory.trim_heap()
    assert process_memory.reset_rss_high_water()
    start_bytes = process_memory.rss_high_water_bytes()
    block = b"\x01" * (64 * 2**20)  # written, so every page is resident
    del block
    assert process_memory.rss_high_water_bytes() - start_bytes >= 60 * 2**20
    assert process_memory.reset_rss_high_water()
    assert process_memory.rss_high_water_bytes() - start_bytes < 32 * 2**20
