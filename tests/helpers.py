"""Helpers shared by several test modules: a toy joint space and benchmark, and running optimizers on it.

The toy benchmark is a :class:`TabularBenchmark` over every candidate of a joint space of five 4-way
architecture choices and an epochs recipe (3,072 candidates), with a synthetic objective and a free
"flops" statistic for constraints. Test modules import from here (never from another test module).
"""

from __future__ import annotations

import numpy as np

from nars_plugin.api import create_study
from nars_plugin.budget import Budget
from nars_plugin.plugins import get_registry
from nars_plugin.settings import RunContext
from nars_plugin.space import Categorical, Space
from nars_plugin.tabular.base import TabularBenchmark

OPS = ("a", "b", "c", "d")
EPOCHS = (12, 50, 200)
# a small, quick predictor for BANANAS: these tests check behaviour, not predictor quality
_SMALL_PREDICTOR = {"n_models": 3, "hidden": 32, "embed": 16, "head_steps": 20, "finetune_steps": 20}
#: Settings that make the model-based optimizers quick on the toy benchmark.
FAST = {
    "bananas": {"predictor": _SMALL_PREDICTOR},
    "nars": {"predictor": {**_SMALL_PREDICTOR, "pretrain_samples": 512, "pretrain_epochs": 5}},
}
#: Smaller still, for tests of the optimizer contract (budget, seeds, constraints, resume) where what
#: the predictor learns does not matter: a 15-query search takes a fifth of FAST's CPU time or less.
QUICK = {
    "bananas": {"predictor": {"n_models": 2, "hidden": 16, "embed": 8, "head_steps": 10, "finetune_steps": 10}},
    "nars": {
        "predictor": {
            "n_models": 1,
            "hidden": 32,
            "embed": 16,
            "pretrain_samples": 256,
            "pretrain_epochs": 2,
            "head_steps": 20,
            "finetune_steps": 20,
        }
    },
}


class ToySpace(Space):
    """Five 4-way architecture choices and an epochs recipe; flops = sum of op indices + epochs index."""

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return ("flops",)

    def statistics(self, cands):
        flops = [sum(OPS.index(c.arch[f"e{i}"]) for i in range(5)) + EPOCHS.index(c.recipe["epochs"]) for c in cands]
        return {"flops": np.asarray(flops, dtype=float)}


def toy_space() -> ToySpace:
    """The toy joint space."""
    return ToySpace("toy", [Categorical(f"e{i}", OPS) for i in range(5)], [Categorical("epochs", EPOCHS)])


def toy_bench(separable: bool = False) -> TabularBenchmark:
    """All 3,072 candidates; the objective is additive per parameter (plus interactions unless ``separable``)."""
    space = toy_space()
    rows = space.enumerate()
    rng = np.random.default_rng(1234)
    weights = {p.name: rng.normal(0, 1, p.cardinality) for p in space.params}
    acc = np.array([sum(weights[p.name][p.index({**c.arch, **c.recipe}[p.name])] for p in space.params) for c in rows])
    if not separable:
        pair = rng.normal(0, 0.7, (len(OPS), len(OPS)))
        acc += np.array([pair[OPS.index(c.arch["e0"]), OPS.index(c.arch["e3"])] for c in rows])
    return TabularBenchmark("toy", space, rows, {"acc": 90 + acc}, objective="acc")


def make(name: str, bench: TabularBenchmark, seed: int = 0, budget: int = 40, **settings):
    """The registered optimizer ``name`` on ``bench``, with :data:`FAST` settings unless overridden."""
    own = {k: v for k, v in settings.items() if k in RunContext.names()}  # constraints=, max_fidelity=, ...
    kwargs = {**FAST.get(name, {}), **{k: v for k, v in settings.items() if k not in own}}
    context = RunContext(objective=bench.objective, seed=seed, budget=Budget(queries=budget), **own)
    return get_registry().create_optimizer(name, bench.space, context, kwargs)


def run(name: str, bench: TabularBenchmark, seed: int = 0, budget: int = 40, out=None, **settings):
    """Run a study of ``budget`` queries with :func:`make`'s optimizer; return ``(optimizer, result)``."""
    arguments = {k: settings.pop(k) for k in ("constraints", "fixed_recipe") if k in settings}
    settings = {**FAST.get(name, {}), **settings}
    study = create_study(
        bench, name, budget=budget, seed=seed, storage=out, settings=settings, progress=False, **arguments
    )
    return study.optimizer, study.optimize()


def keys(opt) -> list[str]:
    """The candidate keys an optimizer was told about, in order."""
    return [p.candidate.key for p, _ in opt.history]
