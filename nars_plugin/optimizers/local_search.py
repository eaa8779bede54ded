"""Local search, the simple hill climber that is hard to beat on NAS benchmarks.

White, Nolen, Zela & Hutter, "Exploring the Loss Landscape in Neural
Architecture Search" (UAI 2021; arXiv 2020 as "Local Search is State of the
Art for NAS Benchmarks"). The procedure:

1. **Start**: evaluate ``init`` random feasible candidates; the best is the
   current point.
2. **Climb**: the *neighbourhood* of the current point is every candidate that
   differs in one parameter: all other values of each categorical parameter
   (in NB201: the 24 cells that change one edge's operation), plus
   ``numeric_neighbours`` random mutations of each integer or real parameter;
   candidates that break a constraint or are invalid points of the space are left out, and
   neighbours are compared by their canonical form (an encoding of the current point is not
   its neighbour; two encodings of one neighbour are one). Neighbours are visited in a
   seeded random order. With ``first_improvement`` (the default) the search
   moves to the first neighbour that beats the current point and starts on
   that point's neighbourhood; otherwise it evaluates the whole neighbourhood
   and moves to its best member if that beats the current point.
   Neighbours evaluated earlier are not evaluated again: their known value is used.
3. **Restart**: when no neighbour is better (a local optimum), the search
   restarts from the best of ``restart_init`` new random candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..evaluation import Result
from ..settings import setting
from ..space import Candidate
from .base import Optimizer, Proposal


@dataclass(frozen=True)
class LocalSearchSettings:
    """Settings of local search."""

    init: int = setting(10, "random candidates evaluated to pick the starting point", low=1)
    restart_init: int = setting(1, "random candidates evaluated at each restart (the best is the new start)", low=1)
    first_improvement: bool = setting(
        True, "move to the first better neighbour (true) or to the best after evaluating all (false)"
    )
    numeric_neighbours: int = setting(4, "random mutations per integer/real parameter in a neighbourhood", low=1)


class LocalSearch(Optimizer[LocalSearchSettings]):
    """Hill climbing over single-parameter changes, with random restarts (settings: :class:`LocalSearchSettings`)."""

    name = "ls"

    def setup(self) -> None:
        super().setup()
        self._queue: list[Candidate] = []  # random start candidates still to propose
        self._batch: list[Candidate] = []  # the current start batch
        self._started = False
        self._current: tuple[Candidate, float] | None = None
        self._neighbours: list[Candidate] = []  # unvisited neighbours of the current point, in visiting order
        self._hood: list[Candidate] = []  # the whole neighbourhood of the current point
        self._pending: str | None = None  # key of the neighbour proposed last
        self.moves = 0
        self.restarts = 0
        self.local_optima: list[float] = []

    @property
    def current(self) -> tuple[Candidate, float] | None:
        """The current point of the climb and its objective (None while (re)starting)."""
        return self._current

    # -- neighbourhood ----------------------------------------------------- #

    def neighbours(self, cand: Candidate) -> list[Candidate]:
        """The feasible single-parameter changes of ``cand`` in canonical form, each once, in a fixed
        (unshuffled) order."""
        cands = self.space.neighbours(cand, self.rng, self.config.numeric_neighbours)
        mask = self.feasible(cands)
        own = self.space.canonical_key(cand)
        return [c for c in self.space.unique_canonical([c for c, ok in zip(cands, mask) if ok]) if c.key != own]

    def _value(self, cand: Candidate) -> float:
        """The objective of an evaluated candidate (-inf when unknown or failed)."""
        return self.evaluated.get(cand.key, -math.inf)

    def _move(self, cand: Candidate, value: float) -> None:
        self._current = (cand, value)
        hood = self.neighbours(cand)
        order = self.rng.permutation(len(hood))
        self._neighbours = [hood[int(i)] for i in order]
        self._hood = hood

    # -- ask / tell ------------------------------------------------------- #

    def ask(self) -> Proposal:
        while True:
            while self._queue:
                cand = self._queue.pop(0)
                if cand.key not in self.evaluated:
                    return Proposal(cand)
            if self._batch:  # the start batch is evaluated: climb from its best member
                best = max(self._batch, key=self._value)
                self._batch = []
                if math.isfinite(self._value(best)):  # never climb from a failed candidate
                    self._move(best, self._value(best))
            if self._current is None:
                proposal = self._restart()
                if proposal is not None:
                    return proposal
                continue
            cur_value = self._current[1]
            while self._neighbours:
                cand = self._neighbours.pop(0)
                if cand.key not in self.evaluated:
                    self._pending = cand.key
                    return Proposal(cand)
                if self.config.first_improvement and self.evaluated[cand.key] > cur_value:
                    self._move(cand, self.evaluated[cand.key])
                    self.moves += 1
                    break
            else:  # neighbourhood exhausted
                best_neighbour = max(self._hood, key=self._value, default=None)
                if (
                    not self.config.first_improvement
                    and best_neighbour is not None
                    and self._value(best_neighbour) > cur_value
                ):
                    self._move(best_neighbour, self._value(best_neighbour))
                    self.moves += 1
                else:
                    self.local_optima.append(cur_value)
                    self._current = None

    def _restart(self) -> Proposal | None:
        """Queue a new random start batch; a proposal only when the space is exhausted."""
        size = self.config.init if not self._started else self.config.restart_init
        if self._started:
            self.restarts += 1
        self._started = True
        batch = self.random_fresh(size, exclude=self.evaluated)
        if all(c.key in self.evaluated for c in batch):  # everything feasible was evaluated: a repeat
            return Proposal(batch[0])
        self._queue = list(batch)
        self._batch = list(batch)
        return None

    def tell(self, proposal: Proposal, result: Result) -> None:
        super().tell(proposal, result)
        cand = self.space.canonical(proposal.candidate)
        if cand.key != self._pending or self._current is None:
            return
        self._pending = None
        value = self.score(result)
        if self.config.first_improvement and self.is_full(proposal, result) and value > self._current[1]:
            self._move(cand, value)
            self.moves += 1

    def report(self) -> dict[str, Any]:
        return {
            "moves": self.moves,
            "restarts": self.restarts,
            "local_optima": [v if math.isfinite(v) else None for v in self.local_optima],
        }
