"""Throughput against interactivity: the serving frontier of one kind of hardware.

Every parallel layout the serving search considers (tensor × pipeline × expert degrees; data
parallelism only adds replicas, which changes neither figure) is run at every batch from 1 to
the largest its KV pool holds, each as a closed loop of that many users (ServingModel.
closed_loop). A point is (output tokens/s per user, output tokens/s per GPU); the Pareto
frontier keeps the points no other point beats on both, as in NVIDIA's trillion-parameter
serving post ("throughput vs interactivity"). The chosen plan is marked at the operating point
its fleet runs at.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gpuplanner.core.performance import batch_points

FRONTIER_ATTR = "serving_frontier"  # the comparison table's attrs key (estimate.attach_frontier)


@dataclass(frozen=True)
class FrontierPoint:
    tokens_per_s_per_user: float
    tokens_per_s_per_gpu: float
    tp: int
    pp: int
    ep: int
    concurrency: int

    def describe(self) -> str:
        """'TP8 × PP1 × EP1 at 64 concurrent'."""
        return f"TP{self.tp} × PP{self.pp} × EP{self.ep} at {self.concurrency:,} concurrent"


@dataclass(frozen=True)
class Frontier:
    points: tuple  # every FrontierPoint evaluated
    pareto: tuple  # the frontier, fastest per user first
    chosen: FrontierPoint | None  # the plan's replica at its fleet's operating point
    hardware: str  # what it was computed for (instance type or GPU)

    def __deepcopy__(self, memo) -> Frontier:
        """Itself: it is immutable all the way down. pandas deep-copies a DataFrame's attrs
        (where the comparison table carries its frontier: thousands of points) into every
        column, row or slice read from it."""
        return self


def point(model, lay, users: int) -> FrontierPoint:
    """One replica layout `lay` running `users` concurrent requests (closed loop)."""
    p = model.closed_loop(users)
    per_gpu = p.output_tokens_per_s(model.load) / (lay.tp * lay.pp * lay.ep)
    return FrontierPoint(p.decode_tokens_per_s_per_user, per_gpu, lay.tp, lay.pp, lay.ep, users)


def pareto(points) -> tuple:
    """The points no other beats on both axes (ties kept once), fastest per user first."""
    best, out = -math.inf, []
    for q in sorted(points, key=lambda q: (-q.tokens_per_s_per_user, -q.tokens_per_s_per_gpu)):
        if q.tokens_per_s_per_gpu > best:
            out.append(q)
            best = q.tokens_per_s_per_gpu
    return tuple(out)


def frontier(models, chosen: tuple | None, hardware: str) -> Frontier:
    """`models`: (Layout, ServingModel) of every layout; `chosen`: (Layout, users) of the plan."""
    points = tuple(point(m, lay, b) for lay, m in models for b in batch_points(m.max_concurrency)
                   if m.max_concurrency >= 1)
    mark = None
    if chosen is not None:
        lay, users = chosen
        model = next((m for l2, m in models if (l2.tp, l2.pp, l2.ep) == (lay.tp, lay.pp, lay.ep)), None)
        mark = point(model, lay, max(1, users)) if model is not None else None
    return Frontier(points, pareto(p for p in points if p.tokens_per_s_per_gpu > 0), mark, hardware)
