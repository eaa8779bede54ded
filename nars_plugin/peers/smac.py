"""The ``smac`` plugin: SMAC3's random-forest BO (:mod:`nars_plugin.optimizers.smac3`).

Inactive, with the install command, where SMAC3 is not installed (``smac`` extra).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..plugins import Registry


@hookimpl
def nars_plugin_status() -> tuple[str, str] | None:
    """Inactive where the smac package cannot be found (looked up without importing it)."""
    if importlib.util.find_spec("smac") is None:
        return "SMAC3 (the smac package) is not installed", "pip install 'nars-plugin[smac]'"
    return None


@hookimpl
def nars_register_optimizers(registry: Registry) -> None:
    """``smac``."""
    from ..optimizers.smac3 import SMAC

    registry.add_optimizer(
        "smac", SMAC, "SMAC3 random-forest BO (HyperparameterOptimizationFacade, seeded; extra: smac)"
    )
