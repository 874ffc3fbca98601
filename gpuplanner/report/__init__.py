"""Plan reports: CSV (Qt-free, pandas) and PDF (QtGui only) rendered from a PlanResult and the
comparison table. Importing this package imports neither Qt nor pandas: the CSV and PDF functions
load on first use (the command line imports ReportError on every run).

    write_csv(result, table, path) -> list[Path]
    write_pdf(result, table, path, page_size="A4", memory_unit="GiB") -> Path
    write_report(result, table, path, page_size="A4", memory_unit="GiB") -> list[Path]   # by suffix: .csv or .pdf
    ensure_gui_app() -> QGuiApplication                                # for headless callers

Every failure raises ReportError naming the file and the reason, and leaves no partial file.
"""
from importlib import import_module
from pathlib import Path

from gpuplanner.report.errors import ReportError

__all__ = ["ReportError", "ensure_gui_app", "render_page_image", "write_csv", "write_pdf", "write_report"]
LAZY = {"write_pdf": "gpuplanner.report.pdf", "render_page_image": "gpuplanner.report.pdf",
        "ensure_gui_app": "gpuplanner.report.qt_app", "write_csv": "gpuplanner.report.csv_export"}


def __getattr__(name: str):
    if name in LAZY:
        return getattr(import_module(LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_report(result, table, path, page_size: str = "A4", memory_unit: str = "GiB") -> list[Path]:
    """Write a CSV or PDF report, chosen by the file's suffix; return the files written. The
    PDF writes memory in `memory_unit` (GiB or GB, as the window shows it); the CSV stays in bytes."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        return __getattr__("write_csv")(result, table, target)
    if suffix == ".pdf":
        return [__getattr__("write_pdf")(result, table, target, page_size, memory_unit)]
    raise ReportError(target, f"unknown report type '{target.suffix or '(none)'}'; use .csv or .pdf")
