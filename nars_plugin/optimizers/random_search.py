"""Random search (``rs``): the baseline every comparison starts from."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Optimizer, Proposal


@dataclass(frozen=True)
class RandomSearchSettings:
    """Random search has no settings of its own."""


class RandomSearch(Optimizer[RandomSearchSettings]):
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
