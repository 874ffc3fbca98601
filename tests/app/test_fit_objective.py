"""The serving fit's objective (scripts/validate_serving.py): each source's classes count once,
whatever its number of rows, and no trial may break a class's bound in bounds.csv."""
import importlib.util
import statistics
from pathlib import Path
from types import SimpleNamespace

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "validate_serving", Path(__file__).resolve().parents[2] / "scripts" / "validate_serving.py")
FIT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(FIT)


def _rows(dataset, figure_class, errors, fitted=True):
    return [SimpleNamespace(key=f"{dataset}:{i}:{figure_class}", dataset=dataset, figure_class=figure_class,
                            fitted=fitted, error=e) for i, e in enumerate(errors)]


def _score(rows, bounds):
    return FIT.score(rows, {r.key: r.error for r in rows}, bounds)


def test_each_source_counts_once_whatever_its_rows():
    big = _rows("many", "ttft", [0.1] * 2000)
    small = _rows("few", "ttft", [0.5, -0.7, 0.9])
    loose = {"ttft": 1.0}
    assert _score(big + small, loose) == pytest.approx(0.1 + 0.7)
    # summed over the class instead, the big source alone would decide: its median is the class's
    assert statistics.median(abs(r.error) for r in big + small) == pytest.approx(0.1)


def test_rows_not_fitted_count_only_against_the_bounds():
    fitted = _rows("a", "tpot", [0.1, 0.1, 0.1])
    transients = _rows("b", "tpot", [0.9] * 5, fitted=False)
    assert _score(fitted + transients, {"tpot": 1.0}) == pytest.approx(0.1)
    assert _score(fitted + transients, {"tpot": 0.5}) == float("inf")  # the class median is 0.9


def test_the_shipped_bounds_are_read():
    bounds = FIT.class_bounds()
    assert set(FIT.FITTED_CLASSES) <= set(bounds) and all(0 < b < 1 for b in bounds.values())
