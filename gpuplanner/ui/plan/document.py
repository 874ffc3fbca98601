"""The open plan as a document: its file, whether it changed since, New / Open / Save / Save As,
the recent-files list and the plan restored at start-up.

The window keeps the chrome (menus, title, status bar); this class keeps the life cycle, so a
reader finds "what happens on Save" in one place. It reads the inputs from the PlannerState and
reaches the window only through the small ``DocumentHost`` protocol below.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Protocol

from PySide6 import QtCore

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import estimate
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.planfile import SUFFIX, PlanFileError, load_plan, plan_to_dict, save_plan
from gpuplanner.ui.background import Cancelled, run_in_background
from gpuplanner.ui.dialogs import CANCEL, SAVE, Dialogs
from gpuplanner.ui.errors import ErrorReporter
from gpuplanner.ui.plan.state import PlannerState
from gpuplanner.ui.settings import AppSettings

PLAN_FILTER = f"gpuplanner plans (*{SUFFIX})"


class DocumentHost(Protocol):
    """What the document needs from the window that shows it (a QWidget: its dialogs' parent)."""

    dialogs: Dialogs  # read at each use: tests swap in real dialogs after construction

    def show_plan(self, inputs: PlanInputs, catalogs: Catalogs | None) -> None: ...

    def suggested_stem(self) -> str: ...


def _document(inputs: PlanInputs, catalogs: Catalogs) -> dict:
    """The file document of ``inputs`` with the measurements in ``catalogs`` they use."""
    return plan_to_dict(inputs, catalogs.gpus, catalogs.measured_links)


def _computable(inputs: PlanInputs, catalogs: Catalogs) -> None:
    """Raise if estimating ``inputs`` fails unexpectedly; an InputError is fine (the form marks it)."""
    with contextlib.suppress(InputError):
        estimate(inputs, catalogs)


class Document(QtCore.QObject):
    """The plan file behind the window; ``changed`` fires when its name or saved state moves."""

    changed = QtCore.Signal()
    message = QtCore.Signal(str, int)  # a status-bar note and how long it shows (ms)

    def __init__(self, state: PlannerState, host: DocumentHost, settings: AppSettings, errors: ErrorReporter):
        super().__init__(host)
        self.state = state  # the inputs saved and the catalogs they refer to
        self.host = host  # also the parent of every dialog
        self.settings = settings
        self.errors = errors
        self.path: Path | None = None
        self.saved_doc = plan_to_dict(PlanInputs())

    @property
    def dialogs(self) -> Dialogs:
        return self.host.dialogs

    def name(self) -> str:
        return self.path.name if self.path else ""

    def is_dirty(self) -> bool:
        inputs = self.state.inputs
        return inputs is None or _document(inputs, self.state.catalogs) != self.saved_doc

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current plan (saved, discarded, or unchanged)."""
        if not self.is_dirty():
            return True
        answer = self.dialogs.ask_save_changes(self.host, self.path.name if self.path else "the new plan")
        if answer == SAVE:
            return self.save()  # False when the save failed: the plan is kept, the window stays
        return answer != CANCEL

    def replace(self, inputs: PlanInputs, path: Path | None = None, catalogs: Catalogs | None = None) -> None:
        """Show a document; ``catalogs`` (from PlanDocument.catalogs) adds the GPU it measured."""
        self.path = path
        self.saved_doc = _document(inputs, catalogs or self.state.catalogs)
        self.host.show_plan(inputs, catalogs)
        if path is not None:
            self.settings.add_recent(str(path))

    def new_plan(self) -> None:
        if self.maybe_save():
            self.replace(PlanInputs())

    def open_plan(self, path: str | None = None) -> bool:
        if not self.maybe_save():
            return False
        path = path or self.dialogs.open_path(self.host, "Open plan", PLAN_FILTER)
        if not path:
            return False
        try:
            doc = run_in_background(self.host, f"Opening {Path(path).name}…", lambda: load_plan(path))
            catalogs = doc.catalogs(self.state.catalogs, Path(path).name)
        except PlanFileError as e:
            self.dialogs.error(self.host, "Cannot open plan", str(e))
            return False
        except Cancelled:
            return False
        self.replace(doc.inputs, Path(path), catalogs)
        return True

    def open_recent(self, path: str) -> bool:
        """Open a recent plan; one that can no longer be opened leaves the list."""
        opened = self.open_plan(path)
        if not opened and not Path(path).is_file():
            self.settings.remove_recent(path)
        return opened

    def save(self) -> bool:
        return self.save_as() if self.path is None else self._write(self.path)

    def save_as(self) -> bool:
        self.state.flush()  # the name proposed is the model's now (failing that, _write says why)
        suggested = str(self.path) if self.path else f"{self.host.suggested_stem()}{SUFFIX}"
        path = self.dialogs.save_path(self.host, "Save plan", PLAN_FILTER, suggested)
        if not path:
            return False
        path = Path(path)
        return self._write(path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX))

    def _write(self, path: Path) -> bool:
        if not self.state.flush():  # an edit still in its debounce is read (and checked) now
            self.dialogs.error(self.host, "Cannot save plan", "The plan is still being computed; save again in a moment.")
            return False
        inputs = self.state.inputs
        if inputs is None:
            self.dialogs.error(self.host, "Cannot save plan", "Fix the fields marked in red before saving.")
            return False
        try:
            save_plan(path, inputs, self.state.catalogs.gpus, self.state.catalogs.measured_links)
        except PlanFileError as e:
            self.dialogs.error(self.host, "Cannot save plan", str(e))
            return False
        except Exception as e:  # unexpected: logged too; the caller (e.g. quitting) must not go on
            self.errors.report(f"Saving {path.name}", e)
            return False
        self.path = path
        self.saved_doc = _document(inputs, self.state.catalogs)
        self.settings.add_recent(str(path))
        self.changed.emit()
        self.message.emit(f"saved {path}", 5000)
        return True

    def restore_last(self) -> None:
        """The last plan from the settings (a missing plan is no error; a broken one is forgotten)."""
        last = self.settings.last_plan()
        if not last or not Path(last).is_file():
            return
        try:
            doc = load_plan(last)
            catalogs = doc.catalogs(self.state.catalogs, Path(last).name)
            _computable(doc.inputs, catalogs)
        except Exception as e:  # never a failed start: skip the plan, say why, forget it
            self.settings.set_last_plan("")
            self.message.emit(f"last plan {Path(last).name} not restored and forgotten: {e}", 15000)
            return
        self.replace(doc.inputs, Path(last), catalogs)

    def remember(self) -> None:
        """On quitting: reopen this plan next time (or none, for an unsaved one)."""
        self.settings.set_last_plan(str(self.path) if self.path else "")
