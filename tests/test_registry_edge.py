"""The registry at the edge: components receive what a setting names, the study owns the budget account."""

from __future__ import annotations

import pytest

from nars_plugin import settings
from nars_plugin.budget import Budget, Spending
from nars_plugin.comparison.tasks import RunOutcome, RunTask
from nars_plugin.errors import ConfigError, UnknownNameError
from nars_plugin.optimizers import RandomSearch
from nars_plugin.optimizers.nars import NARS
from nars_plugin.plugins import get_registry
from nars_plugin.predictors import create_predictor
from nars_plugin.predictors.classic import GPPredictor
from nars_plugin.predictors.fbnetv3 import NARSPredictor
from nars_plugin.settings import RunContext
from nars_plugin.study import Study


def test_a_predictor_setting_arrives_as_the_factory_the_host_resolved(tiny_space):
    made = get_registry().create_optimizer("nars", tiny_space, RunContext(objective="acc"), {"predictor": "gp"})
    assert made.config.predictor.name == "gp"
    assert made.config.predictor.make is GPPredictor  # resolved by the host, not looked up by nars
    assert isinstance(made.predictor, GPPredictor)
    default = NARS(tiny_space, objective="acc")  # made directly: parsing binds the default choice too
    assert default.config.predictor.make is NARSPredictor


def test_the_factory_is_no_part_of_a_choice_s_identity():
    bound = settings.Choice("gp", {}, GPPredictor)
    assert bound == settings.Choice("gp", {})
    assert "make" not in repr(bound)


def test_a_bound_choice_is_made_by_its_own_factory(tiny_space):
    class Mine(GPPredictor):
        pass

    assert type(create_predictor(settings.Choice("gp", {}, Mine), tiny_space)) is Mine
    assert type(create_predictor("gp", tiny_space)) is GPPredictor  # a bare name: the host resolves it


def test_a_factory_that_makes_no_predictor_is_refused(tiny_space):
    with pytest.raises(ConfigError, match="made a dict, not a Predictor"):
        create_predictor(settings.Choice("odd", {}, lambda space, seed: {}), tiny_space)


def test_names_resolve_through_the_installed_host_and_unknown_ones_say_so():
    resolved = settings.resolve_plugin("predictor", "gp")
    assert resolved.make is GPPredictor and resolved.plugin == "builtins"
    with pytest.raises(UnknownNameError, match="unknown predictor 'nope'"):
        settings.resolve_plugin("predictor", "nope")


def test_without_a_host_a_name_cannot_be_resolved(monkeypatch):
    monkeypatch.setattr(settings, "_resolver", [])
    with pytest.raises(ConfigError, match="no plugin host is installed"):
        settings.resolve_plugin("predictor", "gp")


def test_the_study_owns_the_budget_account_and_the_optimizer_reads_it(tiny_bench):
    optimizer = RandomSearch(tiny_bench.space, objective="acc", seed=0, budget=Budget(queries=6))
    assert optimizer.used == (0, 0.0)
    with pytest.raises(AttributeError):
        optimizer.used = (5, 0.0)  # type: ignore[misc]  # read-only: the study owns it
    study = Study(tiny_bench, optimizer, Budget(queries=6), progress=False)
    seen = []
    ask = optimizer.ask

    def spy():
        seen.append((optimizer.used, optimizer.remaining()))
        return ask()

    optimizer.ask = spy  # type: ignore[method-assign]
    study.run()
    assert seen[0] == ((0, 0.0), (6, None))
    (queries, seconds), left = seen[-1]
    assert queries == 5 and seconds > 0 and left == (1, None)
    assert study.spending.view.used == (queries, seconds)  # written when the study last asked


def test_spending_has_one_writer():
    account = Spending()
    view = account.view
    account.asked(3, 1.5)
    assert view.used == (3, 1.5)
    assert view.remaining(Budget(queries=10, seconds=2.0)) == (7, 0.5)
    assert view.remaining(None) == (None, None)
    assert not hasattr(view, "asked")


def test_a_comparison_task_is_typed_and_old_dict_reads_warn(tmp_path):
    task = RunTask("nb201-analog", {}, "rs", "rs", {}, 2, 10, None, (), str(tmp_path))
    assert task.seed == 2
    with pytest.warns(DeprecationWarning, match="read task.seed"):
        assert task["seed"] == 2
    with pytest.warns(DeprecationWarning):
        assert task.get("constraints") == ()
    assert task.get("no such key", "fallback") == "fallback"


def test_a_runner_s_answer_becomes_an_outcome_and_a_short_one_is_refused(tmp_path):
    task = RunTask("nb201-analog", {}, "x:y", "xy", {}, 1, 10, None, (), str(tmp_path))
    outcome = RunOutcome.from_runner(task, {"curve": [1.0], "seconds": 2, "evaluated_now": 1, "best": None})
    assert (outcome.label, outcome.seed, outcome.curve, outcome.objective_curve) == ("xy", 1, [1.0], None)
    with pytest.raises(ConfigError, match=r"answered without \['best', 'evaluated_now'\]"):
        RunOutcome.from_runner(task, {"curve": [1.0], "seconds": 2})
