"""Registers the ``toy-grid`` space, the ``toy-grid`` tabular benchmark and the ``toy-walk`` optimizer
through nars-plugin's hooks; the benchmark and the optimizer declare their settings
(:mod:`nars_plugin.settings`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from nars_plugin import hookimpl
from nars_plugin.optimizers.base import Optimizer, Proposal
from nars_plugin.settings import setting
from nars_plugin.space import Candidate, Categorical, Integer, Space
from nars_plugin.tabular.base import TabularBenchmark

KERNELS = (3, 5, 7)

if os.environ.get("NARS_TOYPLUGIN_BREAK"):  # lets the tests see how a plugin that fails to load is reported
    raise ImportError("nars_toyplugin was told to fail (NARS_TOYPLUGIN_BREAK is set)")


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


@dataclass(frozen=True)
class ToyWalkSettings:
    """Settings of the ``toy-walk`` optimizer."""

    steps: int = setting(1, "parameters changed per proposal", low=1)
    greedy: bool = setting(True, "mutate the best candidate so far (false: the latest one)")


class ToyWalk(Optimizer):
    """A random walk: a random first candidate, then mutants of the best (or latest) one."""

    name = "toy-walk"
    Settings = ToyWalkSettings
    steps: int
    greedy: bool

    def ask(self) -> Proposal:
        if not self.history:
            return Proposal(self.random_feasible(1)[0])
        best = self.best() if self.greedy else None
        parent = best[0] if best else self.history[-1][0].candidate
        return Proposal(self.space.mutate(parent, self.rng, self.steps))


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
