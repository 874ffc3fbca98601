"""Shared fakes and fixtures for the window tests (no tests here).

The window is built for real; only modal dialogs are replaced (they would block) and the
settings live in a temporary INI file so no test touches the user's settings.
"""
from __future__ import annotations

import pytest
from PySide6 import QtCore

from gpuplanner.core import load_catalogs
from gpuplanner.ui.dialogs import DISCARD, Dialogs
from gpuplanner.ui.main_window import MainWindow, Services
from gpuplanner.ui.settings import AppSettings


class FakeDialogs(Dialogs):
    """Answers queued by the test; records every question and error."""

    def __init__(self):
        self.paths: list[str] = []  # answers to open_path/save_path, first in first out
        self.save_answers: list[str] = []
        self.asked: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.dialogs_run: list = []
        self.on_dialog = None  # called with each dialog passed to run()

    def ask_save_changes(self, parent, name):
        self.asked.append(name)
        return self.save_answers.pop(0) if self.save_answers else DISCARD

    def open_path(self, parent, title, file_filter, start=""):
        return self.paths.pop(0) if self.paths else ""

    def save_path(self, parent, title, file_filter, suggested):
        return self.paths.pop(0) if self.paths else ""

    def error(self, parent, title, text):
        self.errors.append((title, text))

    def run(self, dialog):
        """Accept the window's own dialogs after the test's `on_dialog` had its say."""
        self.dialogs_run.append(dialog)
        if self.on_dialog:
            self.on_dialog(dialog)
        return True


@pytest.fixture(scope="session")
def catalogs():
    return load_catalogs()


@pytest.fixture
def settings(tmp_path):
    store = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    yield store
    store.sync()


@pytest.fixture
def dialogs():
    return FakeDialogs()


@pytest.fixture
def make_window(qtbot, catalogs, settings, dialogs):
    """Build a window (optionally with services); qtbot closes it after the test."""

    def make(services: Services | None = None, **kwargs) -> MainWindow:
        window = MainWindow(kwargs.get("catalogs", catalogs), kwargs.get("settings", settings),
                            kwargs.get("dialogs", dialogs), services or Services())
        qtbot.addWidget(window)
        window.resize(1280, 800)
        assert window.state.wait()  # the first answer, computed on the worker
        return window

    return make


def settle(qtbot, window: MainWindow) -> None:
    """Wait for the debounced recompute that the last edit started, and for its answer (computed
    on the worker) to be shown."""
    if window.state.recompute_timer.isActive():
        with qtbot.waitSignal(window.state.recompute_timer.timeout, timeout=2000):
            pass
    assert window.state.wait()
