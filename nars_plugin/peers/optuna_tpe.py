"""The ``optuna-tpe`` plugin: Optuna's TPE sampler (:mod:`nars_plugin.optimizers.optuna_tpe`).

Inactive, with the install command, where Optuna is not installed (``optuna`` extra).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..plugins import Registry


@hookimpl
def nars_plugin_status() -> tuple[str, str] | None:
    """Inactive where the optuna package cannot be found (looked up without importing it: it is slow)."""
    if importlib.util.find_spec("optuna") is None:
        return "Optuna (the optuna package) is not installed", "pip install 'nars-plugin[optuna]'"
    return None


@hookimpl
def nars_register_optimizers(registry: Registry) -> None:
    """``optuna-tpe``."""
    from ..optimizers.optuna_tpe import OptunaTPE

    registry.add_optimizer("optuna-tpe", OptunaTPE, "Optuna's TPE sampler (seeded) on any space (extra: optuna)")
