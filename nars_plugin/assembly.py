"""Assembly: a search built from names and settings (benchmark, space, evaluator, optimizer, budget).

:func:`create_study` is the one place that turns what a user names into the objects of a search:
it asks the plugin host for the benchmark and the optimizer, checks the budget against the
benchmark (:func:`check_budget_runs_out`) and the constraints against the space, and hands the
study its parts. :mod:`nars_plugin.api` (the public Python API, and so the CLI) and
:mod:`nars_plugin.comparison` (each run of ``nars compare`` and ``nars suite``) both build their
searches here, so a search is the same search, journal for journal, whichever way it was asked for.

Layering: this module is above the plugin host (:mod:`nars_plugin.plugins`) and below ``api`` and
``comparison``; it imports neither of them.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .budget import Budget
from .constraints import constraint_list, parse_constraints
from .errors import ConfigError, NarsError, UnknownNameError, option
from .evaluation import Evaluator
from .optimizers.base import Optimizer
from .plugins import get_registry, make_optimizer
from .settings import RunContext, as_kwargs, checked_seed, is_declaration, recipe_values
from .space import Constraint, Space
from .study import Study
from .tabular.base import TabularBenchmark

Target = str | Evaluator | tuple[Space, Evaluator]


def resolve_target(target: Target, options: Mapping[str, Any] | None) -> tuple[Evaluator, Space, dict[str, Any]]:
    """The evaluator, the space the optimizer searches and the journal identity of ``target``."""
    options = dict(options or {})
    if isinstance(target, str):
        bench = create_benchmark(target, options)
        return bench, bench.space, {"benchmark_spec": target, "benchmark_options": options}
    if options:
        raise ConfigError(
            f"options {sorted(options)} apply only to a benchmark given by name",
            "pass options to the benchmark's own constructor, or give its registered name as the target",
        )
    if isinstance(target, tuple):
        if len(target) != 2 or not isinstance(target[0], Space):
            raise ConfigError(
                f"a (space, evaluator) target must be a pair, got {target!r}",
                "create_study((space, evaluator), ...)",
            )
        space, evaluator = target
        _check_evaluator(evaluator)
        return evaluator, space, {}
    _check_evaluator(target)
    own_space = getattr(target, "space", None)  # an evaluator that never set its space
    if not isinstance(own_space, Space):
        raise ConfigError(
            f"{type(target).__name__} has no .space to search",
            "give the space too: create_study((space, evaluator), ...)",
        )
    return target, own_space, {}


def _check_evaluator(evaluator: object) -> None:
    if not isinstance(evaluator, Evaluator):
        raise ConfigError(
            f"{type(evaluator).__name__} is not an evaluator",
            "pass a benchmark name ('nb201-analog', 'csv:PATH'), a benchmark object or a (space, evaluator) pair; "
            "evaluators subclass nars_plugin.evaluation.Evaluator (its docstring lists what to implement)",
        )


def create_study(
    target: Target,
    optimizer: str | type[Optimizer[Any]] = "nars",
    *,
    budget: int | None = None,
    budget_seconds: float | None = None,
    seed: int = 0,
    constraints: str | Sequence[str | Constraint] = (),
    storage: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | object | None = None,
    options: Mapping[str, Any] | None = None,
    fixed_recipe: Mapping[str, Any] | str | None = None,
    eval_timeout: float | None = None,
    progress: bool | None = None,
    identity: Mapping[str, Any] | None = None,
) -> Study:
    """A search, ready to :meth:`~Study.optimize` or to drive with :meth:`~Study.ask`/:meth:`~Study.tell`.

    Args:
        target: a benchmark name (``"nb201-analog"``, ``"csv:PATH"``; ``nars benchmarks`` lists them), a
            benchmark or evaluator object (its ``.space`` is searched), or a ``(space, evaluator)`` pair.
        optimizer: a registered optimizer name (``nars optimizers``) or an Optimizer subclass.
        budget: evaluations (queries); budget_seconds: simulated GPU-seconds. At least one is needed.
        seed: the same seed gives the same search.
        constraints: e.g. ``["flops <= 100M", "latency[pixel3] <= 5"]`` (one string is one constraint);
            checked for satisfiability.
        storage: a folder for the journal, ``summary.json`` and ``trajectory.csv``. Every evaluation is
            journaled before the optimizer hears of it; creating the study again on the same folder
            resumes it (a journal of another configuration, or a second process, is refused).
        settings: optimizer settings (``nars optimizers NAME`` lists them): a mapping, or an instance
            of the optimizer's declaration (``NARSSettings(batch=8)``). The run's own arguments
            (seed, constraints, budget, fixed_recipe) are not settings: they make the optimizer's
            :class:`~nars_plugin.settings.RunContext`.
        options: benchmark options, for a benchmark given by name (``nars benchmarks NAME``).
        fixed_recipe: recipe values to hold fixed (an architecture-only search).
        eval_timeout: seconds one evaluation may take in :meth:`~Study.optimize` (a worker process).
        progress: progress of :meth:`~Study.optimize` on stderr: None: a bar on a terminal, else a log
            line every quarter of the budget or 30 s; True: a bar; False: nothing.
        identity: extra entries for the journal header (what must match to resume).
    """
    plan = Budget(queries=budget, seconds=budget_seconds)  # a missing or non-positive budget is a ConfigError
    constraints = constraint_list(constraints)
    checked_seed(seed)
    registry = get_registry()
    if isinstance(optimizer, str):  # a typo in the name or a setting fails here, before any data is loaded
        check_optimizer_settings(optimizer, _settings_mapping(settings))
    evaluator, space, ident = resolve_target(target, options)
    check_budget_runs_out(plan, evaluator)
    space.check_satisfiable(constraints)
    context = RunContext(
        objective=evaluator.objective,
        seed=seed,
        constraints=tuple(parse_constraints(constraints)),
        budget=plan,
        max_fidelity=evaluator.max_fidelity,
        fixed_recipe=recipe_values(fixed_recipe),
    )
    if isinstance(optimizer, str):
        opt = registry.create_optimizer(optimizer, space, context, settings)
    elif isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        opt = make_optimizer(optimizer, space, context, settings, optimizer.Settings, optimizer.name)
    else:
        raise ConfigError(
            f"optimizer must be a registered name or an Optimizer subclass, got {optimizer!r}",
            "e.g. create_study(target, 'nars') or create_study(target, MyOptimizer)",
        )
    return Study(
        evaluator,
        opt,
        plan,
        out_dir=storage,
        config={**ident, **dict(identity or {})},
        progress=progress,
        eval_timeout=eval_timeout,
        default_space_options=lambda: _default_space_options(evaluator.name, space.name),
    )


def _settings_mapping(settings: Mapping[str, Any] | object | None) -> dict[str, Any]:
    """``create_study``'s ``settings`` as a mapping (an instance of a declaration gives its values)."""
    if settings is None:
        return {}
    if is_declaration(type(settings)):
        return as_kwargs(settings)
    if not isinstance(settings, Mapping):
        raise ConfigError(
            f"settings must be a mapping or a settings dataclass, got {settings!r}",
            "e.g. create_study(target, 'nars', settings={'batch': 8})",
        )
    return dict(settings)


@functools.lru_cache(maxsize=8)
def _default_space_options_text(benchmark: str, space: str) -> str | None:
    registry = get_registry()
    try:
        try:
            bench = registry.create_benchmark(benchmark)
            return json.dumps(bench.legacy_space_options or bench.space.options())
        except UnknownNameError:  # an evaluator that is no registered benchmark (a trainer): its space's
            return json.dumps(registry.create_space(space).options())
    except NarsError:  # neither can be made here
        return None


def _default_space_options(benchmark: str, space: str) -> dict[str, Any] | None:
    """The space options of the benchmark ``benchmark`` (an evaluator's name) made with no options, or
    where no benchmark has that name, of the space ``space`` made so; None when neither can be made.
    What a journal written before space options were recorded is taken to have been run with
    (:meth:`Study.upgrade`)."""
    text = _default_space_options_text(benchmark, space)
    return json.loads(text) if text is not None else None


def check_budget_runs_out(budget: Budget, evaluator: Evaluator) -> None:
    """A clear error for a seconds-only budget on a table whose queries cost nothing: it would never
    run out (the search would go on until the table is used up)."""
    if budget.queries is None and isinstance(evaluator, TabularBenchmark) and not np.any(evaluator.cost > 0):
        raise ConfigError(
            f"benchmark {evaluator.name!r} gives its queries no cost, so a budget of {budget.seconds:g} "
            "simulated seconds never runs out",
            f"give a budget in queries ({option('budget=N', '--budget N')}), alone or beside "
            + option("budget_seconds", "--budget-seconds"),
        )


def create_benchmark(spec: str, options: Mapping[str, Any] | None = None) -> Any:
    """The registered benchmark ``spec`` (``name`` or ``name:ARGUMENT``) made with ``options``."""
    return get_registry().create_benchmark(spec, **dict(options or {}))


def create_evaluator(
    name: str,
    space: str | None = None,
    space_options: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """The registered evaluator ``name`` (``nars evaluators``) searching the registered space ``space``
    (made with ``space_options``; None: the evaluator's own default), made with ``options``."""
    registry = get_registry()
    entry = registry.get("evaluator", name)
    if space_options and not space:
        raise ConfigError(
            option(f"space options {sorted(space_options)} need a space", "--space-option needs --space"),
            "name the space: " + option("space='NAME'", "--space NAME --space-option KEY=VALUE"),
        )
    made = registry.create_space(space, **dict(space_options or {})) if space else None
    try:
        return entry.factory(**({"space": made} if made is not None else {}), **dict(options or {}))
    except TypeError as exc:
        raise ConfigError(
            f"evaluator {name!r} does not take these options: {exc}",
            "check the " + option("options", "--eval-opt") + " names",
        ) from None


#: The prefix of a comparison target that is an evaluator, not a benchmark: ``evaluator:train``
#: with the options ``{"space": ..., "space_options": {...}, "options": {...}}`` (:func:`evaluator_target`).
EVALUATOR_TARGET = "evaluator:"


def evaluator_target(
    name: str,
    space: str | None = None,
    space_options: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The ``(spec, options)`` pair that names evaluator ``name`` on ``space`` as a comparison target
    (:func:`create_target` makes it; plain values, so it crosses process boundaries)."""
    return EVALUATOR_TARGET + name, {
        "space": space,
        "space_options": dict(space_options or {}),
        "options": dict(options or {}),
    }


def create_target(spec: str, options: Mapping[str, Any] | None = None) -> Any:
    """A comparison target: the evaluator of an :func:`evaluator_target` spec, else the benchmark ``spec``."""
    if spec.startswith(EVALUATOR_TARGET):
        given = dict(options or {})
        unknown = sorted(set(given) - {"space", "space_options", "options"})
        if unknown:
            raise ConfigError(f"evaluator target {spec!r}: unknown keys {unknown}", "make it with evaluator_target()")
        return create_evaluator(
            spec.removeprefix(EVALUATOR_TARGET), given.get("space"), given.get("space_options"), given.get("options")
        )
    return create_benchmark(spec, options)


def check_optimizer_settings(name: str, settings: Mapping[str, Any]) -> None:
    """A ConfigError for an unknown optimizer ``name`` or a bad setting, before any data is loaded."""
    get_registry().parse_settings("optimizer", name, dict(settings))


def optimizer_runner(name: str) -> Callable[..., Mapping[str, Any]] | None:
    """The runner of an optimizer that another library drives with its own loop (NASLib's Trainer), or
    None for an ask/tell optimizer (:meth:`~nars_plugin.plugins.Registry.add_optimizer`)."""
    runner: Callable[..., Mapping[str, Any]] | None = get_registry().get("optimizer", name).extra.get("runner")
    return runner


def optimizer_unavailable(name: str, target: Any = None) -> str | None:
    """Why the registered optimizer ``name`` cannot run on this machine (no GPU, no data set) or on
    ``target`` (a comparison's benchmark or evaluator, where given), or None."""
    check = get_registry().get("optimizer", name).extra.get("unavailable")
    if check is None:
        return None
    takes_target = bool(inspect.signature(check).parameters)
    reason: str | None = check(target) if takes_target else check()
    return reason


def registered_space(name: str) -> Space | None:
    """The registered space ``name`` made with its default options, or None where it is not
    registered here or cannot be made so (it needs options or data)."""
    registry = get_registry()
    if name not in registry.names("space"):
        return None
    try:
        space: Space = registry.create_space(name)
    except Exception:  # noqa: BLE001 - a space that needs options or data is simply not available
        return None
    return space


__all__ = [
    "Target",
    "check_budget_runs_out",
    "check_optimizer_settings",
    "EVALUATOR_TARGET",
    "create_benchmark",
    "create_evaluator",
    "create_study",
    "create_target",
    "evaluator_target",
    "optimizer_runner",
    "optimizer_unavailable",
    "registered_space",
    "resolve_target",
]
