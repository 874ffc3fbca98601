"""The one atomic file write: plans, reports, telemetry exports and benchmark results all go here.

Each file is written whole to a temporary sibling (same folder, so the rename never crosses file
systems), flushed to disk, optionally checked, and only then renamed over its target; several
files move together only when all of them are complete. Any failure removes every temporary file,
leaves every target as it was and raises WriteError naming the file and the reason. Qt-free.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

Writer = Callable[[Path], None]  # writes one whole file at the path it is given


class WriteError(OSError):
    """A file could not be written; the target is unchanged. str() names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"Cannot write {self.path}: {reason}")

    def __str__(self) -> str:
        return self.args[0]


def atomic_write(writers: Mapping[Path, Writer]) -> list[Path]:
    """Run each writer on a temp file beside its target, fsync, then move all of them into place.

    A writer signals a bad result (e.g. a PDF found incomplete) by raising; its message becomes
    the reason. Returns the targets in the order given."""
    temps: dict[Path, Path] = {}
    target = next(iter(writers), Path())
    try:
        for target, write in writers.items():
            _check_target(target)
            temps[target] = _temp_beside(target)
            write(temps[target])
            _sync(temps[target])
        for target in list(temps):
            os.replace(temps[target], target)
            del temps[target]
    except WriteError:
        _remove(temps.values())
        raise
    except Exception as e:  # any failure, also mid-render, must clean up and say why
        _remove(temps.values())
        raise WriteError(target, _reason(e, target)) from e
    return list(writers)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """One text file, atomically."""
    path = Path(path)

    def write(temp: Path) -> None:
        temp.write_text(text, encoding=encoding)
    return atomic_write({path: write})[0]


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise WriteError(target, "this is a folder; choose a file name inside it")
    if not target.parent.is_dir():
        raise WriteError(target, f"the folder {target.parent} does not exist")


def _temp_beside(target: Path) -> Path:
    # a short prefix: names up to the 255-byte limit still leave room for the temp's own name
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=".gpuplanner-", suffix=".tmp")
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; an exported file gets the usual permissions
    return Path(name)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(paths) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _reason(e: Exception, target: Path) -> str:
    if isinstance(e, PermissionError):
        return f"permission denied; is the folder {target.parent} read-only?"
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if isinstance(e, OSError) and e.errno == errno.EFBIG:
        return "the file is larger than this system allows"
    if isinstance(e, OSError) and e.errno == errno.ENAMETOOLONG:
        return "the file name is too long (at most 255 bytes)"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror[0].lower() + e.strerror[1:]
    return str(e) or type(e).__name__
