"""The planner window's chrome: form on the left, Plan / Compare / Live tabs on the right,
menus, toolbar, title and status bar.

Each feature keeps its own logic: the PlannerState (ui/plan/state.py) recomputes after a
pause, on a worker thread and, once the window is up, in a process of its own; the Document
(ui/plan/document.py) keeps the file life cycle; InputSources (ui/plan/sources.py) loads models
and catalogs; the Exporter (ui/plan/export.py) writes reports; the CompareState
(ui/compare/state.py) runs the sweep in the comparison process, only while its tab is showing;
BenchControl (ui/bench/control.py) drives the benchmark. Only the Plan tab, less its memory
chart, is built before the first paint: the chart and the Compare and Live tabs are built by the
app once the window is on screen and pyqtgraph is loaded (build_hidden_tabs), or a tab when
first shown or asked for (ui/lazy_tab.py).
Everything the window needs comes in through the constructor (catalogs, settings, dialogs,
report writer, live panel, benchmark runner), so tests build it with fakes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.errors import InputError
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.planfile import SUFFIX
from gpuplanner.core.price_age import price_as_of, staleness_warning
from gpuplanner.ui import chart_library, job_process
from gpuplanner.ui.bench.control import BenchControl
from gpuplanner.ui.compare.state import CompareState
from gpuplanner.ui.dialogs import Dialogs
from gpuplanner.ui.errors import ErrorReporter
from gpuplanner.ui.lazy_tab import LazyTab
from gpuplanner.ui.plan.document import Document
from gpuplanner.ui.plan.export import Exporter
from gpuplanner.ui.plan.form import ERROR_STYLE, FormPanel
from gpuplanner.ui.plan.formatting import window_title
from gpuplanner.ui.plan.sources import InputSources
from gpuplanner.ui.plan.state import PlannerState
from gpuplanner.ui.plan.tab import PlanTab
from gpuplanner.ui.settings import AppSettings

if TYPE_CHECKING:  # imported when first used (the ledger, the about box too): they cost start-up time
    from gpuplanner.ui.accuracy.view import AccuracyView
    from gpuplanner.ui.bench.collectives import CollectivesView
    from gpuplanner.ui.compare.tab import CompareTab
    from gpuplanner.ui.idle_collector import IdleCollector

LIVE_SHARES = (3, 2)  # the Live tab's height: the curves, then the results
BANDS_AFTER_MS = 1000  # the ledger evaluation behind the error bands starts once the window is up
COMPARE_PREPARE_AFTER_MS = 2000  # then the comparison process starts, so the first comparison need not wait for it
# between the pieces build_hidden_tabs builds: a timer, not a zero-delay one, which Qt posts as
# an event, so that a chain of them ran back to back before any timer or input was served
STEP_MS = 1
PLANS_AFTER_MS = 500  # the app's plans move to a process of their own this long after the first paint
PLAN_PROCESS = "gpuplanner-plans"


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
    price_source: str = ""  # where Tools → Update prices downloads from ('': core.price_update.default_base_url())


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, catalogs: Catalogs, settings: AppSettings, dialogs: Dialogs | None = None,
                 services: Services | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.dialogs = dialogs or Dialogs(settings.last_folder())
        self.services = services or Services()
        self.errors = ErrorReporter(self.dialogs, self, self.services.error_log)
        self._last_failure = ""  # the unexpected estimate error already reported
        self.accuracy_view: AccuracyView | None = None
        self.collector: IdleCollector | None = None  # full garbage collections in quiet moments, once shown

        self.form = FormPanel(catalogs)
        self.form.setMinimumWidth(340)
        self.state = PlannerState(catalogs, self.form.inputs, self)
        self.state.recompute()  # now: the worker estimates while the rest of the window is built
        self.compare = CompareState(self.state, self)
        self.sources = InputSources(self.state, self.form, self)
        self.exporter = Exporter(self.state, self.compare, self.services.write_report, self)
        self.bench = BenchControl(self.services, settings, self.dialogs, catalogs.gpus, self)
        self.plan_tab = PlanTab()
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.plan_tab, "Plan")
        # the other tabs are built when first shown or asked for (or after the first paint: build_hidden_tabs)
        self._charts: dict = {}  # Compare charts built ahead of their tab (build_hidden_tabs)
        self.compare_page = LazyTab(self.tabs, "Compare", self._build_compare_tab)
        self.live_page = LazyTab(self.tabs, "Live", self._build_live_tab)
        self.live_panel: QtWidgets.QWidget | None = None  # built when its tab is first shown
        self.live_results = QtWidgets.QTabWidget()  # the benchmark's and collectives' results (in the Live tab)
        self.live_results.setDocumentMode(True)
        if self.bench.results is not None:
            self.bench.results.use_for_planning.connect(self.use_machine_gpu)
            self.live_results.addTab(self.bench.results, "Benchmark results")
        self.collectives: CollectivesView | None = None  # built when the Live tab is first shown
        self.tabs.currentChanged.connect(self._tab_changed)  # after the lazy tabs: it sees their built pages
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(self.form)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        self.setCentralWidget(splitter)
        self.as_of_label = QtWidgets.QLabel()
        self.statusBar().addPermanentWidget(self.as_of_label)
        self.statusBar().addPermanentWidget(self.bench.progress)
        self.setAcceptDrops(True)

        self.state.result_changed.connect(self._show_state)
        self.state.stale_changed.connect(self._show_stale)
        self.state.bands_ready.connect(self.plan_tab.summary.set_band_rows)
        self.form.changed.connect(self.state.request)
        self.document = Document(self.state, self, settings, self.errors)
        self.document.changed.connect(self._update_title)
        self.document.message.connect(self.statusBar().showMessage)
        self.exporter.message.connect(self.statusBar().showMessage)
        self.sources.message.connect(self.statusBar().showMessage)
        self.bench.message.connect(self.statusBar().showMessage)
        self.bench.started.connect(lambda: self.tabs.setCurrentWidget(self.live_tab))
        self.sources.catalogs_changed.connect(self._show_as_of)
        self.form.load_model_button.clicked.connect(self.sources.choose_model)
        self.form.hub_requested.connect(self.sources.load_hub_model)
        self._build_actions()
        self._show_as_of()
        QtCore.QTimer.singleShot(BANDS_AFTER_MS, self, self._evaluate_bands)
        QtCore.QTimer.singleShot(COMPARE_PREPARE_AFTER_MS, self, self.compare.prepare)
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
        self.export_csv_action = self._action("Export CSV…", lambda: self.exporter.export(".csv"), "Ctrl+E",
                                              "Export the plan and the comparison table as CSV")
        self.export_pdf_action = self._action("Export PDF…", lambda: self.exporter.export(".pdf"), "Ctrl+Shift+E",
                                              "Export a PDF report of the plan")
        self.model_action = self._action("Open model config…", self.sources.choose_model, None,
                                         "Read a config.json (its folder's safetensors headers too)")
        self.catalog_action = self._action("Catalogs…", self.sources.show_catalogs, None,
                                           "View the GPU, instance and model catalogs; load your own CSV")
        self.update_prices_action = self._action("Update prices…", self.sources.update_prices, None,
                                                 "Download current instance prices (SkyPilot's public catalog)")
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
        tools.addActions([self.catalog_action, self.update_prices_action, self.bench.action,
                          self.bench.python_action])
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
        toolbar.addActions([self.catalog_action, self.bench.action])

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

    def _show_stale(self, stale: bool) -> None:
        """Grey the answer on show while the one for the edited inputs is computing, and say so."""
        self.plan_tab.set_stale(stale)
        if stale:
            self.statusBar().showMessage("computing the plan for the new inputs; the greyed figures are the previous plan's")
        else:
            self.statusBar().clearMessage()  # the answer (or the field to fix) follows at once

    def _estimate_failed(self, error: Exception) -> None:
        """Show that no answer matches the form (the stale one is dropped); the edits stay saveable."""
        self.plan_tab.set_error(f"This plan cannot be computed ({type(error).__name__}: {error}). "
                                "Change the inputs; the plan can still be saved.")
        failure = f"{type(error).__name__}: {error}"
        if failure != self._last_failure:  # once per distinct error, not once per keystroke
            self._last_failure = failure
            self.errors.report("Computing the plan", error)

    # ----- the tabs ---------------------------------------------------------------------
    @property
    def compare_tab(self) -> CompareTab:
        """The Compare tab, built on first use."""
        return self.compare_page.widget()

    @property
    def live_tab(self) -> QtWidgets.QSplitter:
        """The Live tab (the curves over the results), built on first use."""
        return self.live_page.widget()

    def build_hidden_tabs(self) -> None:
        """Build what the first paint left out (the app calls this once the window is on screen):
        once pyqtgraph is loaded on a thread (ui.chart_library), the Plan tab's memory chart, then
        the other tabs, so that opening one for the first time does not wait ~0.09 s for it: one
        piece per turn of the event loop (the memory chart and each Compare chart ~30 ms, then the
        tab around them, then Live), so that the window answers between them. Opening a tab
        meanwhile builds it at once."""
        def compare_chart(name: str) -> None:
            from gpuplanner.ui.compare.tab import CompareChart, FrontierChart  # pyqtgraph is loaded by now

            self._charts.setdefault(name, (CompareChart if name == "chart" else FrontierChart)())

        steps = [self.plan_tab.build_chart, lambda: compare_chart("chart"), lambda: compare_chart("frontier"),
                 self.compare_page.widget, self.live_page.widget]

        def next_step() -> None:
            steps.pop(0)()
            if steps:
                QtCore.QTimer.singleShot(STEP_MS, self, next_step)

        chart_library.load_then(self, next_step)

    def estimate_in_a_process(self) -> None:
        """The plans' estimates move to a process of their own (ui.plan.state) once the window is
        up: the app calls this after the first paint (tests keep them on the worker thread,
        where they can hold an estimate back)."""
        QtCore.QTimer.singleShot(PLANS_AFTER_MS, self, lambda: self.state.use_process(job_process.shared(PLAN_PROCESS)))

    def collect_garbage_when_idle(self) -> None:
        """Full garbage collections wait for a quiet moment (ui.idle_collector): the app calls
        this once the window is on screen."""
        from gpuplanner.ui.idle_collector import IdleCollector

        self.collector = IdleCollector(self)
        if self.windowHandle() is not None:  # shown (the app calls this after the first paint)
            self.collector.watch(self.windowHandle())
        for signal in (self.form.changed, self.tabs.currentChanged, self.state.result_changed,
                       self.compare.sweep_changed, self.compare.curves_changed):
            signal.connect(self.collector.poke)

    def _build_compare_tab(self) -> CompareTab:
        from gpuplanner.ui.compare.tab import CompareTab

        return CompareTab(self.compare, chart=self._charts.pop("chart", None),
                          frontier_chart=self._charts.pop("frontier", None))

    def _build_live_tab(self) -> QtWidgets.QSplitter:
        """The results under the live curves (the curves come when the tab is first shown)."""
        live = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        if self.services.make_live_panel is None:
            live.addWidget(QtWidgets.QLabel("Live telemetry is not available in this build."))
        live.addWidget(self.live_results)
        return live

    def _tab_changed(self) -> None:
        if self.live_page.is_current():
            self.collectives_view()
        if self.live_page.is_current() and self.live_panel is None and self.services.make_live_panel:
            self.live_panel = self.services.make_live_panel(self.dialogs)
            self.live_tab.insertWidget(0, self.live_panel)
            self._share_live_height()
            self.live_panel.show()  # a child added to a shown parent is otherwise shown only later
            if self.bench.link is not None:
                self.bench.link.attach_panel(self.live_panel)
            if hasattr(self.live_panel, "power_measured"):
                self.live_panel.power_measured.connect(self.use_measured_power)
            cluster = getattr(self.live_panel, "cluster_panel", None)
            if cluster is not None:  # a running job is checked against the plan on show
                cluster.set_plan(self.state.result)
                if self.settings.cluster_url():  # the server connected to last time
                    cluster.url_edit.setText(self.settings.cluster_url())
                cluster.connecting.connect(self.settings.set_cluster_url)
                self.state.result_changed.connect(lambda: cluster.set_plan(self.state.result))
        self.compare.set_active(self.compare_page.is_current())

    def _share_live_height(self) -> None:
        """The curves get most of the Live tab's height, the results the rest; neither can be
        squeezed away (the curves were once a smear under a full results table)."""
        shares = (LIVE_SHARES + (1,) * self.live_tab.count())[:self.live_tab.count()]
        for index, share in enumerate(shares):
            self.live_tab.setStretchFactor(index, share)
        self.live_tab.setChildrenCollapsible(False)
        height = max(self.live_tab.height(), 600)
        self.live_tab.setSizes([height * share // sum(shares) for share in shares])

    def use_measured_power(self, watts: float) -> None:
        """Plan energy with the watts the live panel measured (the form's GPU power field)."""
        self.form.editor("gpu_power_w").setText(f"{watts:.0f}")
        self.statusBar().showMessage(f"Energy now uses the measured {watts:.0f} W per GPU", 5000)

    def _show_as_of(self) -> None:
        catalogs = self.state.catalogs
        warning = "; ".join(filter(None, (catalogs.price_update_error, staleness_warning(catalogs))))
        as_of = f"catalog prices as of {price_as_of(catalogs)}"
        # the warning first: the sources' list is long and the status bar cuts what does not fit
        self.as_of_label.setText(f"⚠ {warning} — {as_of}" if warning else as_of[0].upper() + as_of[1:])
        self.as_of_label.setToolTip(f"{warning}\n\n{as_of}" if warning else as_of)
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
            self.sources.set_catalogs(catalogs)
        self.form.set_inputs(inputs)
        self.state.recompute()

    def restore_session(self) -> None:
        """Window geometry and the last plan from the settings (a missing plan is no error)."""
        if not self.settings.restore_window(self):
            self.resize(1280, 800)
        self.document.restore_last()

    def suggested_stem(self) -> str:
        return self.exporter.suggested_stem()

    # ----- accuracy, about, this machine -------------------------------------------------
    def show_accuracy(self) -> None:
        """Help → Accuracy: the ledger view; its "Open as plan" replaces the plan like New does."""
        def open_row(inputs: PlanInputs) -> None:
            if self.document.maybe_save():
                self.document.replace(inputs)
                self.activateWindow()

        if self.accuracy_view is None:
            from gpuplanner.ui.accuracy.job import shared_ledger
            from gpuplanner.ui.accuracy.view import AccuracyView

            self.accuracy_view = AccuracyView(shared_ledger(), self)
            self.accuracy_view.open_requested.connect(open_row)
            self.accuracy_view.resize(1100, 760)
        self.accuracy_view.show()
        self.accuracy_view.activateWindow()

    def _evaluate_bands(self) -> None:
        """The ledger evaluation behind the cards' error bands, in the comparison process (the
        cards get their bands when it is done)."""
        from gpuplanner.ui.accuracy.job import shared_bands

        shared_bands().when_ready(self.state.set_band_rows)

    def show_about(self) -> None:
        from gpuplanner.ui import about

        QtWidgets.QMessageBox.about(self, "About gpuplanner", about.about_html(self.state.catalogs))

    def use_machine_gpu(self, gpu) -> None:
        """Plan on this machine: add the measured "This machine" GPU and select it."""
        self.sources.set_catalogs(self.state.catalogs.with_gpu(gpu))
        if self.state.inputs is not None:
            self.form.set_inputs(self.state.inputs.with_(gpu=gpu.name, instance=""))
            self.state.recompute()
        self.tabs.setCurrentWidget(self.plan_tab)

    def collectives_view(self) -> CollectivesView:
        """The collective benchmark's results (it reads files: no runner needed), built on first use
        so its chart stays out of the first paint."""
        if self.collectives is None:
            from gpuplanner.ui.bench.collectives import CollectivesView

            self.collectives = CollectivesView(dialogs=self.dialogs)
            self.collectives.use_for_planning.connect(self.use_measured_links)
            self.live_results.addTab(self.collectives, "Collective results")
        return self.collectives

    def use_measured_links(self, links) -> None:
        """Plan with the collective benchmark's link bandwidths (kept in the catalogs, saved with the plan)."""
        self.sources.set_catalogs(self.state.catalogs.with_measured_links(links))
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
                self.sources.load_model(paths[0])

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.document.maybe_save():
            event.ignore()
            return
        self.state.stop()
        self.compare.stop()
        if self.live_panel is not None:
            self.live_panel.stop()
        self.bench.stop()
        if self.collector is not None:
            self.collector.stop()
        self.settings.save_window(self)
        self.settings.set_last_folder(getattr(self.dialogs, "folder", ""))
        self.document.remember()
        self.settings.sync()
        event.accept()
