"""Atomic file writes: every file goes to a temporary sibling first and is moved into place only
when all of them are complete, so a failure never leaves a partial or half-updated report."""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from gpuplanner.report.errors import ReportError

Writer = Callable[[Path], None]  # writes one whole file at the path it is given


def write_atomically(writers: dict[Path, Writer]) -> list[Path]:
    """Run each writer on a temp file in its target's folder, then os.replace all of them.

    Any failure removes every temp file and raises ReportError naming the target and the reason.
    The temp files live in the target folder so the final rename never crosses file systems."""
    temps: dict[Path, Path] = {}
    target = next(iter(writers), Path())
    try:
        for target, write in writers.items():
            _check_target(target)
            temps[target] = _temp_beside(target)
            write(temps[target])
        for target in list(temps):
            os.replace(temps[target], target)
            del temps[target]
    except ReportError:
        _remove(temps.values())
        raise
    except Exception as e:  # any failure, also mid-render, must clean up and say why
        _remove(temps.values())
        raise ReportError(target, _reason(e, target)) from e
    return list(writers)


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise ReportError(target, "this is a folder; choose a file name inside it")
    if not target.parent.is_dir():
        raise ReportError(target, f"the folder {target.parent} does not exist")


def _temp_beside(target: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; a report gets the usual permissions
    return Path(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(paths) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _reason(e: Exception, target: Path) -> str:
    if isinstance(e, PermissionError):
        return f"permission denied; is the folder {target.parent} read-only?"
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return "the disk is full"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror[0].lower() + e.strerror[1:]
    return str(e) or type(e).__name__
