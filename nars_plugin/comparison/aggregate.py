"""Aggregation: the runs' best-so-far curves -> statistics per optimizer and budget point.

A run's figure at a budget point is the best-so-far value there: of the report metric (the
``curve``) and of the objective (the ``objective_curve``; where the objective is the report
metric, the same curve). See :mod:`nars_plugin.comparison` for the layout of the result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, option
from ..evaluation import Benchmark, Evaluator
from ..space import Candidate
from ..spaces.nb201 import OPS, NB201Space, op_matrix
from .references import reference_block
from .spec import OptimizerSpec
from .tasks import RunOutcome

#: Fractions of a seconds-only budget at which results are reported.
SECONDS_MARKS = (0.1, 0.25, 0.5, 1.0)
#: A value counts as reaching a threshold or optimum when it is at most this much below it.
TOLERANCE = 1e-9
#: Share of the (feasible) table that p_top counts as "top".
TOP_FRACTION = 0.001


def checkpoints_seconds(seconds: float) -> list[float]:
    """Simulated-second checkpoints of a seconds-only budget."""
    return [round(f * seconds, 6) for f in SECONDS_MARKS]


def checkpoints(budget: int) -> list[int]:
    """Budgets reported: 10, 25, 50, 100, 200, 250, 500, 1000, ... up to and including ``budget``."""
    marks = [m * 10**e for e in range(1, 8) for m in (1, 2.5, 5)]
    out = sorted({int(m) for m in marks if m < budget} | {budget})
    return [b for b in out if b >= min(10, budget)]


def _at(curve: list[float], n: int) -> float:
    if not curve:
        return math.nan
    return float(curve[min(n, len(curve)) - 1])


def _at_seconds(curve: list[float], costs: list[float], seconds: float) -> float:
    """The best-so-far value once every query asked before ``seconds`` were spent has answered."""
    spent_before = np.concatenate([[0.0], np.asarray(costs[:-1], dtype=float)])
    asked = int(np.searchsorted(spent_before, seconds, side="left"))  # queries started below ``seconds``
    return float(curve[asked - 1]) if asked else math.nan


@dataclass(frozen=True)
class Targets:
    """What runs are measured against, from the benchmark (NaN, or inf for thresholds, where it cannot say).

    Every table statistic counts distinct canonical candidates of the table, not rows
    (:mod:`nars_plugin.tabular.base`).

    Attributes:
        metric: the report metric.
        objective: the metric the search maximises.
        optimum: the table maximum of the report metric.
        top: the report metric's top-0.1% threshold.
        objective_optimum: the table maximum of the objective.
        objective_top: the objective's top-0.1% threshold.
        reachable: the report metric of the best-objective candidate (see
            :meth:`~nars_plugin.tabular.base.TabularBenchmark.value_at_best`).
        median: the report metric's median (the top-50% threshold).
        objective_median: the objective's median; with ``objective_optimum``, the scale of the
            normalised regret a suite's leaderboard ranks on (:mod:`.leaderboard`).
    """

    metric: str
    objective: str
    optimum: float
    top: float
    objective_optimum: float
    objective_top: float
    reachable: float
    median: float = math.nan
    objective_median: float = math.nan

    @classmethod
    def of(cls, bench: Evaluator, constraints: Sequence[str]) -> Targets:
        """The targets of ``bench`` over the candidates that meet ``constraints`` (nan/inf without a table)."""
        metric, objective = bench.report_metric, bench.objective
        if not isinstance(bench, Benchmark):
            return cls(metric, objective, math.nan, math.inf, math.nan, math.inf, math.nan)
        return cls(
            metric,
            objective,
            bench.optimum(metric, constraints),
            bench.top_threshold(TOP_FRACTION, metric, constraints),
            bench.optimum(objective, constraints),
            bench.top_threshold(TOP_FRACTION, objective, constraints),
            bench.value_at_best(metric, objective, constraints),
            bench.top_threshold(0.5, metric, constraints),
            bench.top_threshold(0.5, objective, constraints),
        )

    def reference(self) -> dict[str, Any]:
        """The objective's side of the leaderboard's scales (``details.json``'s ``objective_reference``):
        its name, optimum and median, and the reachable optimum of the report metric (None: unknown)."""
        return {
            "metric": self.objective,
            "optimum": _finite(self.objective_optimum),
            "median": _finite(self.objective_median),
            "reachable_optimum": _finite(self.reachable),
        }


def _stats(values: np.ndarray, top: float) -> dict[str, float | None]:
    """Mean, std (None when no run has a value) and p_top (share of runs at or above ``top``)."""
    known = np.isfinite(values).any()
    return {
        "mean": float(np.nanmean(values)) if known else None,
        "std": float(np.nanstd(values)) if known else None,
        "p_top": float(np.mean(values >= top - TOLERANCE)),
    }


def _marks_and_grid(budget: int | None, budget_seconds: float | None) -> tuple[Sequence[float], np.ndarray]:
    """The budget points reported and the x grid of the mean curves: queries, or simulated seconds when
    only those are given."""
    if budget is not None:
        return checkpoints(budget), np.arange(1, budget + 1)
    if budget_seconds is None:
        raise ConfigError(
            "a comparison needs a budget",
            "give " + option("budget= (queries) or budget_seconds=", "--budget (queries) or --budget-seconds"),
        )
    return checkpoints_seconds(budget_seconds), np.linspace(budget_seconds / 100, budget_seconds, 100)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def summarise(
    bench: Any,
    optimizers: Sequence[OptimizerSpec],
    runs: Sequence[RunOutcome],
    budget: int | None,
    constraints: Sequence[str],
    reference: str | None,
    budget_seconds: float | None = None,
) -> dict[str, Any]:
    """Aggregate run curves into mean/std/p_top per optimizer and budget (queries, or seconds if only those).

    ``results`` holds the report metric's statistics, ``objective`` the objective's with the
    optimum, the reachable optimum and the seeds at it (see :mod:`nars_plugin.comparison`).
    """
    targets = Targets.of(bench, constraints)
    in_seconds = budget is None
    marks, grid = _marks_and_grid(budget, budget_seconds)

    def value(curve: list[float], run: RunOutcome, mark: float) -> float:
        return _at_seconds(curve, run.costs, mark) if in_seconds else _at(curve, int(mark))

    results: dict[str, Any] = {}
    seconds: dict[str, Any] = {}
    queries: dict[str, Any] = {}
    for spec in optimizers:
        mine = [r for r in runs if r.label == spec.label]
        table = {}
        for b in marks:
            values = np.array([value(r.curve, r, b) for r in mine], dtype=float)
            table[f"{b:g}"] = _stats(values, targets.top)
        results[spec.label] = table
        times = np.array([r.seconds for r in mine])
        seconds[spec.label] = {"mean": float(times.mean()), "max": float(times.max())}
        counts = np.array([len(r.curve) for r in mine])
        queries[spec.label] = {"mean": float(counts.mean()), "min": int(counts.min()), "max": int(counts.max())}
    xs = grid.tolist()

    def mean_curve(label: str, which: Callable[[RunOutcome], Sequence[float] | None]) -> list[float] | None:
        """The mean over ``label``'s runs of ``which`` curve on the grid; None where a run lacks it. On a
        seconds grid a point is NaN until every run has a value there (runs' first values come at
        different seconds, e.g. after a one-shot supernet: a mean of the early ones would mislead)."""
        mine = [(list(curve), r) for r in runs if r.label == label and (curve := which(r)) is not None]
        if len(mine) < sum(r.label == label for r in runs):
            return None
        values = np.array([[value(c, r, x) for x in xs] for c, r in mine])
        with warnings.catch_warnings():  # a grid point before any run's first value is NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(values, 0)
        if in_seconds:
            mean[np.isnan(values).any(0)] = np.nan
        listed: list[float] = mean.tolist()
        return listed

    curves = {spec.label: mean_curve(spec.label, lambda r: r.curve) for spec in optimizers}
    different = targets.objective != targets.metric
    return {
        "benchmark": bench.name,
        "metric": targets.metric,
        "optimum": targets.optimum,
        "top_0.1%_threshold": targets.top,
        "median": _finite(targets.median),
        "seeds": max((sum(r.label == spec.label for r in runs) for spec in optimizers), default=0),
        "seeds_per_optimizer": {spec.label: sum(r.label == spec.label for r in runs) for spec in optimizers},
        "results": results,
        "objective": objective_summary(targets, optimizers, runs, marks, value),
        "seconds_per_run": seconds,
        "queries_per_run": queries,
        "budget_unit": "s" if in_seconds else "queries",
        "curve_x": xs,
        "mean_curves": curves,
        "objective_reference": targets.reference(),
        **(
            {"objective_mean_curves": {s.label: mean_curve(s.label, lambda r: r.objective_curve) for s in optimizers}}
            if different
            else {}
        ),
        "reference": reference_block(reference),
    }


#: The ops of NB201 cells whose share in the returned cells a comparison reports (DARTS's collapse).
PARAMETER_FREE_OPS = ("skip_connect", "none")


def cell_op_shares(
    space: Any, optimizers: Sequence[OptimizerSpec], runs: Sequence[RunOutcome]
) -> dict[str, Any] | None:
    """Per optimizer, the share of ``skip_connect``, ``none`` and either among the edges of the cells its
    runs returned (NB201 spaces only, else None): DARTS's known collapse onto parameter-free ops."""
    if not isinstance(space, NB201Space):
        return None
    shares: dict[str, Any] = {}
    for spec in optimizers:
        cells = [Candidate.from_dict(r.best["candidate"]) for r in runs if r.label == spec.label and r.best]
        if not cells:
            shares[spec.label] = None
            continue
        ops = op_matrix(cells)
        block: dict[str, Any] = {op: float(np.mean(ops == OPS.index(op))) for op in PARAMETER_FREE_OPS}
        block["parameter_free"] = float(np.mean(np.isin(ops, [OPS.index(op) for op in PARAMETER_FREE_OPS])))
        block["cells"] = [space.format_arch(c) for c in cells]
        shares[spec.label] = block
    return shares


def objective_summary(
    targets: Targets,
    optimizers: Sequence[OptimizerSpec],
    runs: Sequence[RunOutcome],
    marks: Sequence[float],
    value: Callable[[list[float], RunOutcome, float], float],
) -> dict[str, Any]:
    """The objective's statistics per optimizer and budget point, and the seeds at its optimum.

    An optimizer whose runs do not all record the objective's curve (runners of other libraries,
    when the objective is not the report metric) gets None instead of its table.
    """

    def objective_curve(run: RunOutcome) -> list[float] | None:
        if run.objective_curve is not None:
            return list(run.objective_curve)
        return list(run.curve) if targets.objective == targets.metric else None

    results: dict[str, Any] = {}
    at_optimum: dict[str, Any] = {}
    seeds: dict[str, int] = {}
    for spec in optimizers:
        mine = [r for r in runs if r.label == spec.label]
        seeds[spec.label] = len(mine)
        curves = [c for c in map(objective_curve, mine) if c is not None]
        if len(curves) < len(mine):
            results[spec.label] = at_optimum[spec.label] = None
            continue
        table, reached = {}, {}
        for b in marks:
            values = np.array([value(c, r, b) for c, r in zip(curves, mine)], dtype=float)
            table[f"{b:g}"] = _stats(values, targets.objective_top)
            known = math.isfinite(targets.objective_optimum)
            reached[f"{b:g}"] = int(np.sum(values >= targets.objective_optimum - TOLERANCE)) if known else None
        results[spec.label], at_optimum[spec.label] = table, reached
    return {
        "metric": targets.objective,
        "report_metric": targets.metric,
        "optimum": _finite(targets.objective_optimum),
        "top_0.1%_threshold": _finite(targets.objective_top),
        "report_table_maximum": _finite(targets.optimum),
        "reachable_optimum": _finite(targets.reachable),
        "results": results,
        "at_optimum": at_optimum,
        "seeds": seeds,
    }
