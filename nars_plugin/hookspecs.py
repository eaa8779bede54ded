"""The plugin contract: one documented function per hook.

A plugin is a module (or object) with functions marked by
:data:`nars_plugin.hookimpl` and named like the specifications below. It is
found through the entry-point group ``nars_plugin``::

    # setup.py of a third-party package
    entry_points={"nars_plugin": ["myplugin = myplugin.hooks"]}

Each ``nars_register_*`` hook receives a :class:`nars_plugin.plugins.Registry`
and calls its ``add_*`` methods. The built-in spaces, benchmarks and
optimizers register through these same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .plugins import Registry

PROJECT = "nars_plugin"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def nars_register_spaces(registry: Registry) -> None:
    """Add search spaces with ``registry.add_space(name, factory, description)``.

    ``factory(**options)`` returns a :class:`nars_plugin.space.Space`.
    """


@hookspec
def nars_register_benchmarks(registry: Registry) -> None:
    """Add benchmarks with ``registry.add_benchmark(name, factory, description)``.

    ``factory(argument=None, **options)`` returns an evaluator (usually a
    :class:`nars_plugin.tabular.base.TabularBenchmark`). With
    ``takes_argument=True`` users write ``name:ARGUMENT`` (e.g. ``csv:PATH``);
    ``settings=`` declares the options (see :mod:`nars_plugin.settings`).
    """


@hookspec
def nars_register_optimizers(registry: Registry) -> None:
    """Add optimizers with ``registry.add_optimizer(name, cls, description)``.

    ``cls(space, objective=..., seed=..., constraints=..., budget=..., **settings)``
    returns a :class:`nars_plugin.optimizers.base.Optimizer`; its settings are declared by
    ``cls.Settings`` (see :mod:`nars_plugin.settings`).
    """


@hookspec
def nars_register_predictors(registry: Registry) -> None:
    """Add accuracy predictors with ``registry.add_predictor(name, cls, description)``.

    ``cls(space, seed=..., **settings)`` returns an object with ``fit(cands, y)``
    and ``predict(cands)``.
    """


@hookspec
def nars_register_evaluators(registry: Registry) -> None:
    """Add evaluators (e.g. real training) with ``registry.add_evaluator(name, factory, description)``.

    ``factory(space=..., **options)`` returns a :class:`nars_plugin.evaluation.Evaluator`.
    """


@hookspec
def nars_plugin_status() -> tuple[str, str] | None:
    """Say whether this plugin can work here: ``None`` when it can, else ``(reason, fix)``.

    A plugin that needs an optional library (NASLib, timm, ...) returns, e.g.,
    ``("NASLib is not installed", "install it from source: see DEVELOPERS.md")``. ``nars plugins``
    then lists it as inactive with both, and asking for one of its names (``PLUGIN:NAME``, e.g.
    ``naslib:re``) fails with that reason and fix instead of "unknown name". While inactive the
    plugin makes no ``registry.add_*`` calls.
    """
