"""Where a plan's model and catalogs come from besides the form: a model's config file or
folder, a Hugging Face Hub model, the user's catalog CSVs and downloaded prices — read off the
GUI thread (ui.background), then handed to the form and the PlannerState.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import CatalogError, InputError
from gpuplanner.core.model_readers import load_config_json, load_model_folder
from gpuplanner.ui.background import Cancelled, run_in_background
from gpuplanner.ui.catalog_dialog import CatalogDialog
from gpuplanner.ui.plan.form import FormPanel
from gpuplanner.ui.plan.state import PlannerState


class InputSources(QtCore.QObject):
    """Model files and catalogs; `catalogs_changed` fires when the catalogs in use change."""

    catalogs_changed = QtCore.Signal()
    message = QtCore.Signal(str, int)  # a status-bar note and how long it shows (ms; 0 = until replaced)

    def __init__(self, state: PlannerState, form: FormPanel, window: QtWidgets.QWidget):
        super().__init__(window)
        self.state, self.form = state, form
        self.window = window  # the dialogs' parent; its `dialogs` and `services` are read at each use
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

    def load_hub_model(self, model_id: str) -> bool:
        """Fetch a Hugging Face Hub model off the GUI thread (progress dialog with Cancel after a
        moment); a quantized checkpoint sets the precision when the mode allows it."""
        from gpuplanner.core.hub import fetch_hub_model  # the fetcher is not loaded at start-up

        label = f"Fetching {model_id} from the Hugging Face Hub…"
        self.form.set_hub_busy(True)
        self.message.emit(label, 0)
        try:
            hub = run_in_background(self.window, label, lambda: fetch_hub_model(model_id))
        except InputError as e:
            self.message.emit("", 0)
            self.window.dialogs.error(self.window, "Cannot read model from the Hub", e.message)
            return False
        except Cancelled:
            self.message.emit(f"Fetching {model_id} cancelled", 5000)
            return False
        finally:
            self.form.set_hub_busy(False)
        self.message.emit("", 0)
        self.form.add_model(hub.arch, hub.describe())
        try:
            planned, note = hub.with_precision(self.form.inputs())
        except InputError:
            return True  # another field is being edited; the precision stays as chosen
        self.form.set_precision(planned.precision)
        if note:
            self.form.add_model(hub.arch, f"{hub.describe()}. {note}.")
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

    def update_prices(self) -> bool:
        """Tools → Update prices: download on a worker thread, then lay the new prices over the
        catalogs in use (the user's own catalog files, re-read, still win). A failure or Cancel
        leaves everything as it was and says so."""
        from gpuplanner.core import price_update  # the downloader is not loaded at start-up

        cancel = threading.Event()
        source = self.window.services.price_source or price_update.default_base_url()
        try:
            summary = run_in_background(self.window, "Downloading current prices…", lambda: price_update.update_prices(
                base_url=source, cancelled=cancel.is_set))
        except Cancelled:
            cancel.set()  # the worker checks this just before it writes
            self.message.emit("price update cancelled; the prices in use are unchanged", 8000)
            return False
        except price_update.PriceUpdateError as e:
            self.window.dialogs.error(self.window, "Prices not updated", str(e))
            return False
        catalogs = self.state.catalogs.with_price_update(summary.path)
        for origin in self.state.catalogs.origins[3:]:  # files the user loaded after the bundled three
            if origin != str(summary.path):
                try:
                    catalogs = catalogs.with_user_file(origin)
                except CatalogError as e:
                    self.window.dialogs.error(self.window, "Catalog not re-read", f"{e}\nIts rows are no longer in use.")
        self.set_catalogs(catalogs)
        self.message.emit(summary.text(), 15000)
        return True
