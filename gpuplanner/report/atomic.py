"""Report files go through the one atomic write (core.atomic); here its error becomes ReportError."""
from __future__ import annotations

from gpuplanner.core.atomic import WriteError, Writer, atomic_write
from gpuplanner.report.errors import ReportError

__all__ = ["Writer", "write_atomically"]


def write_atomically(writers: dict) -> list:
    """core.atomic.atomic_write, raising ReportError (file and reason) instead of WriteError."""
    try:
        return atomic_write(writers)
    except WriteError as e:
        raise ReportError(e.path, e.reason) from e.__cause__
