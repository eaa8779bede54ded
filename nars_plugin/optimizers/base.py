"""The ask/tell optimizer contract.

An optimizer proposes candidates one at a time with :meth:`Optimizer.ask`
and learns each outcome through :meth:`Optimizer.tell`. The study loop
(:mod:`nars_plugin.study`) owns evaluation, budget, journal and resume; an
optimizer owns nothing but its own decisions. Two rules make journals
replayable:

* everything random comes from ``self.rng`` (seeded from ``seed``), and
* ``ask`` depends only on the seed, the settings and what was told before.

Candidates are keyed by their canonical form (:meth:`Space.canonical_key
<nars_plugin.space.Space.canonical_key>`): two encodings of one candidate are one candidate
for :attr:`Optimizer.evaluated`, for exclusion sets and for the pools and populations of the
built-in optimizers, which also never propose an invalid point (:meth:`Optimizer.feasible`
implies :meth:`Space.is_valid <nars_plugin.space.Space.is_valid>`).

A study replays a journal by calling ``ask`` and answering from the journal,
so an optimizer that follows these rules resumes exactly where it stopped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..evaluation import Result
from ..keyvalue import parse_key_values
from ..space import Candidate, Constraint, Space, parse_constraints


@dataclass(frozen=True)
class Proposal:
    """A candidate to evaluate, optionally at a reduced fidelity (epochs).

    ``reevaluate``: evaluate (and pay for) the candidate again even when the study has its
    result already; by default a repeat is answered from the study's cache, free.
    """

    candidate: Candidate
    fidelity: int | None = None
    reevaluate: bool = False


@dataclass(frozen=True)
class Budget:
    """How much a study may spend: evaluations (queries), simulated seconds, or both."""

    queries: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.queries is None and self.seconds is None:
            raise ConfigError("a budget needs queries or seconds", "pass --budget N or --budget-seconds S")
        if (self.queries is not None and self.queries < 1) or (self.seconds is not None and self.seconds <= 0):
            raise ConfigError(f"budget must be positive, got {self}", "pass --budget N with N >= 1")

    def exhausted(self, queries: int, seconds: float) -> bool:
        """True when either limit is reached."""
        return (self.queries is not None and queries >= self.queries) or (
            self.seconds is not None and seconds >= self.seconds
        )


class Optimizer(ABC):
    """Base class of every search strategy.

    Args:
        space: the joint space to search.
        objective: the metric to maximise (results carry it in ``metrics``).
        seed: seeds ``self.rng``; the same seed gives the same search.
        constraints: resource constraints every proposal must meet.
        budget: the study's budget, for strategies that plan ahead.
        max_fidelity: full number of epochs when the evaluator returns curves.
        fixed_recipe: recipe values to hold fixed (an architecture-only search), e.g.
            ``{"training": "standard"}``; the optimizer then searches ``space.fix_recipe(...)``.
    """

    name = "optimizer"

    def __init__(
        self,
        space: Space,
        *,
        objective: str,
        seed: int = 0,
        constraints: Sequence[str | Constraint] = (),
        budget: Budget | None = None,
        max_fidelity: int | None = None,
        fixed_recipe: Mapping[str, Any] | str | None = None,
    ) -> None:
        self.fixed_recipe = _recipe_mapping(fixed_recipe)
        self.space = space.fix_recipe(**self.fixed_recipe) if self.fixed_recipe else space
        self.objective = objective
        self.seed = int(seed)
        if self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}", "pass --seed 0 or another N >= 0")
        self.rng = np.random.default_rng(self.seed)
        self.constraints = parse_constraints(constraints)
        self.budget = budget
        self.max_fidelity = max_fidelity
        self.history: list[tuple[Proposal, Result]] = []
        self.evaluated: dict[str, float] = {}  # full-fidelity canonical candidate key -> objective

    # -- the contract ------------------------------------------------------ #

    @abstractmethod
    def ask(self) -> Proposal:
        """Propose the next candidate to evaluate."""

    def ask_batch(self, n: int) -> list[Proposal]:
        """Up to ``n`` proposals to evaluate side by side before any of them is told.

        The default proposes one (safe for every strategy); strategies whose next proposals do not
        depend on the pending results override it. The batch must not depend on ``n`` beyond its
        length, so a search is the same whatever the parallelism.
        """
        return [self.ask()]

    def tell(self, proposal: Proposal, result: Result) -> None:
        """Learn the result of a proposal (subclasses extend, calling super)."""
        self.history.append((proposal, result))
        if self.is_full(proposal, result):
            self.evaluated[self.space.canonical_key(proposal.candidate)] = result.objective(self.objective)

    @property
    def finished(self) -> bool:
        """True when the optimizer has nothing more to propose."""
        return False

    def settings(self) -> dict[str, Any]:
        """The settings that define this optimizer's behaviour (journal identity)."""
        return {"fixed_recipe": dict(self.fixed_recipe)} if self.fixed_recipe else {}

    def report(self) -> dict[str, Any]:
        """Extra results for the study summary (e.g. a model family); empty by default."""
        return {}

    # -- helpers for subclasses ------------------------------------------- #

    def is_full(self, proposal: Proposal, result: Result) -> bool:
        """Whether a result is a full-fidelity evaluation (comparable with others)."""
        fid = result.fidelity if result.fidelity is not None else proposal.fidelity
        return fid is None or self.max_fidelity is None or fid >= self.max_fidelity

    def score(self, result: Result) -> float:
        """The objective of a result (-inf when it failed)."""
        return result.objective(self.objective)

    def feasible(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Mask for ``cands``: valid points of the space that meet the constraints."""
        return self.space.feasible(cands, self.constraints)

    def random_feasible(self, n: int, exclude: set[str] | None = None, max_draws: int = 64) -> list[Candidate]:
        """Up to ``n`` distinct random feasible candidates, in canonical form, whose canonical keys
        are not in ``exclude``."""
        exclude = set(exclude or ())
        found: list[Candidate] = []
        for _ in range(max_draws):
            batch = self.space.sample(max(4 * (n - len(found)), 16), self.rng, method="random")
            for cand, ok in zip(batch, self.feasible(batch)):
                if not ok:
                    continue
                form = self.space.canonical(cand)
                if form.key not in exclude:
                    exclude.add(form.key)
                    found.append(form)
                    if len(found) == n:
                        return found
        return found

    def random_fresh(self, n: int, exclude: Iterable[str] = ()) -> list[Candidate]:
        """The random fallback every built-in optimizer shares.

        Up to ``n`` random feasible candidates whose canonical keys are not in ``exclude`` (those
        evaluated or asked); when none is left, one feasible candidate that may repeat (the study
        answers a repeat from its cache, free); a :class:`ConfigError` when nothing is feasible.
        """
        picked = self.random_feasible(n, exclude=set(exclude)) or self.random_feasible(1)
        if not picked:
            raise ConfigError(
                f"{self.name} found no feasible candidate in space {self.space.name!r}"
                + (f" under {[str(c) for c in self.constraints]}" if self.constraints else ""),
                "relax the constraints; without constraints, the space's is_valid rejects (nearly) every point",
            )
        return picked

    def best(self) -> tuple[Candidate, float] | None:
        """The best full-fidelity candidate told so far and its objective."""
        best = None
        for proposal, result in self.history:
            if self.is_full(proposal, result):
                value = self.score(result)
                if best is None or value > best[1]:
                    best = (proposal.candidate, value)
        return best


def _recipe_mapping(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """``{"a": 1}`` or ``"a=1,b=x"`` -> dict (empty for None)."""
    if not value:
        return {}
    return parse_key_values(value, "fixed recipe", separator=",")


class RandomSearch(Optimizer):
    """Uniform random sampling of feasible, not yet evaluated candidates."""

    name = "rs"

    def ask(self) -> Proposal:
        return self._draw(set(self.evaluated))

    def ask_batch(self, n: int) -> list[Proposal]:
        """``n`` draws, each excluding the ones before it (as their told results would)."""
        exclude = set(self.evaluated)
        batch: list[Proposal] = []
        for _ in range(max(1, n)):
            batch.append(self._draw(exclude))
            exclude.add(self.space.canonical_key(batch[-1].candidate))
        return batch

    def _draw(self, exclude: set[str]) -> Proposal:
        return Proposal(self.random_fresh(1, exclude)[0])
