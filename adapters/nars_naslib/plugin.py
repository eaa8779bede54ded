"""The ``naslib`` plugin (entry point ``naslib = nars_naslib.plugin``).

Where NASLib is importable it registers NASLib's optimizers as ``naslib:<name>`` for
``nars compare`` (run by NASLib's Trainer, not by our study loop). Where it is not, it registers
nothing and reports itself inactive, with the reason and the fix, in ``nars plugins``; asking for
``naslib:re`` then fails with that reason.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from nars_plugin import hookimpl
from nars_plugin.errors import ConfigError
from nars_plugin.plugins import Registry

from . import _naslib

__version__ = "0.1.0"


@hookimpl
def nars_plugin_status() -> tuple[str, str] | None:
    """Inactive where the ``naslib`` package cannot be found."""
    return _naslib.status()


def _not_ask_tell(name: str, *args: Any, **kwargs: Any) -> Any:
    raise ConfigError(
        f"optimizer {name!r} is NASLib's own and runs through NASLib's Trainer, not through `nars search`",
        f"use it in `nars compare --optimizers ...,{name}` or in a NASLib config for `nars naslib --config`",
    )


def _run(kind: str, bench: Any, task: dict[str, Any]) -> dict[str, Any]:
    from . import runner

    return (runner.run_query_based if kind == "query" else runner.run_one_shot)(bench, task)


def _one_shot_unavailable(name: str) -> str | None:
    from .runner import one_shot_unavailable

    return one_shot_unavailable(name)


@hookimpl
def nars_register_optimizers(registry: Registry) -> None:
    """``naslib:rs``, ``naslib:re``, ``naslib:ls``, ``naslib:bananas``, ``naslib:npenas`` and ``naslib:darts``."""
    if _naslib.status() is not None:
        return
    from .runner import NASLIB_OPTIMIZERS, QUERY_BASED

    for name in (*QUERY_BASED, "darts"):
        full = f"naslib:{name}"
        one_shot = name not in QUERY_BASED
        registry.add_optimizer(
            full,
            partial(_not_ask_tell, full),
            NASLIB_OPTIMIZERS[name][1] + ", through NASLib's Trainer",
            runner=partial(_run, "one_shot" if one_shot else "query"),
            unavailable=partial(_one_shot_unavailable, name) if one_shot else None,
        )
