"""Report files go through the one atomic write (core.atomic); here its error becomes ReportError."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gpuplanner.core.atomic import WriteError, Writer, atomic_write
from gpuplanner.report.errors import ReportError


def write_atomically(writers: Mapping[Path, Writer]) -> list[Path]:
    """core.atomic.atomic_write, raising ReportError (file and reason) instead of WriteError."""
    try:
        return atomic_write(writers)
    except WriteError as e:
        raise ReportError(e.path, e.reason) from e.__cause__
