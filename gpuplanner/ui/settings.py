"""What the app remembers between runs: recent plans, the last plan, window geometry, and
the Python the benchmark runs under.

A thin typed layer over a QSettings handed in by the composition root, so tests pass one
backed by a temporary file and never touch the user's settings.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

MAX_RECENT = 8


class AppSettings:
    def __init__(self, store: QtCore.QSettings):
        self.store = store

    def recent_files(self) -> list[str]:
        value = self.store.value("plans/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def add_recent(self, path: str) -> None:
        files = [path] + [p for p in self.recent_files() if p != path]
        self.store.setValue("plans/recent", files[:MAX_RECENT])

    def remove_recent(self, path: str) -> None:
        self.store.setValue("plans/recent", [p for p in self.recent_files() if p != path])

    def last_plan(self) -> str:
        return str(self.store.value("plans/last", "") or "")

    def set_last_plan(self, path: str) -> None:
        self.store.setValue("plans/last", path)

    def last_folder(self) -> str:
        return str(self.store.value("files/last_folder", "") or "")

    def set_last_folder(self, folder: str) -> None:
        self.store.setValue("files/last_folder", folder)

    def memory_unit(self) -> str:
        """'GiB' (default) or 'GB'."""
        unit = str(self.store.value("view/memory_unit", "GiB") or "GiB")
        return unit if unit in ("GiB", "GB") else "GiB"

    def set_memory_unit(self, unit: str) -> None:
        self.store.setValue("view/memory_unit", unit)

    def cluster_url(self) -> str:
        """The Prometheus address last connected to ('' = never); logins are never stored."""
        return str(self.store.value("cluster/url", "") or "")

    def set_cluster_url(self, url: str) -> None:
        self.store.setValue("cluster/url", url)

    def bench_python(self) -> str:
        """The Python the benchmark runs under ('' = the app's own)."""
        return str(self.store.value("benchmark/python", "") or "")

    def set_bench_python(self, path: str) -> None:
        self.store.setValue("benchmark/python", path)

    def save_window(self, window: QtWidgets.QMainWindow) -> None:
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/state", window.saveState())

    def restore_window(self, window: QtWidgets.QMainWindow) -> bool:
        """Restore geometry and toolbar state; False when nothing was saved."""
        geometry = self.store.value("window/geometry")
        if geometry is None:
            return False
        window.restoreGeometry(geometry)
        state = self.store.value("window/state")
        if state is not None:
            window.restoreState(state)
        return True

    def sync(self) -> None:
        self.store.sync()
