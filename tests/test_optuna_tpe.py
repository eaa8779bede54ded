"""``optuna-tpe``: Optuna's TPE sampler behind our ask/tell contract.

The generic optimizer checks (budget without repeats, same seed same search, resume
from a journal, constraints, fixed recipes) run on it in test_baselines.py and
test_conformance.py; here: the parameter mapping, learning, replay through Optuna's
own state, the random fallback and the errors.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from helpers import keys, run, toy_bench

from nars_plugin.api import create_study
from nars_plugin.budget import Budget
from nars_plugin.errors import ConfigError
from nars_plugin.evaluation import Evaluator, Result
from nars_plugin.optimizers.optuna_tpe import CONSTRAINT_KEY, OptunaTPE
from nars_plugin.plugins import get_registry
from nars_plugin.settings import RunContext
from nars_plugin.space import Categorical, Float, Integer, Ordinal, Space

optuna = pytest.importorskip("optuna", reason="optuna is the `optuna` extra (also in `dev`)")


class MixedSpace(Space):
    """A categorical, a stepped integer and a log-scale float; statistic "size" = width."""

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return ("size",)

    def statistics(self, cands):
        return {"size": np.array([float(c.arch["width"]) for c in cands])}


def mixed_space() -> MixedSpace:
    return MixedSpace(
        "mixed",
        [Categorical("op", ("conv", "pool", "skip")), Integer("width", 8, 64, step=8)],
        [Float("lr", 1e-4, 1.0, log=True)],
    )


def mixed_objective(cand) -> float:
    """Best at op=conv, width=48, lr=0.1."""
    op = {"conv": 2.0, "pool": 1.0, "skip": 0.0}[cand.arch["op"]]
    return 90 + op - abs(cand.arch["width"] - 48) / 16 - abs(np.log10(cand.recipe["lr"]) + 1)


class MixedEvaluator(Evaluator):
    """Evaluates any candidate of the mixed space with :func:`mixed_objective` (the space is continuous)."""

    name = "mixed"
    objective = "acc"

    def __init__(self) -> None:
        self.space = mixed_space()

    def evaluate(self, cand, fidelity=None):
        return Result(metrics={"acc": mixed_objective(self.space.validate(cand))})


def tpe(space, seed=0, budget=30, constraints=(), **settings) -> OptunaTPE:
    context = RunContext(objective="acc", seed=seed, budget=Budget(queries=budget), constraints=tuple(constraints))
    return get_registry().create_optimizer("optuna-tpe", space, context, settings)


def test_parameters_map_onto_optuna_distributions():
    opt = tpe(mixed_space())
    dists = opt.distributions
    assert isinstance(dists["op"], optuna.distributions.CategoricalDistribution)
    assert list(dists["op"].choices) == ["conv", "pool", "skip"]
    assert (dists["width"].low, dists["width"].high, dists["width"].step) == (8, 64, 8)
    assert isinstance(dists["lr"], optuna.distributions.FloatDistribution) and dists["lr"].log


def test_ordinal_parameters_are_ordered_integers_for_tpe():
    """An Ordinal (batch size 8..64) is TPE's integer position, so its densities see the order."""
    space = MixedSpace("ordinal", [Categorical("op", ("conv", "pool", "skip"))], [Ordinal("batch", (8, 16, 32, 64))])
    opt = tpe(space, budget=12)
    assert opt.distributions["batch"] == optuna.distributions.IntDistribution(0, 3)
    proposals = [opt.ask() for _ in range(12)]
    for proposal in proposals:
        assert proposal.candidate.recipe["batch"] in (8, 16, 32, 64)
        opt.tell(proposal, Result(metrics={"acc": float(proposal.candidate.recipe["batch"])}))
    told = {t.params["batch"] for t in opt.study.trials if t.state.name == "COMPLETE"}
    assert told <= {0, 1, 2, 3}  # Optuna holds positions, the candidates hold the values


def test_mixed_space_search_stays_valid_and_learns():
    study = create_study(MixedEvaluator(), "optuna-tpe", budget=60, seed=0, progress=False)
    opt, result = study.optimizer, study.optimize()
    cands = [p.candidate for p, _ in opt.history]
    assert all(c.arch["width"] in range(8, 65, 8) and 1e-4 <= c.recipe["lr"] <= 1.0 for c in cands)
    assert len(set(keys(opt))) == 60
    # TPE's model (after the 10 random start-up trials) beats its own start-up phase
    startup_best = max(r.metrics["acc"] for _, r in opt.history[:10])
    assert result.best_result.metrics["acc"] > startup_best
    assert len(opt.study.trials) >= 60


def test_tpe_beats_its_random_startup_on_average():
    """The same sampler with every trial random (n_startup_trials = budget) finds less."""
    bench = toy_bench()
    model = [run("optuna-tpe", bench, seed=s, budget=50)[1].best_result.metrics["acc"] for s in range(6)]
    random = [
        run("optuna-tpe", bench, seed=s, budget=50, n_startup_trials=50)[1].best_result.metrics["acc"] for s in range(6)
    ]
    assert np.mean(model) > np.mean(random)


def test_replay_rebuilds_optunas_state(tmp_path):
    """A resumed study feeds the journal back through ask/tell, so Optuna's trials match a fresh run's."""
    bench = toy_bench()
    first, _ = run("optuna-tpe", bench, seed=5, budget=15, out=tmp_path / "a")
    resumed, r2 = run("optuna-tpe", bench, seed=5, budget=30, out=tmp_path / "a")
    whole, _ = run("optuna-tpe", bench, seed=5, budget=30)
    assert r2.replayed == 15 and keys(resumed) == keys(whole)
    params = [t.params for t in resumed.study.trials]
    assert params == [t.params for t in whole.study.trials]


def _constrained_run(seed: int, budget: int, **settings):
    """A TPE study under ``flops <= 4``; checks that every proposal was feasible and counted."""
    bench = toy_bench()
    opt, result = run("optuna-tpe", bench, seed=seed, budget=budget, constraints=["flops <= 4"], **settings)
    assert bench.space.feasible([p.candidate for p, _ in opt.history], ["flops <= 4"]).all()
    assert result.n_evaluations == budget
    return opt


def test_infeasible_samples_are_redrawn_and_told_as_infeasible():
    opt = _constrained_run(seed=1, budget=25)
    pruned = [t for t in opt.study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, "a tight constraint should have rejected some samples"
    assert all(t.constraints[CONSTRAINT_KEY] > 0 for t in pruned)


def test_fallback_when_the_sampler_keeps_repeating():
    """With one draw per proposal the random fallback fills in, and TPE still hears of the result."""
    bench = toy_bench()
    opt, result = run("optuna-tpe", bench, seed=2, budget=40, max_tries=1)
    assert result.n_evaluations == 40 and len(set(keys(opt))) == 40
    told = {
        t.number
        for t in opt.study.trials
        if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None and np.isfinite(t.value)
    }
    assert len(told) >= 40


def test_no_feasible_candidate_is_a_clear_error():
    opt = tpe(toy_bench().space, constraints=["flops <= -1"], max_tries=3)
    with pytest.raises(ConfigError, match="no feasible candidate"):
        opt.ask()


def test_bad_settings_are_clear_errors():
    with pytest.raises(ConfigError, match="n_startup_trials"):
        tpe(toy_bench().space, n_startup_trials=0)


def test_missing_optuna_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # what an uninstalled package looks like to import
    with pytest.raises(ConfigError, match="optuna") as info:
        tpe(toy_bench().space)
    assert "nars-plugin[optuna]" in info.value.hint


def test_cli_compare_runs_optuna(tmp_path, c10_csv, cli):
    code, out, err = cli(
        [
            "compare",
            "--benchmark",
            f"csv:{c10_csv}",
            "--optimizers",
            "optuna-tpe,rs",
            "--seeds",
            "2",
            "--budget",
            "20",
            "--workers",
            "1",
            "--out",
            tmp_path / "cmp",
            "--no-progress",
        ]
    )
    assert code == 0, err
    assert "| optuna-tpe |" in out


def test_multivariate_is_joint_under_constraints_unless_told_otherwise():
    space = mixed_space()
    assert tpe(space).multivariate is False  # Optuna's default without constraints
    assert tpe(space, constraints=["size <= 32"]).multivariate is True
    assert tpe(space, constraints=["size <= 32"], multivariate="false").multivariate is False
    assert tpe(space, multivariate="true").settings()["multivariate"] is True


def test_constrained_study_stays_small():
    """Joint TPE under a tight constraint: every proposal feasible, few rejected draws per query
    (independent TPE, ``multivariate=false``, piles up 1,700 trials here)."""
    opt = _constrained_run(seed=3, budget=40)
    assert len(opt.study.trials) < 40 * 10, f"{len(opt.study.trials)} trials for 40 queries"
