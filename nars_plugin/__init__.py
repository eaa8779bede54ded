"""nars-plugin: joint architecture + training-recipe search (FBNetV3's NARS), pluggable.

The Python API (:mod:`nars_plugin.api`)::

    import nars_plugin

    study = nars_plugin.create_study("nb201-analog", "nars", budget=100, seed=0, storage="runs/demo")
    study.optimize()
    print(study.best.candidate, study.best.result.metrics)

:func:`create_study` / :func:`load_study` / :func:`compare` / :func:`suite` assemble searches;
:class:`~nars_plugin.study.Study` runs one (``optimize()``, or ``ask()``/``tell()``; Optuna's
``best_value``, ``best_params`` and ``trials_dataframe()`` too); :mod:`nars_plugin.visualization`
plots one and :func:`export_optuna` writes it where Optuna's tools read it;
:func:`get_registry` holds everything plugins registered and :data:`hookimpl` marks plugin hooks.
Spaces: :mod:`nars_plugin.space`; benchmarks: :mod:`nars_plugin.tabular`; conformance suites for
plugin authors: :mod:`nars_plugin.testing`.

What lives where: the components (built-in spaces in :mod:`~nars_plugin.spaces`, benchmarks in
:mod:`~nars_plugin.tabular`, :mod:`~nars_plugin.predictors`, :mod:`~nars_plugin.optimizers`) sit
on the contracts (the space, evaluation and settings modules); the plugin host
(:mod:`nars_plugin.plugins`, with :mod:`nars_plugin.hookspecs`) registers them; one assembly module
builds a search from names and settings for the API and :mod:`~nars_plugin.comparison`; the study
runs it. Dependencies run downward: no component imports the host (it hands them what a setting
names), nothing imports an adapter, NASLib or timm, and optional libraries are imported lazily.
Modules named ``_*`` are internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _moved
from ._version import __version__
from .hookspecs import hookimpl
from .settings import Resolved, install_resolver

if TYPE_CHECKING:
    from .api import StudyRecord, compare, create_study, load_study, suite
    from .optuna_export import export_optuna
    from .plugins import Registry
    from .study import Study, StudyFinished, StudyResult, Trial

_moved.install()  # old import paths of moved modules, with a DeprecationWarning


def _resolve(kind: str, name: str) -> Resolved:
    """Plugin names resolve through the plugin host, which loads the plugins on first use."""
    from .plugins import resolve

    return resolve(kind, name)


install_resolver(_resolve)  # components receive factories; only the host knows the registry

#: Public names imported on first use, so ``import nars_plugin`` stays cheap (the CLI imports it).
_LAZY = {
    "create_study": "api",
    "load_study": "api",
    "compare": "api",
    "suite": "api",
    "StudyRecord": "api",
    "export_optuna": "optuna_export",
    "Study": "study",
    "StudyFinished": "study",
    "StudyResult": "study",
    "Trial": "study",
}


def get_registry(refresh: bool = False) -> Registry:
    """The registry of spaces, benchmarks, optimizers, predictors and evaluators."""
    from .plugins import get_registry as _get

    return _get(refresh)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'nars_plugin' has no attribute {name!r}")


__all__ = [
    "Study",
    "StudyFinished",
    "StudyRecord",
    "StudyResult",
    "Trial",
    "__version__",
    "compare",
    "suite",
    "create_study",
    "export_optuna",
    "get_registry",
    "hookimpl",
    "load_study",
]
