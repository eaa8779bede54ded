"""Conformance suites for plugin authors (the way ``optuna.testing`` works).

Subclass a suite in your own tests and provide its fixture; pytest then runs every check on your
component::

    from nars_plugin.testing import SpaceConformance

    class TestMySpace(SpaceConformance):
        @pytest.fixture
        def space(self):
            return MySpace()

The fixtures each suite asks for (the suite's own raise until you provide them):

* :class:`SpaceConformance`: ``space`` (a :class:`~nars_plugin.space.Space`);
* :class:`BenchmarkConformance`: ``benchmark`` (an evaluator with a space and an objective,
  usually a :class:`~nars_plugin.tabular.base.TabularBenchmark`);
* :class:`PredictorConformance`: ``space`` and ``make_predictor`` (``seed -> predictor``, a
  :class:`~nars_plugin.predictors.Predictor` fitted on that space);
* :class:`OptimizerConformance`: ``benchmark`` (a small table keeps it quick) and ``optimizer``
  (a registered name or an :class:`~nars_plugin.optimizers.base.Optimizer` subclass), optionally
  ``settings`` (a dict, default none); every search is built with :func:`nars_plugin.create_study`;
* :class:`RunnerConformance`: ``evaluator``, ``optimizer`` (a registered optimizer with a ``runner``,
  such as the one-shot ``proxylessnas``) and ``constraint`` (one that binds), optionally ``settings``.

Every built-in component passes them: ``tests/test_conformance.py`` runs each suite over the
registry's names, so a new built-in is checked without an edit. A plugin's own use of them is
``examples/graph_space/tests/test_conformance.py``. Every failed check says what broke and which
member to fix. Needs pytest (``pip install 'nars-plugin[testing]'``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

try:
    import pytest
except ImportError as error:  # the suites are pytest classes: without pytest there is nothing to run
    raise ImportError(
        "nars_plugin.testing (the conformance suites) needs pytest: pip install 'nars-plugin[testing]'",
        name=error.name,
    ) from error

from .api import create_study
from .assembly import optimizer_runner
from .comparison.tasks import RunOutcome, RunTask
from .errors import NarsError
from .predictors import Predictor
from .space import Candidate, Space

__all__ = [
    "BenchmarkConformance",
    "OptimizerConformance",
    "PredictorConformance",
    "RunnerConformance",
    "SpaceConformance",
]


def _differences(a: Candidate, b: Candidate) -> int:
    count: int = sum(a.arch[k] != b.arch[k] for k in a.arch) + sum(a.recipe[k] != b.recipe[k] for k in a.recipe)
    return count


def _show(space: Space, cand: Candidate) -> str:
    try:
        return f"{space.format_arch(cand)} {dict(cand.recipe)}"
    except Exception:  # noqa: BLE001 - a broken format_arch must not hide the real failure
        return repr(cand)


class SpaceConformance:
    """Checks for a :class:`~nars_plugin.space.Space`; provide the ``space`` fixture.

    Every failure message names what broke and which member of the space to fix (the contract is
    in :class:`~nars_plugin.space.Space`'s docstring).
    """

    n_samples = 64
    #: Spaces up to this size are enumerated in full by the enumeration check.
    enumeration_limit = 20_000

    @pytest.fixture
    def space(self) -> Space:
        raise NotImplementedError("provide a `space` fixture returning your Space")

    def _assert_valid(self, space: Space, cands: list[Candidate], what: str, member: str) -> None:
        mask = space.valid_mask(cands)
        bad = [c for c, ok in zip(cands, mask) if not ok]
        assert not bad, f"{what} produced {len(bad)} invalid point(s), e.g. {_show(space, bad[0])}: fix {member}"
        per_item = [space.is_valid(c) for c in cands]
        assert list(mask) == per_item, "valid_mask disagrees with is_valid: override them consistently"

    def _assert_in_space(self, space: Space, cands: list[Candidate], what: str) -> None:
        for cand in cands:
            checked = space.validate(cand)
            assert space.canonical_key(checked) == space.canonical_key(cand), (
                f"validate changed which candidate {what} {_show(space, cand)} is: validate must only "
                "normalise values, keeping the candidate (its canonical form)"
            )

    def test_sampling_is_seeded_and_valid(self, space: Space) -> None:
        a = space.sample(self.n_samples, seed=3)
        assert len(a) == self.n_samples, (
            f"sample({self.n_samples}) gave {len(a)} candidates: is_valid rejects nearly every point"
        )
        assert [c.key for c in a] == [c.key for c in space.sample(self.n_samples, seed=3)], (
            "sample with one seed gave two different draws: take all randomness from the seed"
        )
        assert [c.key for c in a] != [c.key for c in space.sample(self.n_samples, seed=4)], (
            "sample gave the same draw for seeds 3 and 4: the seed is ignored"
        )
        randoms = space.sample(8, seed=1, method="random")
        self._assert_in_space(space, a + randoms, "the sample")
        self._assert_valid(space, a + randoms, "sample", "is_valid (or sample, if overridden)")

    def test_encoding_round_trip(self, space: Space) -> None:
        cands = space.sample(self.n_samples, seed=0)
        x = space.encode(cands)
        assert x.shape == (len(cands), space.dim), (
            f"encode gave shape {x.shape}, expected {(len(cands), space.dim)}: the encoding width must be dim"
        )
        assert space.dim == space.arch_dim + space.recipe_dim, "dim must be arch_dim + recipe_dim"
        assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1, "encode must give finite values in [0, 1]"
        decoded = [c.key for c in space.decode(x)]
        assert decoded == [c.key for c in cands], "decode(encode(c)) is not c: fix the parameters' encode/decode"

    def test_mutation_and_crossover_stay_in_the_space(self, space: Space) -> None:
        rng = np.random.default_rng(0)
        a, b = space.sample(2, seed=5)
        for n in (1, 2):
            child = space.mutate(a, rng, n)
            self._assert_in_space(space, [child], "the mutant")
            self._assert_valid(space, [child], "mutate", "is_valid (or mutate, if overridden)")
            changed = _differences(a, child)
            assert 1 <= changed <= n, f"mutate(n_changes={n}) changed {changed} parameters"
        child = space.crossover(a, b, rng)
        self._assert_in_space(space, [child], "the crossover child")
        self._assert_valid(space, [child], "crossover", "is_valid (or crossover, if overridden)")
        for name, value in {**child.arch, **child.recipe}.items():
            assert value in ({**a.arch, **a.recipe}[name], {**b.arch, **b.recipe}[name]), (
                f"crossover gave {name}={value!r}, which neither parent has"
            )

    def test_format_and_parse_arch_round_trip(self, space: Space) -> None:
        rng = np.random.default_rng(3)
        cands = space.sample(self.n_samples, seed=9)
        cands += [space.mutate(c, rng, 1) for c in cands[:16]]
        for cand in cands:
            text = space.format_arch(cand)
            assert isinstance(text, str) and text, (
                f"format_arch gave {text!r} for {dict(cand.arch)}: it must give the architecture as text"
            )
            try:
                parsed = space.parse_arch(text)
            except NarsError as exc:
                raise AssertionError(
                    f"parse_arch refused {text!r}, which format_arch wrote ({exc.message}): override "
                    "format_arch and parse_arch together, as inverses"
                ) from None
            back = space.validate(Candidate(dict(parsed), cand.recipe))
            assert back.key == space.validate(cand).key, (
                f"parse_arch(format_arch(c)) gave {dict(parsed)} for c.arch = {dict(cand.arch)} (text {text!r}): "
                "override format_arch and parse_arch together, as inverses"
            )

    def test_neighbours_differ_in_one_parameter(self, space: Space) -> None:
        cand = space.sample(1, seed=2)[0]
        hood = space.neighbours(cand, np.random.default_rng(0))
        assert hood, f"{_show(space, cand)} has no neighbours"
        assert all(_differences(cand, n) == 1 for n in hood), "a neighbour differs in more than one parameter"
        self._assert_valid(space, hood, "neighbours", "is_valid (or neighbours, if overridden)")

    def test_enumeration_is_valid(self, space: Space) -> None:
        if space.size is None or space.size > self.enumeration_limit:
            pytest.skip(f"the space is not finite or larger than {self.enumeration_limit}")
        every = space.enumerate()
        assert every, "enumerate gave no candidate: is_valid rejects every point"
        assert len({c.key for c in every}) == len(every), "enumerate listed a candidate twice"
        self._assert_valid(space, every, "enumerate", "is_valid")

    def test_canonical_forms(self, space: Space) -> None:
        cands = space.sample(self.n_samples, seed=7)
        rng = np.random.default_rng(1)
        cands += [space.mutate(c, rng, 1) for c in cands[:16]]
        for cand in cands:
            form = space.canonical(cand)
            shown = _show(space, cand)
            assert isinstance(form, Candidate), f"canonical({shown}) returned {type(form).__name__}, not a Candidate"
            assert space.canonical(form) == form, (
                f"canonical is not idempotent on {shown}: canonical(canonical(c)) must be canonical(c)"
            )
            assert space.validate(form) == form, (
                f"canonical({shown}) = {_show(space, form)} is not a normalised candidate of the space: "
                "canonical must return values exactly as validate gives them"
            )
            assert space.is_valid(form), f"canonical({shown}) is an invalid point: fix canonical or is_valid"
            stored = Candidate.from_dict(json.loads(json.dumps(form.to_dict())))
            assert space.canonical_key(stored) == form.key == space.canonical_key(cand), (
                f"the canonical key of {shown} changes through JSON (as journals store it): keep canonical "
                "forms to plain JSON values"
            )

    def test_statistics(self, space: Space) -> None:
        cands = space.sample(16, seed=0)
        stats = space.statistics(cands)
        assert tuple(stats) == tuple(space.statistic_names), (
            f"statistics() returned {list(stats)} but statistic_names is {list(space.statistic_names)}: "
            "override statistic_names to list exactly the keys statistics() returns, in its order"
        )
        for name, values in stats.items():
            assert np.shape(values) == (16,), f"statistic {name!r} has shape {np.shape(values)} for 16 candidates"
            assert np.isfinite(values).all(), f"statistic {name!r} has values that are not finite"
        forms = space.statistics([space.canonical(c) for c in cands])
        for name in stats:
            np.testing.assert_allclose(
                stats[name],
                forms[name],
                err_msg=f"statistic {name!r} differs between encodings of one candidate: compute it on the "
                "canonical form",
            )

    def test_an_impossible_constraint_is_a_clear_error(self, space: Space) -> None:
        if not space.statistic_names:
            pytest.skip("the space computes no statistic to constrain (statistic_names is empty)")
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
            assert result.ok, f"evaluating {cand} failed: {result.error}"
            value = result.objective(benchmark.objective)
            assert math.isfinite(value), f"the objective {benchmark.objective!r} of {cand} is {value}"
            assert result.cost >= 0, f"the cost of {cand} is negative ({result.cost})"

    def test_queries_are_repeatable(self, benchmark: Any) -> None:
        cand = self._some(benchmark, 1)[0]
        assert benchmark.evaluate(cand).metrics == benchmark.evaluate(cand).metrics, (
            f"two queries of {cand} gave different metrics: a benchmark must answer repeatably"
        )

    def test_encodings_of_one_candidate_answer_alike(self, benchmark: Any) -> None:
        space = benchmark.space
        pairs = [(c, space.canonical(c)) for c in self._some(benchmark, 32)]
        pairs = [(c, form) for c, form in pairs if form != c]
        if not pairs:
            pytest.skip("no sampled candidate has another canonical form (the space declares none)")
        for cand, form in pairs:
            assert benchmark.evaluate(form).metrics == benchmark.evaluate(cand).metrics, (
                f"{cand} and its canonical form {form} get different metrics; a study evaluates only the "
                "canonical form, so the benchmark (or the space's canonical) is wrong"
            )

    def test_partial_fidelity(self, benchmark: Any) -> None:
        if not getattr(benchmark, "max_fidelity", None):
            pytest.skip("the benchmark has no learning curves")
        cand = self._some(benchmark, 1)[0]
        result = benchmark.evaluate(cand, 1)
        assert result.ok, f"evaluating {cand} at fidelity 1 failed: {result.error}"
        assert result.curve and len(result.curve) == 1, f"fidelity 1 gave the curve {result.curve}, not one epoch"

    def test_config_is_json(self, benchmark: Any) -> None:
        config = benchmark.config()
        assert json.loads(json.dumps(config)) == config, f"config() is not plain JSON: {config!r}"


class PredictorConformance:
    """Checks for an accuracy predictor (:class:`~nars_plugin.predictors.Predictor`); provide ``space``
    and ``make_predictor`` (``seed -> predictor``)."""

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
        assert np.shape(a) == (len(test),), f"predict gave shape {np.shape(a)} for {len(test)} candidates"
        assert np.isfinite(a).all(), "predict gave values that are not finite"
        np.testing.assert_array_equal(a, b, err_msg="two predictors with one seed predict differently")

    def test_a_sequence_of_fits_replays_and_reset_starts_afresh(
        self, space: Space, make_predictor: Callable[[int], Any]
    ) -> None:
        cands, y = self._data(space)
        train, test, half = cands[: self.n_train], cands[self.n_train :], self.n_train // 2

        def refitted(reset: bool) -> np.ndarray:
            predictor = make_predictor(1).fit(train[:half], y[:half])
            if reset:
                predictor.reset()
            return np.asarray(predictor.fit(train, y[: self.n_train]).predict(test))

        np.testing.assert_array_equal(
            refitted(False), refitted(False), err_msg="the same sequence of fits must give the same predictions"
        )
        fresh = make_predictor(1).fit(train, y[: self.n_train]).predict(test)
        np.testing.assert_array_equal(
            refitted(True), fresh, err_msg="after reset() the next fit must equal a new predictor's fit"
        )

    def test_follows_the_predictor_contract(self, space: Space, make_predictor: Callable[[int], Any]) -> None:
        predictor = make_predictor(0)
        assert isinstance(predictor, Predictor), (
            f"{type(predictor).__name__} does not subclass nars_plugin.predictors.Predictor (its docstring "
            "says what to override)"
        )
        cands, y = self._data(space)
        fitted = predictor.fit(cands[: self.n_train], y[: self.n_train])
        assert fitted is predictor, "fit must return the predictor itself"
        test = cands[self.n_train :]
        mean, std = predictor.predict_mean_std(test)
        assert np.shape(mean) == np.shape(std) == (len(test),), (
            f"predict_mean_std gave shapes {np.shape(mean)} and {np.shape(std)} for {len(test)} candidates"
        )
        assert np.isfinite(std).all() and (np.asarray(std) >= 0).all(), "std must be finite and >= 0"
        np.testing.assert_allclose(
            predictor.predict(test), mean, err_msg="predict must be the mean of predict_mean_std", rtol=1e-12
        )
        assert isinstance(predictor.settings(), dict), "settings() must return a dict (journals store it)"

    def test_learns_something(self, space: Space, make_predictor: Callable[[int], Any]) -> None:
        from scipy.stats import kendalltau

        cands, y = self._data(space)
        pred = make_predictor(0).fit(cands[: self.n_train], y[: self.n_train]).predict(cands[self.n_train :])
        tau = kendalltau(pred, y[self.n_train :]).statistic
        assert tau > 0.3, f"Kendall tau {tau:.3f} on a target linear in the encoding (need > 0.3)"

    def test_predicting_before_fitting_is_a_clear_error(
        self, space: Space, make_predictor: Callable[[int], Any]
    ) -> None:
        with pytest.raises(NarsError):
            make_predictor(0).predict(space.sample(2, seed=0))


class OptimizerConformance:
    """Checks for an optimizer; provide the fixtures ``benchmark`` and ``optimizer`` (and ``settings``).

    ``optimizer`` is a registered name or an :class:`~nars_plugin.optimizers.base.Optimizer`
    subclass, ``settings`` its settings (default none); every search is built with
    :func:`nars_plugin.create_study`, as users build theirs.
    """

    budget = 15

    @pytest.fixture
    def benchmark(self) -> Any:
        raise NotImplementedError("provide a `benchmark` fixture (a small table keeps this quick)")

    @pytest.fixture
    def optimizer(self) -> Any:
        raise NotImplementedError("provide an `optimizer` fixture: a registered name or an Optimizer subclass")

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return {}

    def _study(
        self, benchmark: Any, optimizer: Any, settings: dict[str, Any], seed: int, constraints: Sequence[str] = ()
    ) -> Any:
        return create_study(
            benchmark,
            optimizer,
            budget=self.budget,
            seed=seed,
            constraints=list(constraints),
            settings=settings,
            progress=False,
        )

    def _run(
        self, benchmark: Any, optimizer: Any, settings: dict[str, Any], seed: int, constraints: Sequence[str] = ()
    ) -> Any:
        study = self._study(benchmark, optimizer, settings, seed, constraints)
        study.optimize()
        return study.optimizer

    def test_budget_spent_without_repeats(self, benchmark: Any, optimizer: Any, settings: dict[str, Any]) -> None:
        opt = self._run(benchmark, optimizer, settings, 0)
        space = benchmark.space
        keys = [space.canonical_key(p.candidate) for p, _ in opt.history]
        assert len(keys) == self.budget, f"the optimizer was told {len(keys)} results for a budget of {self.budget}"
        assert len(set(keys)) == self.budget, (
            f"{self.budget - len(set(keys))} of {self.budget} proposals repeated a candidate (by canonical form): "
            "exclude what was evaluated or asked, keyed by space.canonical_key"
        )
        cands = [p.candidate for p, _ in opt.history]
        assert space.valid_mask(cands).all(), "the optimizer proposed invalid points: filter with self.feasible"

    def test_same_seed_same_search(self, benchmark: Any, optimizer: Any, settings: dict[str, Any]) -> None:
        def keys(seed: int) -> list[str]:
            return [p.candidate.key for p, _ in self._run(benchmark, optimizer, settings, seed).history]

        assert keys(4) == keys(4), "one seed gave two searches: take all randomness from self.rng"

    def test_constraints_hold(self, benchmark: Any, optimizer: Any, settings: dict[str, Any]) -> None:
        space = benchmark.space
        if not space.statistic_names:
            pytest.skip("the space computes no statistic to constrain")
        name = space.statistic_names[0]
        values = space.statistics(getattr(benchmark, "rows", None) or space.sample(256, seed=0))[name]
        limit = float(np.quantile(values, 0.5))
        opt = self._run(benchmark, optimizer, settings, 0, [f"{name} <= {limit!r}"])
        cands = [p.candidate for p, _ in opt.history]
        values = space.statistics(cands)[name]
        assert (values <= limit).all(), (
            f"{int((values > limit).sum())} proposals break '{name} <= {limit!r}': filter with self.feasible"
        )

    def test_settings_are_json(self, benchmark: Any, optimizer: Any, settings: dict[str, Any]) -> None:
        identity = self._study(benchmark, optimizer, settings, 0).optimizer.settings()
        assert json.loads(json.dumps(identity)) == identity, f"settings() is not plain JSON: {identity!r}"


class RunnerConformance:
    """Checks for an optimizer that runs its own loop (a ``runner``, e.g. a one-shot search): provide the
    fixtures ``evaluator`` (the target it runs on), ``optimizer`` (its registered name) and
    ``constraint`` (one constraint that binds on that target's space), optionally ``settings``.

    Each run goes through the runner exactly as ``nars compare`` calls it, with a seconds budget of
    :attr:`budget_seconds`, in a fresh folder of pytest's ``tmp_path``.
    """

    budget_seconds = 60.0

    @pytest.fixture
    def evaluator(self) -> Any:
        raise NotImplementedError("provide an `evaluator` fixture: the target the runner runs on")

    @pytest.fixture
    def optimizer(self) -> str:
        raise NotImplementedError("provide an `optimizer` fixture: the registered name of a runner optimizer")

    @pytest.fixture
    def constraint(self) -> str:
        raise NotImplementedError("provide a `constraint` fixture: one that binds, e.g. 'latency[pixel3] <= 4.4'")

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return {}

    def _run(
        self, evaluator: Any, optimizer: str, settings: dict[str, Any], seed: int, constraint: str, out: Any
    ) -> Any:
        runner = optimizer_runner(optimizer)
        assert runner is not None, f"optimizer {optimizer!r} has no runner: use OptimizerConformance"
        task = RunTask(
            benchmark="train",
            bench_options={},
            optimizer=optimizer,
            label=optimizer,
            settings=settings,
            seed=seed,
            budget=None,
            budget_seconds=self.budget_seconds,
            constraints=(constraint,),
            out=str(out),
        )
        return RunOutcome.from_runner(task, runner(evaluator, task))

    def test_same_seed_same_result(
        self, evaluator: Any, optimizer: str, settings: dict[str, Any], constraint: str, tmp_path: Any
    ) -> None:
        a = self._run(evaluator, optimizer, settings, 3, constraint, tmp_path / "a")
        b = self._run(evaluator, optimizer, settings, 3, constraint, tmp_path / "b")
        assert a.best["candidate"] == b.best["candidate"], "one seed gave two architectures: seed every draw"
        scores = [json.dumps([o.best.get("objective"), o.best.get("report")]) for o in (a, b)]
        assert scores[0] == scores[1], f"one seed, one architecture, two scores {scores}: seed the training"

    def test_constraint_holds(
        self, evaluator: Any, optimizer: str, settings: dict[str, Any], constraint: str, tmp_path: Any
    ) -> None:
        outcome = self._run(evaluator, optimizer, settings, 0, constraint, tmp_path)
        cand = evaluator.space.validate(Candidate.from_dict(outcome.best["candidate"]))
        assert evaluator.space.feasible([cand], [constraint])[0], f"the architecture found breaks {constraint!r}"

    def test_journaled_and_resumed(
        self, evaluator: Any, optimizer: str, settings: dict[str, Any], constraint: str, tmp_path: Any
    ) -> None:
        first = self._run(evaluator, optimizer, settings, 1, constraint, tmp_path)
        assert first.evaluated_now >= 1 and any(tmp_path.iterdir()), "the run left nothing in its folder"
        again = self._run(evaluator, optimizer, settings, 1, constraint, tmp_path)
        assert again.evaluated_now == 0, "a second run of a finished run evaluated again: reuse its record"
        same = json.dumps([first.best, first.curve], sort_keys=True) == json.dumps(
            [again.best, again.curve], sort_keys=True
        )
        assert same, "the resumed run answered another result than the run it read back"
