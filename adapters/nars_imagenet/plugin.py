"""The ``imagenet`` plugin: registers the FBNetV3 spaces and the ``train`` evaluator.

Found through the ``nars_plugin`` entry-point group (``imagenet = nars_imagenet.plugin``); it adds the
command ``nars train`` (:mod:`.command`).
Factories import timm and torchvision only when called, so listing names stays cheap. A core-only
installation (without the ``imagenet`` extra) lists the plugin as inactive, with the install command.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import partial
from typing import Any

from nars_plugin import hookimpl
from nars_plugin.plugins import Commands, Registry

from . import command

#: The libraries of the ``imagenet`` extra that the model builder and trainer import.
REQUIRED = ("timm", "torchvision")
INSTALL_HINT = "pip install 'nars-plugin[imagenet]'"


def _is_missing(module: str) -> bool:
    """Whether ``import module`` would fail for want of the package (found without importing it)."""
    if module in sys.modules:
        return sys.modules[module] is None  # None there makes ``import module`` raise ImportError
    return importlib.util.find_spec(module) is None


@hookimpl
def nars_plugin_status() -> tuple[str, str] | None:
    """Inactive where timm or torchvision is not installed (checked without importing them: both are slow)."""
    missing = [name for name in REQUIRED if _is_missing(name)]
    if not missing:
        return None
    return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed", INSTALL_HINT


def _fbnetv3(**options: Any) -> Any:
    from .space import fbnetv3_space

    return fbnetv3_space(**options)


def _fbnetv3_tiny(**options: Any) -> Any:
    from .space import fbnetv3_tiny_space

    return fbnetv3_tiny_space(**options)


def _nb201_digits(**options: Any) -> Any:
    from .nb201 import nb201_train_space

    return nb201_train_space(**options)


def _train(space: Any = "fbnetv3-tiny", **options: Any) -> Any:
    from nars_plugin.errors import ConfigError

    try:  # installed (the plugin is active) but possibly broken
        import timm  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"the train evaluator needs timm and torchvision ({exc})", f"reinstall them: {INSTALL_HINT}"
        ) from None
    from .evaluator import TrainingEvaluator

    return TrainingEvaluator(space=space, **options)


@hookimpl
def nars_register_spaces(registry: Registry) -> None:
    """fbnetv3 (the paper's ImageNet space), fbnetv3-tiny (digits-sized) and nb201-digits (NB201 cells)."""
    registry.add_space("fbnetv3", _fbnetv3, "FBNetV3 ImageNet joint space: 7 MBConv stages + resolution, RMSProp/SGD "
                       "recipe; analytical FLOPs (multiply-adds) and params")  # fmt: skip
    registry.add_space("fbnetv3-tiny", _fbnetv3_tiny, "reduced FBNetV3-style joint space for 8x8 digits (3 stages, "
                       "same recipe parameters, 4-8 epochs)")  # fmt: skip
    registry.add_space("nb201-digits", _nb201_digits, "NB201 cells trained for real by the train evaluator (fixed "
                       "NB201 recipe; 2 cells per stage, 4 epochs for 8x8 digits; -S cells_per_stage, epochs, "
                       "resolution)")  # fmt: skip


@hookimpl
def nars_register_evaluators(registry: Registry) -> None:
    """train: real training through a local process pool or a Ray cluster."""
    registry.add_evaluator("train", _train, "real training (timm blocks, torchrun-ready trainer) on digits or an "
                           "ImageNet-style folder; executors local (processes) or ray")  # fmt: skip


def _not_ask_tell(name: str, *args: Any, **kwargs: Any) -> Any:
    from nars_plugin.errors import ConfigError

    raise ConfigError(
        f"optimizer {name!r} trains a supernet of its own and runs through `nars compare`, not `nars search`",
        f"use nars compare --evaluator train --space fbnetv3-tiny --optimizers ...,{name}",
    )


def _one_shot(method: str, evaluator: Any, task: Any) -> dict[str, Any]:
    from .oneshot import run

    return run(method, evaluator, task)


def _one_shot_unavailable(target: Any = None) -> str | None:
    from .oneshot import unavailable

    return unavailable(target)


@hookimpl
def nars_register_optimizers(registry: Registry) -> None:
    """proxylessnas and single-path-nas: hardware-aware one-shot searches of the FBNetV3 spaces."""
    from .oneshot_settings import METHODS

    for name, (settings, description) in METHODS.items():
        registry.add_optimizer(
            name,
            partial(_not_ask_tell, name),
            description + " (one-shot: --evaluator train, --space fbnetv3-tiny/fbnetv3, a latency constraint)",
            runner=partial(_one_shot, name),
            unavailable=_one_shot_unavailable,
            settings=settings,
        )


@hookimpl
def nars_add_commands(commands: Commands) -> None:
    """``nars train`` (also while the plugin is inactive: it then says what to install)."""
    commands.add("train", command.run, command.HELP, command.arguments)
