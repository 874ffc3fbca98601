"""Fit the serving model's few physical parameters on the accuracy ledger's serving rows.

The comparison itself is the ledger's (gpuplanner/core/accuracy.py, `gpuplanner-cli validate`):
this script only prints its serving classes and, with `--fit`, searches, per GPU generation
(serving.EFFICIENCY), the decode and prefill compute efficiencies, the fixed step cost (per step and per layer) and the
tensor-parallel loss; per engine (serving.ENGINES), its prefill relative to the generation's
and its fixed time to a first token; and, over all rows, the burstiness of closed-loop
benchmark arrivals and their requests per user (serving.CLOSED_LOOP_*) and the share of the
prefill efficiency routed experts reach (serving.EXPERT_PREFILL). Coordinate descent over small
grids; never a per-row correction; copy the printed values into serving.py by hand.

The objective counts each source once: the sum over (dataset, class) of the median |error| of
serving throughput, TPOT and TTFT. Summed over a class's rows instead, the source with the most
rows (aiconfigurator: 2,206 of the 2,218 TTFT rows) would decide every parameter, and an engine
setting that holds for it alone (e.g. SGLang's first-token time on its MoE models) would be
fitted at the cost of every other source. A trial that puts a class's median over all its rows
above its bound in resources/validation/bounds.csv is refused (scores infinity): no source is
bought with the accuracy the ledger already promises. Rows a source's assumptions mark as not
fitted (Case.fitted) count only in those class medians.

Run: PYTHONPATH=. python scripts/validate_serving.py [--fit]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace

from gpuplanner.core import load_catalogs, memo, serving
from gpuplanner.core.accuracy import evaluate, summary_lines
from gpuplanner.core.catalogs import read_csv_records
from gpuplanner.core.ledger import load_cases
from gpuplanner.core.resource_files import resource_path

SERVING_CLASSES = ("serving_kv_pool", "serving_throughput", "ttft", "tpot")
FITTED_CLASSES = ("serving_throughput", "tpot", "ttft")
GRID = {"compute": (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), "prefill": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
        "step_s": (0.0, 0.5e-3, 1e-3, 2e-3, 3e-3, 4e-3),
        "layer_step_s": (0.0, 10e-6, 20e-6, 30e-6, 40e-6, 50e-6, 60e-6, 70e-6, 100e-6, 150e-6), "tp_loss": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)}
ENGINE_GRID = {"prefill": (0.25, 0.4, 0.6, 0.8, 1.0, 1.25),
               "request_s": (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4)}
BURSTINESS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
REQUESTS_PER_USER = (5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 1e9)
EXPERT_PREFILL = (0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0)
ROUNDS = 2


def class_bounds() -> dict[str, float]:
    """{figure class: the largest median |error| it may have} (resources/validation/bounds.csv)."""
    return {r["class"]: float(r["max_median_abs_error"])
            for r in read_csv_records(resource_path("validation/bounds.csv"))}


def score(cases, errors: dict, bounds: dict) -> float:
    """The sum over (dataset, class) of the median |error| of the fitted rows with a prediction
    (`errors`: case key → error); infinity when a class median is above its bound."""
    by_class: dict = {}
    by_source: dict = {}
    for c in cases:
        error = errors.get(c.key)
        if error is None:
            continue
        by_class.setdefault(c.figure_class, []).append(abs(error))
        if c.fitted:
            by_source.setdefault((c.dataset, c.figure_class), []).append(abs(error))
    if not by_source or any(statistics.median(e) > bounds.get(k, float("inf")) for k, e in by_class.items()):
        return float("inf")
    return sum(statistics.median(e) for e in by_source.values())


class Fit:
    """The rows a fit compares and their latest errors. A trial re-evaluates only the rows the
    parameter it changes reaches (a generation's GPUs, an engine's rows) and keeps the others'."""

    def __init__(self, cases, catalogs):
        self.cases, self.catalogs, self.bounds = cases, catalogs, class_bounds()
        self.errors = self._errors(cases)

    def _errors(self, rows) -> dict:
        memo.forget()  # replica models are remembered by layout, not by the efficiencies tried here
        return {o.case.key: o.error if o.ok else None for o in evaluate(rows, self.catalogs)}

    def trial(self, rows) -> tuple[float, dict]:
        errors = {**self.errors, **self._errors(rows)}
        return score(self.cases, errors, self.bounds), errors

    def best(self, rows, values, apply, current) -> None:
        """Set the value of `values` (applied by `apply`) with the lowest score, the first on ties;
        `current` stays when no value scores better than it does."""
        kept = score(self.cases, self.errors, self.bounds)
        trials = []
        for i, v in enumerate(values):
            apply(v)
            total, errors = self.trial(rows)
            trials.append((total, i, v, errors))
        total, _, v, errors = min(trials, key=lambda t: t[:2])
        if total < kept:
            apply(v)
            self.errors = errors
        else:
            apply(current)

    def descend(self, table: dict, key: str, grid: dict, rows) -> None:
        """One pass of coordinate descent on table[key] (a frozen dataclass) over `grid`."""
        for name, values in grid.items():
            base = table[key]
            self.best(rows, values, lambda v, base=base, name=name: table.__setitem__(key, replace(base, **{name: v})),
                      getattr(base, name))


def _set(name: str):
    return lambda v: setattr(serving, name, v)


def _set_expert_prefill(v: float) -> None:
    serving.EXPERT_PREFILL = v
    serving._TERMS.clear()  # the per-architecture constants read it once per architecture


def fit(cases, catalogs) -> None:
    gpus = catalogs.gpus

    def generation(c) -> str:
        gen = gpus[c.gpu].generation if c.gpu in gpus else ""
        return gen if gen in serving.EFFICIENCY else serving.DEFAULT_GENERATION

    rows = [c for c in cases if c.figure_class in FITTED_CLASSES]
    state = Fit(rows, catalogs)
    print(f"start: {score(rows, state.errors, state.bounds):.4f}")
    for _ in range(ROUNDS):
        for gen in serving.EFFICIENCY:
            reached = [c for c in rows if generation(c) == gen]
            if reached:
                state.descend(serving.EFFICIENCY, gen, GRID, reached)
        for engine in serving.ENGINES:
            reached = [c for c in rows if (c.engine if c.engine in serving.ENGINES else serving.DEFAULT_ENGINE) == engine]
            if reached and engine != serving.DEFAULT_ENGINE:
                state.descend(serving.ENGINES, engine, ENGINE_GRID, reached)
            elif reached:  # the default engine's prefill is the generations' own: only its first-token time
                state.descend(serving.ENGINES, engine, {"request_s": ENGINE_GRID["request_s"]}, reached)
        state.best(rows, BURSTINESS, _set("CLOSED_LOOP_BURSTINESS"), serving.CLOSED_LOOP_BURSTINESS)
        state.best(rows, REQUESTS_PER_USER, _set("CLOSED_LOOP_REQUESTS_PER_USER"),
                   serving.CLOSED_LOOP_REQUESTS_PER_USER)
        state.best(rows, EXPERT_PREFILL, _set_expert_prefill, serving.EXPERT_PREFILL)
        print(f"round: {score(rows, state.errors, state.bounds):.4f}", flush=True)
    for gen, e in serving.EFFICIENCY.items():
        print(f"{gen}: compute {e.compute:g}, step {e.step_s * 1e3:g} ms + {e.layer_step_s * 1e6:g} µs per layer, tp_loss {e.tp_loss:g}, prefill {e.prefill:g}")
    for engine, c in serving.ENGINES.items():
        print(f"{engine}: prefill × {c.prefill:g}, first token + {c.request_s * 1e3:g} ms")
    print(f"closed-loop burstiness {serving.CLOSED_LOOP_BURSTINESS:g}, "
          f"requests per user {serving.CLOSED_LOOP_REQUESTS_PER_USER:g}; expert prefill {serving.EXPERT_PREFILL:g}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit serving.EFFICIENCY, ENGINES and the closed-loop constants")
    args = ap.parse_args(argv)
    catalogs = load_catalogs()
    cases = [c for c in load_cases() if c.figure_class in SERVING_CLASSES]
    if args.fit:
        fit(cases, catalogs)
    print("\n".join(summary_lines(evaluate(cases, catalogs))).lstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
