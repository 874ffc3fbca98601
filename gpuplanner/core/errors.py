"""The two error types the core raises: callers catch these and show their text.

Every message names the field (or file, row and column) and what is allowed, so the
CLI and the window can print it as is; a misspelt name comes with the close names it may mean.
"""
import difflib
from collections.abc import Iterable


def close_names(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` of `names` that `name` may be a misspelling of, closest first (case-blind)."""
    by_folded = {known.casefold(): known for known in names}
    return [by_folded[m] for m in difflib.get_close_matches(name.casefold(), by_folded, n=n, cutoff=0.6)]


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """'; did you mean p5.48xlarge or p5e.48xlarge?' — or '' when nothing is close."""
    close = close_names(name, names)
    return f"; did you mean {' or '.join(close)}?" if close else ""


class InputError(ValueError):
    """A user input is invalid. `field` is the input's name as the CLI and form use it."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self):  # pickled with its field (a plan computed in another process)
        return InputError, (self.field, self.message)


class CatalogError(InputError):
    """A catalog, config.json or model folder cannot be read or has a bad value."""

    def __init__(self, path, message: str, row: int | None = None, column: str | None = None):
        self.path = str(path)
        self.row = row
        self.column = column
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(where, message)

    def __reduce__(self):
        return CatalogError, (self.path, self.message, self.row, self.column)


class SweepCancelled(Exception):
    """A comparison sweep gave up because its `stop()` said so (a newer request superseded it).
    Here, not in core.sweep, so the window can catch it without importing pandas."""
