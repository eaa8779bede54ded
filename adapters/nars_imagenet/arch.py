"""FBNetV3-style network descriptions and their analytical FLOPs and parameter counts.

A :class:`NetworkSpec` lists the blocks of an FBNetV3 network (conv stem, inverted-residual
"MBConv" blocks with optional squeeze-excitation, the "MBPool" head, the classifier). It is
plain data, so the search space can compute free statistics for thousands of candidates without
torch; :mod:`nars_imagenet.model` builds the same network in PyTorch from timm's blocks.

Counting convention (the one of the published FBNetV3 figures and of most mobile NAS papers):
**FLOPs are multiply-adds** of the convolutions and linear layers (squeeze-excitation and head
included); batch norm, activations, pooling, residual additions and the SE gating product are not
counted, nor are bias additions. ``torch.utils.flop_counter`` counts 2 FLOPs per multiply-add of
the same layers, so its total is exactly twice ours. Parameters are every weight and bias plus the
batch-norm scale and shift (``sum(p.numel() for p in model.parameters())``).

Channel rounding follows FBNetV3's models: hidden widths are rounded to a multiple of 8
(:func:`make_divisible`); the SE reduction width is a quarter of the block's *input* width
(FBNetV3's "less SE channels"), rounded the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

WIDTH_DIVISOR = 8


def make_divisible(value: float, divisor: int = WIDTH_DIVISOR) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (half away from zero), never below 95%.

    The result is at least ``divisor``; a value already on the grid is kept.
    """
    if value % divisor == 0:
        return max(int(value), divisor)
    rounded = int(math.floor(value / divisor + 0.5)) * divisor
    if rounded < 0.95 * value:
        rounded += divisor
    return max(rounded, divisor)


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-residual block.

    Attributes:
        kernel: depthwise kernel size.
        expansion: hidden width = ``make_divisible(in_channels * expansion)``; a block whose hidden
            width equals its input width has no expansion convolution.
        out_channels: output width.
        stride: depthwise stride.
        se: squeeze-excitation with a hard-sigmoid gate.
        dw_padding: depthwise padding (None: ``kernel // 2``); two published FBNetV3 blocks override it.
    """

    kernel: int
    expansion: float
    out_channels: int
    stride: int = 1
    se: bool = False
    dw_padding: int | None = None

    @property
    def padding(self) -> int:
        """The depthwise padding actually used."""
        return self.kernel // 2 if self.dw_padding is None else self.dw_padding


@dataclass(frozen=True)
class NetworkSpec:
    """A whole FBNetV3-style classifier: stem, blocks, MBPool head and linear classifier."""

    resolution: int
    stem_channels: int
    blocks: tuple[BlockSpec, ...]
    head_expansion: float = 6.0
    num_features: int = 1984
    num_classes: int = 1000
    in_channels: int = 3
    stem_kernel: int = 3
    stem_stride: int = 2

    def layout(self) -> list[tuple[int, int, int, BlockSpec]]:
        """``(in_channels, hidden, se_channels, block)`` for every block (se_channels 0 without SE)."""
        rows = []
        channels = self.stem_channels
        for block in self.blocks:
            hidden = make_divisible(channels * block.expansion)
            se = make_divisible(int(hidden * 0.25 / block.expansion)) if block.se else 0
            rows.append((channels, hidden, se, block))
            channels = block.out_channels
        return rows

    @property
    def last_channels(self) -> int:
        """Width entering the head."""
        return self.blocks[-1].out_channels if self.blocks else self.stem_channels

    @property
    def head_hidden(self) -> int:
        """Width of the head's expansion convolution (before pooling)."""
        return make_divisible(self.last_channels * self.head_expansion)


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Spatial output size of a convolution."""
    return (size + 2 * padding - kernel) // stride + 1


@dataclass
class Counts:
    """Multiply-adds and parameters of a network, with a per-part breakdown."""

    macs: int = 0
    params: int = 0
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, part: str, macs: int, params: int) -> None:
        """Add one layer's figures to ``part``."""
        self.macs += macs
        self.params += params
        old = self.parts.get(part, (0, 0))
        self.parts[part] = (old[0] + macs, old[1] + params)


def _conv(
    size: int, cin: int, cout: int, kernel: int, stride: int = 1, padding: int | None = None, groups: int = 1
) -> tuple[int, int, int]:
    pad = kernel // 2 if padding is None else padding
    out = conv_out(size, kernel, stride, pad)
    weights = cout * (cin // groups) * kernel * kernel
    return out, out * out * weights, weights


def count(spec: NetworkSpec) -> Counts:
    """Analytical multiply-adds and parameters of ``spec`` (see the module docstring)."""
    counts = Counts()
    size, macs, weights = _conv(spec.resolution, spec.in_channels, spec.stem_channels, spec.stem_kernel, 2)
    counts.add("stem", macs, weights + 2 * spec.stem_channels)
    for index, (cin, hidden, se, block) in enumerate(spec.layout()):
        part = f"block{index}"
        if hidden != cin:
            _, macs, weights = _conv(size, cin, hidden, 1)
            counts.add(part, macs, weights + 2 * hidden)
        size, macs, weights = _conv(size, hidden, hidden, block.kernel, block.stride, block.padding, groups=hidden)
        counts.add(part, macs, weights + 2 * hidden)
        if se:
            counts.add(part, 2 * hidden * se, 2 * hidden * se + se + hidden)
        _, macs, weights = _conv(size, hidden, block.out_channels, 1)
        counts.add(part, macs, weights + 2 * block.out_channels)
    hidden = spec.head_hidden
    _, macs, weights = _conv(size, spec.last_channels, hidden, 1)
    counts.add("head", macs, weights + 2 * hidden)
    counts.add("head", hidden * spec.num_features, hidden * spec.num_features + spec.num_features)
    counts.add("classifier", spec.num_features * spec.num_classes, (spec.num_features + 1) * spec.num_classes)
    return counts


def stage_blocks(
    kernel: int,
    expansion: float,
    channels: int,
    repeats: int,
    stride: int,
    se: bool,
    first_expansion: float | None = None,
) -> list[BlockSpec]:
    """The blocks of one stage: the first carries the stride (and optionally its own expansion)."""
    first = BlockSpec(kernel, expansion if first_expansion is None else first_expansion, channels, stride, se)
    return [first] + [BlockSpec(kernel, expansion, channels, 1, se) for _ in range(repeats - 1)]


def blocks_of(rows: Sequence[tuple[Any, ...]]) -> tuple[BlockSpec, ...]:
    """Expand ``(kernel, expansion, channels, repeats, stride, se[, dw_padding])`` rows into blocks.

    ``dw_padding`` applies to the first block of the row only.
    """
    out: list[BlockSpec] = []
    for row in rows:
        kernel, expansion, channels, repeats, stride, se, *rest = row
        padding = rest[0] if rest else None
        out.append(BlockSpec(kernel, expansion, channels, stride, se, padding))
        out += [BlockSpec(kernel, expansion, channels, 1, se) for _ in range(repeats - 1)]
    return tuple(out)
