"""BANANAS: Bayesian optimisation with a neural-ensemble predictor.

White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search" (AAAI 2021). The loop:

1. evaluate ``init`` random feasible candidates;
2. fit an ensemble of neural predictors on everything evaluated;
3. generate ``num_candidates`` candidates by mutating the ``top_k`` best
   evaluated candidates (1 or 2 parameter changes each, in the architecture or,
   with probability ``recipe_mutation_prob``, in the recipe), keep the
   feasible, unevaluated ones (valid points only, each candidate once in canonical form);
4. score them with the acquisition function and evaluate the best ``batch``;
   go to 2.

The predictor (``predictor``, any registered one) defaults to
:class:`~nars_plugin.predictors.fbnetv3.NARSPredictor` without pretraining (BANANAS has
none): ``n_models`` independently initialised MLPs whose spread is the
uncertainty. BANANAS' own path encoding is not used; the space's one-hot /
min-max encoding takes its place (for NB201 both are
one-hot encodings of the cell, and the paper reports them close on NB201).

Acquisition (``acquisition``):
    ``"its"`` (default, the paper's best): independent Thompson sampling. For
    each candidate independently draw ``mean + std * z`` with ``z ~ N(0, 1)``,
    where mean and std are the ensemble's mean and standard deviation; the
    largest draws win.
    ``"ucb"``: upper confidence bound ``mean + kappa * std``.
    ``"mean"``: the ensemble mean (pure exploitation).

The predictor defaults are smaller than NARS's (fewer training steps, a
narrower net) and each refit continues the previous one for up to 40 steps, fewer
once the training loss is within ``refit_tolerance`` (the predictor's
``warm_start``), so that a refit after every evaluation stays cheap
(``benchmarks/timing.py`` measures a 100-query NB201 search).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import option
from ..predictors import create_predictor
from ..settings import Choice, choice, setting
from ..space import Candidate
from .base import Optimizer, Proposal
from .evolution import default_recipe_prob, mutate_one, recipe_mutation_setting, warn_if_population_fills_budget

#: Settings of the default predictor (fbnetv3) unless ``predictor.NAME=VALUE`` overrides them.
DEFAULT_PREDICTOR: dict[str, Any] = {
    "n_models": 5,
    "pretrain": False,
    "hidden": 64,
    "embed": 32,
    "head_steps": 40,
    "finetune_steps": 40,
    "refit_steps": 40,
}

ACQUISITIONS = ("its", "ucb", "mean")


@dataclass(frozen=True)
class BananasSettings:
    """Settings of BANANAS."""

    init: int = setting(10, "random candidates evaluated before the first fit", low=1)
    batch: int = setting(1, "candidates evaluated per fit (the predictor is refitted after each batch)", low=1)
    num_candidates: int = setting(100, "mutants generated per batch", low=1)
    top_k: int = setting(10, "how many of the best evaluated candidates are mutated", low=1)
    acquisition: str = setting("its", "its (independent Thompson sampling), ucb or mean", choices=ACQUISITIONS)
    kappa: float = setting(1.0, "exploration weight of ucb", low=0)
    recipe_mutation_prob: float | None = recipe_mutation_setting()
    predictor: Choice = choice(
        "predictor",
        "fbnetv3",
        "the accuracy predictor (by default a smaller, unpretrained fbnetv3)",
        **DEFAULT_PREDICTOR,
    )


class Bananas(Optimizer[BananasSettings]):
    """Predictor-guided local mutation search with an ensemble acquisition function (settings:
    :class:`BananasSettings`; the default predictor's are :data:`DEFAULT_PREDICTOR` on top of
    :class:`~nars_plugin.predictors.fbnetv3.PredictorSettings`, ``predictor=NAME`` picks another)."""

    name = "bananas"

    def setup(self) -> None:
        super().setup()
        self.recipe_mutation_prob = default_recipe_prob(self.space, self.config.recipe_mutation_prob)
        if self.budget is not None:
            warn_if_population_fills_budget(
                self.name,
                self.config.init,
                self.budget.queries,
                option("init (settings={'init': N})", "-O init=N"),
                what="its initial design",
            )
        self.predictor = create_predictor(self.config.predictor, self.space, self.seed)
        self._queue: list[Candidate] = []
        self._asked: set[str] = set()
        self.fits = 0
        self.last_scores: np.ndarray | None = None  # acquisition values of the last candidate set

    # -- ask / tell ------------------------------------------------------- #

    def ask(self) -> Proposal:
        while self._queue:
            cand = self._queue.pop(0)
            if cand.key not in self.evaluated:
                return self._propose(cand)
        if not self._asked:
            self._queue = self.random_feasible(self.config.init)
        else:
            self._queue = self._plan()
        if not self._queue:  # nothing new planned: a random fresh candidate, else a repeat
            self._queue = self.random_fresh(1, exclude=set(self.evaluated) | self._asked)
        return self._propose(self._queue.pop(0))

    def _propose(self, cand: Candidate) -> Proposal:
        self._asked.add(cand.key)  # cand is in canonical form
        return Proposal(cand)

    # -- one BANANAS iteration ----------------------------------------------- #

    def _training_set(self) -> tuple[list[Candidate], np.ndarray]:
        """Every evaluated candidate with a finite objective, once each, in the order told."""
        cands: dict[str, Candidate] = {}
        for proposal, _ in self.history:
            form = self.space.canonical(proposal.candidate)
            cands.setdefault(form.key, form)
        keys = [k for k, v in self.evaluated.items() if math.isfinite(v)]
        return [cands[k] for k in keys], np.asarray([self.evaluated[k] for k in keys], dtype=float)

    def candidates(self, parents: list[Candidate]) -> list[Candidate]:
        """``num_candidates`` feasible, unevaluated, distinct mutants of ``parents`` (round robin)."""
        taken = set(self.evaluated) | self._asked
        out: dict[str, Candidate] = {}
        drawn = 0
        while len(out) < self.config.num_candidates and drawn < 8 * self.config.num_candidates:
            chunk: dict[str, Candidate] = {}
            for _ in range(self.config.num_candidates - len(out)):
                parent = parents[drawn % len(parents)]
                changes = int(self.rng.integers(1, 3))
                child = self.space.canonical(
                    mutate_one(self.space, parent, self.rng, self.recipe_mutation_prob, changes)
                )
                drawn += 1
                if child.key not in taken and child.key not in out:
                    chunk.setdefault(child.key, child)
            cands = list(chunk.values())
            for cand, ok in zip(cands, self.feasible(cands)):
                if ok:
                    out[cand.key] = cand
        return list(out.values())

    def acquire(self, cands: list[Candidate]) -> np.ndarray:
        """Acquisition value of each candidate under the fitted ensemble."""
        mean, std = self.predictor.predict_mean_std(cands)
        value: np.ndarray = mean
        if self.config.acquisition == "its":
            value = mean + std * self.rng.standard_normal(len(cands))
        elif self.config.acquisition == "ucb":
            value = mean + self.config.kappa * std
        return value

    def _plan(self) -> list[Candidate]:
        xs, ys = self._training_set()
        if len(xs) < 2 or np.ptp(ys) == 0:  # nothing to learn from yet
            return self.random_feasible(self.config.batch, exclude=set(self.evaluated) | self._asked)
        order = np.argsort(-ys, kind="stable")
        parents = [xs[i] for i in order[: self.config.top_k]]
        cands = self.candidates(parents)
        if len(cands) < self.config.batch:
            cands += self.random_feasible(self.config.batch - len(cands), exclude={c.key for c in cands} | self._asked)
        if len(cands) <= self.config.batch:
            return cands
        self.predictor.fit(xs, ys)
        self.fits += 1
        scores = self.acquire(cands)
        self.last_scores = scores
        best = np.argsort(-scores, kind="stable")[: self.config.batch]
        return [cands[int(i)] for i in best]

    def report(self) -> dict[str, Any]:
        return {"fits": self.fits}
