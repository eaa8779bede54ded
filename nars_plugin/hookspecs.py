"""The plugin contract: one documented function per hook.

A plugin is a module (or object) with functions marked by
:data:`nars_plugin.hookimpl` and named like the specifications below. It is
found through the entry-point group ``nars_plugin``::

    # pyproject.toml of a third-party package
    [project.entry-points.nars_plugin]
    myplugin = "myplugin.hooks"

How the core uses the plugins (:mod:`nars_plugin.plugins`):

* ``NARS_BLOCK_PLUGINS=a,b`` blocks plugins by entry-point name; a blocked plugin is not imported.
* A ``@hookimpl`` function must be named like one of these hooks and take only (a subset of) its
  arguments; otherwise loading fails with an error naming the plugin and the hook.
* ``nars_plugin_status`` is asked first; a plugin that gives a reason (or whose status hook fails)
  is listed as inactive and none of its ``nars_register_*`` hooks is called.
* The ``nars_register_*`` hooks of the active plugins are called once per process (built-ins first,
  then entry points in discovery order); every name a plugin adds is attributed to it. A name
  registered twice is an error naming both plugins; an exception raised inside a hook is an error
  naming the plugin and the hook.
* Factories are called only when a user asks for their name, so registering must stay cheap:
  import heavy libraries inside the factories, not at module level.
* ``nars_add_commands`` is asked by the ``nars`` command line of every loaded plugin, active or
  inactive (a command may be what makes its plugin work, e.g. ``nars hebo install``).
* The host's own plugins (``nars_plugin.plugins.DEFAULT_PLUGINS``: the built-ins and one module per
  peer optimizer) are registered first, through these same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .plugins import Commands, Registry

PROJECT = "nars_plugin"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def nars_register_spaces(registry: Registry) -> None:
    """Add search spaces with ``registry.add_space(name, factory, description)``.

    ``factory(**options)`` returns a :class:`nars_plugin.space.Space` (a joint architecture x
    recipe space); ``options`` are keyword settings of the space, often none. ``name`` is what
    users type (``--space NAME``, the ``space`` of a CSV benchmark); ``description`` is one line for
    ``nars spaces``.
    """


@hookspec
def nars_register_benchmarks(registry: Registry) -> None:
    """Add benchmarks with ``registry.add_benchmark(name, factory, description, takes_argument=False)``.

    ``factory(**options)`` returns an evaluator over one space: usually a
    :class:`nars_plugin.tabular.base.TabularBenchmark`, at least a
    :class:`nars_plugin.evaluation.Evaluator` with ``space``, ``objective`` and ``max_fidelity``.
    ``options`` come from ``--bench-opt KEY=VALUE`` or ``create_study(..., options=)`` and are declared
    with ``settings=`` (a dataclass, see :mod:`nars_plugin.settings`): unknown names and bad values are
    refused before the factory runs, and ``nars benchmarks NAME`` lists them. With
    ``takes_argument=True`` users write ``name:ARGUMENT`` (e.g. ``csv:PATH``) and the factory is
    called as ``factory(argument_or_None, **options)``.
    """


@hookspec
def nars_register_optimizers(registry: Registry) -> None:
    """Add optimizers with ``registry.add_optimizer(name, cls, description, runner=None, unavailable=None)``.

    ``cls(space, context=..., settings=...)`` returns a :class:`nars_plugin.optimizers.base.Optimizer`
    (the ask/tell contract the study loop drives, documented in that module). ``context`` is the run's
    :class:`nars_plugin.settings.RunContext` (objective, seed, constraints, budget, max_fidelity,
    fixed_recipe); ``settings`` is an instance of the optimizer's declaration (a dataclass, see
    :mod:`nars_plugin.settings`), named once as the type argument of its base class
    (``class Greedy(Optimizer[GreedySettings])``) or, for a plain factory, as
    ``add_optimizer(..., settings=GreedySettings)``; the registry parses and checks them (from
    ``--opt KEY=VALUE``, ``NAME(key=value)`` in ``--optimizers`` or ``create_study(..., settings=)``)
    and ``nars optimizers NAME`` lists them. A factory that refuses ``context=``/``settings=`` (written
    for the 0.1 contract, which passed ``objective=..., seed=..., ..., **settings`` as one set of
    keywords) is called that way, with a DeprecationWarning. The two optional arguments are for
    optimizers that cannot run as an ask/tell study:

    * ``runner(benchmark, task) -> dict``: ``nars compare`` calls it instead of building a study.
      ``task`` is a :class:`~nars_plugin.comparison.tasks.RunTask`: ``task.optimizer``, ``.seed``,
      ``.budget``, ``.budget_seconds``, ``.constraints``, ``.settings`` and ``.out`` (the run's own
      folder, for resuming; ``task["seed"]`` still works one more release, with a warning); the dict has ``curve`` (best
      report value after each evaluation), ``costs`` (cumulative cost at each, when the budget is in
      seconds), ``seconds``, ``evaluated_now`` and ``best``.
    * ``unavailable(target) -> str | None``: why the optimizer cannot run on this machine (no GPU, no
      data set) or on the comparison's ``target`` (its benchmark or evaluator), or ``None``; ``nars
      compare`` then warns and leaves it out instead of failing. One that takes no argument is called
      as ``unavailable()``.
    """


@hookspec
def nars_register_predictors(registry: Registry) -> None:
    """Add accuracy predictors with ``registry.add_predictor(name, cls, description)``.

    ``cls`` subclasses :class:`nars_plugin.predictors.Predictor` (its docstring is the contract:
    ``fit(cands, y) -> self`` and ``predict_mean_std(cands) -> (mean, std)``, optional ``Settings``,
    pretraining, ``reset()`` for a predictor that warm-starts its refits and ``screen()``);
    ``nars predictors NAME`` lists its settings and :class:`nars_plugin.testing.PredictorConformance`
    checks the contract. Once registered, NARS and
    BANANAS use it by name (``-O predictor=NAME -O predictor.K=V``) and ``nars predictor-eval
    --predictors NAME`` ranks it beside the others.
    """


@hookspec
def nars_register_evaluators(registry: Registry) -> None:
    """Add evaluators (e.g. real training) with ``registry.add_evaluator(name, factory, description)``.

    ``factory(space=..., **options)`` returns a :class:`nars_plugin.evaluation.Evaluator`; ``space``
    is the :class:`~nars_plugin.space.Space` made from ``--space`` (absent when not given) and
    ``options`` come from ``--eval-opt KEY=VALUE`` and the ``--dataset``/``--executor``/... flags of
    ``nars search``/``nars train`` (a ``TypeError`` is reported as an unknown option).
    """


@hookspec
def nars_plugin_status() -> tuple[str, str] | None:
    """Say whether this plugin can work here: ``None`` when it can, else ``(reason, fix)``.

    A plugin that needs an optional library (NASLib, timm, ...) returns, e.g.,
    ``("NASLib is not installed", "install it from source: see DEVELOPERS.md")``; both are strings,
    shown by ``nars plugins`` beside the plugin, which is then listed as inactive. The core does not
    call an inactive plugin's ``nars_register_*`` hooks (so it makes no ``registry.add_*`` calls), and
    asking for one of its names (``PLUGIN:NAME``, e.g. ``naslib:re``) fails with that reason and fix
    instead of "unknown name".
    Keep it fast (it runs on every command): look for a library with :func:`importlib.util.find_spec`
    rather than importing a slow one. A status hook that raises, or returns anything but ``None`` or
    a pair of strings, makes its plugin inactive with that problem as the reason; other plugins are
    not affected.
    """


@hookspec
def nars_add_commands(commands: Commands) -> None:
    """Add ``nars`` subcommands with ``commands.add(name, run, help, arguments=None)``.

    ``arguments(parser)`` adds the command's options to its :class:`argparse.ArgumentParser`;
    ``run(args)`` gets the parsed :class:`argparse.Namespace` and returns the exit status. ``nars
    --help`` lists the command with its plugin; a :class:`nars_plugin.errors.NarsError` it raises
    (e.g. a ``ConfigError(message, hint)`` for bad input) prints ``error: ...`` and the hint and exits
    with status 2, as the core's commands do. :mod:`nars_plugin.cli` has helpers for the options the
    core's commands share (``add_benchmark_args``/``benchmark_from_args``,
    ``add_evaluator_args``/``make_evaluator``). A name the core uses, or one another plugin added, is
    an error naming both.

    Unlike the ``nars_register_*`` hooks, it is called for inactive plugins too: a command may be how
    the plugin becomes usable (``nars naslib install``, ``nars hebo install``), so import the missing
    library inside ``run``, not at module level.
    """
