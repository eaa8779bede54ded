"""nars-plugin: joint architecture + training-recipe search (FBNetV3's NARS), pluggable.

Public entry points: :mod:`nars_plugin.space` (joint spaces), :mod:`nars_plugin.tabular`
(benchmarks), :mod:`nars_plugin.study` (the search loop), :func:`get_registry` (everything
plugins registered) and :data:`hookimpl` (to write plugins).
"""

from .hookspecs import hookimpl

__version__ = "0.1.0"


def get_registry(refresh: bool = False):  # noqa: ANN201 - re-export with lazy import
    """The registry of spaces, benchmarks, optimizers, predictors and evaluators."""
    from .plugins import get_registry as _get

    return _get(refresh)


__all__ = ["__version__", "get_registry", "hookimpl"]
