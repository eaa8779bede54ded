"""Connecting to Ray, for every part that sends work to it (``nars compare --executor ray``, the
ImageNet adapter's Ray executor): one place for the rules below.

* Without an address, a **new local instance**, never a cluster Ray would find by itself (through
  ``RAY_ADDRESS`` or the file that a ``ray start`` on this machine left behind, which may be stale).
* The driver's ``NARS_*`` environment variables (data folder, plugin blocks, worker interpreters)
  travel to the workers, so a task sees the settings its driver sees (unless told not to).
* A cluster that cannot be reached is a :class:`~nars_plugin.errors.ConfigError` saying how to
  start one, not Ray's traceback; Ray itself missing names the ``ray`` extra.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import ConfigError, option


def connect(address: str | None = None, num_cpus: int | None = None, forward_settings: bool = True) -> Any:
    """The ``ray`` module, initialised for the cluster at ``address`` (``HOST:PORT``; None: a new
    local instance, with ``num_cpus`` CPUs where given). Does nothing more when Ray is initialised.

    ``forward_settings=False`` starts the job without a runtime environment, as the training
    executor does (its jobs read no ``NARS_*`` setting; with the settings forwarded, its Ray
    fault test timed out on a loaded machine, for a reason not yet pinned down)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the ray executor needs Ray, which is not installed", "pip install 'nars-plugin[ray]'"
        ) from None
    if ray.is_initialized():
        return ray
    env = {k: v for k, v in os.environ.items() if k.startswith("NARS_")} if forward_settings else {}
    options: dict[str, Any] = {
        "address": address or "local",
        "include_dashboard": False,
        "log_to_driver": False,
        "runtime_env": {"env_vars": env} if env else None,
    }
    if address is None and num_cpus is not None:
        options["num_cpus"] = num_cpus
    try:
        ray.init(**options)
    except ConnectionError as exc:
        raise ConfigError(
            f"cannot connect to the Ray cluster at {address}: {exc}",
            "start one with `ray start --head --port PORT` and pass "
            + option("address='HOST:PORT', or leave address=None", "--address HOST:PORT, or leave --address out")
            + " for a local instance",
        ) from None
    return ray
