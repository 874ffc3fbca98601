"""Fit the serving model's few physical parameters on the accuracy ledger's serving rows.

The comparison itself is the ledger's (gpuplanner/core/accuracy.py, `gpuplanner-cli validate`):
this script only prints its serving classes and, with `--fit`, searches, per GPU generation
(serving.EFFICIENCY), the decode and prefill compute efficiencies, the fixed step cost (per step and per layer) and the
tensor-parallel loss; per engine (serving.ENGINES), its prefill relative to the generation's
and its fixed time to a first token; and, over all rows, the burstiness of closed-loop
benchmark arrivals and their requests per user (serving.CLOSED_LOOP_*) and the share of the
prefill efficiency routed experts reach (serving.EXPERT_PREFILL), for the lowest sum of the
median |error| of serving throughput, TPOT and TTFT (each class counts once). Coordinate descent
over small grids; never a per-row correction; copy the printed values into serving.py by hand.

Run: PYTHONPATH=. python scripts/validate_serving.py [--fit]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace

from gpuplanner.core import load_catalogs, memo, serving
from gpuplanner.core.accuracy import evaluate, summary_lines
from gpuplanner.core.ledger import load_cases

SERVING_CLASSES = ("serving_kv_pool", "serving_throughput", "ttft", "tpot")
FITTED_CLASSES = ("serving_throughput", "tpot", "ttft")
GRID = {"compute": (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), "prefill": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
        "step_s": (0.0, 0.5e-3, 1e-3, 2e-3, 3e-3, 4e-3),
        "layer_step_s": (0.0, 10e-6, 20e-6, 30e-6, 40e-6, 50e-6, 60e-6, 70e-6, 100e-6, 150e-6), "tp_loss": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)}
ENGINE_GRID = {"prefill": (0.25, 0.4, 0.6, 0.8, 1.0, 1.25), "request_s": (0.0, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4)}
BURSTINESS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
REQUESTS_PER_USER = (5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 1e9)
EXPERT_PREFILL = (0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0)
ROUNDS = 2


def score(rows, catalogs) -> float:
    """Sum over the fitted classes of the median |error| of the rows with a prediction."""
    errors: dict = {}
    memo.forget()  # replica models are remembered by layout, not by the efficiencies tried here
    for o in evaluate(rows, catalogs):
        if o.ok:
            errors.setdefault(o.case.figure_class, []).append(abs(o.error))
    return sum(statistics.median(e) for e in errors.values()) if errors else float("inf")


def _descend(table: dict, key: str, grid: dict, rows, catalogs) -> None:
    """One pass of coordinate descent on table[key] (a frozen dataclass) over `grid`."""
    for name, values in grid.items():
        base = table[key]
        trials = []
        for v in values:
            table[key] = replace(base, **{name: v})
            trials.append((score(rows, catalogs), v))
        table[key] = replace(base, **{name: min(trials)[1]})


def fit(cases, catalogs) -> None:
    generation = {name: gpu.generation for name, gpu in catalogs.gpus.items()}
    fitted = [c for c in cases if c.figure_class in FITTED_CLASSES]
    for _ in range(ROUNDS):
        for gen in serving.EFFICIENCY:
            rows = [c for c in fitted if generation.get(c.gpu) == gen]
            if rows:
                _descend(serving.EFFICIENCY, gen, GRID, rows, catalogs)
        for engine in serving.ENGINES:
            rows = [c for c in fitted if c.engine == engine]
            if rows and engine != serving.DEFAULT_ENGINE:
                _descend(serving.ENGINES, engine, ENGINE_GRID, rows, catalogs)
            elif rows:  # the default engine's prefill is the generations' own: only its first-token time
                _descend(serving.ENGINES, engine, {"request_s": ENGINE_GRID["request_s"]}, rows, catalogs)
        trials = []
        for b in BURSTINESS:
            serving.CLOSED_LOOP_BURSTINESS = b
            trials.append((score([c for c in fitted if c.figure_class == "ttft"], catalogs), b))
        serving.CLOSED_LOOP_BURSTINESS = min(trials)[1]
        trials = []
        for r in REQUESTS_PER_USER:
            serving.CLOSED_LOOP_REQUESTS_PER_USER = r
            trials.append((score([c for c in fitted if c.figure_class == "ttft"], catalogs), r))
        serving.CLOSED_LOOP_REQUESTS_PER_USER = min(trials)[1]
        trials = []
        for x in EXPERT_PREFILL:
            serving.EXPERT_PREFILL = x
            trials.append((score(fitted, catalogs), x))
        serving.EXPERT_PREFILL = min(trials)[1]
    for gen, e in serving.EFFICIENCY.items():
        print(f"{gen}: compute {e.compute:g}, step {e.step_s * 1e3:g} ms + {e.layer_step_s * 1e6:g} µs per layer, tp_loss {e.tp_loss:g}, prefill {e.prefill:g}")
    for engine, c in serving.ENGINES.items():
        print(f"{engine}: prefill × {c.prefill:g}, first token + {c.request_s * 1e3:g} ms")
    print(f"closed-loop burstiness {serving.CLOSED_LOOP_BURSTINESS:g}, "
          f"requests per user {serving.CLOSED_LOOP_REQUESTS_PER_USER:g}; expert prefill {serving.EXPERT_PREFILL:g}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit serving.EFFICIENCY and the closed-loop burstiness")
    args = ap.parse_args(argv)
    catalogs = load_catalogs()
    cases = [c for c in load_cases() if c.figure_class in SERVING_CLASSES]
    if args.fit:
        fit(cases, catalogs)
    print("\n".join(summary_lines(evaluate(cases, catalogs))).lstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
