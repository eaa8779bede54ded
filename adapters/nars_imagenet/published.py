"""The released FBNetV3-A..G models as :class:`NetworkSpec` data, with their published figures, and
the published ImageNet rows of the hardware-aware one-shot methods (:data:`ONE_SHOT_PUBLISHED`).

Stage definitions follow Meta's mobile-vision model definitions (``fbnet_modeldef_cls_fbnetv3``):
per row ``(kernel, expansion, channels, repeats, stride, se[, depthwise padding])``; the
padding override of a few stride-2 blocks is part of the released models. Published MFLOPs
(multiply-adds), parameters and top-1 come from the mobile-vision model information (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .arch import NetworkSpec, blocks_of

_F, _T = False, True


@dataclass(frozen=True)
class PublishedModel:
    """A released FBNetV3 model and what its authors report."""

    name: str
    spec: NetworkSpec
    mflops: float
    mparams: float
    top1: float


def _spec(resolution: int, stem: int, rows: list[tuple[Any, ...]]) -> NetworkSpec:
    return NetworkSpec(resolution=resolution, stem_channels=stem, blocks=blocks_of(rows))


_AB_ROWS = [
    (3, 1, 16, 2, 1, _F),
    (5, 4, 24, 1, 2, _F),
    (5, 2, 24, 3, 1, _F),
    (5, 5, 40, 1, 2, _T),
    (5, 3, 40, 4, 1, _T),
    (5, 5, 72, 1, 2, _F, 1),
    (3, 3, 72, 4, 1, _F),
    (3, 5, 120, 1, 1, _T),
    (5, 3, 120, 5, 1, _T),
    (3, 6, 184, 1, 2, _T, 0),
    (5, 4, 184, 5, 1, _T),
    (5, 6, 224, 1, 1, _T),
]

_C_ROWS = [
    (3, 1, 16, 2, 1, _F),
    (5, 5, 24, 1, 2, _F),
    (3, 3, 24, 4, 1, _F),
    (5, 5, 48, 1, 2, _T),
    (5, 2, 48, 4, 1, _T),
    (5, 4, 88, 1, 2, _F, 1),
    (3, 3, 88, 4, 1, _F),
    (3, 4, 120, 1, 1, _T),
    (5, 3, 120, 5, 1, _T),
    (5, 5, 216, 1, 2, _T, 1),
    (5, 5, 216, 5, 1, _T),
    (5, 6, 216, 1, 1, _T),
]

_D_ROWS = [
    (3, 1, 16, 2, 1, _F),
    (3, 5, 24, 1, 2, _F),
    (3, 2, 24, 5, 1, _F),
    (5, 4, 40, 1, 2, _T),
    (3, 3, 40, 4, 1, _T),
    (3, 5, 72, 1, 2, _F),
    (3, 3, 72, 4, 1, _F),
    (3, 5, 128, 1, 1, _T),
    (5, 3, 128, 6, 1, _T),
    (3, 6, 208, 1, 2, _T),
    (5, 5, 208, 5, 1, _T),
    (5, 6, 240, 1, 1, _T),
]

_E_ROWS = [
    (3, 1, 16, 3, 1, _F),
    (5, 4, 24, 1, 2, _F),
    (5, 2, 24, 4, 1, _F),
    (5, 4, 48, 1, 2, _T),
    (5, 3, 48, 4, 1, _T),
    (5, 5, 80, 1, 2, _F, 1),
    (3, 3, 80, 4, 1, _F),
    (3, 5, 128, 1, 1, _T),
    (5, 3, 128, 7, 1, _T),
    (3, 6, 216, 1, 2, _T),
    (5, 5, 216, 5, 1, _T),
    (5, 6, 240, 1, 1, _T),
]

_F_ROWS = [
    (3, 1, 24, 3, 1, _F),
    (5, 4, 32, 1, 2, _F),
    (5, 2, 32, 4, 1, _F),
    (5, 4, 56, 1, 2, _T),
    (5, 3, 56, 4, 1, _T),
    (5, 5, 88, 1, 2, _F),
    (3, 3, 88, 4, 1, _F),
    (3, 5, 144, 1, 1, _T),
    (5, 3, 144, 8, 1, _T),
    (3, 6, 248, 1, 2, _T, 0),
    (5, 5, 248, 6, 1, _T),
    (5, 6, 272, 1, 1, _T),
]

_G_ROWS = [
    (3, 1, 24, 3, 1, _F),
    (5, 4, 40, 1, 2, _F),
    (5, 2, 40, 4, 1, _F),
    (5, 4, 56, 1, 2, _T),
    (5, 3, 56, 4, 1, _T),
    (5, 5, 104, 1, 2, _F),
    (3, 3, 104, 4, 1, _F),
    (3, 5, 160, 1, 1, _T),
    (5, 3, 160, 8, 1, _T),
    (3, 6, 264, 1, 2, _T),
    (5, 5, 264, 6, 1, _T),
    (5, 6, 288, 2, 1, _T),
]

PUBLISHED: dict[str, PublishedModel] = {
    m.name: m
    for m in (
        PublishedModel("FBNetV3-A", _spec(224, 16, _AB_ROWS), 356.6, 8.54, 79.6),
        PublishedModel("FBNetV3-B", _spec(248, 16, _AB_ROWS), 461.6, 8.54, 80.2),
        PublishedModel("FBNetV3-C", _spec(248, 16, _C_ROWS), 557.0, 9.91, 80.8),
        PublishedModel("FBNetV3-D", _spec(248, 24, _D_ROWS), 644.4, 10.24, 81.0),
        PublishedModel("FBNetV3-E", _spec(264, 24, _E_ROWS), 762.0, 10.70, 81.3),
        PublishedModel("FBNetV3-F", _spec(272, 24, _F_ROWS), 1181.6, 13.80, 82.1),
        PublishedModel("FBNetV3-G", _spec(320, 32, _G_ROWS), 2129.7, 16.51, 82.8),
    )
}


@dataclass(frozen=True)
class PublishedRow:
    """A published ImageNet result of another method, as its source states it."""

    name: str
    top1: float
    latency: str
    mflops: float | None
    source: str


#: ProxylessNAS and Single-Path NAS on ImageNet, as published (not our runs).
ONE_SHOT_PUBLISHED = (
    PublishedRow("ProxylessNAS (mobile)", 74.6, "78 ms, Pixel 1", 320.0,
                 "Cai et al., ICLR 2019 (arXiv 1812.00332); mit-han-lab/proxylessnas README"),
    PublishedRow("ProxylessNAS (GPU)", 75.1, "5.1 ms, V100", None,
                 "Cai et al., ICLR 2019 (arXiv 1812.00332); mit-han-lab/proxylessnas README"),
    PublishedRow("Single-Path NAS", 74.96, "79 ms, Pixel 1", None,
                 "Stamoulis et al., ECML-PKDD 2019 (arXiv 1904.02877), abstract"),
)  # fmt: skip
