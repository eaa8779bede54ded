"""The NAS-Bench-201 network in PyTorch, and FLOP / parameter counters.

The macro skeleton is the one every NAS-Bench-201 cell was trained in:

* stem: Conv3x3(3 -> C, bias=False) + BatchNorm;
* three stages of ``N`` cells with ``C``, ``2C`` and ``4C`` channels (C = 16, N = 5);
* between stages a residual reduction block (a ResNet basic block, stride 2):
  ReLU-Conv3x3(stride 2)-BN, ReLU-Conv3x3-BN, plus a shortcut AvgPool2d(2, 2) + Conv1x1 (no bias);
* BN-ReLU, global average pooling and a linear classifier.

A cell has four nodes; node 0 is the cell input and node ``i`` is the sum over ``j < i`` of
``op_{i,j}(node j)``; node 3 is the output. The ops are ``none`` (zeros), ``skip_connect``
(identity), ``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU-Conv(bias=False)-BN) and ``avg_pool_3x3``
(stride 1, padding 1, padding excluded from the average).

:func:`count_flops_torch` counts what ``torch.utils.flop_counter.FlopCounterMode`` counts for one
image (2 x multiply-accumulates of convolutions and the classifier); :mod:`nars_plugin.spaces.nb201`
computes the same numbers analytically.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...errors import InvalidArchitectureError
from ._cell import EDGES, OPS, parse_arch_string

__all__ = ["NB201Network", "NB201Cell", "ResNetBlock", "count_flops_torch", "count_params"]


class ReLUConvBN(nn.Sequential):
    """ReLU, then a bias-free convolution with "same" padding, then an affine BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=True),
        )


class Zero(nn.Module):
    """The ``none`` op: an all-zero tensor of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    """One cell edge (``channels`` in and out, stride 1)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise InvalidArchitectureError(f"unknown NAS-Bench-201 op {name!r}", f"valid ops: {list(OPS)}")


class NB201Cell(nn.Module):
    """A NAS-Bench-201 cell: six edges (in :data:`~nars_plugin.spaces.nb201._cell.EDGES` order) on four nodes."""

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        if len(ops) != len(EDGES):
            raise InvalidArchitectureError(f"a cell needs {len(EDGES)} ops, got {len(ops)}")
        self.ops = tuple(ops)
        self.edges = nn.ModuleDict({edge: make_op(op, channels) for edge, op in zip(EDGES, ops)})
        # (target node, source node, edge name) in EDGES order
        self._wiring = [(int(e.split("_")[1]), int(e.split("_")[2]), e) for e in EDGES]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            terms = [self.edges[name](nodes[source]) for node, source, name in self._wiring if node == target]
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            nodes.append(total)
        return nodes[3]


class ResNetBlock(nn.Module):
    """The stride-2 residual reduction block between stages (a ResNet basic block)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, stride=1)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.shortcut(x) + self.conv_b(self.conv_a(x))
        return out


class NB201Network(nn.Module):
    """The NAS-Bench-201 network for one cell.

    Args:
        arch: the official cell string, e.g. ``|nor_conv_3x3~0|+|...|+|...|`` (or a sequence of six op
            names in :data:`~nars_plugin.spaces.nb201._cell.EDGES` order).
        num_classes: outputs of the classifier (10, 100 or 120 for the benchmark's data sets).
        channels: channels of the first stage (16 in the benchmark).
        cells_per_stage: cells per stage (5 in the benchmark).
        in_channels: channels of the input images (3 in the benchmark; 1 for grey images such as digits).
    """

    def __init__(
        self,
        arch: str | Sequence[str],
        num_classes: int = 10,
        channels: int = 16,
        cells_per_stage: int = 5,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        ops = parse_arch_string(arch) if isinstance(arch, str) else tuple(arch)
        self.arch = ops
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        layers: list[nn.Module] = []
        c_prev = channels
        for stage in range(3):
            c = channels * 2**stage
            if stage > 0:
                layers.append(ResNetBlock(c_prev, c))
            layers.extend(NB201Cell(ops, c) for _ in range(cells_per_stage))
            c_prev = c
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        logits: torch.Tensor = self.classifier(torch.flatten(self.global_pooling(x), 1))
        return logits


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops_torch(model: nn.Module, input_size: int | Sequence[int]) -> int:
    """FLOPs of one forward pass as ``torch.utils.flop_counter.FlopCounterMode`` counts them.

    Args:
        model: any module. The input is made on the device of its first parameter, so a model built
            on the ``meta`` device (``with torch.device("meta"): ...``) is counted without computing.
        input_size: the input resolution (``32`` means one 3x32x32 image), a ``(C, H, W)`` shape
            (batch 1 is added) or a full ``(N, C, H, W)`` shape.
    """
    from torch.utils.flop_counter import FlopCounterMode

    if isinstance(input_size, int):
        shape: tuple[int, ...] = (1, 3, input_size, input_size)
    else:
        shape = tuple(int(s) for s in input_size)
        if len(shape) == 3:
            shape = (1, *shape)
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(shape, device=device))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())
