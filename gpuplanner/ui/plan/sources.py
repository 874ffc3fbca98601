"""Where a plan's model and catalogs come from besides the form: a model's config file or
folder, and the user's catalog CSVs — read off the GUI thread (ui.background), then handed
to the form and the PlannerState.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.model import load_config_json, load_model_folder
from gpuplanner.ui.background import Cancelled, run_in_background
from gpuplanner.ui.catalog_dialog import CatalogDialog
from gpuplanner.ui.plan.form import FormPanel
from gpuplanner.ui.plan.state import PlannerState


class InputSources(QtCore.QObject):
    """Model files and catalogs; `catalogs_changed` fires when the catalogs in use change."""

    catalogs_changed = QtCore.Signal()

    def __init__(self, state: PlannerState, form: FormPanel, window: QtWidgets.QWidget):
        super().__init__(window)
        self.state, self.form = state, form
        self.window = window  # the dialogs' parent; its `dialogs` are read at each use
        self.catalog_dialog: CatalogDialog | None = None

    def set_catalogs(self, catalogs: Catalogs) -> None:
        self.state.set_catalogs(catalogs)
        self.form.set_catalogs(catalogs)
        self.catalogs_changed.emit()
        self.state.recompute()

    def choose_model(self) -> None:
        path = self.window.dialogs.open_path(self.window, "Open model config", "Hugging Face config (*.json)")
        if path:
            self.load_model(path)

    def load_model(self, path: str) -> bool:
        """A config.json (with its folder's safetensors headers), a model folder or any config JSON."""
        p = Path(path)

        def read():
            if p.is_dir() or p.name == "config.json":
                return load_model_folder(p if p.is_dir() else p.parent)[0]
            return load_config_json(p)
        try:
            arch = run_in_background(self.window, f"Reading {p.name}…", read)
        except CatalogError as e:
            self.window.dialogs.error(self.window, "Cannot read model", str(e))
            return False
        except Cancelled:
            return False
        self.form.add_model(arch)
        return True

    def show_catalogs(self) -> None:
        self.catalog_dialog = CatalogDialog(
            self.state.catalogs, self.load_user_catalog,
            lambda: self.window.dialogs.open_path(self.window, "Load catalog CSV", "CSV files (*.csv)"), self.window)
        self.catalog_dialog.open()

    def load_user_catalog(self, path: str) -> Catalogs:
        """Add a user CSV to the catalogs in use; raises CatalogError and changes nothing if bad."""
        try:
            catalogs = run_in_background(self.window, f"Loading {Path(path).name}…",
                                         lambda: self.state.catalogs.with_user_file(path))
        except Cancelled:
            raise CatalogError(path, "loading was cancelled; the catalogs in use are unchanged") from None
        self.set_catalogs(catalogs)
        return catalogs
