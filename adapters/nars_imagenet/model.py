"""Build the PyTorch network of a :class:`~nars_imagenet.arch.NetworkSpec` from timm's blocks.

The stem is timm's ``ConvNormAct``; blocks are timm's ``InvertedResidual`` (MBConv) or, when a
block has no expansion, ``DepthwiseSeparableConv``, with timm's ``SqueezeExcite`` (hard-sigmoid
gate), hard-swish activations and timm's drop-path (stochastic depth, rate growing linearly with
depth). The MBPool head is a 1x1 ``ConvNormAct`` expansion, global average pooling, a 1x1
convolution with bias to ``num_features`` and hard-swish, then dropout and the classifier.
Widths are taken from :meth:`NetworkSpec.layout`, so the analytical counts describe this model.
"""

from __future__ import annotations

from functools import partial

import torch
from timm.layers import ConvNormAct
from timm.models._efficientnet_blocks import DepthwiseSeparableConv, InvertedResidual, SqueezeExcite
from torch import nn

from .arch import NetworkSpec

ACT = nn.Hardswish


class FBNetV3Net(nn.Module):
    """An FBNetV3-style classifier (see the module docstring)."""

    def __init__(self, spec: NetworkSpec, drop_rate: float = 0.0, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.spec = spec
        self.stem = ConvNormAct(
            spec.in_channels, spec.stem_channels, spec.stem_kernel, stride=spec.stem_stride, act_layer=ACT
        )
        blocks = []
        rows = spec.layout()
        for index, (cin, hidden, se, block) in enumerate(rows):
            se_layer = partial(SqueezeExcite, rd_channels=se, gate_layer="hard_sigmoid") if se else None
            rate = drop_path_rate * index / max(len(rows), 1)
            if hidden == cin:
                layer: nn.Module = DepthwiseSeparableConv(
                    cin, block.out_channels, block.kernel, block.stride, act_layer=ACT, se_layer=se_layer,
                    drop_path_rate=rate,
                )  # fmt: skip
            else:
                layer = InvertedResidual(
                    cin, block.out_channels, block.kernel, block.stride, exp_ratio=hidden / cin, act_layer=ACT,
                    se_layer=se_layer, drop_path_rate=rate,
                )  # fmt: skip
            if block.dw_padding is not None:
                layer.conv_dw.padding = (block.padding, block.padding)
            blocks.append(layer)
        self.blocks = nn.Sequential(*blocks)
        self.head_expand = ConvNormAct(spec.last_channels, spec.head_hidden, 1, act_layer=ACT)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head_conv = nn.Conv2d(spec.head_hidden, spec.num_features, 1, bias=True)
        self.head_act = ACT()
        self.dropout = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(spec.num_features, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.blocks(self.stem(x)))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """The MBPool head and classifier on the last block's output (supernets reuse it)."""
        x = self.head_act(self.head_conv(self.pool(self.head_expand(x))))
        return self.classifier(self.dropout(torch.flatten(x, 1)))


def build_model(spec: NetworkSpec, drop_rate: float = 0.0, drop_path_rate: float = 0.0) -> FBNetV3Net:
    """The network of ``spec`` with the recipe's dropout and stochastic-depth rates."""
    return FBNetV3Net(spec, drop_rate=drop_rate, drop_path_rate=drop_path_rate)


def measured_counts(model: nn.Module, resolution: int, in_channels: int = 3) -> tuple[int, int]:
    """``(multiply-adds, parameters)`` measured with ``torch.utils.flop_counter`` on one image.

    ``FlopCounterMode`` counts 2 FLOPs per multiply-add, so its total is halved here.
    """
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, in_channels, resolution, resolution))
    model.train(was_training)
    return counter.get_total_flops() // 2, sum(p.numel() for p in model.parameters())
