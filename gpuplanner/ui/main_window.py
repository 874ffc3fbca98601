"""The planner window: form on the left, Plan / Compare / Live tabs on the right.

Answers follow the form as the user types: the PlannerState (ui/plan/state.py) recomputes
after a pause and the window shows what it says; the plan's file life cycle is the Document
(ui/plan/document.py). The compare sweep runs on a worker thread, only while its tab is
showing and only for the mode it shows. Everything the window needs comes in through the
constructor (catalogs, settings, dialogs, report writer, live panel, benchmark
runner), so tests build it with fakes.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.core import price_update
from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import CatalogError, InputError
from gpuplanner.core.hub import fetch_hub_model
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import load_config_json, load_model_folder
from gpuplanner.core.planfile import SUFFIX
from gpuplanner.ui import about
from gpuplanner.ui.accuracy import AccuracyView, shared_ledger
from gpuplanner.ui.background import Cancelled, run_in_background
from gpuplanner.ui.bench.collectives import CollectivesView
from gpuplanner.ui.bench.link import BenchmarkLink
from gpuplanner.ui.bench.python_dialog import BenchPythonDialog
from gpuplanner.ui.bench.results import BenchResultsView
from gpuplanner.ui.catalog_dialog import CatalogDialog, price_as_of
from gpuplanner.ui.compare.sweep_runner import SweepRunner
from gpuplanner.ui.compare.tab import CompareTab
from gpuplanner.ui.dialogs import Dialogs
from gpuplanner.ui.errors import ErrorReporter
from gpuplanner.ui.plan.document import Document
from gpuplanner.ui.plan.form import ERROR_STYLE, FormPanel
from gpuplanner.ui.plan.formatting import window_title
from gpuplanner.ui.plan.state import PlannerState
from gpuplanner.ui.plan.tab import PlanTab
from gpuplanner.ui.settings import AppSettings

BANDS_AFTER_MS = 1000  # the ledger evaluation behind the error bands starts once the window is up
EXPORT_FILTERS = {".csv": "CSV table (*.csv)", ".pdf": "PDF report (*.pdf)"}


@dataclass
class Services:
    """What the composition root hands the window. None = not available in this build."""

    write_report: Callable | None = None  # write_report(result, table, path)
    make_live_panel: Callable[[Dialogs], QtWidgets.QWidget] | None = None  # a widget with stop()
    bench_runner: QtCore.QObject | None = None  # gpuplanner.ui.bench.runner.BenchRunner
    start_benchmark: Callable[[QtCore.QObject], None] | None = None  # starts a run on the runner
    set_bench_python: Callable[[str], None] | None = None  # the Python the next run uses ('' = own)
    bench_results_folder: Path | None = None  # where "Save results" writes dated files
    error_log: Path | None = None  # where unexpected errors are logged (None: stderr)
    price_source: str = field(default_factory=price_update.default_base_url)  # where Tools → Update prices downloads from


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, catalogs: Catalogs, settings: AppSettings, dialogs: Dialogs | None = None,
                 services: Services | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.dialogs = dialogs or Dialogs(settings.last_folder())
        self.services = services or Services()
        self.errors = ErrorReporter(self.dialogs, self, self.services.error_log)
        self._last_failure = ""  # the unexpected estimate error already reported
        self.sweep_table = None  # the comparison shown in the Compare tab
        self._compare_mode = ""
        self.sweeps = SweepRunner(self)
        self.catalog_dialog: CatalogDialog | None = None
        self.accuracy_view: AccuracyView | None = None

        self.form = FormPanel(catalogs)
        self.form.setMinimumWidth(340)
        self.plan_tab = PlanTab()
        self.compare_tab = CompareTab()
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.plan_tab, "Plan")
        self.tabs.addTab(self.compare_tab, "Compare")
        self.live_panel: QtWidgets.QWidget | None = None  # built when its tab is first shown
        self.live_tab = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        if self.services.make_live_panel is None:
            self.live_tab.addWidget(QtWidgets.QLabel("Live telemetry is not available in this build."))
        self.bench_results: BenchResultsView | None = None
        self.bench_link: BenchmarkLink | None = None
        if self.services.bench_runner is not None:
            self.bench_results = BenchResultsView(catalogs.gpus, self.services.bench_results_folder
                                                  or Path.home() / ".gpuplanner" / "benchmarks",
                                                  dialogs=self.dialogs)
            self.bench_results.use_for_planning.connect(self.use_machine_gpu)
            self.live_tab.addWidget(self.bench_results)
            self.bench_link = BenchmarkLink(self.services.bench_runner, self.bench_results, parent=self)
        self.collectives: CollectivesView | None = None  # built when the Live tab is first shown
        self.tabs.addTab(self.live_tab, "Live")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.compare_tab.modes_changed.connect(self._refresh_compare)
        self.sweeps.ready.connect(self._sweep_ready)
        self.sweeps.busy_changed.connect(self.compare_tab.set_busy)
        self.sweeps.failed.connect(lambda message: self.compare_tab.set_busy(False, f"comparison failed: {message}"))
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(self.form)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        self.setCentralWidget(splitter)
        self.as_of_label = QtWidgets.QLabel()
        self.statusBar().addPermanentWidget(self.as_of_label)
        self.setAcceptDrops(True)

        self.state = PlannerState(catalogs, self.form.inputs, self)
        self.state.result_changed.connect(self._show_state)
        self.form.changed.connect(self.state.request)
        self.document = Document(self.state, self, settings, self.errors)
        self.document.changed.connect(self._update_title)
        self.document.message.connect(self.statusBar().showMessage)
        self.form.load_model_button.clicked.connect(self._choose_model)
        self.form.hub_requested.connect(self.load_hub_model)
        self._build_actions()
        self._connect_benchmark()
        self._show_as_of()
        self.state.recompute()
        QtCore.QTimer.singleShot(BANDS_AFTER_MS, self, lambda: shared_ledger().when_ready(
            self.plan_tab.summary.set_outcomes))  # on a pool thread; the cards get their bands when done
        if settings.memory_unit() != "GiB":
            self.set_memory_unit(settings.memory_unit())

    # ----- actions and menus ------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        keys = QtGui.QKeySequence.StandardKey
        self.new_action = self._action("New", self.document.new_plan, keys.New, "Start a new plan")
        self.open_action = self._action("Open…", self.document.open_plan, keys.Open, "Open a .gpuplan file")
        self.save_action = self._action("Save", self.document.save, keys.Save, "Save the plan")
        self.save_as_action = self._action("Save As…", self.document.save_as, keys.SaveAs, "Save the plan under a new name")
        self.export_csv_action = self._action("Export CSV…", lambda: self.export(".csv"), "Ctrl+E",
                                              "Export the plan and the comparison table as CSV")
        self.export_pdf_action = self._action("Export PDF…", lambda: self.export(".pdf"), "Ctrl+Shift+E",
                                              "Export a PDF report of the plan")
        self.model_action = self._action("Open model config…", self._choose_model, None,
                                         "Read a config.json (its folder's safetensors headers too)")
        self.catalog_action = self._action("Catalogs…", self.show_catalogs, None,
                                           "View the GPU, instance and model catalogs; load your own CSV")
        self.update_prices_action = self._action("Update prices…", self.update_prices, None,
                                                 "Download current instance prices (SkyPilot's public catalog)")
        self.bench_action = self._action("Run benchmark ▶", self.toggle_benchmark, None,
                                         "Measure this machine's matmul FLOP/s and memory bandwidth")
        self.bench_action.setEnabled(self.services.bench_runner is not None)
        self.bench_python_action = self._action("Benchmark Python…", self.choose_bench_python, None,
                                                "Choose the Python (with torch) the benchmark runs under")
        self.bench_python_action.setEnabled(self.services.set_bench_python is not None)
        about_action = self._action("About gpuplanner", self.show_about)
        self.accuracy_action = self._action("Accuracy…", self.show_accuracy, None,
                                            "How close the planner comes to published runs (the accuracy ledger)")
        quit_action = self._action("Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([self.new_action, self.open_action])
        self.recent_menu = file_menu.addMenu("Open Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addActions([self.save_action, self.save_as_action])
        file_menu.addSeparator()
        file_menu.addActions([self.model_action, self.export_csv_action, self.export_pdf_action])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        tools = self.menuBar().addMenu("&Tools")
        tools.addActions([self.catalog_action, self.update_prices_action, self.bench_action,
                          self.bench_python_action])
        self.gb_action = self._action("Memory in GB (10⁹ bytes)", self._memory_unit_toggled, None,
                                      "Show memory in GB as vendors count it, instead of GiB (2³⁰ bytes)")
        self.gb_action.setCheckable(True)
        self.menuBar().addMenu("&View").addAction(self.gb_action)
        self.menuBar().addMenu("&Help").addActions([self.accuracy_action, about_action])

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.addActions([self.new_action, self.open_action, self.save_action])
        toolbar.addSeparator()
        toolbar.addActions([self.export_csv_action, self.export_pdf_action])
        toolbar.addSeparator()
        toolbar.addActions([self.catalog_action, self.bench_action])

    def set_memory_unit(self, unit: str) -> None:
        """GiB or GB for every memory figure in the window; remembered in the settings."""
        self.gb_action.setChecked(unit == "GB")
        self.plan_tab.set_memory_unit(unit)
        self.settings.set_memory_unit(unit)

    def _memory_unit_toggled(self) -> None:
        self.set_memory_unit("GB" if self.gb_action.isChecked() else "GiB")

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.document.open_recent(p)).setToolTip(path)
        self.recent_menu.setEnabled(bool(self.settings.recent_files()))

    # ----- computing ----------------------------------------------------------------------
    def _show_state(self) -> None:
        """Show the state's new answer, or mark what is wrong and keep the last one on show."""
        state, error = self.state, self.state.error
        if isinstance(error, InputError):
            marked = self.form.show_error(error)
            self.plan_tab.set_error(f"Fix the marked field: {error.message}" if marked else str(error))
        elif error is not None:
            self._estimate_failed(error)
        else:
            self._last_failure = ""
            self.plan_tab.show_results(state.result, state.results["train"], state.results["infer"])
            self.statusBar().showMessage(f"recomputed in {state.recompute_ms:.1f} ms")
        self._update_title()
        if error is None:
            self._refresh_compare()

    def _estimate_failed(self, error: Exception) -> None:
        """Show that no answer matches the form (the stale one is dropped); the edits stay saveable."""
        self.plan_tab.set_error(f"This plan cannot be computed ({type(error).__name__}: {error}). "
                                "Change the inputs; the plan can still be saved.")
        failure = f"{type(error).__name__}: {error}"
        if failure != self._last_failure:  # once per distinct error, not once per keystroke
            self._last_failure = failure
            self.errors.report("Computing the plan", error)

    def _tab_changed(self) -> None:
        if self.tabs.currentWidget() is self.live_tab:
            self.collectives_view()
        if self.tabs.currentWidget() is self.live_tab and self.live_panel is None and self.services.make_live_panel:
            self.live_panel = self.services.make_live_panel(self.dialogs)
            self.live_tab.insertWidget(0, self.live_panel)
            self.live_tab.setStretchFactor(0, 3)  # the curves get most of the height
            self.live_tab.setStretchFactor(1, 2)
            self.live_panel.show()  # a child added to a shown parent is otherwise shown only later
            if self.bench_link is not None:
                self.bench_link.attach_panel(self.live_panel)
            if hasattr(self.live_panel, "power_measured"):
                self.live_panel.power_measured.connect(self.use_measured_power)
            cluster = getattr(self.live_panel, "cluster_panel", None)
            if cluster is not None:  # a running job is checked against the plan on show
                cluster.set_plan(self.state.result)
                self.state.result_changed.connect(lambda: cluster.set_plan(self.state.result))
        self._refresh_compare()

    def use_measured_power(self, watts: float) -> None:
        """Plan energy with the watts the live panel measured (the form's GPU power field)."""
        self.form.editor("gpu_power_w").setText(f"{watts:.0f}")
        self.statusBar().showMessage(f"Energy now uses the measured {watts:.0f} W per GPU", 5000)

    def _refresh_compare(self) -> None:
        """Ask for the sweep the Compare tab shows (off the GUI thread; the newest request wins)."""
        if self.tabs.currentWidget() is not self.compare_tab or self.state.inputs is None or self.state.result is None:
            return
        if self._compare_mode != self.state.inputs.mode:  # a new plan mode: show that mode, cheapest first
            self._compare_mode = self.state.inputs.mode
            with QtCore.QSignalBlocker(self.compare_tab):
                self.compare_tab.set_mode(self.state.inputs.mode)
        self.sweeps.request(self.state.inputs, self.state.catalogs, self.compare_tab.wanted_modes())

    def _sweep_ready(self, inputs: PlanInputs, modes: tuple, table) -> None:
        if inputs != self.state.inputs or modes != self.compare_tab.wanted_modes():
            return  # the form or the filter moved on; a newer request is on its way
        self.sweep_table = table
        self.compare_tab.set_table(table, inputs, self.state.catalogs)

    def set_catalogs(self, catalogs: Catalogs) -> None:
        self.state.set_catalogs(catalogs)
        self.form.set_catalogs(catalogs)
        self._show_as_of()
        self.state.recompute()

    def _show_as_of(self) -> None:
        catalogs = self.state.catalogs
        warning = "; ".join(filter(None, (catalogs.price_update_error, price_update.staleness_warning(catalogs))))
        self.as_of_label.setText(f"Catalog prices as of {price_as_of(catalogs)}" + (f" — ⚠ {warning}" if warning else ""))
        self.as_of_label.setToolTip(warning)
        self.as_of_label.setStyleSheet(ERROR_STYLE if warning else "")

    # ----- the document --------------------------------------------------------------------
    def _update_title(self) -> None:
        model = self.state.result.model_name if self.state.result else "no plan"
        mode = self.state.inputs.mode if self.state.inputs else (self.state.result.mode if self.state.result else "")
        precision = self.state.inputs.precision if self.state.inputs else ""
        self.setWindowTitle(window_title(model, mode, precision, self.document.name(), self.document.is_dirty()))

    def show_plan(self, inputs: PlanInputs, catalogs: Catalogs | None) -> None:
        """Put a document's inputs in the form (``catalogs`` adds the GPU it measured) and answer at once."""
        if catalogs is not None and catalogs is not self.state.catalogs:
            self.set_catalogs(catalogs)
        self.form.set_inputs(inputs)
        self.state.recompute_timer.stop()
        self.state.recompute()

    def restore_session(self) -> None:
        """Window geometry and the last plan from the settings (a missing plan is no error)."""
        if not self.settings.restore_window(self):
            self.resize(1280, 800)
        self.document.restore_last()

    # ----- models, catalogs, export, about -------------------------------------------------
    def _choose_model(self) -> None:
        path = self.dialogs.open_path(self, "Open model config", "Hugging Face config (*.json)")
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
            arch = run_in_background(self, f"Reading {p.name}…", read)
        except CatalogError as e:
            self.dialogs.error(self, "Cannot read model", str(e))
            return False
        except Cancelled:
            return False
        self.form.add_model(arch)
        return True

    def load_hub_model(self, model_id: str) -> bool:
        """Fetch a Hugging Face Hub model off the GUI thread (progress dialog with Cancel after a
        moment); a quantized checkpoint sets the precision when the mode allows it."""
        label = f"Fetching {model_id} from the Hugging Face Hub…"
        self.form.set_hub_busy(True)
        self.statusBar().showMessage(label)
        try:
            hub = run_in_background(self, label, lambda: fetch_hub_model(model_id))
        except InputError as e:
            self.statusBar().clearMessage()
            self.dialogs.error(self, "Cannot read model from the Hub", e.message)
            return False
        except Cancelled:
            self.statusBar().showMessage(f"Fetching {model_id} cancelled", 5000)
            return False
        finally:
            self.form.set_hub_busy(False)
        self.statusBar().clearMessage()
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
            lambda: self.dialogs.open_path(self, "Load catalog CSV", "CSV files (*.csv)"), self)
        self.catalog_dialog.open()

    def load_user_catalog(self, path: str) -> Catalogs:
        """Add a user CSV to the catalogs in use; raises CatalogError and changes nothing if bad."""
        try:
            catalogs = run_in_background(self, f"Loading {Path(path).name}…", lambda: self.state.catalogs.with_user_file(path))
        except Cancelled:
            raise CatalogError(path, "loading was cancelled; the catalogs in use are unchanged") from None
        self.set_catalogs(catalogs)
        return catalogs

    def update_prices(self) -> bool:
        """Tools → Update prices: download on a worker thread, then lay the new prices over the
        catalogs in use (the user's own catalog files, re-read, still win). A failure or Cancel
        leaves everything as it was and says so."""
        cancel = threading.Event()
        source = self.services.price_source
        try:
            summary = run_in_background(self, "Downloading current prices…", lambda: price_update.update_prices(
                base_url=source, cancelled=cancel.is_set))
        except Cancelled:
            cancel.set()  # the worker checks this just before it writes
            self.statusBar().showMessage("price update cancelled; the prices in use are unchanged", 8000)
            return False
        except price_update.PriceUpdateError as e:
            self.dialogs.error(self, "Prices not updated", str(e))
            return False
        catalogs = self.state.catalogs.with_price_update(summary.path)
        for origin in self.state.catalogs.origins[3:]:  # files the user loaded after the bundled three
            if origin != str(summary.path):
                try:
                    catalogs = catalogs.with_user_file(origin)
                except CatalogError as e:
                    self.dialogs.error(self, "Catalog not re-read", f"{e}\nIts rows are no longer in use.")
        self.set_catalogs(catalogs)
        self.statusBar().showMessage(summary.text(), 15000)
        return True

    def suggested_stem(self) -> str:
        """A file name for an unsaved plan: the model and what is planned ('llama-3.1-70b-serving')."""
        if self.state.result is None:
            return "plan"
        mode = "training" if self.state.result.mode == "train" else "serving"
        return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{self.state.result.model_name}-{mode}").strip("-.") or "plan"

    def export(self, suffix: str) -> bool:
        writer = self.services.write_report
        if writer is None:
            self.dialogs.error(self, "Export unavailable",
                               "This build has no report writer (gpuplanner.report.write_report).")
            return False
        if self.state.result is None or self.state.inputs is None:
            self.dialogs.error(self, "Nothing to export", "Fix the fields marked in red first.")
            return False
        name = f"{self.document.path.stem if self.document.path else self.suggested_stem()}{suffix}"
        path = self.dialogs.save_path(self, "Export", EXPORT_FILTERS[suffix], name)
        if not path:
            return False
        path = path if path.lower().endswith(suffix) else path + suffix
        try:
            writer(self.state.result, self.sweeps.table_now(self.state.inputs, self.state.catalogs, ("train", "infer")),
                   path, memory_unit=self.settings.memory_unit())
        except Exception as e:  # the report layer's ReportError, OSError, …: tell the user, keep running
            self.dialogs.error(self, "Export failed", f"{Path(path).name} was not written: {e}")
            return False
        self.statusBar().showMessage(f"exported {path}", 5000)
        return True

    def show_accuracy(self) -> None:
        """Help → Accuracy: the ledger view; its "Open as plan" replaces the plan like New does."""
        def open_row(inputs: PlanInputs) -> None:
            if self.document.maybe_save():
                self.document.replace(inputs)
                self.activateWindow()

        if self.accuracy_view is None:
            self.accuracy_view = AccuracyView(shared_ledger(), self)
            self.accuracy_view.open_requested.connect(open_row)
            self.accuracy_view.resize(1100, 760)
        self.accuracy_view.show()
        self.accuracy_view.activateWindow()

    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About gpuplanner", about.about_html(self.state.catalogs))

    # ----- benchmark ----------------------------------------------------------------------
    def _connect_benchmark(self) -> None:
        runner = self.services.bench_runner
        if runner is None:
            return
        self.bench_progress = QtWidgets.QProgressBar()
        self.bench_progress.setMaximumWidth(220)
        self.bench_progress.hide()
        self.statusBar().addPermanentWidget(self.bench_progress)
        runner.progress.connect(self._benchmark_progress)
        runner.failed.connect(lambda message: self.statusBar().showMessage(f"benchmark failed: {message}"))
        runner.finished.connect(self._benchmark_finished)

    def _benchmark_progress(self, phase: str, step: int, total: int) -> None:
        self.statusBar().showMessage(f"benchmark: {phase} {step}/{total}")
        self.bench_progress.setRange(0, max(total, 1))
        self.bench_progress.setValue(step)
        self.bench_progress.setFormat(f"{phase} %v/%m")
        self.bench_progress.show()

    def toggle_benchmark(self) -> None:
        runner = self.services.bench_runner
        if runner.is_running():
            runner.stop()
            return
        self.tabs.setCurrentWidget(self.live_tab)  # watch memory climb and fall as it runs
        self.services.start_benchmark(runner)
        self.bench_action.setText("Stop benchmark ■")
        self.statusBar().showMessage("benchmark starting…")

    def _benchmark_finished(self, ok: bool) -> None:
        self.bench_action.setText("Run benchmark ▶")
        self.bench_progress.hide()
        runner = self.services.bench_runner
        if ok:
            phases = ", ".join(str(r.get("phase")) for r in runner.results)
            note = runner.unreadable_note()
            self.statusBar().showMessage(f"benchmark finished: {phases or 'no results'}" + (f"; {note}" if note else ""))

    def choose_bench_python(self) -> bool:
        dialog = BenchPythonDialog(self.settings.bench_python(), parent=self, dialogs=self.dialogs)
        if not self.dialogs.run(dialog):
            return False
        self.settings.set_bench_python(dialog.chosen())
        self.services.set_bench_python(dialog.chosen())
        return True

    def use_machine_gpu(self, gpu) -> None:
        """Plan on this machine: add the measured "This machine" GPU and select it."""
        self.set_catalogs(self.state.catalogs.with_gpu(gpu))
        if self.state.inputs is not None:
            self.form.set_inputs(self.state.inputs.with_(gpu=gpu.name, instance=""))
            self.state.recompute()
        self.tabs.setCurrentWidget(self.plan_tab)

    def collectives_view(self) -> CollectivesView:
        """The collective benchmark's results (it reads files: no runner needed), built on first use
        so its chart stays out of the first paint."""
        if self.collectives is None:
            self.collectives = CollectivesView(dialogs=self.dialogs)
            self.collectives.use_for_planning.connect(self.use_measured_links)
            self.live_tab.addWidget(self.collectives)
            self.collectives.show()  # a child added to a shown parent is otherwise shown only later
        return self.collectives

    def use_measured_links(self, links) -> None:
        """Plan with the collective benchmark's link bandwidths (kept in the catalogs, saved with the plan)."""
        self.set_catalogs(self.state.catalogs.with_measured_links(links))
        if self.state.inputs is not None:
            self.form.set_inputs(self.state.inputs.with_(interconnect="measured"))
            self.state.recompute()
        self.tabs.setCurrentWidget(self.plan_tab)

    # ----- window events ------------------------------------------------------------------
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            if paths[0].endswith(SUFFIX):
                self.document.open_plan(paths[0])
            else:
                self.load_model(paths[0])

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.document.maybe_save():
            event.ignore()
            return
        self.state.recompute_timer.stop()
        self.sweeps.stop()
        if self.live_panel is not None:
            self.live_panel.stop()
        if self.services.bench_runner is not None:
            self.services.bench_runner.stop(grace_s=0.5)
        self.settings.save_window(self)
        self.settings.set_last_folder(getattr(self.dialogs, "folder", ""))
        self.document.remember()
        self.settings.sync()
        event.accept()
