"""Fixtures of the core tests: the loopback Hub (hub_support) and price server (price_server),
in tests/helpers."""
from hub_support import *  # noqa: F403
from price_server import *  # noqa: F403
