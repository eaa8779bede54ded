"""The ``naslib`` plugin (entry point ``naslib = nars_naslib.plugin``).

It adds the command ``nars naslib`` (:mod:`.command`: run a NASLib config, or install NASLib), also
while NASLib is missing.

Where NASLib is importable it registers NASLib's optimizers as ``naslib:<name>`` for
``nars compare`` (run by NASLib's Trainer, not by our study loop) and NASLib's predictors as
``naslib:<type>`` predictors (for NARS, BANANAS and ``nars predictor-eval``). Where it is not installed, or
installed but fails to import, the plugin reports itself inactive, with the reason and the fix, in
``nars plugins``; the core then asks it to register nothing, and ``naslib:re`` fails with that reason.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from nars_plugin import hookimpl
from nars_plugin.errors import ConfigError
from nars_plugin.plugins import Commands, Registry

from . import _naslib, command

if TYPE_CHECKING:
    from nars_plugin.comparison.tasks import RunTask

__version__ = "0.1.0"


@hookimpl
def nars_plugin_status() -> tuple[str, str] | None:
    """Inactive where the ``naslib`` package is missing or cannot be imported (it imports torch).

    The import is tried only where NASLib is installed, so a broken installation shows up in
    ``nars plugins`` instead of in the middle of a comparison.
    """
    missing = _naslib.status()
    if missing is not None:
        return missing
    try:
        _naslib.naslib_module("")
    except _naslib.NASLibMissingError as exc:
        return exc.message, exc.hint or _naslib.INSTALL_HINT
    return None


def _not_ask_tell(name: str, *args: Any, **kwargs: Any) -> Any:
    raise ConfigError(
        f"optimizer {name!r} is NASLib's own and runs through NASLib's Trainer, not through `nars search`",
        f"use it in `nars compare --optimizers ...,{name}` or in a NASLib config for `nars naslib --config`",
    )


def _run(kind: str, bench: Any, task: RunTask) -> dict[str, Any]:
    from nars_plugin.tabular.base import TabularBenchmark

    from . import runner

    if kind == "query":
        return runner.run_query_based(bench, task)
    if isinstance(bench, TabularBenchmark):
        return runner.run_one_shot(bench, task)
    return runner.run_one_shot_trained(bench, task)


def _one_shot_unavailable(name: str, target: Any = None) -> str | None:
    """Why ``naslib:<name>`` cannot run on ``target``: on a table it needs a GPU and CIFAR-10; on the
    train evaluator (its supernet trains on the evaluator's data, on any device) it needs NB201 cells."""
    from nars_plugin.tabular.base import TabularBenchmark

    from .runner import one_shot_unavailable

    if target is None or isinstance(target, TabularBenchmark):
        return one_shot_unavailable(name)
    if getattr(target.space, "name", None) != "nb201-digits":
        return f"NASLib's {name} searches NB201 cells: compare on --space nb201-digits with the train evaluator"
    return None


def _query_unavailable(name: str, target: Any = None) -> str | None:
    """``naslib:<name>`` (query-based) looks its queries up in a table: none where the target trains."""
    from nars_plugin.tabular.base import TabularBenchmark

    if target is None or isinstance(target, TabularBenchmark):
        return None
    return f"NASLib's {name} queries tabular benchmarks only (the target trains its candidates): use rea or rs"


@hookimpl
def nars_register_optimizers(registry: Registry) -> None:
    """``naslib:rs``, ``re``, ``ls``, ``bananas``, ``npenas`` (query-based) and ``darts``, ``gdas`` (one-shot).

    Called only while :func:`nars_plugin_status` says NASLib can be imported.
    """
    from .runner import NASLIB_OPTIMIZERS, QUERY_BASED

    for name in (*QUERY_BASED, "darts", "gdas"):
        full = f"naslib:{name}"
        one_shot = name not in QUERY_BASED
        registry.add_optimizer(
            full,
            partial(_not_ask_tell, full),
            NASLIB_OPTIMIZERS[name][1] + ", through NASLib's Trainer",
            runner=partial(_run, "one_shot" if one_shot else "query"),
            unavailable=partial(_one_shot_unavailable if one_shot else _query_unavailable, name),
        )


@hookimpl
def nars_register_predictors(registry: Registry) -> None:
    """NASLib's predictors as ``naslib:xgb``, ``naslib:gp``, ``naslib:bananas``, ... (NB201 cells)."""
    from .predictors import NASLIB_PREDICTORS, predictor_classes

    for name, cls in predictor_classes().items():
        registry.add_predictor(name, cls, f"NASLib: {NASLIB_PREDICTORS[cls.naslib_type]} (NB201 cells)")


@hookimpl
def nars_add_commands(commands: Commands) -> None:
    """``nars naslib`` (asked of this plugin while it is inactive too: ``nars naslib install`` is the fix)."""
    commands.add("naslib", command.run, command.HELP, command.arguments)
