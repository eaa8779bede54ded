"""A heterogeneous ensemble: several registered predictors, weighted by how well each has ranked
the points it had not seen.

Why: no single surrogate suits every space. FBNetV3's pretrained MLP ranks NB201 best from few points,
boosted trees rank FC-Net's nine hyperparameters better (``benchmarks/results/predictors``). The
ensemble fits every member on each :meth:`~EnsemblePredictor.fit`; before refitting, each member
predicts the points told since its previous fit, which it has never seen: an honest, free
out-of-sample check. A member's weight follows its Kendall tau on those checks, so the search leans
on the model that has ranked this search's new points best, with no per-benchmark flag.

Predictions combine on the values' scale (every member predicts values): the mean is the weighted
mean of the members' means, the uncertainty the weighted mixture's standard deviation (the members'
spreads plus their disagreement), so the scores of two calls compare, as stage-2 evolution needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..candidate import Candidate
from ..errors import ConfigError
from ..settings import Choice, setting
from ..space import Space
from .base import Predictor, create_predictor

#: Settings a member gets: NARS's search settings of fbnetv3 (five heads, refits of at most 100
#: points) and boosted trees fitted on at most 200 points, so that neither member's refits grow with a
#: long search (``benchmarks/cost_growth.py``); the trees are 3 boosters of 100 rounds at learning rate
#: 0.1 screening with 25 rounds, half the cost of 5 x 200 at 0.05 with no loss on the suite (NARS's
#: ``companion`` defaults, ``docs/results/index.md``); other registered predictors get their own defaults.
MEMBER_DEFAULTS: dict[str, dict[str, Any]] = {
    "fbnetv3": {"n_models": 5, "refit_points": 100},
    "lgbm": {"fit_points": 200, "n_models": 3, "rounds": 100, "learning_rate": 0.1, "screen_rounds": 25},
}


def member(name: str, space: Space, seed: int) -> Predictor[Any]:
    """The registered predictor ``name`` as an ensemble member, with :data:`MEMBER_DEFAULTS`."""
    return create_predictor(Choice(name, MEMBER_DEFAULTS.get(name, {})), space, seed)


@dataclass(frozen=True)
class EnsembleSettings:
    """Settings of the ``ensemble`` predictor."""

    members: tuple[str, ...] = setting(("fbnetv3", "lgbm"), "registered predictors combined", separator=",")
    combine: str = setting(
        "select",
        "select: the member with the best out-of-sample Kendall tau alone (equal weights until min_checks "
        "are known); weighted: weights proportional to exp(sharpness x tau); mean: equal weights always",
        choices=("select", "weighted", "mean"),
    )
    min_checks: int = setting(8, "out-of-sample checks needed before the weights follow them", low=2)
    window: int | None = setting(
        None, "latest checks the tau is taken over (all: every check since the first fit)", low=2, none="all"
    )
    sharpness: float = setting(
        4.0, "weighted: weight proportional to exp(sharpness x tau) (0: equal, large: select)", low=0
    )


class EnsemblePredictor(Predictor[EnsembleSettings]):
    """Registered predictors combined, each weighted by its out-of-sample rank correlation.

    Deterministic for a seed (member ``i`` gets ``seed + i``); warm starts and pretraining are the
    members' own. :meth:`weights` and :meth:`member_taus` say how the ensemble leans now.
    """

    name = "ensemble"

    def __init__(self, space: Space, seed: int = 0, **settings: Any) -> None:
        super().__init__(space, seed, **settings)
        names = list(self.config.members)
        if not names or len(set(names)) != len(names):
            raise ConfigError(
                f"the ensemble predictor needs distinct members, got {names}", "name each predictor once: fbnetv3,lgbm"
            )
        if self.name in names:
            raise ConfigError("the ensemble predictor cannot contain itself", "name other predictors as members")
        self._start([member(name, space, seed + i) for i, name in enumerate(names)])

    @classmethod
    def of(cls, members: Sequence[Predictor[Any]], space: Space, seed: int = 0, **settings: Any) -> EnsemblePredictor:
        """An ensemble of predictors already made (an optimizer's own predictor and its companions)."""
        ensemble = cls.__new__(cls)
        Predictor.__init__(ensemble, space, seed, members=",".join(m.name for m in members), **settings)
        ensemble._start(list(members))
        return ensemble

    def _start(self, members: list[Predictor[Any]]) -> None:
        self.members: list[Predictor[Any]] = members
        self._fitted = False
        self._seen: set[str] = set()
        self._checks: list[list[tuple[float, float]]] = [[] for _ in self.members]

    # -- pretraining and warm starts are the members' ---------------------- #

    @property
    def can_pretrain(self) -> bool:
        return any(m.can_pretrain for m in self.members)

    def pretrain(self, cands: Sequence[Candidate] | None = None) -> float | None:
        losses = [loss for m in self.members if m.can_pretrain and (loss := m.pretrain(cands)) is not None]
        return float(np.mean(losses)) if losses else None

    def reset(self) -> None:
        for member in self.members:
            member.reset()
        self._fitted = False
        self._seen = set()
        self._checks = [[] for _ in self.members]

    # -- fitting ---------------------------------------------------------- #

    def fit(self, cands: Sequence[Candidate], y: Sequence[float] | np.ndarray) -> EnsemblePredictor:
        kept, values = self.training_set(cands, y)
        new = [i for i, c in enumerate(kept) if c.key not in self._seen]
        if self._fitted and new:
            unseen = [kept[i] for i in new]
            for member, checks in zip(self.members, self._checks):
                predicted = member.predict(unseen)
                checks.extend((float(p), float(values[i])) for p, i in zip(predicted, new))
        for member in self.members:
            member.fit(kept, values)
        self._seen.update(c.key for c in kept)
        self._fitted = True
        return self

    def member_taus(self) -> list[float | None]:
        """Each member's Kendall tau on the points it predicted before seeing them (None: too few yet)."""
        from scipy.stats import kendalltau

        taus: list[float | None] = []
        for checks in self._checks:
            window = checks[-self.config.window :] if self.config.window else checks
            if len(window) < self.config.min_checks:
                taus.append(None)
                continue
            predicted, actual = zip(*window)
            tau = kendalltau(predicted, actual).statistic
            taus.append(float(tau) if math.isfinite(tau) else 0.0)
        return taus

    def weights(self) -> np.ndarray:
        """The members' weights now (they sum to 1)."""
        n = len(self.members)
        taus = self.member_taus()
        if self.config.combine == "mean" or any(t is None for t in taus):
            return np.full(n, 1.0 / n)
        scores = np.array([float(t) for t in taus if t is not None])
        if self.config.combine == "select":
            weights = np.zeros(n)
            weights[int(np.argmax(scores))] = 1.0  # ties: the first member named
            return weights
        raw: np.ndarray = np.exp(self.config.sharpness * (scores - scores.max()))
        weighted: np.ndarray = raw / raw.sum()
        return weighted

    # -- predicting -------------------------------------------------------- #

    def predict_mean_std(self, cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        if not self._fitted:
            raise self.not_fitted()
        if not cands:
            return np.zeros(0), np.zeros(0)
        weights = self.weights()
        used = [(w, m.predict_mean_std(cands)) for w, m in zip(weights, self.members) if w > 0]
        mean = sum(w * mu for w, (mu, _) in used)
        second = sum(w * (sd**2 + mu**2) for w, (mu, sd) in used)
        std = np.sqrt(np.maximum(second - mean**2, 0.0))
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)

    def screen(self, cands: Sequence[Candidate]) -> np.ndarray:
        """The members' own cheap screens, each standardised over ``cands`` (their scales differ),
        weighted: an order for shortlisting within one call, not a value."""
        if not self._fitted:
            raise self.not_fitted()
        total = np.zeros(len(cands))
        for weight, member in zip(self.weights(), self.members):
            if weight > 0:
                scores = np.asarray(member.screen(cands), dtype=float)
                total += weight * (scores - scores.mean()) / max(float(scores.std()), 1e-12)
        return total
