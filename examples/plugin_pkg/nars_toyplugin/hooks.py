"""Registers the ``toy-grid`` space, the ``toy-grid`` tabular benchmark, the ``toy-walk`` optimizer and
the ``toy-ridge`` predictor through nars-plugin's hooks; the benchmark, the optimizer and the predictor
declare their settings (:mod:`nars_plugin.settings`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from nars_plugin import hookimpl
from nars_plugin.errors import ConfigError
from nars_plugin.optimizers import Optimizer, Proposal
from nars_plugin.predictors import Predictor
from nars_plugin.settings import setting
from nars_plugin.space import Candidate, Categorical, Integer, Space
from nars_plugin.tabular import TabularBenchmark

KERNELS = (3, 5, 7)

if os.environ.get("NARS_TOYPLUGIN_BREAK"):  # lets the tests see how a plugin that fails to load is reported
    raise ImportError("nars_toyplugin was told to fail (NARS_TOYPLUGIN_BREAK is set)")


# --8<-- [start:space]
class ToyGridSpace(Space):
    """Three blocks (kernel, width) and a learning-rate recipe on a grid; free statistic ``flops``."""

    def __init__(self, lr_grid: int = 6) -> None:
        arch = []
        for b in range(3):
            arch += [Categorical(f"k{b}", KERNELS), Integer(f"w{b}", 8, 32, step=8)]
        lrs = tuple(float(round(x, 5)) for x in np.geomspace(0.01, 0.4, int(lr_grid)))
        super().__init__("toy-grid", arch, [Categorical("lr", lrs)], description="toy plugin space")

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return ("flops",)

    def statistics(self, cands: list[Candidate]) -> dict[str, np.ndarray]:
        flops = [sum(c.arch[f"k{b}"] ** 2 * c.arch[f"w{b}"] for b in range(3)) for c in cands]
        return {"flops": np.asarray(flops, dtype=float)}


# --8<-- [end:space]


# --8<-- [start:benchmark]
def accuracy(cand: Candidate) -> float:
    """Synthetic: wider and 5x5 blocks help, and the learning rate is best near 0.1."""
    value = 70.0
    for b in range(3):
        width = cand.arch[f"w{b}"]
        value += {3: 1.0, 5: 2.5, 7: 1.5}[cand.arch[f"k{b}"]] + 0.15 * width - 0.002 * width**2
    return value - 6.0 * np.log(cand.recipe["lr"] / 0.1) ** 2


@dataclass(frozen=True)
class ToyGridSettings:
    """Options of the ``toy-grid`` benchmark."""

    lr_grid: int = setting(6, "learning rates on the grid", low=2)


def toy_grid_benchmark(lr_grid: int = 6) -> TabularBenchmark:
    """Every architecture x ``lr_grid`` learning rates, as a table."""
    space = ToyGridSpace(lr_grid)
    rows = space.enumerate()
    acc = np.array([accuracy(c) for c in rows])
    return TabularBenchmark("toy-grid", space, rows, {"acc": acc}, objective="acc", description="toy plugin table")


# --8<-- [end:benchmark]


# --8<-- [start:optimizer]
@dataclass(frozen=True)
class ToyWalkSettings:
    """Settings of the ``toy-walk`` optimizer."""

    steps: int = setting(1, "parameters changed per proposal", low=1)
    greedy: bool = setting(True, "mutate the best candidate so far (false: the latest one)")


class ToyWalk(Optimizer[ToyWalkSettings]):
    """A random walk: a random first candidate, then mutants of the best (or latest) one."""

    name = "toy-walk"

    def ask(self) -> Proposal:
        if not self.history:
            return Proposal(self.random_feasible(1)[0])
        best = self.best() if self.config.greedy else None
        parent = best[0] if best else self.history[-1][0].candidate
        return Proposal(self.space.mutate(parent, self.rng, self.config.steps))


# --8<-- [end:optimizer]


# --8<-- [start:predictor]
@dataclass(frozen=True)
class ToyRidgeSettings:
    """Settings of the ``toy-ridge`` predictor."""

    alpha: float = setting(1.0, "ridge penalty", low=0)
    members: int = setting(5, "bootstrap members (their spread is the uncertainty)", low=1)


class ToyRidge(Predictor[ToyRidgeSettings]):
    """Ridge regression on the space's encoding, bagged: the predictor contract in a few lines."""

    name = "toy-ridge"

    def __init__(self, space: Space, seed: int = 0, **settings) -> None:
        super().__init__(space, seed, **settings)
        self.weights: np.ndarray | None = None

    def fit(self, cands, y) -> ToyRidge:
        y = np.asarray(y, dtype=float)
        keep = np.isfinite(y)
        x = self._features([c for c, k in zip(cands, keep) if k])
        y = y[keep]
        rng = np.random.default_rng(self.seed)
        penalty = self.config.alpha * np.eye(x.shape[1])
        rows = [rng.integers(0, len(y), len(y)) for _ in range(self.config.members)]
        self.weights = np.stack([np.linalg.solve(x[r].T @ x[r] + penalty, x[r].T @ y[r]) for r in rows])
        return self

    def predict_mean_std(self, cands):
        if self.weights is None:
            raise ConfigError("toy-ridge has not been fitted", "call fit(candidates, values) first")
        members = self.weights @ self._features(cands).T
        return members.mean(axis=0), members.std(axis=0)

    def _features(self, cands) -> np.ndarray:
        x = self.space.encode(list(cands))
        return np.hstack([x, np.ones((len(x), 1))])  # the last column is the intercept


# --8<-- [end:predictor]


# --8<-- [start:hooks]
@hookimpl
def nars_register_spaces(registry) -> None:
    registry.add_space("toy-grid", ToyGridSpace, "toy plugin: 3 blocks (kernel, width) x learning rate")


@hookimpl
def nars_register_benchmarks(registry) -> None:
    registry.add_benchmark(
        "toy-grid", toy_grid_benchmark, "toy plugin: synthetic table over the toy-grid space", settings=ToyGridSettings
    )


@hookimpl
def nars_register_optimizers(registry) -> None:
    registry.add_optimizer("toy-walk", ToyWalk, "toy plugin: mutants of the best candidate so far")


@hookimpl
def nars_register_predictors(registry) -> None:
    registry.add_predictor("toy-ridge", ToyRidge, "toy plugin: bagged ridge regression on the encoding")


# --8<-- [end:hooks]
