"""Settings declared once and the run context apart from them (issue 26): components typed by their
declaration, the RunContext, the optimizer contract old and new, loaders whose defaults are their
declaration's."""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from dataclasses import dataclass

import pytest

from nars_plugin import create_study
from nars_plugin.budget import Budget
from nars_plugin.comparison import OptimizerSpec
from nars_plugin.errors import ConfigError
from nars_plugin.optimizers import RandomSearch
from nars_plugin.optimizers.base import Optimizer, Proposal
from nars_plugin.optimizers.evolution import REASettings, RegularizedEvolution
from nars_plugin.optimizers.nars import NARS, NARSSettings
from nars_plugin.plugins import Registry, get_registry
from nars_plugin.predictors.classic import GPPredictor, GPSettings
from nars_plugin.settings import RunContext, setting
from nars_plugin.tabular.csv_table import load_csv
from nars_plugin.tabular.fcnet import load_fcnet
from nars_plugin.tabular.nb201 import (
    AnalogSettings,
    NATSBenchmark,
    load_analog,
    load_nats,
    load_nb201_latency_benchmark,
    load_nb201_paper,
    load_nb201_schedule,
    nats_benchmark_factory,
)


@dataclass(frozen=True)
class WalkSettings:
    """A third-party optimizer's settings."""

    width: int = setting(2, "candidates per step", low=1)


class NewWalk(Optimizer[WalkSettings]):
    """Written for the typed contract: the declaration is named once, as the type argument."""

    name = "new-walk"

    def ask(self) -> Proposal:
        return Proposal(self.random_fresh(self.config.width, set(self.evaluated))[0])


class OldWalk(Optimizer):  # type: ignore[type-arg]
    """Written for the 0.1 contract: ``Settings =``, the run's arguments as keywords, settings read as attributes."""

    name = "old-walk"
    Settings = WalkSettings

    def __init__(self, space, *, objective, seed=0, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(space, objective=objective, seed=seed, **kwargs)
        self.steps_planned = self.width * 10  # the old way to read a setting

    def ask(self) -> Proposal:
        return Proposal(self.random_fresh(1, set(self.evaluated))[0])


def old_factory(space, *, objective, seed=0, constraints=(), budget=None, max_fidelity=None, fixed_recipe=None, width):  # type: ignore[no-untyped-def]
    """A plain factory of the 0.1 contract (registered with settings=)."""
    return RandomSearch(space, objective=objective, seed=seed + width, budget=budget)


def broken_factory(space, *, context, settings):  # type: ignore[no-untyped-def]
    """Takes the new call, then fails inside: a TypeError there is no refusal of the call."""
    return len(42)  # type: ignore[arg-type]


def registry_with(name: str, factory, settings=None) -> Registry:  # type: ignore[no-untyped-def]
    registry = Registry()
    registry.add_optimizer(name, factory, "test", settings=settings)
    return registry


# -- the run context ------------------------------------------------------------ #


def test_run_context_parses_what_it_is_given_and_is_frozen():
    context = RunContext("acc", seed=3, constraints=("flops <= 8",), fixed_recipe="epochs=200")
    assert [str(c) for c in context.constraints] == ["flops <= 8.0"]
    assert context.fixed_recipe == {"epochs": 200} and context.budget is None and context.max_fidelity is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.seed = 4  # type: ignore[misc]
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        RunContext("acc", seed=-1)
    assert RunContext.names() == ("objective", "seed", "constraints", "budget", "max_fidelity", "fixed_recipe")


def test_optimizer_reads_the_context_and_the_typed_settings(tiny_bench):
    context = RunContext("acc", seed=2, budget=Budget(queries=30), fixed_recipe={"epochs": 200})
    opt = RegularizedEvolution(tiny_bench.space, context, REASettings(population=4, tournament=2))
    assert opt.context is context and opt.seed == 2 and opt.budget == Budget(queries=30)
    assert isinstance(opt.config, REASettings) and opt.config.population == 4
    assert {opt.ask().candidate.recipe["epochs"] for _ in range(8)} == {200}  # the fixed recipe is held
    text = RegularizedEvolution(tiny_bench.space, context, {"population": "4", "tournament": "2"})
    assert text.config == opt.config  # text values are parsed by the declaration
    with pytest.raises(AttributeError):
        opt.seed = 5  # type: ignore[misc]  # the run's, read-only


def test_keyword_shorthand_is_the_same_search(tiny_bench):
    short = RegularizedEvolution(tiny_bench.space, objective="acc", seed=7, population=3, tournament=2)
    full = RegularizedEvolution(tiny_bench.space, RunContext("acc", seed=7), {"population": 3, "tournament": 2})
    assert [short.ask().candidate.key for _ in range(5)] == [full.ask().candidate.key for _ in range(5)]
    assert short.settings() == full.settings()
    with pytest.raises(TypeError, match="not both"):
        RandomSearch(tiny_bench.space, RunContext("acc"), seed=1)
    with pytest.raises(TypeError, match="needs a RunContext"):
        RandomSearch(tiny_bench.space)


def test_a_setting_is_never_taken_for_the_run_context(tiny_bench):
    """No name-clash check: the run's arguments are not settings, so naming one is an unknown setting."""
    with pytest.raises(ConfigError, match="unknown setting 'seed' for optimizer 'rea'") as info:
        create_study(tiny_bench, "rea", budget=3, settings={"seed": 1})
    assert "population" in info.value.hint
    with pytest.raises(ConfigError, match="unknown setting 'budget' for optimizer 'rs'"):
        get_registry().create_optimizer("rs", tiny_bench.space, RunContext("acc"), {"budget": 3})


def test_create_study_takes_a_settings_instance(tiny_bench, tmp_path):
    typed = create_study(tiny_bench, "rea", budget=6, settings=REASettings(population=3), storage=tmp_path / "a")
    named = create_study(tiny_bench, "rea", budget=6, settings={"population": 3}, storage=tmp_path / "b")
    assert typed.optimizer.settings() == named.optimizer.settings()
    points = [[(p.arch, p.recipe) for p in study.optimize().trajectory] for study in (typed, named)]
    assert points[0] == points[1] and len(points[0]) == 6


# -- components typed by their declaration ---------------------------------------- #


def test_the_type_argument_is_the_declaration():
    assert NARS.Settings is NARSSettings and NewWalk.Settings is WalkSettings and GPPredictor.Settings is GPSettings
    assert RandomSearch.Settings is not None and Optimizer.Settings is None
    assert "Settings" not in vars(NARS) or vars(NARS)["Settings"] is NARSSettings
    for cls in (NARS, RegularizedEvolution, GPPredictor):
        assert not [
            n for n in vars(cls).get("__annotations__", {}) if n in {f.name for f in dataclasses.fields(cls.Settings)}
        ]


def test_two_declarations_for_one_component_are_refused():
    with pytest.raises(TypeError, match="names two settings declarations"):

        class Confused(Optimizer[WalkSettings]):
            Settings = REASettings

            def ask(self) -> Proposal:
                raise NotImplementedError


def test_reading_a_setting_as_an_attribute_still_works_with_a_warning(tiny_bench):
    opt = NewWalk(tiny_bench.space, RunContext("acc"), {"width": 3})
    with pytest.warns(DeprecationWarning, match=r"read the setting as self.config.width"):
        assert opt.width == 3  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        opt.nonsense  # type: ignore[attr-defined]  # noqa: B018


# -- the contract of 0.1, still loading -------------------------------------------- #


def test_new_contract_is_called_without_warnings(tiny_bench):
    registry = registry_with("new-walk", NewWalk)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = registry.create_optimizer("new-walk", tiny_bench.space, RunContext("acc", seed=1), {"width": "4"})
    assert opt.config == WalkSettings(width=4) and opt.seed == 1


def test_an_optimizer_of_the_old_contract_loads_with_a_deprecation_warning(tiny_bench, tmp_path):
    registry = registry_with("old-walk", OldWalk)
    with pytest.warns(DeprecationWarning) as record:
        opt = registry.create_optimizer("old-walk", tiny_bench.space, RunContext("acc", seed=1), {"width": "3"})
    messages = " ".join(str(w.message) for w in record)
    assert "refused the call factory(space, context=..., settings=...)" in messages
    assert "read the setting as self.config.width" in messages
    assert opt.steps_planned == 30 and opt.config.width == 3 and opt.seed == 1
    factory = registry_with("old-factory", old_factory, settings=WalkSettings)
    with pytest.warns(DeprecationWarning, match="called the old way"):
        made = factory.create_optimizer("old-factory", tiny_bench.space, RunContext("acc", seed=1), {"width": 2})
    assert isinstance(made, RandomSearch) and made.seed == 3


def test_create_study_takes_an_old_contract_class_too(tiny_bench):
    with pytest.warns(DeprecationWarning, match="called the old way"):
        study = create_study(tiny_bench, OldWalk, budget=4, seed=2, settings={"width": 2})
    assert study.optimize().n_evaluations == 4 and study.optimizer.config.width == 2


def test_a_type_error_inside_a_factory_is_not_taken_for_the_old_contract(tiny_bench):
    registry = registry_with("broken", broken_factory)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to the old call
        with pytest.raises(ConfigError, match="bad setting for optimizer 'broken': TypeError"):
            registry.create_optimizer("broken", tiny_bench.space, RunContext("acc"))


# -- loaders: their defaults are their declaration's --------------------------------- #

LOADERS = (
    load_analog,
    load_csv,
    load_fcnet,
    load_nats,
    nats_benchmark_factory,
    load_nb201_paper,
    load_nb201_schedule,
    load_nb201_latency_benchmark,
)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_loaders_declare_no_defaults_of_their_own(loader):
    params = inspect.signature(loader).parameters
    own = [n for n, p in params.items() if p.kind is not p.VAR_KEYWORD and n not in ("path", "settings")]
    assert own == [], f"{loader.__name__} repeats settings in its signature: {own}"
    assert set(inspect.signature(NATSBenchmark.__init__).parameters) == {"self", "path", "settings", "options"}


def test_a_loader_takes_its_settings_typed_or_by_name():
    typed = load_analog(AnalogSettings(target="analog_1d"))
    named = load_analog(target="analog_1d")
    assert typed.info == named.info and typed.space.options() == named.space.options()
    assert load_analog().info["target"] == AnalogSettings().target
    with pytest.raises(ConfigError, match="unknown setting 'targte'") as info:
        load_analog(targte="fp32")
    assert "did you mean 'target'" in info.value.hint


def test_a_comparison_spec_keeps_the_fixed_recipe_apart_from_the_settings():
    spec = OptimizerSpec.parse("std=nars(fixed_recipe=training=standard;batch=3)")
    assert spec.settings == {"batch": 3} and spec.fixed_recipe == {"training": "standard"}
    assert OptimizerSpec.parse("nars").fixed_recipe == {}
