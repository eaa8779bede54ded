"""The peer optimizers' plugins: one plugin module per optimizer from another library.

``optuna_tpe`` (Optuna's TPE), ``smac`` (SMAC3) and ``hebo`` (HEBO, in a worker environment) are
registered by the host itself, before the entry points and through the same hooks as any plugin
(:data:`nars_plugin.plugins.DEFAULT_PLUGINS`). Each reports itself inactive, with the reason and
the install command, where its library is missing (``nars plugins``); ``--optimizer NAME`` then
fails with that reason instead of "unknown optimizer". The optimizers themselves live in
:mod:`nars_plugin.optimizers`; these modules import them only when registering, and their
libraries only when an optimizer is created. They may import the plugin host (they are plugins).
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["hebo", "optuna_tpe", "smac"]


def __getattr__(name: str) -> ModuleType:
    """``nars_plugin.peers:smac`` and ``:hebo`` (the entry points of releases before the peers became
    modules) load the plugin module of that name."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
