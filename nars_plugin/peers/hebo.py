"""The ``hebo`` plugin: HEBO (:mod:`nars_plugin.optimizers.hebo`), run in a worker environment of its
own, and the command ``nars hebo install`` that builds that environment.

Inactive, with the reason and the install command, where no worker environment is found.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..plugins import Commands, Registry


@hookimpl
def nars_plugin_status() -> tuple[str, str] | None:
    """Inactive where no HEBO worker can start (:func:`nars_plugin.optimizers.hebo.status`)."""
    from ..optimizers.hebo import status

    return status()


@hookimpl
def nars_register_optimizers(registry: Registry) -> None:
    """``hebo``."""
    from ..optimizers.hebo import HEBO

    registry.add_optimizer("hebo", HEBO, "HEBO (GP + MACE, seeded) in its worker environment (`nars hebo install`)")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=["install"], help="install: a virtual environment with HEBO and pinned dependencies"
    )
    parser.add_argument("--venv", metavar="DIR", help="where to build it (default ~/.cache/nars-plugin/hebo-env)")
    parser.add_argument("--torch", default=None, metavar="REQUIREMENT", help="torch for it (default torch==2.13.0)")


def run_install(args: argparse.Namespace) -> int:
    """``nars hebo install``: build the HEBO worker environment (HEBO cannot share this one: it pins
    numpy<1.25)."""
    from ..optimizers import hebo

    folder = Path(args.venv) if args.venv else hebo.default_worker_dir()
    started = time.perf_counter()
    python = hebo.install_worker(folder, torch=args.torch or hebo.WORKER_TORCH)
    print(f"built the HEBO worker environment in {folder} ({time.perf_counter() - started:.0f} s)")
    if args.venv:
        print(f"point the hebo optimizer at it: export {hebo.WORKER_PYTHON_ENV}={python}")
    return 0


@hookimpl
def nars_add_commands(commands: Commands) -> None:
    """``nars hebo install`` (asked of this plugin while it is inactive too: it is the fix)."""
    commands.add(
        "hebo",
        run_install,
        "`nars hebo install`: build the worker environment the hebo optimizer runs in",
        _arguments,
    )
