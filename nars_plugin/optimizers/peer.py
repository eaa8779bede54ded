"""What every peer library's sampler (Optuna, SMAC3, HEBO) needs to live behind our ask/tell contract.

A peer proposes points of its own configuration space; :class:`PeerOptimizer` turns them into
candidates and keeps the contract's promises whatever the library does:

* a proposal that is an invalid point of the space (:meth:`~nars_plugin.space.Space.is_valid`) or
  breaks a constraint is handed back to the library as infeasible (:meth:`PeerOptimizer._reject`,
  with the relative violation; 1 for an invalid point) and the library draws again;
* a proposal that was evaluated before (compared by canonical form) is told its known result
  (:meth:`PeerOptimizer._answer`), so repeats are answered from the study's cache, free;
* a proposal equal to one asked and not yet told is withdrawn (:meth:`PeerOptimizer._withdraw`);
* after ``max_tries`` such draws the proposal is a random feasible, not yet evaluated candidate,
  entered into the library's history (:meth:`PeerOptimizer._adopt`) so that it learns the result.

A subclass implements the five ``_draw``/``_reject``/``_answer``/``_withdraw``/``_adopt`` hooks for
its library. Each keeps its library deterministic: seeded, no global random state, no clock, so
that the same seed and the same told results give the same proposals and journals replay.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ..evaluation import Result
from ..settings import setting
from ..space import Candidate, Categorical, Integer, Param
from .base import Optimizer, Proposal

#: The violation told for a sample that is an invalid point of the space.
INVALID_VIOLATION = 1.0


@dataclass(frozen=True)
class PeerSettings:
    """The setting every peer has; a peer's own settings class derives from this one."""

    max_tries: int = setting(100, "draws per proposal (repeats or constraint breaks) before a random fallback", low=1)


PS = TypeVar("PS", bound=PeerSettings)


class PeerOptimizer(Optimizer[PS]):
    """Base of the optimizers that wrap another library's sampler (see the module docstring).

    Subclasses are typed by settings deriving from :class:`PeerSettings`
    (``class OptunaTPE(PeerOptimizer[OptunaTPESettings])``) and implement the ``_draw`` ... ``_adopt``
    hooks; ``handle`` is whatever the library needs to tell a result back (an Optuna trial, a SMAC
    ``TrialInfo``, a HEBO row).
    """

    def setup(self) -> None:
        super().setup()
        self._pending: dict[str, Any] = {}  # candidate key -> handle asked and not yet told
        self.fallbacks = 0  # proposals that came from the random fallback
        self.told_values: list[float] = []  # finite objective values told so far (see penalty())

    # -- the library's side --------------------------------------------- #

    @abstractmethod
    def _draw(self) -> tuple[Any, Candidate]:
        """The library's next proposal: ``(handle, candidate)`` (not yet validated)."""

    @abstractmethod
    def _reject(self, handle: Any, violation: float) -> None:
        """Tell the library that its proposal is infeasible, ``violation`` > 0 measuring by how much."""

    @abstractmethod
    def _answer(self, handle: Any, value: float) -> None:
        """Tell the library the objective ``value`` (maximised; ``-inf`` for a failed evaluation)."""

    @abstractmethod
    def _withdraw(self, handle: Any) -> None:
        """Drop a proposal that duplicates one still being evaluated."""

    @abstractmethod
    def _adopt(self, cand: Candidate) -> Any:
        """Enter a candidate the library did not propose into its history; the handle to tell it by."""

    # -- the contract's side ----------------------------------------------- #

    def violation(self, cand: Candidate) -> float:
        """How far ``cand`` breaks the constraints: the sum of relative excesses (0 when feasible)."""
        if not self.constraints:
            return 0.0
        stats = self.space.statistics([cand])
        total = 0.0
        for c in self.constraints:
            value = float(stats[c.metric][0])
            if not bool(c.holds(np.array([value]))[0]):
                total += max(abs(value - c.bound), 1e-12) / max(abs(c.bound), 1e-12)
        return total

    def penalty(self, violation: float) -> float:
        """A finite value to tell a library that drops or mishandles failures and infeasible samples:
        the worst value told so far minus ``violation`` times the spread of the values told
        (``-1 - violation`` before any). Subclasses add each finite value they tell to ``told_values``."""
        if not self.told_values:
            return -1.0 - violation
        worst, best = min(self.told_values), max(self.told_values)
        return worst - violation * max(best - worst, 1e-6)

    def ask(self) -> Proposal:
        for _ in range(self.config.max_tries):
            handle, cand = self._draw()
            if not self.space.is_valid(cand):
                self._reject(handle, INVALID_VIOLATION)
                continue
            violation = self.violation(cand)
            cand = self.space.canonical(cand)
            if violation > 0:
                self._reject(handle, violation)
            elif cand.key in self.evaluated:
                self._answer(handle, self.evaluated[cand.key])
            elif cand.key in self._pending:
                self._withdraw(handle)
            else:
                self._pending[cand.key] = handle
                return Proposal(cand)
        return Proposal(self._fallback())

    def _fallback(self) -> Candidate:
        """A random feasible candidate not yet evaluated (else any: the study repeats its result)."""
        cand = self.random_fresh(1, exclude=set(self.evaluated) | set(self._pending))[0]
        self.fallbacks += 1
        if cand.key not in self._pending:
            self._pending[cand.key] = self._adopt(cand)
        return cand

    def tell(self, proposal: Proposal, result: Result) -> None:
        super().tell(proposal, result)
        handle = self._pending.pop(self.space.canonical_key(proposal.candidate), None)
        if handle is None:  # a repeat the study answered from its cache: the library has seen it
            return
        self._answer(handle, self.score(result))

    def report(self) -> dict[str, Any]:
        return {"random_fallbacks": self.fallbacks}


# -- positions: the encoding SMAC3 and HEBO see ------------------------------- #


def positions(param: Param) -> int | None:
    """How many positions a parameter has when a peer sees it by position, or None for a number.

    Categorical and ordinal parameters are seen by the position of their value (peers then need no
    knowledge of our value types); an integer with a step by the position of its value on the
    grid (``low + k * step``), since neither ConfigSpace nor HEBO has stepped integers.
    """
    if isinstance(param, Categorical) or (isinstance(param, Integer) and param.step != 1):
        return param.cardinality
    return None


def to_position(param: Param, value: Any) -> Any:
    """``value`` as the peer sees it (see :func:`positions`)."""
    if isinstance(param, Categorical):
        return param.index(value)
    if isinstance(param, Integer) and param.step != 1:
        return (int(value) - param.low) // param.step
    return value


def from_position(param: Param, seen: Any) -> Any:
    """The value of ``param`` that a peer's ``seen`` value stands for (inverse of :func:`to_position`)."""
    if isinstance(param, Categorical):
        return param.choices[int(seen)]
    if isinstance(param, Integer):
        return param.low + int(round(float(seen))) * param.step if param.step != 1 else int(round(float(seen)))
    return float(seen)


def candidate_from_positions(space: Any, seen: dict[str, Any]) -> Candidate:
    """The candidate a peer's point stands for (values by :func:`from_position`), validated."""
    arch = {p.name: from_position(p, seen[p.name]) for p in space.arch_params}
    recipe = {p.name: from_position(p, seen[p.name]) for p in space.recipe_params}
    cand: Candidate = space.validate(Candidate(arch, recipe))
    return cand


def positions_of(space: Any, cand: Candidate) -> dict[str, Any]:
    """A candidate as a peer's point (inverse of :func:`candidate_from_positions`)."""
    values = {**cand.arch, **cand.recipe}
    return {p.name: to_position(p, values[p.name]) for p in space.params}
