"""Registers the ``toy-grid`` space and the ``toy-grid`` tabular benchmark through nars-plugin's hooks."""

from __future__ import annotations

import os

import numpy as np

from nars_plugin import hookimpl
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


def toy_grid_benchmark(lr_grid: int = 6) -> TabularBenchmark:
    """Every architecture x ``lr_grid`` learning rates, as a table."""
    space = ToyGridSpace(lr_grid)
    rows = space.enumerate()
    acc = np.array([accuracy(c) for c in rows])
    return TabularBenchmark("toy-grid", space, rows, {"acc": acc}, objective="acc", description="toy plugin table")


@hookimpl
def nars_register_spaces(registry) -> None:
    registry.add_space("toy-grid", ToyGridSpace, "toy plugin: 3 blocks (kernel, width) x learning rate")


@hookimpl
def nars_register_benchmarks(registry) -> None:
    registry.add_benchmark("toy-grid", toy_grid_benchmark, "toy plugin: synthetic table over the toy-grid space")
