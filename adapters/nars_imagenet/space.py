"""The FBNetV3 joint (architecture, recipe) search space and a reduced one for small data sets.

``fbnetv3`` follows the FBNetV3 paper's table (DESIGN.md): per stage a kernel size, an expansion,
a width and a depth (stride and squeeze-excitation fixed per stage), the stem width and the input
resolution; the recipe is optimizer, learning rate, weight decay, mixup, dropout, stochastic depth,
model EMA and epochs. ``fbnetv3-tiny`` keeps the structure (stem, MBConv stages with and without SE,
MBPool head, the same recipe parameters) at a size that trains on 8x8 handwritten digits in seconds.

Free statistics (used by constraints and by the NARS predictor's pretraining): ``flops`` in
**multiply-adds** (the convention of the published FBNetV3 figures; ``torch.utils.flop_counter``
reports twice this) and ``params``, both analytical (:func:`nars_imagenet.arch.count`); with the
option ``latency=pixel3,fpga`` (or ``all``) also ``latency[<device>]`` in ms, from the per-device
layer-cost model of :mod:`nars_imagenet.latency` (constraints such as ``latency[pixel3] <= 4``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nars_plugin.space import Candidate, Categorical, Float, Integer, Param, Space

from .arch import BlockSpec, NetworkSpec, count, stage_blocks
from .latency import check_devices, latency_metric, network_latency


@dataclass(frozen=True)
class StageRange:
    """One searchable stage: fixed stride and SE; a range (or a fixed value) for the rest.

    ``expansion``, ``channels`` and ``repeats`` are ``(low, high, step)`` or a single int (fixed).
    """

    stride: int
    se: bool
    channels: tuple[int, int, int] | int
    repeats: tuple[int, int, int] | int
    expansion: tuple[int, int, int] | int
    kernels: tuple[int, ...] = (3, 5)


def _param(name: str, value: tuple[int, int, int] | int) -> Param | None:
    return Integer(name, *value) if isinstance(value, tuple) else None


class FBNetV3Space(Space):
    """A joint space of FBNetV3-style networks and training recipes.

    Args:
        name: registry name.
        stages: the searchable stages, in order.
        stem: stem width range; resolutions: allowed input resolutions ``(low, high, step)``.
        recipe: the recipe parameters.
        head_expansion, num_features: the MBPool head.
        num_classes, in_channels: of the data set.
        latency: devices whose modelled latency becomes a statistic (comma-separated, or ``all``).
    """

    def __init__(
        self,
        name: str,
        stages: Sequence[StageRange],
        stem: tuple[int, int, int],
        resolutions: tuple[int, int, int],
        recipe: Sequence[Param],
        head_expansion: float = 6.0,
        num_features: int = 1984,
        num_classes: int = 1000,
        in_channels: int = 3,
        description: str = "",
        latency: str | Sequence[str] | None = None,
    ) -> None:
        self.latency_devices = check_devices(latency)
        self.stages = tuple(stages)
        self.head_expansion, self.num_features = head_expansion, num_features
        self.num_classes, self.in_channels = num_classes, in_channels
        arch: list[Param] = [Integer("resolution", *resolutions), Integer("stem_channels", *stem)]
        for i, stage in enumerate(self.stages, start=1):
            arch.append(Categorical(f"s{i}_kernel", stage.kernels))
            for field in ("expansion", "channels", "repeats"):
                param = _param(f"s{i}_{field}", getattr(stage, field))
                if param is not None:
                    arch.append(param)
        super().__init__(name, arch, recipe, description)

    def _stage_value(self, cand: Candidate, index: int, field: str) -> int:
        fixed = getattr(self.stages[index - 1], field)
        return int(cand.arch[f"s{index}_{field}"]) if isinstance(fixed, tuple) else int(fixed)

    def network(self, cand: Candidate) -> NetworkSpec:
        """The :class:`NetworkSpec` of a candidate's architecture."""
        blocks: list[BlockSpec] = []
        for i, stage in enumerate(self.stages, start=1):
            blocks += stage_blocks(
                kernel=int(cand.arch[f"s{i}_kernel"]),
                expansion=self._stage_value(cand, i, "expansion"),
                channels=self._stage_value(cand, i, "channels"),
                repeats=self._stage_value(cand, i, "repeats"),
                stride=stage.stride,
                se=stage.se,
            )
        return NetworkSpec(
            resolution=int(cand.arch["resolution"]),
            stem_channels=int(cand.arch["stem_channels"]),
            blocks=tuple(blocks),
            head_expansion=self.head_expansion,
            num_features=self.num_features,
            num_classes=self.num_classes,
            in_channels=self.in_channels,
        )

    def options(self) -> dict[str, Any]:
        """``latency`` (the devices) where it was asked for: it adds statistics predictors pretrain on."""
        return {"latency": ",".join(self.latency_devices)} if self.latency_devices else {}

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return ("flops", "params", *(latency_metric(d) for d in self.latency_devices))

    def statistics(self, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        """Analytical multiply-adds (``flops``), parameters and modelled latencies of each candidate's network."""
        names = self.statistic_names
        out = {name: np.empty(len(cands)) for name in names}
        for i, cand in enumerate(cands):
            cached = self._stats_cache.get(cand.arch_key)
            if cached is None:
                spec = self.network(cand)
                counts = count(spec)
                cached = {"flops": float(counts.macs), "params": float(counts.params)}
                cached.update({latency_metric(d): network_latency(spec, d) for d in self.latency_devices})
                self._stats_cache[cand.arch_key] = cached
            for name in names:
                out[name][i] = cached[name]
        return out


def fbnetv3_recipe(epochs: tuple[int, int, int]) -> list[Param]:
    """The FBNetV3 recipe parameters (learning rate per 256 images, scaled linearly with the batch)."""
    return [
        Categorical("optimizer", ("rmsprop", "sgd")),
        Float("lr", 0.01, 0.5, log=True),
        Float("weight_decay", 7e-6, 21e-6),
        Float("mixup", 0.0, 0.4),
        Float("dropout", 0.05, 0.4),
        Float("drop_path", 0.0, 0.2),
        Categorical("ema", (True, False)),
        Integer("epochs", *epochs),
    ]


def fbnetv3_space(num_classes: int = 1000, latency: str | None = None) -> FBNetV3Space:
    """The FBNetV3 ImageNet space of the paper's table (DESIGN.md)."""
    stages = [
        StageRange(1, False, (16, 24, 2), (1, 4, 1), 1),
        StageRange(2, False, (20, 32, 4), (4, 7, 1), (4, 7, 1)),
        StageRange(2, True, (24, 48, 4), (4, 7, 1), (4, 7, 1)),
        StageRange(2, False, (56, 84, 4), (4, 8, 1), (4, 7, 1)),
        StageRange(1, True, (96, 144, 4), (6, 10, 1), (4, 7, 1)),
        StageRange(2, True, (180, 224, 4), (5, 9, 1), (4, 7, 1)),
        StageRange(1, True, (180, 224, 4), 1, 6),
    ]
    return FBNetV3Space(
        "fbnetv3",
        stages,
        stem=(16, 24, 2),
        resolutions=(224, 272, 8),
        recipe=fbnetv3_recipe((200, 400, 50)),
        num_classes=num_classes,
        latency=latency,
        description="FBNetV3 joint space (7 MBConv stages x kernel/expansion/width/depth, resolution; "
        "RMSProp/SGD recipe), analytical MAC FLOPs/params",
    )


def fbnetv3_tiny_space(num_classes: int = 10, in_channels: int = 1, latency: str | None = None) -> FBNetV3Space:
    """A reduced FBNetV3-style space for 8x8 digits (upsampled to the candidate's resolution)."""
    stages = [
        StageRange(1, False, (8, 16, 4), (1, 2, 1), 1),
        StageRange(2, False, (16, 32, 8), (1, 3, 1), (2, 6, 2)),
        StageRange(2, True, (24, 48, 8), (1, 3, 1), (2, 6, 2)),
    ]
    recipe = [
        Categorical("optimizer", ("rmsprop", "sgd")),
        Float("lr", 0.01, 1.0, log=True),
        Float("weight_decay", 1e-5, 1e-3, log=True),
        Float("mixup", 0.0, 0.4),
        Float("dropout", 0.0, 0.4),
        Float("drop_path", 0.0, 0.2),
        Categorical("ema", (True, False)),
        Integer("epochs", 4, 8, 2),
    ]
    return FBNetV3Space(
        "fbnetv3-tiny",
        stages,
        stem=(8, 16, 4),
        resolutions=(12, 24, 4),
        recipe=recipe,
        head_expansion=4.0,
        num_features=128,
        num_classes=num_classes,
        in_channels=in_channels,
        latency=latency,
        description="reduced FBNetV3-style joint space for small images (digits): 3 stages, same recipe "
        "parameters, 4-8 epochs",
    )
