"""Fixtures of the window tests: the window and its fakes (ui_support), the loopback Hub
(hub_support) and price server (price_server), all in tests/helpers."""
from hub_support import *  # noqa: F403
from price_server import *  # noqa: F403
from ui_support import *  # noqa: F403
