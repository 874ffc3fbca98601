"""Export the plan (with the comparison of both modes) as a CSV table or a PDF report.

The report writer comes from the composition root (None: this build has none); the
comparison comes from the CompareState (computed in the comparison process if it is not
cached), waited for on a worker thread while the window stays responsive (ui.background): the
comparison of both modes takes seconds.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from gpuplanner.ui.background import Cancelled, run_in_background
from gpuplanner.ui.compare.state import CompareState
from gpuplanner.ui.plan.state import PlannerState

EXPORT_FILTERS = {".csv": "CSV table (*.csv)", ".pdf": "PDF report (*.pdf)"}


class Exporter(QtCore.QObject):
    """`export(suffix)` asks where, writes, and says so through `message`."""

    message = QtCore.Signal(str, int)  # a status-bar note and how long it shows (ms)

    def __init__(self, state: PlannerState, compare: CompareState, write_report: Callable | None,
                 window: QtWidgets.QWidget):
        super().__init__(window)
        self.state, self.compare, self.write_report = state, compare, write_report
        self.window = window  # the dialogs' parent; its `dialogs`, `document`, `settings` are read at each use

    def suggested_stem(self) -> str:
        """A file name for an unsaved plan: the model and what is planned ('llama-3.1-70b-serving')."""
        if self.state.result is None:
            return "plan"
        mode = "training" if self.state.result.mode == "train" else "serving"
        return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{self.state.result.model_name}-{mode}").strip("-.") or "plan"

    def export(self, suffix: str) -> bool:
        dialogs, document = self.window.dialogs, self.window.document
        if self.write_report is None:
            dialogs.error(self.window, "Export unavailable",
                          "This build has no report writer (gpuplanner.report.write_report).")
            return False
        if not self.state.flush():  # the answer must match the inputs as they are now
            self.message.emit("the plan is still being computed; export again in a moment", 8000)
            return False
        if self.state.result is None or self.state.inputs is None:
            dialogs.error(self.window, "Nothing to export", "Fix the fields marked in red first.")
            return False
        name = f"{document.path.stem if document.path else self.suggested_stem()}{suffix}"
        path = dialogs.save_path(self.window, "Export", EXPORT_FILTERS[suffix], name)
        if not path:
            return False
        path = path if path.lower().endswith(suffix) else path + suffix
        result, inputs, catalogs = self.state.result, self.state.inputs, self.state.catalogs  # as they are now

        def comparison():  # the report's error bands too: here, not evaluated on the GUI thread below
            from gpuplanner.ui.accuracy.job import band_rows_from_the_comparison_process  # not at start-up

            band_rows_from_the_comparison_process()
            return self.compare.table_for(inputs, catalogs)

        try:  # the comparison on a worker thread: the window repaints meanwhile (a dialog shows after a moment)
            table = run_in_background(self.window, f"Exporting {Path(path).name}…", comparison)
            # QtGui paints the PDF: on the GUI thread
            self.write_report(result, table, path, memory_unit=self.window.settings.memory_unit())
        except Cancelled:
            self.message.emit(f"export of {Path(path).name} cancelled", 5000)
            return False
        except Exception as e:  # the report layer's ReportError, OSError, …: tell the user, keep running
            dialogs.error(self.window, "Export failed", f"{Path(path).name} was not written: {e}")
            return False
        self.message.emit(f"exported {path}", 5000)
        return True
