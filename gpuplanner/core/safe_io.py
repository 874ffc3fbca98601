"""The one gate for files from outside (config.json, safetensors headers, plans, catalogs, benchmark
results) and the one guard for text cells leaving in a CSV. Qt-free.

Reading: only regular files (a named pipe or /dev/zero would hang or fill memory), a byte cap
checked before reading, JSON with bounded nesting (no RecursionError) and finite numbers within a
sane range (no Infinity, NaN or 10**400 that overflow later). A refusal is UnsafeFileError, a
CatalogError whose message names the file, the field and what is allowed.

Writing: a text cell that starts with = + - @ (or a tab / carriage return) is opened by spreadsheets
as a formula, so a shared catalog's `=HYPERLINK(...)` would come alive; such cells get a leading '
(the OWASP "CSV injection" advice).
"""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # pandas is imported by the exports that call spreadsheet_safe, not on start-up
    import pandas as pd

from gpuplanner.core.errors import CatalogError, InputError

MIB = 2**20
JSON_MAX_BYTES = 16 * MIB  # a config.json or a plan is a few KiB; a benchmark result a few dozen
CSV_MAX_BYTES = 4 * MIB  # a user catalog: ~40k rows load in ~2 s; the bundled ones are < 100 KiB
MAX_DEPTH = 32  # deeper JSON is not a config, plan or result file this app reads
MAX_ABS_NUMBER = 1e30  # larger than any count, size, price or FLOP/s a plan uses (≈ 1e27 FLOP)
NAME_MAX_BYTES = 255  # per path component on Linux, macOS and Windows file systems


class UnsafeFileError(CatalogError):
    """A file refused before or while reading it; str() names the file, the field and the rule.

    A CatalogError, so every caller that already shows catalog and config errors shows these."""

    def __init__(self, path, field: str, message: str):
        super().__init__(path, message, column=field or None)
        if field:  # a JSON field is a dotted path, not a CSV column
            InputError.__init__(self, f"{path}, field '{field}'", message)


def check_path(path) -> None:
    """Refuse a path with a name longer than file systems allow, before the OS says ENAMETOOLONG."""
    for name in Path(path).parts:
        size = len(os.fsencode(name))
        if size > NAME_MAX_BYTES:
            raise UnsafeFileError(f"{name[:40]}…", "", f"this file or folder name is {size} bytes long; "
                                  f"at most {NAME_MAX_BYTES} are allowed")


def open_regular(path, max_bytes: int) -> BinaryIO:
    """An open binary file, if ``path`` is a regular file of at most ``max_bytes``; the caller closes it."""
    path = Path(path)
    check_path(path)
    try:
        # O_NONBLOCK: opening a named pipe with no writer must not hang; the type check follows
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise UnsafeFileError(path, "", f"cannot be read: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError(path, "", "is not a regular file (a pipe, device or folder); "
                                  "only ordinary files are read")
        if info.st_size > max_bytes:
            raise UnsafeFileError(path, "", f"is {_size(info.st_size)}; at most {_size(max_bytes)} is allowed")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_bytes(path, max_bytes: int) -> bytes:
    """The whole file, through open_regular; a file that grows past the cap while read is refused too."""
    with open_regular(path, max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFileError(path, "", f"is larger than the {_size(max_bytes)} allowed")
    return data


def _size(n_bytes: int) -> str:
    return f"{n_bytes / MIB:.1f} MiB" if n_bytes >= MIB else f"{n_bytes:,} bytes"


def read_text(path, max_bytes: int) -> str:
    try:
        return read_bytes(path, max_bytes).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnsafeFileError(path, "", f"is not UTF-8 text ({e.reason} at byte {e.start})") from None


def parse_json(text: str | bytes, path, max_depth: int = MAX_DEPTH):
    """JSON with nesting at most ``max_depth`` and every number finite and within ±MAX_ABS_NUMBER.

    A bad number is refused naming its field as a dotted path (e.g. ``inputs.model.arch.n_layers``)."""
    _check_depth(text, path, max_depth)
    try:
        document = json.loads(text, parse_constant=_Unusable, parse_float=_float,
                              parse_int=lambda s: int(s) if len(s) <= MAX_DIGITS else _Unusable(s))
    except json.JSONDecodeError as e:
        raise UnsafeFileError(path, "", f"is not valid JSON (corrupt JSON at line {e.lineno} "
                              f"column {e.colno}: {e.msg})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UnsafeFileError(path, "", f"is not valid JSON ({e})") from None
    _check_numbers(document, path, "")
    return document


MAX_DIGITS = 40  # keeps int() far from its 4300-digit limit and any later float() from overflowing


def _float(literal: str):
    value = float(literal)
    return value if math.isfinite(value) else _Unusable(literal)


class _Unusable(str):
    """A JSON literal kept as text for the error message: Infinity, NaN or an over-long integer."""


def _check_numbers(value, path, field: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, path, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_numbers(item, path, f"{field}[{index}]")
    elif isinstance(value, _Unusable) or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                          and not (math.isfinite(value) and abs(value) <= MAX_ABS_NUMBER)):
        shown = value if len(str(value)) <= 24 else f"{str(value)[:12]}… ({len(str(value))} digits)"
        raise UnsafeFileError(path, field or "(top level)", f"{shown} is not allowed; "
                              f"only finite numbers within ±{MAX_ABS_NUMBER:g}")


def load_json(path, max_bytes: int = JSON_MAX_BYTES, max_depth: int = MAX_DEPTH):
    """read_text + parse_json: the one way a JSON file from outside is read."""
    return parse_json(read_text(path, max_bytes), path, max_depth)


def _check_depth(text: str | bytes, path, max_depth: int) -> None:
    """Count bracket depth outside strings: cheap, and it runs before the recursive parser does."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                raise UnsafeFileError(path, "", f"nests objects or lists deeper than {max_depth} levels")
        elif ch in "]}":
            depth -= 1


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a spreadsheet formula (prefixed with ')."""
    import pandas as pd

    text_columns = [c for c in frame.columns
                    if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])]
    if not text_columns:
        return frame
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(_safe_cell)
    return safe


def _safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
