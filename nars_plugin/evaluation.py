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
    """Turns candidates of :attr:`space` into results.

    Attributes:
        space: the joint space whose candidates this evaluator accepts.
        objective: the metric searches maximise.
        max_fidelity: the full number of epochs, when evaluations have a learning curve.
    """

    name: str = "evaluator"
    space: Space
    objective: str
    max_fidelity: int | None = None

    @abstractmethod
    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        """Evaluate one candidate; ``fidelity`` (epochs) below the maximum trains less."""

    def evaluate_many(self, cands: Sequence[Candidate], fidelity: int | None = None) -> list[Result]:
        """Evaluate several candidates (evaluators with parallel executors override this)."""
        return [self.evaluate(c, fidelity) for c in cands]

    def config(self) -> dict[str, Any]:
        """What identifies this evaluator in a journal header."""
        return {"name": self.name, "objective": self.objective}
