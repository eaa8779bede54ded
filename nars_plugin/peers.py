"""The ``smac`` and ``hebo`` plugins: peer optimizers from libraries that may be missing here.

Each is a plugin of its own (entry points ``smac`` and ``hebo`` of this distribution) so that
``nars plugins`` lists it as inactive, with the reason and the install command, where its library
is not available, and ``--optimizers smac`` then fails with that reason instead of "unknown
optimizer". Neither imports its library until an optimizer is created.
"""

from __future__ import annotations

import importlib.util

from . import hookimpl
from .plugins import Registry


class SMACPlugin:
    """SMAC3's random-forest BO (:mod:`nars_plugin.optimizers.smac3`); needs the ``smac`` extra."""

    @hookimpl
    def nars_plugin_status(self) -> tuple[str, str] | None:
        if importlib.util.find_spec("smac") is None:
            return "SMAC3 (the smac package) is not installed", "pip install 'nars-plugin[smac]'"
        return None

    @hookimpl
    def nars_register_optimizers(self, registry: Registry) -> None:
        from .optimizers.smac3 import SMAC

        registry.add_optimizer(
            "smac", SMAC, "SMAC3 random-forest BO (HyperparameterOptimizationFacade, seeded; extra: smac)"
        )


class HEBOPlugin:
    """HEBO (:mod:`nars_plugin.optimizers.hebo`), run in a worker environment of its own."""

    @hookimpl
    def nars_plugin_status(self) -> tuple[str, str] | None:
        from .optimizers.hebo import status

        return status()

    @hookimpl
    def nars_register_optimizers(self, registry: Registry) -> None:
        from .optimizers.hebo import HEBO

        registry.add_optimizer("hebo", HEBO, "HEBO (GP + MACE, seeded) in its worker environment (`nars hebo install`)")


smac = SMACPlugin()
hebo = HEBOPlugin()
