"""The tabular benchmark protocol.

A tabular benchmark is an :class:`~nars_plugin.evaluation.Evaluator` whose
answers come from a table: every candidate of its (finite) joint space maps to
a row of measured metrics, a simulated cost in GPU-seconds and, where the table
has one, a learning curve. Queries cost microseconds, so optimizers can be
compared over many seeds.

Table statistics (:meth:`TabularBenchmark.optimum`, :meth:`~TabularBenchmark.top_threshold`, the
median as the top-50% threshold, :meth:`~TabularBenchmark.value_at_best`) count **distinct canonical
candidates**, not rows: rows that are encodings of one candidate (one
:meth:`~nars_plugin.space.Space.canonical_key`) or repeat one count once, as a search can find each
candidate only once (:attr:`TabularBenchmark.distinct` lists them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..evaluation import Benchmark, Result
from ..space import Candidate, Space


class TabularBenchmark(Benchmark):
    """A benchmark backed by aligned arrays, one row per candidate.

    Args:
        name: the name it was created under (e.g. ``"nb201-analog"``).
        space: the joint space; every candidate the table covers belongs to it.
        rows: the candidates, in row order.
        columns: metric name -> array aligned with ``rows``.
        objective: the metric searches maximise.
        report: the metric reported as the result of a search (default: the objective).
        cost: GPU-seconds per full evaluation, an array aligned with ``rows`` or a constant.
        curve: optional ``row -> array`` of the objective after each epoch (full fidelity last).
        description: one line for ``nars benchmarks``.
        info: extra facts for the journal header (data file, version, ...).
    """

    def __init__(
        self,
        name: str,
        space: Space,
        rows: Sequence[Candidate],
        columns: Mapping[str, np.ndarray],
        objective: str,
        report: str | None = None,
        cost: np.ndarray | float = 0.0,
        curve: Callable[[int], np.ndarray | None] | None = None,
        max_fidelity: int | None = None,
        description: str = "",
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.space = space
        self.description = description
        self.rows = list(rows)
        self.columns = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
        for metric in (objective, report or objective):
            if metric not in self.columns:
                raise ConfigError(
                    f"benchmark {name!r} has no metric {metric!r}",
                    f"metrics: {sorted(self.columns)}",
                )
        self.objective = objective
        self.report = report or objective
        self.cost = np.broadcast_to(np.asarray(cost, dtype=float), (len(self.rows),))
        self._curve = curve
        self.max_fidelity = max_fidelity if curve is not None else None
        self.info = dict(info or {})
        self._index = {c.key: i for i, c in enumerate(self.rows)}
        self._distinct: list[int] | None = None

    @property
    def distinct(self) -> list[int]:
        """The row index of each distinct canonical candidate (its first row), in row order: what the
        table statistics count (rows with one :meth:`~nars_plugin.space.Space.canonical_key` count once)."""
        if getattr(self, "_distinct", None) is None:
            first: dict[str, int] = {}
            for i, cand in enumerate(self.rows):
                first.setdefault(self.space.canonical_key(cand), i)
            self._distinct = list(first.values())
        assert self._distinct is not None
        return self._distinct

    def _counted(self, constraints: Sequence[str]) -> np.ndarray:
        """The rows the statistics count: one per distinct canonical candidate, those meeting ``constraints``."""
        rows = np.asarray(self.distinct, dtype=int)
        if constraints:
            rows = rows[np.asarray(self.space.feasible([self.rows[i] for i in rows], constraints), dtype=bool)]
        return rows

    @property
    def metric_names(self) -> list[str]:
        """Every metric a query returns."""
        return sorted(self.columns)

    def row_of(self, cand: Candidate) -> int | None:
        """Row number of a candidate, or None if the table lacks it."""
        return self._index.get(cand.key)

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        """Look a candidate up; with ``fidelity`` < max, the objective at that epoch."""
        cand = self.space.validate(cand)
        row = self.row_of(cand)
        if row is None:
            return Result.failed(
                f"the {self.name} table has no entry for {self.space.format_arch(cand)} {dict(cand.recipe)}"
            )
        metrics = {k: float(v[row]) for k, v in self.columns.items()}
        cost = float(self.cost[row])
        curve = None
        if self._curve is not None:
            full = self._curve(row)
            if full is not None:
                epochs = len(full)
                stop = epochs if fidelity is None else max(1, min(int(fidelity), epochs))
                curve = [float(x) for x in full[:stop]]
                if stop < epochs:
                    metrics = {self.objective: curve[-1]}  # only what partial training shows
                    cost *= stop / epochs
                fidelity = stop
        return Result(metrics=metrics, cost=cost, curve=curve, fidelity=fidelity)

    def query(self, cand: Candidate, fidelity: int | None = None) -> Result:
        """Alias of :meth:`evaluate` (the tabular word for it)."""
        return self.evaluate(cand, fidelity)

    def values(self, metric: str | None = None) -> np.ndarray:
        """The column of ``metric`` (default: the objective) over all rows."""
        metric = metric or self.objective
        if metric not in self.columns:
            raise ConfigError(f"benchmark {self.name!r} has no metric {metric!r}", f"metrics: {self.metric_names}")
        return self.columns[metric]

    def _feasible_values(self, metric: str | None, constraints: Sequence[str]) -> np.ndarray:
        """``metric`` of each distinct canonical candidate meeting ``constraints`` (NaN left out)."""
        values = self.values(metric)[self._counted(constraints)]
        finite: np.ndarray = values[~np.isnan(values)]
        return finite

    def value_at_best(self, metric: str | None = None, by: str | None = None, constraints: Sequence[str] = ()) -> float:
        """The value of ``metric`` (default: the report metric) of the best candidate by ``by`` (default:
        the objective) in the (feasible part of the) table; among candidates tied on ``by``, the highest.
        Counted over distinct canonical candidates, as every table statistic (see the module docstring).

        With the defaults this is the *reachable optimum*: what a search that finds the best objective
        reports. It differs from ``optimum(report)`` when the objective and the report metric differ.
        """
        rows = self._counted(constraints)
        by_values = self.values(by)[rows]
        values = self.values(metric or self.report)[rows]
        keep = ~np.isnan(by_values)
        if not keep.any():
            return float("nan")
        best = keep & (by_values == np.max(by_values[keep]))
        return float(np.nanmax(values[best])) if not np.isnan(values[best]).all() else float("nan")

    def optimum(self, metric: str | None = None, constraints: Sequence[str] = ()) -> float:
        """The best value of ``metric`` over the distinct canonical candidates of the (feasible part of
        the) table."""
        return float(np.max(self._feasible_values(metric, constraints)))

    def top_threshold(
        self, fraction: float = 0.001, metric: str | None = None, constraints: Sequence[str] = ()
    ) -> float:
        """The value of ``metric`` a candidate needs to be in the top ``fraction`` of the distinct canonical
        candidates of the (feasible part of the) table (``fraction=0.5``: their median); the k-th best
        value with k = ceil(fraction x their number), at least 1."""
        values = np.sort(self._feasible_values(metric, constraints))[::-1]
        k = max(1, int(np.ceil(fraction * len(values))))
        return float(values[k - 1])

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "objective": self.objective, "report": self.report, **self.info}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {len(self.rows)} rows, objective {self.objective!r}>"
