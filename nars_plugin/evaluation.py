"""What an evaluation returns, and the evaluator contract.

An *evaluator* turns a candidate (optionally at a fidelity, e.g. a number of
training epochs) into a :class:`Result`. Tabular benchmarks are evaluators
that look the answer up; training evaluators run the recipe for real.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .space import Candidate, Space


@dataclass
class Result:
    """The outcome of evaluating one candidate.

    Attributes:
        metrics: metric name -> value (accuracies in percent).
        cost: simulated or measured cost in GPU-seconds.
        curve: the objective after each epoch up to the fidelity evaluated, if known.
        status: ``"ok"`` or ``"failed"``.
        error: why a failed evaluation failed.
        fidelity: the fidelity (epochs) evaluated; None for the full budget.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    cost: float = 0.0
    curve: list[float] | None = None
    status: str = "ok"
    error: str | None = None
    fidelity: int | None = None

    @property
    def ok(self) -> bool:
        """True when the evaluation succeeded."""
        return self.status == "ok"

    def objective(self, metric: str) -> float:
        """The value of ``metric``, or -inf for a failed or non-finite result."""
        value = self.metrics.get(metric, float("nan")) if self.ok else float("nan")
        return value if isinstance(value, (int, float)) and math.isfinite(value) else -math.inf

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for JSON."""
        return {
            "metrics": self.metrics,
            "cost": self.cost,
            "curve": self.curve,
            "status": self.status,
            "error": self.error,
            "fidelity": self.fidelity,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """Inverse of :meth:`to_dict`."""
        return cls(
            metrics=dict(data.get("metrics") or {}),
            cost=float(data.get("cost", 0.0)),
            curve=data.get("curve"),
            status=data.get("status", "ok"),
            error=data.get("error"),
            fidelity=data.get("fidelity"),
        )

    @classmethod
    def failed(cls, reason: str, cost: float = 0.0) -> Result:
        """A failed result that records ``reason``."""
        return cls(status="failed", error=reason, cost=cost)


class Evaluator(ABC):
    """Turns candidates of :attr:`space` into results: the contract every evaluator plugin implements.

    Subclasses MUST set :attr:`space` and :attr:`objective` (in ``__init__``) and implement
    :meth:`evaluate`. They MAY override everything else; these are the only members the core
    (study, API, compare) uses, with these defaults:

    Attributes:
        name: what ``nars benchmarks``/``nars evaluators`` and reports call it.
        space: the joint space whose candidates this evaluator accepts.
        objective: the metric searches maximise (must be in every successful result's ``metrics``).
        report: the metric reported as a search's outcome (None: the objective). A benchmark that
            searches on validation accuracy and reports test accuracy sets it.
        max_fidelity: the full number of epochs, when evaluations return a learning curve and
            accept a smaller ``fidelity`` (early stopping); None otherwise.
        parallel: how many candidates :meth:`evaluate_many` evaluates side by side; above 1 the
            study hands it whole batches.
        legacy_space_options: the space options a search's journal is taken to have been run with
            where it does not record them (journals written before space options were recorded),
            when they are not :attr:`space`'s ``options()``; None: they are. A ``csv`` table whose
            data set now sets the free statistics was searched with the space's default then.

    :meth:`evaluate` should return a failed :class:`Result` for a candidate that cannot be evaluated
    (``Result.failed(reason)``); an exception is caught by the study and recorded the same way.
    Results must depend only on the candidate, the fidelity and the evaluator's own settings, so a
    search is reproducible and its journal replays.
    """

    name: str = "evaluator"
    space: Space
    objective: str
    report: str | None = None
    max_fidelity: int | None = None
    parallel: int = 1
    legacy_space_options: Mapping[str, Any] | None = None

    @abstractmethod
    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        """Evaluate one candidate; ``fidelity`` (epochs) below the maximum trains less."""

    def evaluate_many(self, cands: Sequence[Candidate], fidelity: int | None = None) -> list[Result]:
        """Evaluate several candidates side by side (evaluators with parallel executors override this).

        Returns one result per candidate, in order. An evaluator that can stop one candidate past a time
        limit (and keep the rest of the batch) adds a keyword argument ``timeout`` (seconds): the study
        then passes ``eval_timeout`` to it; otherwise a time-limited study evaluates one at a time.
        """
        return [self.evaluate(c, fidelity) for c in cands]

    @property
    def report_metric(self) -> str:
        """The metric reported as a search's outcome: :attr:`report`, else the objective."""
        return self.report or self.objective

    def config(self) -> dict[str, Any]:
        """What identifies this evaluator in a journal header (a resumed search must match it, and
        ``nars compare`` reuses a finished run only when it matches): name it with every option that
        changes results (its space's options are recorded from :meth:`Space.options`)."""
        return {"name": self.name, "objective": self.objective}

    def close(self) -> None:
        """Release workers, clusters or files; called when a search through it ends (default: nothing)."""
        return None


class Benchmark(Evaluator):
    """An evaluator that knows its whole table: what ``nars compare`` needs for regret and p_top.

    Subclasses implement :meth:`optimum`, :meth:`top_threshold` and :meth:`value_at_best` over the
    (feasible part of the) table, counting distinct canonical candidates, not rows (encodings of one
    candidate count once, as a search finds it once); :class:`nars_plugin.tabular.base.TabularBenchmark`
    does for any table held as arrays.
    """

    @abstractmethod
    def optimum(self, metric: str | None = None, constraints: Sequence[str] = ()) -> float:
        """The best value of ``metric`` (default: the objective) over the feasible candidates."""

    @abstractmethod
    def top_threshold(
        self, fraction: float = 0.001, metric: str | None = None, constraints: Sequence[str] = ()
    ) -> float:
        """The value of ``metric`` a feasible candidate needs to be in the top ``fraction``."""

    @abstractmethod
    def value_at_best(self, metric: str | None = None, by: str | None = None, constraints: Sequence[str] = ()) -> float:
        """``metric`` (default: the report metric) of the feasible candidate best in ``by`` (default: the
        objective): the reachable optimum of a search that maximises ``by``."""
