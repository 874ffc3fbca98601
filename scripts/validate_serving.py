"""Fit the serving model's per-generation efficiencies on the accuracy ledger's serving rows.

The comparison itself is the ledger's (gpuplanner/core/accuracy.py, `gpuplanner-cli validate`):
this script only prints its serving classes and, with `--fit`, grid-searches the compute
efficiency, fixed step cost and tensor-parallel loss of each GPU generation
(serving.EFFICIENCY) for the lowest median |error| over that generation's serving throughput
and TPOT rows. TTFT is left out of the fit: how each benchmark issues requests dominates it.
Never a per-row correction; copy the printed values into serving.EFFICIENCY by hand.

Run: PYTHONPATH=. python scripts/validate_serving.py [--fit]
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from dataclasses import replace

from gpuplanner.core import load_catalogs, serving
from gpuplanner.core.accuracy import evaluate, summary_lines
from gpuplanner.core.ledger import load_cases

SERVING_CLASSES = ("serving_kv_pool", "serving_throughput", "ttft", "tpot")
FITTED_CLASSES = ("serving_throughput", "tpot")
GRID = {"compute": (0.4, 0.5, 0.6, 0.7, 0.8), "step_s": (0.5e-3, 1e-3, 2e-3, 3e-3, 5e-3),
        "tp_loss": (0.0, 0.05, 0.1, 0.2)}


def fit(cases, catalogs) -> None:
    """Per generation, the grid point with the lowest median |error| of its fitted rows."""
    generation = {name: gpu.generation for name, gpu in catalogs.gpus.items()}
    base = dict(serving.EFFICIENCY)
    for gen in base:
        rows = [c for c in cases if c.figure_class in FITTED_CLASSES and generation.get(c.gpu) == gen]
        if not rows:
            print(f"{gen}: no ledger rows")
            continue
        best = None
        for point in itertools.product(*GRID.values()):
            serving.EFFICIENCY[gen] = replace(base[gen], **dict(zip(GRID, point)))
            errors = [abs(o.error) for o in evaluate(rows, catalogs) if o.ok]
            score = statistics.median(errors) if errors else float("inf")
            if best is None or score < best[0]:
                best = (score, point)
        serving.EFFICIENCY[gen] = base[gen]
        compute, step_s, tp_loss = best[1]
        print(f"{gen}: compute {compute:g}, step {step_s * 1e3:g} ms, tp_loss {tp_loss:g} "
              f"(median |error| {best[0]:.1%} on {len(rows)} rows)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="grid-search serving.EFFICIENCY per GPU generation")
    args = ap.parse_args(argv)
    catalogs = load_catalogs()
    cases = [c for c in load_cases() if c.figure_class in SERVING_CLASSES]
    if args.fit:
        fit(cases, catalogs)
    print("\n".join(summary_lines(evaluate(cases, catalogs))).lstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
