"""Connecting to Ray, for every part that sends work to it (``nars compare --executor ray``, the
ImageNet adapter's Ray executor): one place for the rules below.

* Without an address, a **new local instance**, never a cluster Ray would find by itself (through
  ``RAY_ADDRESS`` or the file that a ``ray start`` on this machine left behind, which may be stale).
  The local instance binds to the loopback address (127.0.0.1) only: nothing it sends goes to any
  other address of the machine.
* A cluster on this machine that listens on the loopback address (``--address 127.0.0.1:PORT``) is
  reached there. Ray by itself rewrites a loopback address into the machine's outward one, where
  such a cluster does not listen, and would wait for it forever.
* The driver's ``NARS_*`` environment variables (data folder, plugin blocks, worker interpreters)
  travel to the workers, so a task sees the settings its driver sees (unless told not to).
* A cluster that cannot be reached is a :class:`~nars_plugin.errors.ConfigError` saying how to
  start one, not Ray's traceback; Ray itself missing names the ``ray`` extra.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from typing import Any

from .errors import ConfigError, option

#: The address every Ray node this project starts binds to.
LOOPBACK = "127.0.0.1"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def connect(address: str | None = None, num_cpus: int | None = None, forward_settings: bool = True) -> Any:
    """The ``ray`` module, initialised for the cluster at ``address`` (``HOST:PORT``; None: a new
    local instance on the loopback address, with ``num_cpus`` CPUs where given). Does nothing more
    when Ray is initialised.

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
    if address is None:
        options["_node_ip_address"] = LOOPBACK
        if num_cpus is not None:
            options["num_cpus"] = num_cpus
    on_loopback = address is None or listens_on_loopback(address)
    try:
        with _this_machine_is_loopback(on_loopback):
            ray.init(**options)
    except ConnectionError as exc:
        raise ConfigError(
            f"cannot connect to the Ray cluster at {address}: {exc}",
            "start one with `ray start --head --port PORT` and pass "
            + option("address='HOST:PORT', or leave address=None", "--address HOST:PORT, or leave --address out")
            + " for a local instance",
        ) from None
    return ray


def listens_on_loopback(address: str) -> bool:
    """Whether ``address`` (``HOST:PORT``) names this machine's loopback and something listens there."""
    host, _, port = address.rpartition(":")
    if host not in _LOOPBACK_HOSTS or not port.isdigit():
        return False
    try:
        with socket.create_connection((LOOPBACK, int(port)), timeout=2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _this_machine_is_loopback(active: bool) -> Iterator[None]:
    """While connecting: Ray takes this machine's address to be 127.0.0.1 (``active``), not its
    outward address. Ray (2.x) resolves a loopback node or cluster address through one switch,
    the one it uses on Windows and macOS; it is set for the connection only, then put back (a
    connected driver reads its node's address from the node)."""
    if not active:
        yield
        return
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before
