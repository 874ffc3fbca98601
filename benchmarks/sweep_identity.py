"""Check that a faster sweep gives the same table: every column of every row, for every preset
model under a few input sets (defaults, service levels and a daily load profile, LoRA, a
training deadline), and the same single plans (every field, explanations included), compared
with those of a reference commit (default: the merge base with main). Floats must agree to 1e-9 relative (NaN with NaN), everything else exactly; the
maximum relative difference seen is printed. Run from the worktree:

    .venv/bin/python benchmarks/sweep_identity.py [REF]

The reference is exported with `git archive` into a temporary folder and run in a child
process with that folder first on the path; its frames are kept in the temporary folder by
commit, so a second check runs only the sweep under test."""
from __future__ import annotations

import hashlib
import math
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

REL = 1e-9
VARIANTS = {
    "defaults": dict(training_tokens=2e12),
    "levels": dict(training_tokens=2e12, requests_per_s=20.0, max_ttft_s=2.0, min_tokens_per_s_per_user=30.0,
                   prefix_cache_hit_rate=0.5, load_profile="4 4 4 4 4 4 8 12 16 20 20 20 20 20 20 20 16 12 "
                                                           "8 8 6 6 4 4"),
    "lora": dict(train_method="lora", max_training_days=30.0, concurrency=64, prompt_tokens=512,
                 output_tokens=1024, context_len=8192),
}


def frames() -> dict:
    """{(model, variant): list of row dicts} from the sweep importable here, and beside each
    sweep the single plans (train and infer, explained) on the default instance, flattened."""
    from dataclasses import asdict

    from gpuplanner.core import PlanInputs, estimate, load_catalogs
    from gpuplanner.core.sweep import sweep
    catalogs = load_catalogs()
    out = {}
    for model in sorted(catalogs.models):
        for name, fields in VARIANTS.items():
            inputs = PlanInputs(model=model, **fields)
            out[model, name] = sweep(inputs, catalogs).to_dict("records")
            for mode in ("train", "infer"):
                plan = estimate(inputs.with_(mode=mode), catalogs)
                out[model, name, mode] = [{"mode": mode, "precision": plan.precision, "instance_type": "plan",
                                           **_flat({**plan.to_dict(), "explanations": [
                                               asdict(e) for e in plan.explanations]})}]
    return out


def _flat(value, prefix: str = "") -> dict:
    """A nested dict/list as one level of cells named by their paths."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}.").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): value}


def _same(a, b) -> tuple[bool, float]:
    """(equal within REL, relative difference) for two cells."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b), 0.0
        if a == b:
            return True, 0.0
        rel = abs(a - b) / max(abs(a), abs(b))
        return rel <= REL, rel
    return a == b and type(a) is type(b), 0.0


def compare(ref: dict, new: dict) -> int:
    """Prints every differing cell (the first 20) and returns their count."""
    bad, worst, cells = 0, 0.0, 0
    for key in ref:
        rows_a, rows_b = ref[key], new.get(key)
        if rows_b is None or len(rows_a) != len(rows_b):
            print(f"{key}: rows differ ({len(rows_a)} vs {len(rows_b or [])})")
            bad += 1
            continue
        for i, (a, b) in enumerate(zip(rows_a, rows_b)):
            if a.keys() != b.keys():
                print(f"{key} row {i}: columns differ")
                bad += 1
                continue
            for col in a:
                cells += 1
                ok, rel = _same(a[col], b[col])
                worst = max(worst, rel)
                if not ok:
                    bad += 1
                    if bad <= 20:
                        print(f"{key} row {i} ({a['mode']} {a['precision']} {a['instance_type']}) {col}: "
                              f"{a[col]!r} vs {b[col]!r}")
    plans = sum(len(key) == 3 for key in ref)
    print(f"{len(ref) - plans} sweeps and {plans} plans, {cells} cells compared: {bad} differ; "
          f"largest relative difference {worst:.3g}")
    return bad


def main(ref: str = "") -> int:
    if ref == "--dump":  # the child: write the reference's frames to stdout
        import gpuplanner
        assert Path(gpuplanner.__file__).resolve().is_relative_to(Path.cwd().resolve()), gpuplanner.__file__
        pickle.dump(frames(), sys.stdout.buffer)
        return 0
    here = Path(__file__).resolve().parents[1]
    ref = ref or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=here, capture_output=True, text=True,
                                check=True).stdout.strip()
    ref = subprocess.run(["git", "rev-parse", ref], cwd=here, capture_output=True, text=True,
                         check=True).stdout.strip()
    digest = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]  # this check's own version
    cache = Path(tempfile.gettempdir()) / f"sweep_identity_{ref}_{digest}.pickle"  # a reference never changes
    if not cache.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "archive", ref], cwd=here, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            done = subprocess.run([sys.executable, __file__, "--dump"], cwd=tmp,
                                  env={**os.environ, "PYTHONPATH": tmp}, capture_output=True, check=True)
        cache.write_bytes(done.stdout)
    print(f"reference: {ref}")
    return 1 if compare(pickle.loads(cache.read_bytes()), frames()) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
