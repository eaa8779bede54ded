"""Conformance suites for plugin authors (the way ``optuna.testing`` works).

Subclass a suite in your own tests and provide its fixture; pytest then runs every check on your
component::

    from nars_plugin.testing import SpaceConformance

    class TestMySpace(SpaceConformance):
        @pytest.fixture
        def space(self):
            return MySpace()

Suites: :class:`SpaceConformance` (fixture ``space``), :class:`BenchmarkConformance` (``benchmark``),
:class:`PredictorConformance` (``space`` and ``make_predictor(seed)``) and
:class:`OptimizerConformance` (``benchmark`` and ``make_optimizer(space, objective, seed, budget,
constraints)``). Every built-in component passes them (``tests/test_conformance.py``). Needs pytest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from .errors import NarsError
from .optimizers.base import Budget
from .space import Candidate, Space
from .study import Study

__all__ = ["BenchmarkConformance", "OptimizerConformance", "PredictorConformance", "SpaceConformance"]


def _differences(a: Candidate, b: Candidate) -> int:
    return sum(a.arch[k] != b.arch[k] for k in a.arch) + sum(a.recipe[k] != b.recipe[k] for k in a.recipe)


class SpaceConformance:
    """Checks for a :class:`~nars_plugin.space.Space`; provide the ``space`` fixture."""

    n_samples = 64

    @pytest.fixture
    def space(self) -> Space:
        raise NotImplementedError("provide a `space` fixture returning your Space")

    def test_sampling_is_seeded_and_valid(self, space: Space) -> None:
        a = space.sample(self.n_samples, seed=3)
        assert [c.key for c in a] == [c.key for c in space.sample(self.n_samples, seed=3)]
        assert [c.key for c in a] != [c.key for c in space.sample(self.n_samples, seed=4)]
        for cand in a + space.sample(8, seed=1, method="random"):
            assert space.validate(cand) == cand

    def test_encoding_round_trip(self, space: Space) -> None:
        cands = space.sample(self.n_samples, seed=0)
        x = space.encode(cands)
        assert x.shape == (len(cands), space.dim) and space.dim == space.arch_dim + space.recipe_dim
        assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
        assert [c.key for c in space.decode(x)] == [c.key for c in cands]

    def test_mutation_and_crossover_stay_in_the_space(self, space: Space) -> None:
        rng = np.random.default_rng(0)
        a, b = space.sample(2, seed=5)
        for n in (1, 2):
            child = space.mutate(a, rng, n)
            assert space.validate(child) == child and 1 <= _differences(a, child) <= n
        child = space.crossover(a, b, rng)
        assert space.validate(child) == child
        for name, value in {**child.arch, **child.recipe}.items():
            assert value in ({**a.arch, **a.recipe}[name], {**b.arch, **b.recipe}[name])

    def test_neighbours_differ_in_one_parameter(self, space: Space) -> None:
        cand = space.sample(1, seed=2)[0]
        hood = space.neighbours(cand, np.random.default_rng(0))
        assert hood and all(_differences(cand, n) == 1 for n in hood)

    def test_statistics(self, space: Space) -> None:
        cands = space.sample(16, seed=0)
        stats = space.statistics(cands)
        assert tuple(stats) == tuple(space.statistic_names)
        for name, values in stats.items():
            assert np.shape(values) == (16,) and np.isfinite(values).all(), name

    def test_an_impossible_constraint_is_a_clear_error(self, space: Space) -> None:
        if not space.statistic_names:
            pytest.skip("the space computes no statistic to constrain")
        name = space.statistic_names[0]
        with pytest.raises(NarsError, match=name):
            space.check_satisfiable([f"{name} <= -1e30"])


class BenchmarkConformance:
    """Checks for a benchmark (an evaluator with a space); provide the ``benchmark`` fixture."""

    @pytest.fixture
    def benchmark(self) -> Any:
        raise NotImplementedError("provide a `benchmark` fixture returning your benchmark")

    def _some(self, benchmark: Any, n: int = 8) -> list[Candidate]:
        rows = getattr(benchmark, "rows", None)
        return list(rows[:: max(1, len(rows) // n)][:n]) if rows else benchmark.space.sample(n, seed=0)

    def test_queries_give_finite_objectives_and_costs(self, benchmark: Any) -> None:
        for cand in self._some(benchmark):
            result = benchmark.evaluate(cand)
            assert result.ok, result.error
            assert math.isfinite(result.objective(benchmark.objective))
            assert result.cost >= 0

    def test_queries_are_repeatable(self, benchmark: Any) -> None:
        cand = self._some(benchmark, 1)[0]
        assert benchmark.evaluate(cand).metrics == benchmark.evaluate(cand).metrics

    def test_partial_fidelity(self, benchmark: Any) -> None:
        if not getattr(benchmark, "max_fidelity", None):
            pytest.skip("the benchmark has no learning curves")
        cand = self._some(benchmark, 1)[0]
        result = benchmark.evaluate(cand, 1)
        assert result.ok and result.curve and len(result.curve) == 1

    def test_config_is_json(self, benchmark: Any) -> None:
        config = benchmark.config()
        assert json.loads(json.dumps(config)) == config


class PredictorConformance:
    """Checks for an accuracy predictor; provide ``space`` and ``make_predictor`` (``seed -> predictor``)."""

    n_train = 40

    @pytest.fixture
    def space(self) -> Space:
        raise NotImplementedError("provide a `space` fixture")

    @pytest.fixture
    def make_predictor(self) -> Callable[[int], Any]:
        raise NotImplementedError("provide a `make_predictor` fixture: seed -> predictor")

    def _data(self, space: Space) -> tuple[list[Candidate], np.ndarray]:
        cands = space.sample(self.n_train + 20, seed=11)
        x = space.encode(cands)
        weights = np.random.default_rng(0).normal(size=x.shape[1])
        return cands, x @ weights  # a target the encoding can explain

    def test_fit_predict_shapes_and_determinism(self, space: Space, make_predictor: Callable[[int], Any]) -> None:
        cands, y = self._data(space)
        train, test = cands[: self.n_train], cands[self.n_train :]
        a = make_predictor(1).fit(train, y[: self.n_train]).predict(test)
        b = make_predictor(1).fit(train, y[: self.n_train]).predict(test)
        assert np.shape(a) == (len(test),) and np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)

    def test_learns_something(self, space: Space, make_predictor: Callable[[int], Any]) -> None:
        from scipy.stats import kendalltau

        cands, y = self._data(space)
        pred = make_predictor(0).fit(cands[: self.n_train], y[: self.n_train]).predict(cands[self.n_train :])
        assert kendalltau(pred, y[self.n_train :]).statistic > 0.3

    def test_predicting_before_fitting_is_a_clear_error(self, space: Space, make_predictor: Callable) -> None:
        with pytest.raises(NarsError):
            make_predictor(0).predict(space.sample(2, seed=0))


class OptimizerConformance:
    """Checks for an optimizer; provide ``benchmark`` and ``make_optimizer``.

    ``make_optimizer(space, objective, seed, budget, constraints)`` returns the optimizer.
    """

    budget = 15

    @pytest.fixture
    def benchmark(self) -> Any:
        raise NotImplementedError("provide a `benchmark` fixture (a small table keeps this quick)")

    @pytest.fixture
    def make_optimizer(self) -> Callable[..., Any]:
        raise NotImplementedError("provide a `make_optimizer` fixture")

    def _run(self, benchmark: Any, make_optimizer: Callable[..., Any], seed: int, constraints=()) -> Any:
        budget = Budget(queries=self.budget)
        opt = make_optimizer(benchmark.space, benchmark.objective, seed, budget, list(constraints))
        Study(benchmark, opt, budget, progress=False).run()
        return opt

    def test_budget_spent_without_repeats(self, benchmark: Any, make_optimizer: Callable[..., Any]) -> None:
        opt = self._run(benchmark, make_optimizer, 0)
        keys = [p.candidate.key for p, _ in opt.history]
        assert len(keys) == self.budget and len(set(keys)) == self.budget

    def test_same_seed_same_search(self, benchmark: Any, make_optimizer: Callable[..., Any]) -> None:
        def keys(seed: int) -> list[str]:
            return [p.candidate.key for p, _ in self._run(benchmark, make_optimizer, seed).history]

        assert keys(4) == keys(4)

    def test_constraints_hold(self, benchmark: Any, make_optimizer: Callable[..., Any]) -> None:
        space = benchmark.space
        if not space.statistic_names:
            pytest.skip("the space computes no statistic to constrain")
        name = space.statistic_names[0]
        values = space.statistics(getattr(benchmark, "rows", None) or space.sample(256, seed=0))[name]
        limit = float(np.quantile(values, 0.5))
        opt = self._run(benchmark, make_optimizer, 0, [f"{name} <= {limit!r}"])
        cands = [p.candidate for p, _ in opt.history]
        assert (space.statistics(cands)[name] <= limit).all()

    def test_settings_are_json(self, benchmark: Any, make_optimizer: Callable[..., Any]) -> None:
        opt = make_optimizer(benchmark.space, benchmark.objective, 0, Budget(queries=self.budget), [])
        settings = opt.settings()
        assert json.loads(json.dumps(settings)) == settings
