"""How close the planner comes to published measurements: each ledger Case's prediction, its
error (predicted / measured − 1), the per-class summary, and the error band a plan's headline
figures carry ("±X% on N published runs like this").

One predictor per figure class (PREDICTORS) turns a plan into the figure the source measured, in
the source's unit, from the figures the planner itself shows: the memory breakdown, the KV pool
of the engine's launch line (engines.vllm_kv_pool), and the serving model of the chosen replica
(serving.ServingModel) at the source's operating point: its offline maximum, a request rate, or
a fixed concurrency. Nothing is fitted per row.
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gpuplanner.core.catalogs import Catalogs, load_catalogs, read_csv_records
from gpuplanner.core.errors import InputError
from gpuplanner.core.estimate import estimate, serving_model
from gpuplanner.core.fields import percent_text
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.ledger import CLASSES, Case, load_cases, unmapped_rows
from gpuplanner.core.resource_files import resource_path
from gpuplanner.core.result import PlanResult
from gpuplanner.core.serving import OperatingPoint, ServingModel
from gpuplanner.core.units import GB, GIB

MEMORY_UNITS = {"GiB": GIB, "GB": GB}
MIN_BAND_ROWS = 3  # fewest rows a narrower neighbourhood needs before the band uses it


class Plans:
    """estimate() and the serving model of each distinct PlanInputs once: the ledger repeats
    settings across figures."""

    def __init__(self, catalogs: Catalogs):
        self.catalogs = catalogs
        self._results: dict = {}
        self._models: dict = {}

    def result(self, inputs: PlanInputs) -> PlanResult:
        if inputs not in self._results:
            self._results[inputs] = estimate(inputs, self.catalogs, explain=False)
        return self._results[inputs]

    def serving(self, inputs: PlanInputs, engine: str = "") -> ServingModel | None:
        """The serving model of the replica the plan chooses (None when nothing fits), run by
        `engine` (its fitted prefill and first-token costs; '' for the plan's default)."""
        if inputs not in self._models:
            self._models[inputs] = serving_model(inputs, self.catalogs)
        model = self._models[inputs]
        return model.for_engine(engine) if model is not None and engine else model


# ---- derived figures --------------------------------------------------------------------------
def training_memory_bytes(result: PlanResult, inputs: PlanInputs, metric: str) -> float:
    """Per-GPU training memory as the source measured it: allocated (live tensors: everything but
    the runtime overhead and fragmentation margin), reserved (tensors plus the margin) or the
    whole per-GPU figure the planner shows (device)."""
    b = result.breakdown_bytes
    tensors = b.total - b.overhead
    if metric == "allocated":
        return tensors
    if metric == "reserved":
        return tensors * (1 + inputs.fragmentation)
    return b.total


def operating_point(case: Case, model: ServingModel) -> OperatingPoint:
    """The replica's steady state the source measured: at its request rate (open loop), else
    at its fixed concurrency (closed loop: each request re-issued when it ends)."""
    if case.requests_per_s:
        return model.at_rate(case.requests_per_s)
    return model.closed_loop(case.users or case.inputs.concurrency)


# ---- one predictor per class: (case, plans) -> figure in the case's unit ---------------------------
def _training_throughput(case: Case, plans: Plans) -> float:
    r = plans.result(case.inputs)
    gpu_s = r.training_time_s * r.gpus
    if case.figure == "tokens_per_s_per_gpu":
        return case.inputs.training_tokens / gpu_s
    return (r.hardware_flops if case.metric == "hardware" else r.training_flops) / gpu_s / 1e12


def _training_memory(case: Case, plans: Plans) -> float:
    return training_memory_bytes(plans.result(case.inputs), case.inputs, case.metric) / MEMORY_UNITS[case.unit]


def _weights_memory(case: Case, plans: Plans) -> float:
    return plans.result(case.inputs).breakdown_bytes.weights / MEMORY_UNITS[case.unit]


def _serving_kv_pool(case: Case, plans: Plans) -> float:
    """The KV pool the plan says vLLM will allocate (engines.vllm_kv_pool, in its launch line)."""
    r = plans.result(case.inputs)
    launch = r.engine_flags.get(case.engine)
    if not r.fits or launch is None:
        return math.nan
    return float(launch.pool.max_concurrency if case.unit == "sequences" else launch.pool.kv_cache_tokens)


def _serving_throughput(case: Case, plans: Plans) -> float:
    """The replica's offline maximum (serving.ServingModel.max_throughput: every request queued,
    the largest concurrency its KV pool holds) at the row's request lengths."""
    model = plans.serving(case.inputs, case.engine)
    if model is None:
        return math.nan
    total = model.max_throughput().output_tokens_per_s(model.load)
    return total / case.per_gpu_of if case.per_gpu_of else total


def _ttft(case: Case, plans: Plans) -> float:
    model = plans.serving(case.inputs, case.engine)
    return operating_point(case, model).ttft_s * 1e3 if model else math.nan


def _tpot(case: Case, plans: Plans) -> float:
    model = plans.serving(case.inputs, case.engine)
    return operating_point(case, model).tpot_s * 1e3 if model else math.nan


PREDICTORS = {
    "training_throughput": _training_throughput, "training_memory": _training_memory,
    "weights_memory": _weights_memory, "serving_kv_pool": _serving_kv_pool,
    "serving_throughput": _serving_throughput, "ttft": _ttft, "tpot": _tpot,
}


@dataclass(frozen=True)
class Outcome:
    case: Case
    predicted: float  # in case.unit; NaN when the planner gives no figure
    reason: str = ""  # why there is no prediction

    @property
    def ok(self) -> bool:
        return math.isfinite(self.predicted)

    @property
    def error(self) -> float:
        return self.predicted / self.case.measured - 1 if self.ok else math.nan

    def as_dict(self) -> dict:
        c = self.case
        return {"class": c.figure_class, "predicted": _finite(self.predicted), "measured": c.measured,
                "error": _finite(self.error), "source": c.source, "dataset": c.dataset, "row_id": c.row_id,
                "figure": c.figure, "unit": c.unit, "model": c.model, "gpu": c.gpu, "engine": c.engine,
                "reason": self.reason, "assumptions": c.assumptions}


def _finite(x: float):
    return x if math.isfinite(x) else None


def predict(case: Case, plans: Plans) -> Outcome:
    """The case's prediction, or the reason the planner gives none (an input it rejects, or a
    layout it says does not fit)."""
    try:
        value = PREDICTORS[case.figure_class](case, plans)
    except InputError as e:
        return Outcome(case, math.nan, f"planner rejects the inputs: {e}")
    if math.isfinite(value):
        return Outcome(case, value)
    warnings = plans.result(case.inputs).warnings
    why = next((w for w in warnings if w.startswith("does not fit") or " has no " in w), "it gives no figure")
    return Outcome(case, math.nan, f"planner: {why}")


def evaluate(cases: list[Case], catalogs: Catalogs) -> list[Outcome]:
    plans = Plans(catalogs)
    return [predict(c, plans) for c in cases]


@lru_cache(maxsize=1)
def bundled_outcomes() -> tuple:
    """The shipped ledger evaluated with the shipped catalogs (computed once per process)."""
    return tuple(evaluate(load_cases(), load_catalogs()))


@dataclass(frozen=True)
class BandRow:
    """What an error band reads of one outcome with a prediction (error_band). Small on purpose:
    the window gets its rows from the comparison process (a few kB) rather than evaluating the
    ledger itself, which holds its interpreter lock for over a second."""

    figure_class: str
    gpu: str
    model: str
    engine: str
    error: float


def band_rows(outcomes) -> tuple[BandRow, ...]:
    """The outcomes with a prediction, as error_band reads them."""
    return tuple(BandRow(o.case.figure_class, o.case.gpu, o.case.model, o.case.engine, o.error)
                 for o in outcomes if o.ok)


_BUNDLED_BAND_ROWS: list = []  # bundled_band_rows(), once computed here or adopted


def bundled_band_rows() -> tuple[BandRow, ...]:
    """band_rows(bundled_outcomes()), once per process; what the error bands read by default."""
    held = held_band_rows()
    return held if held is not None else adopt_bundled_band_rows(band_rows(bundled_outcomes()))


def held_band_rows() -> tuple[BandRow, ...] | None:
    """bundled_band_rows() if this process has them already (computed or adopted), else None."""
    return _BUNDLED_BAND_ROWS[0] if _BUNDLED_BAND_ROWS else None


def adopt_bundled_band_rows(rows: tuple) -> tuple[BandRow, ...]:
    """Take `rows` as this process's bundled_band_rows(): the same evaluation, done in another
    process (the window's comparison process). The first one held wins."""
    if not _BUNDLED_BAND_ROWS:
        _BUNDLED_BAND_ROWS.append(tuple(rows))
    return _BUNDLED_BAND_ROWS[0]


def summarize(outcomes, by: str = "class") -> dict:
    """{group: {n, median_abs_error, p90_abs_error, bias}} over the rows with a prediction; by
    'class' (figure class) or 'dataset'. bias is the median signed error."""
    groups: dict = {}
    for o in outcomes:
        if o.ok:
            groups.setdefault(o.case.figure_class if by == "class" else o.case.dataset, []).append(o.error)
    order = CLASSES if by == "class" else sorted(groups)
    return {g: _stats(groups[g]) for g in order if g in groups}


def _stats(errors: list) -> dict:
    absolute = [abs(e) for e in errors]
    return {"n": len(errors), "median_abs_error": statistics.median(absolute),
            "p90_abs_error": float(np.percentile(absolute, 90)), "bias": statistics.median(errors)}


def report(outcomes, figure_class: str | None = None) -> dict:
    """What `gpuplanner-cli validate --format json` prints."""
    chosen = [o for o in outcomes if figure_class in (None, o.case.figure_class)]
    return {"rows": [o.as_dict() for o in chosen], "summary": summarize(chosen)}


def report_text(outcomes, figure_class: str | None = None) -> str:
    """`validate --format table`: one line per row, then the summary per class and per source."""
    chosen = [o for o in outcomes if figure_class in (None, o.case.figure_class)]
    import pandas as pd  # a table for people: the rest of the ledger needs no pandas

    rows = pd.DataFrame([o.as_dict() for o in chosen])
    lines = []
    if not rows.empty:
        shown = rows.assign(error=[f"{o.error:+.1%}" if o.ok else "" for o in chosen],
                            note=rows["reason"].where(rows["reason"] != "", rows["source"]))
        lines.append(shown[["class", "dataset", "row_id", "model", "gpu", "predicted", "measured", "unit", "error",
                            "note"]].to_string(index=False, max_colwidth=60, float_format=lambda x: f"{x:,.4g}"))
    lines += summary_lines(chosen)
    skipped = sum(1 for o in chosen if not o.ok)
    if skipped:
        lines.append(f"{skipped} row(s) without a prediction (reason in the note column) are not in the summaries")
    unmapped = unmapped_rows()
    if unmapped:
        lines.append(f"{len(unmapped)} row(s) of models the planner's config reader refuses are left out: "
                     + "; ".join(sorted({f"{name}: {reason.split(': ', 1)[-1].split(';')[0]}" for name, _, reason in unmapped})))
    return "\n".join(lines)


def summary_lines(outcomes) -> list[str]:
    """The per-class and per-source tables of `validate --format table` (a blank line before each)."""
    lines = []
    for title, summary in (("class", summarize(outcomes)), ("source", summarize(outcomes, by="dataset"))):
        lines += ["", f"{title:<30}{'n':>5}{'median |error|':>16}{'p90 |error|':>13}{'bias':>9}"]
        lines += [f"{name:<30}{x['n']:>5}{x['median_abs_error']:>16.1%}{x['p90_abs_error']:>13.1%}{x['bias']:>+9.1%}"
                  for name, x in summary.items()]
    return lines


# ---- error bands ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _generations() -> dict:
    """GPU name -> architecture generation (first word of gpus.csv `architecture`: Hopper, ...)."""
    return {r["name"]: r["architecture"].split(" ")[0] for r in read_csv_records(resource_path("gpus.csv"))}


@lru_cache(maxsize=1024)
def model_family(name: str) -> str:
    """'meta-llama/Llama-3.1-8B' -> 'llama', 'DeepSeek V3 671B' -> 'deepseek'."""
    match = re.match(r"[a-z]+", str(name).split("/")[-1].lower())
    return match.group(0) if match else ""


def error_band(subject, figure_class: str, rows=None, catalogs: Catalogs | None = None,
               engine: str = "") -> tuple[float, int]:
    """(median |error|, n) of the ledger rows (BandRows; default bundled_band_rows()) nearest a
    plan (a PlanResult or PlanInputs) for one figure class: same GPU generation and model family
    (and serving engine, when one is given), else same generation and family, else same family,
    else same generation, else the whole class. A narrower set is used once it has MIN_BAND_ROWS
    rows; (NaN, 0) when the class has no row with a prediction."""
    rows = [r for r in (bundled_band_rows() if rows is None else rows) if r.figure_class == figure_class]
    if isinstance(subject, PlanResult):
        gpu, model = subject.gpu_name, subject.model_name
    else:
        gpu, model = subject.gpu, getattr(subject.model, "name", subject.model)
        if not gpu and subject.instance:
            instance = (catalogs or load_catalogs()).instances.get(subject.instance)
            gpu = instance.gpu if instance else ""
    gens = _generations()
    gen, family = gens.get(gpu, ""), model_family(model)
    in_gen = [bool(gen) and gens.get(r.gpu) == gen for r in rows]
    in_family = [bool(family) and model_family(r.model) == family for r in rows]
    levels = ([r for r, g, f in zip(rows, in_gen, in_family) if g and f and engine and r.engine == engine],
              [r for r, g, f in zip(rows, in_gen, in_family) if g and f],
              [r for r, f in zip(rows, in_family) if f], [r for r, g in zip(rows, in_gen) if g])
    near = next((level for level in levels if len(level) >= MIN_BAND_ROWS), rows)
    if not near:
        return math.nan, 0
    return statistics.median(abs(r.error) for r in near), len(near)


# Each headline figure of a plan (PlanResult key) and the ledger class that checks it, per mode.
# Serving memory is checked by the KV-pool class: vLLM's pool is what is left of the GPU after
# weights, activations and overhead, so it tests the whole serving memory budget.
HEADLINE_CLASSES = {
    "train": {"memory_per_gpu_bytes": "training_memory", "training_time_s": "training_throughput",
              "cost_usd": "training_throughput"},
    "infer": {"memory_per_gpu_bytes": "serving_kv_pool", "serving_tokens_per_s_total": "serving_throughput",
              "decode_tokens_per_s_total": "serving_throughput", "max_throughput_tokens_per_s": "serving_throughput",
              "ttft_s": "ttft", "decode_tokens_per_s_per_user": "tpot"},
}


def headline_bands(result: PlanResult, rows=None) -> dict[str, tuple[float, int]]:
    """{result key: (median |error|, n)} of a plan's headline figures (HEADLINE_CLASSES), from
    the ledger rows (BandRows; default bundled_band_rows()) nearest it (error_band); figures
    without a band, and plans that do not fit, get none. The window, the PDF and the CSV all read
    their bands from here. Bands depend only on the mode, GPU and model, so each is worked out
    once per set of rows."""
    if not result.fits:
        return {}
    rows = bundled_band_rows() if rows is None else rows
    key = (id(rows), result.mode, result.gpu_name, result.model_name)
    held = _BANDS.get(key)
    if held is None or held[0] is not rows:  # holding `rows` keeps its id from being reused
        by_class = {c: error_band(result, c, rows) for c in set(HEADLINE_CLASSES[result.mode].values())}
        held = _BANDS[key] = (rows, {k: by_class[c] for k, c in HEADLINE_CLASSES[result.mode].items()
                                     if by_class[c][1]})
    return dict(held[1])


_BANDS: dict = {}


def band_text(band: tuple[float, int]) -> str:
    """'±21.1 % (median on 13 published runs like this)'."""
    median, n = band
    return f"±{percent_text(median)} (median on {n} published run{'s' * (n != 1)} like this)"
