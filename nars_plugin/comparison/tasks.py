"""The typed task and outcome of one run of a comparison (they cross process boundaries: plain values)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class RunTask:
    """One run of a comparison: an optimizer with one seed on one benchmark, journaled in ``out``.

    An optimizer registered with a ``runner`` (another library's own loop) receives it;
    ``task["seed"]`` and ``task.get("settings")`` still work one more release, with a
    DeprecationWarning (tasks were dicts).
    """

    benchmark: str  # the registered benchmark spec (``csv:PATH`` included)
    bench_options: Mapping[str, Any]
    optimizer: str  # the registered optimizer name
    label: str  # the name the comparison reports it under
    settings: Mapping[str, Any]
    seed: int
    budget: int | None  # queries
    budget_seconds: float | None  # simulated seconds
    constraints: tuple[str, ...]
    out: str  # the run's folder
    fixed_recipe: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # recipe values held fixed

    def __getitem__(self, key: str) -> Any:
        warnings.warn(
            f"a comparison task is a RunTask now: read task.{key} instead of task[{key!r}]",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """``task.get(key)`` of the dict tasks used to be (deprecated: read the attribute)."""
        return self[key] if key in {f.name for f in dataclasses.fields(self)} else default


@dataclass(frozen=True)
class RunOutcome:
    """What one run gives the comparison.

    ``curve``: best-so-far report metric after each query; ``objective_curve``: best-so-far
    objective (None from runners that do not record it); ``costs``: simulated seconds spent after
    each query; ``seconds``: wall time; ``evaluated_now``: evaluations this call made (0: read back);
    ``best``: the candidate the search returns, as its summary records it.
    """

    label: str
    seed: int
    curve: list[float]
    seconds: float
    evaluated_now: int
    best: Any
    objective_curve: list[float] | None = None
    costs: list[float] = field(default_factory=list)

    @classmethod
    def from_runner(cls, task: RunTask, answer: Mapping[str, Any]) -> RunOutcome:
        """The outcome an optimizer's ``runner`` answered (a mapping with ``curve``, ``seconds``,
        ``evaluated_now`` and ``best``; ``objective_curve`` and ``costs`` where it records them)."""
        missing = sorted({"curve", "seconds", "evaluated_now", "best"} - set(answer))
        if missing:
            raise ConfigError(
                f"the runner of optimizer {task.optimizer!r} answered without {missing}",
                "a runner returns {'curve', 'seconds', 'evaluated_now', 'best'} (Registry.add_optimizer)",
            )
        return cls(
            task.label,
            task.seed,
            list(answer["curve"]),
            float(answer["seconds"]),
            int(answer["evaluated_now"]),
            answer["best"],
            None if answer.get("objective_curve") is None else list(answer["objective_curve"]),
            list(answer.get("costs") or []),
        )


def derived_answer(evaluator: Any, space: Any, cand: Any, supernet_seconds: float, trained: Any) -> dict[str, Any]:
    """The runner answer of a one-shot search whose supernet trained for ``supernet_seconds`` and whose
    derived candidate ``cand`` was then trained by ``evaluator`` (``trained``: its
    :class:`~nars_plugin.evaluation.Result`): the curve has the supernet as a first point without a
    value and the trained candidate as the second; the cost is both together."""
    metrics = dict(trained.metrics) if trained.ok else {}
    report = float(metrics.get(evaluator.report_metric, float("nan")))
    objective = float(metrics.get(evaluator.objective, float("nan")))
    return {
        "curve": [float("nan"), report],
        "objective_curve": [float("nan"), objective],
        "costs": [supernet_seconds, supernet_seconds + float(trained.cost)],
        "seconds": supernet_seconds + float(trained.cost),
        "supernet_seconds": supernet_seconds,
        "evaluated_now": 1,
        "best": {
            "candidate": cand.to_dict(),
            "arch": space.format_arch(cand),
            "objective": objective,
            "report": report,
            "metrics": metrics,
            **({} if trained.ok else {"error": trained.error}),
        },
    }
