"""The ``imagenet`` plugin: registers the FBNetV3 spaces and the ``train`` evaluator.

Found through the ``nars_plugin`` entry-point group (``imagenet = nars_imagenet.plugin``).
Factories import torch, timm and torchvision only when called, so listing names stays cheap and a
core-only installation (without the ``imagenet`` extra) still lists them.
"""

from __future__ import annotations

from typing import Any

from nars_plugin import hookimpl
from nars_plugin.plugins import Registry


def _fbnetv3(**options: Any) -> Any:
    from .space import fbnetv3_space

    return fbnetv3_space(**options)


def _fbnetv3_tiny(**options: Any) -> Any:
    from .space import fbnetv3_tiny_space

    return fbnetv3_tiny_space(**options)


def _train(space: Any = "fbnetv3-tiny", **options: Any) -> Any:
    from nars_plugin.errors import ConfigError

    try:
        import timm  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as exc:
        hint = 'install them with pip install "nars-plugin[imagenet]"'
        raise ConfigError(f"the train evaluator needs timm and torchvision ({exc})", hint) from None
    from .evaluator import TrainingEvaluator

    return TrainingEvaluator(space=space, **options)


@hookimpl
def nars_register_spaces(registry: Registry) -> None:
    """fbnetv3 (the paper's ImageNet space) and fbnetv3-tiny (digits-sized)."""
    registry.add_space("fbnetv3", _fbnetv3, "FBNetV3 ImageNet joint space: 7 MBConv stages + resolution, RMSProp/SGD "
                       "recipe; analytical FLOPs (multiply-adds) and params")  # fmt: skip
    registry.add_space("fbnetv3-tiny", _fbnetv3_tiny, "reduced FBNetV3-style joint space for 8x8 digits (3 stages, "
                       "same recipe parameters, 4-8 epochs)")  # fmt: skip


@hookimpl
def nars_register_evaluators(registry: Registry) -> None:
    """train: real training through a local process pool or a Ray cluster."""
    registry.add_evaluator("train", _train, "real training (timm blocks, torchrun-ready trainer) on digits or an "
                           "ImageNet-style folder; executors local (processes) or ray")  # fmt: skip
