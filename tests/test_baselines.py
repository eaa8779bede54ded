"""The baseline optimizers (regularized evolution, local search, BANANAS), and NARS on the same checks.

Most tests use a small in-test tabular benchmark (a joint space of five
categorical architecture parameters and one recipe parameter, with a synthetic
objective and a free "flops" statistic for constraints); the NB201 tests run on
the 200-epoch CIFAR-10 table when it is present under ``$NARS_DATA_DIR``
(default ``<repo>/../shared/data``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import QUICK, keys, make, run, toy_bench, toy_space

from nars_plugin.budget import Budget
from nars_plugin.errors import ConfigError
from nars_plugin.optimizers import RandomSearch
from nars_plugin.optimizers.bananas import Bananas
from nars_plugin.optimizers.evolution import RegularizedEvolution
from nars_plugin.optimizers.local_search import LocalSearch
from nars_plugin.optimizers.nars import NARS
from nars_plugin.optimizers.optuna_tpe import OptunaTPE
from nars_plugin.plugins import get_registry
from nars_plugin.settings import RunContext
from nars_plugin.space import Candidate, Categorical, Space
from nars_plugin.study import Study
from nars_plugin.tabular.base import TabularBenchmark

CLASSES = {"rea": RegularizedEvolution, "ls": LocalSearch, "bananas": Bananas, "nars": NARS, "optuna-tpe": OptunaTPE}
# BANANAS refits its ensemble after every query: its full studies here are slow tests (the conformance
# suite in test_conformance.py checks the same contract on it, quickly, in the default run)
NAMES_SLOW_BANANAS = [pytest.param(n, marks=pytest.mark.slow) if n == "bananas" else n for n in sorted(CLASSES)]
FLOPS_LIMIT = "flops <= 7"

DATA_DIR = Path(os.environ.get("NARS_DATA_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
NB201_CSV = DATA_DIR / "nb201" / "cifar10_test_acc_200ep.csv"


def run_quick(name: str, bench: TabularBenchmark, **kwargs):
    """:func:`helpers.run` with the quick predictor: for the generic checks, where its quality does not matter."""
    return run(name, bench, **QUICK.get(name, {}), **kwargs)


def n_diff(a: Candidate, b: Candidate) -> int:
    """How many parameters differ between two candidates."""
    return sum(a.arch[k] != b.arch[k] for k in a.arch) + sum(a.recipe[k] != b.recipe[k] for k in a.recipe)


def manual(opt, bench, n: int, before=None, after=None) -> None:
    """Drive ask/tell by hand (to look at the optimizer between the two)."""
    for i in range(n):
        proposal = opt.ask()
        if after is not None:
            after(i, proposal)
        opt.tell(proposal, bench.evaluate(proposal.candidate))


# --------------------------------------------------------------------------- #
# all three
# --------------------------------------------------------------------------- #


def test_registered():
    registry = get_registry()
    for name, cls in CLASSES.items():
        assert registry.get("optimizer", name).description
        opt = registry.create_optimizer(name, toy_space(), RunContext(objective="acc"))
        assert isinstance(opt, cls) and opt.name == name


@pytest.mark.parametrize("name", NAMES_SLOW_BANANAS)
def test_full_study_respects_constraints(name):
    bench = toy_bench()
    opt, result = run_quick(name, bench, budget=40, constraints=[FLOPS_LIMIT])
    assert result.n_evaluations == 40
    cands = [p.candidate for p, _ in opt.history]
    assert len(set(keys(opt))) == 40, "an evaluated candidate was proposed again"
    assert bench.space.feasible(cands, [FLOPS_LIMIT]).all()
    feasible = bench.values()[bench.space.feasible(bench.rows, [FLOPS_LIMIT])]
    assert result.best_result.metrics["acc"] > np.median(feasible)
    settings = opt.settings()
    assert settings and all(not callable(v) for v in settings.values())


@pytest.mark.parametrize("name", NAMES_SLOW_BANANAS)
def test_same_seed_same_trajectory(name):
    bench = toy_bench()
    a, _ = run_quick(name, bench, seed=7, budget=25)
    b, _ = run_quick(name, bench, seed=7, budget=25)
    c, _ = run_quick(name, bench, seed=8, budget=25)
    assert keys(a) == keys(b)
    assert keys(a) != keys(c)


@pytest.mark.parametrize("name", NAMES_SLOW_BANANAS)
def test_resume_matches_uninterrupted(name, tmp_path):
    """Resuming with a grown budget continues the search (NARS, which plans for its budget, is in test_nars)."""
    if name == "nars":
        pytest.skip("NARS lays its rounds out for the budget: see test_nars.py::test_resume_*")
    bench = toy_bench()
    first, r1 = run_quick(name, bench, seed=3, budget=14, out=tmp_path / "resumed")
    assert r1.evaluated_now == 14
    resumed, r2 = run_quick(name, bench, seed=3, budget=28, out=tmp_path / "resumed")
    assert (r2.replayed, r2.evaluated_now) == (14, 14)
    whole, r3 = run_quick(name, bench, seed=3, budget=28, out=tmp_path / "whole")
    assert keys(resumed) == keys(whole)
    assert keys(first) == keys(whole)[:14]
    assert [p.best_objective for p in r2.trajectory] == [p.best_objective for p in r3.trajectory]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_fixed_recipe_search(name):
    bench = toy_bench()
    opt, _ = run_quick(name, bench, budget=20, fixed_recipe={"epochs": 50})
    assert {p.candidate.recipe["epochs"] for p, _ in opt.history} == {50}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_exhausting_a_tiny_space_stops(name, monkeypatch):
    """When every feasible candidate is evaluated the study ends on repeats, not an error."""
    space = Space("tiny", [Categorical("x", (0, 1, 2))], [Categorical("y", ("p", "q"))])
    rows = space.enumerate()
    bench = TabularBenchmark("tiny", space, rows, {"acc": np.arange(len(rows), dtype=float)}, objective="acc")
    small = {"rea": {"population": 2, "tournament": 2}, "nars": {"init_batch": 2}, "optuna-tpe": {"max_tries": 5}}.get(
        name, {"init": 2}
    )
    opt = make(name, bench, budget=10, **QUICK.get(name, {}), **small)
    monkeypatch.setattr("nars_plugin.study.MAX_REPEATED_PROPOSALS", 20)
    with pytest.warns(UserWarning, match="proposed only evaluated"):
        result = Study(bench, opt, Budget(queries=10), progress=False).run()
    assert result.n_evaluations == 6
    assert result.best_result.metrics["acc"] == 5


# --------------------------------------------------------------------------- #
# regularized evolution
# --------------------------------------------------------------------------- #


def test_rea_defaults_and_settings():
    bench = toy_bench()
    opt = RegularizedEvolution(bench.space, objective="acc")
    assert opt.settings() == {
        "population": 10,
        "tournament": 3,
        "recipe_mutation_prob": "auto",  # what was set; the optimizer resolves it to 0.5 on this space
        "max_tries": 100,
        "tournament_replace": False,
        "repeats": "redraw",
    }
    assert opt.recipe_mutation_prob == 0.5
    fixed = RegularizedEvolution(bench.space, objective="acc", fixed_recipe={"epochs": 200})
    assert fixed.recipe_mutation_prob == 0.0
    arch_only = RegularizedEvolution(bench.space.with_recipe([]), objective="acc")
    assert arch_only.recipe_mutation_prob == 0.0
    with pytest.raises(ConfigError):
        RegularizedEvolution(bench.space, objective="acc", population=3, tournament=4)
    with pytest.raises(ConfigError):
        RegularizedEvolution(bench.space, objective="acc", recipe_mutation_prob=1.5)
    with pytest.raises(ConfigError, match="repeats=redraw or repeats=evaluate"):
        RegularizedEvolution(bench.space, objective="acc", repeats="cache")


def test_rea_eleventh_proposal_mutates_an_initial_member():
    bench = toy_bench()
    for seed in range(5):
        opt, _ = run("rea", bench, seed=seed, budget=11)
        initial = [p.candidate for p, _ in opt.history[:10]]
        eleventh = opt.history[10][0].candidate
        assert eleventh.key not in {c.key for c in initial}
        assert any(n_diff(eleventh, c) == 1 for c in initial)


def test_rea_tournament_and_aging():
    """With tournament == population the parent is always the best member; the oldest member leaves."""
    bench = toy_bench()
    opt = make("rea", bench, seed=1, population=10, tournament=10)
    told: list[tuple[Candidate, float]] = []
    parents = []

    def check(i, proposal):
        if i >= 10:
            members = opt.members
            assert [c.key for c, _ in members] == [c.key for c, _ in told[-10:]]  # aging: the 10 youngest
            best = max(members, key=lambda m: m[1])[0]
            assert opt.last_parent == best
            assert n_diff(proposal.candidate, best) == 1
            parents.append(opt.last_parent)
        else:
            assert opt.last_parent is None  # the initial population is random
        told.append((proposal.candidate, bench.evaluate(proposal.candidate).objective("acc")))

    manual(opt, bench, 40, after=check)
    assert len(parents) == 30


@pytest.mark.parametrize("prob, part", [(0.0, "arch"), (1.0, "recipe")])
def test_rea_recipe_mutation(prob, part):
    bench = toy_bench()
    opt = make("rea", bench, seed=2, recipe_mutation_prob=prob)

    def check(i, proposal):
        if opt.last_parent is not None:
            child, parent = proposal.candidate, opt.last_parent
            changed_arch = sum(child.arch[k] != parent.arch[k] for k in child.arch)
            changed_recipe = sum(child.recipe[k] != parent.recipe[k] for k in child.recipe)
            assert (changed_arch, changed_recipe) == ((1, 0) if part == "arch" else (0, 1))

    manual(opt, bench, 30, after=check)


@pytest.mark.parametrize("replace", [False, True])
def test_rea_tournament_of_three_picks_best_of_sample(replace):
    """Reproduce the tournament from a copy of the generator: the parent is the best of the 3 drawn
    (without replacement by default; with it under ``tournament_replace``, as in the NB201 code)."""
    bench = toy_bench()
    opt = make("rea", bench, seed=5, tournament_replace=str(replace).lower())
    manual(opt, bench, 10)
    import copy

    rng = copy.deepcopy(opt.rng)
    members = opt.members
    picks = rng.choice(10, size=3, replace=replace)
    expected = max((members[int(i)] for i in picks), key=lambda m: m[1])[0]
    opt.ask()
    assert opt.last_parent == expected


def test_rea_repeats_evaluate_pays_for_a_repeat_and_keeps_it_in_the_population():
    """The NB201 reference code's REA: a repeated mutant is queried again, costs again, joins the population."""
    space = toy_space().with_recipe([])
    rows = space.enumerate()
    bench = TabularBenchmark(
        "tiny", space, rows, {"acc": np.arange(len(rows), dtype=float)}, objective="acc", cost=np.ones(len(rows))
    )
    budget = Budget(queries=300)

    def study(**settings):
        opt = get_registry().create_optimizer(
            "rea", space, RunContext(objective="acc", seed=3, budget=budget), settings
        )
        return opt, Study(bench, opt, budget, progress=False).run()

    opt, result = study(tournament_replace=True, repeats="evaluate")
    asked = [p.candidate.key for p, _ in opt.history]
    assert len(asked) > len(set(asked)), "a greedy REA on a small space should repeat candidates"
    assert result.n_evaluations == len(asked) == 300 and result.total_cost == 300.0  # every repeat paid for
    assert all(p.reevaluate for p, _ in opt.history)  # every proposal asks to be evaluated again
    assert len(opt.members) == 10
    default, default_result = study()
    assert len({p.candidate.key for p, _ in default.history}) == default_result.n_evaluations  # never a repeat


def test_rea_reference_mode_resumes_from_its_journal(tmp_path):
    bench = toy_bench()
    settings = {"tournament_replace": True, "repeats": "evaluate"}
    first, _ = run("rea", bench, seed=4, budget=20, out=tmp_path / "a", **settings)
    resumed, r2 = run("rea", bench, seed=4, budget=60, out=tmp_path / "a", **settings)
    whole, _ = run("rea", bench, seed=4, budget=60, **settings)
    assert keys(resumed) == keys(whole) and r2.replayed == 20 and r2.evaluated_now == 40


# --------------------------------------------------------------------------- #
# local search
# --------------------------------------------------------------------------- #


def test_ls_reaches_the_optimum_of_a_separable_objective():
    bench = toy_bench(separable=True)
    best = bench.optimum()
    for seed in range(3):
        opt, result = run("ls", bench, seed=seed, budget=150)
        assert result.best_result.metrics["acc"] == pytest.approx(best)


def test_ls_climbs_through_neighbours():
    bench = toy_bench()
    opt = make("ls", bench, seed=4, init=10)
    assert opt.settings() == {"init": 10, "restart_init": 1, "first_improvement": True, "numeric_neighbours": 4}
    seen = {"neighbours": 0, "restarts": 0}
    values: list[float] = []

    def check(i, proposal):
        if i < 10:
            assert opt.current is None  # the random start batch
            return
        if opt.current is None:
            seen["restarts"] += 1
            values.clear()
            return
        cand, value = opt.current
        assert n_diff(proposal.candidate, cand) == 1
        assert not values or value >= values[-1]  # the current point only improves between restarts
        values.append(value)
        seen["neighbours"] += 1

    manual(opt, bench, 120, after=check)
    assert seen["neighbours"] > 50 and seen["restarts"] >= 1
    assert opt.report()["restarts"] == seen["restarts"] and opt.moves > 0


def test_ls_neighbourhood():
    bench = toy_bench()
    opt = make("ls", bench)
    cand = bench.rows[0]
    hood = opt.neighbours(cand)
    assert len(hood) == 5 * 3 + 2 and all(n_diff(cand, c) == 1 for c in hood)
    limited = make("ls", bench, constraints=["flops <= 1"])
    assert len(limited.neighbours(cand)) == 5 + 1  # one arch op "b" or epochs 50


def test_ls_best_improvement():
    bench = toy_bench(separable=True)
    opt, result = run("ls", bench, seed=1, budget=150, first_improvement="false")
    assert opt.config.first_improvement is False
    assert result.best_result.metrics["acc"] == pytest.approx(bench.optimum())


# --------------------------------------------------------------------------- #
# BANANAS
# --------------------------------------------------------------------------- #


def test_bananas_proposals_mutate_the_best():
    bench = toy_bench()
    opt = make("bananas", bench, seed=0, init=10, top_k=5, **QUICK["bananas"])
    evaluated: list[tuple[Candidate, float]] = []

    def check(i, proposal):
        if i >= 10:
            top = [c for c, _ in sorted(evaluated, key=lambda m: -m[1])[:5]]
            assert any(1 <= n_diff(proposal.candidate, c) <= 2 for c in top)
        evaluated.append((proposal.candidate, bench.evaluate(proposal.candidate).objective("acc")))

    manual(opt, bench, 20, after=check)
    assert opt.fits == 10
    assert opt.last_scores is not None and len(opt.last_scores) > 1


def test_bananas_batch_and_settings():
    bench = toy_bench()
    opt, _ = run("bananas", bench, seed=0, budget=22, batch=4, acquisition="ucb", kappa=0.5)
    assert opt.fits == 3  # 12 proposals after the random 10, four per fit
    settings = opt.settings()
    for key in ("init", "batch", "num_candidates", "top_k", "acquisition", "kappa", "recipe_mutation_prob"):
        assert key in settings
    assert settings["predictor"]["pretrain"] is False
    with pytest.raises(ConfigError):
        make("bananas", bench, acquisition="ei")
    assert make("bananas", bench, predictor='{"n_models": 2}').predictor.config.n_models == 2  # JSON from the CLI
    with pytest.raises(ConfigError):
        make("bananas", bench, predictor="n_models=2")
    default = Bananas(bench.space, objective="acc")
    assert default.predictor.config.n_models == 5 and not default.predictor.config.pretrain
    c = default.config
    assert (c.init, c.batch, c.num_candidates, c.top_k) == (10, 1, 100, 10)


# --------------------------------------------------------------------------- #
# NAS-Bench-201 (CIFAR-10, 200 epochs)
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def nb201():
    if not NB201_CSV.is_file():
        pytest.skip(f"NB201 table not found at {NB201_CSV} (set NARS_DATA_DIR)")
    try:
        import nars_plugin.spaces.nb201  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the nb201 space is not available: {exc}")
    return get_registry().create_benchmark(f"csv:{NB201_CSV}")


@pytest.mark.parametrize(
    "name, budget", [("rea", 100), ("ls", 100), pytest.param("bananas", 25, marks=pytest.mark.slow), ("rs", 100)]
)
def test_nb201(nb201, name, budget):
    stat = nb201.space.statistic_names[0]
    limit = float(np.median(nb201.space.statistics(nb201.rows)[stat]))
    constraint = f"{stat} <= {limit!r}"
    opt, result = run(name, nb201, seed=0, budget=budget, constraints=[constraint])
    cands = [p.candidate for p, _ in opt.history]
    assert result.n_evaluations == budget and len(set(keys(opt))) == budget
    assert nb201.space.feasible(cands, [constraint]).all()
    feasible = nb201.values()[nb201.space.feasible(nb201.rows, [constraint])]
    best = result.best_result.metrics[nb201.objective]
    assert best > np.percentile(feasible, 75)
    assert math.isfinite(best)


def test_nb201_rea_mutates_one_edge(nb201):
    opt = make("rea", nb201, seed=3)
    assert opt.recipe_mutation_prob == 0.0

    def check(i, proposal):
        if opt.last_parent is not None:
            assert n_diff(proposal.candidate, opt.last_parent) == 1

    manual(opt, nb201, 30, after=check)


def test_random_search_still_registered():
    assert isinstance(get_registry().create_optimizer("rs", toy_space(), RunContext(objective="acc")), RandomSearch)


@pytest.mark.parametrize(
    "name, setting", [("rea", "tournament_replace"), ("ls", "first_improvement"), ("optuna-tpe", "multivariate")]
)
def test_boolean_settings_refuse_other_text(name, setting):
    bench = toy_bench()
    assert make(name, bench, **{setting: "yes"}).settings()[setting] is True
    assert make(name, bench, **{setting: "Off"}).settings()[setting] is False
    with pytest.raises(ConfigError, match=f"{setting} must be true or false, got 'maybe'") as info:
        make(name, bench, **{setting: "maybe"})
    assert f"{setting}=true" in info.value.hint
