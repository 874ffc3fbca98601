"""The one error type the report writers raise, so the CLI and the window can show its text as is."""
from pathlib import Path


class ReportError(Exception):
    """A report file could not be written. The message names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"Cannot write {self.path}: {reason}")
