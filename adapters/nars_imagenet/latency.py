"""Per-device latency of FBNetV3-style networks: a layer-cost model fitted on measured FBNet latencies.

A network's latency on a device is modelled as

    latency = c0 + sum over its layers of (c_layer + c_dense * dense MACs + c_dw * depthwise MACs
                                          + c_act * output activations)

with non-negative coefficients per device (MACs in millions, activations in thousands, latency in
ms). A *layer* is a convolution or linear layer: the stem, every block's 1x1 expansion, depthwise
and 1x1 projection convolutions (the two squeeze-excitation layers count as dense layers), the
head's convolutions and the classifier. Being a sum over layers, the model is additive over blocks:
the one-shot optimizers read per-block costs from it (:func:`block_latency`).

The coefficients (:data:`DEVICE_COEFFICIENTS`) were fitted by non-negative least squares
(:func:`fit_device_coefficients`) on HELP's measurements of 5,000 FBNet networks on 27 device
settings (``fbnet/latency_ms_5000.csv``, :mod:`.latency_models`), so a space needs no data file to
offer ``latency[<device>]`` as a free statistic. ``c0`` takes what the FBNet networks share (their
stem and head at 32x32, framework overhead). The model is monotone in every layer's size, so it
extrapolates sanely to the small digits networks of ``fbnetv3-tiny``; its absolute values there are
estimates, its ordering is what constraints and searches use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nars_plugin.errors import ConfigError

from .arch import BlockSpec, NetworkSpec, conv_out

#: Coefficients (c0, c_layer, c_dense, c_dw, c_act) per device, ms; see the module docstring.
#: Written by ``python -m nars_imagenet.latency`` (:func:`fit_device_coefficients`); a test refits them.
DEVICE_COEFFICIENTS: dict[str, tuple[float, float, float, float, float]] = {
    "1080ti_1": (5.71767, 0.126211, 0.0, 0.0, 0.0),
    "1080ti_32": (6.65724, 0.141926, 0.0, 0.147214, 0.0),
    "1080ti_64": (6.40528, 0.0589094, 0.0, 0.317595, 0.00342636),
    "2080ti_1": (3.99121, 0.0806875, 0.0, 0.0, 0.0),
    "2080ti_32": (4.08653, 0.0797888, 0.0, 0.0672439, 3.48466e-05),
    "2080ti_64": (4.4879, 0.042852, 0.0, 0.129556, 0.00221431),
    "essential_ph_1": (5.9657, 0.275454, 0.316154, 0.0, 0.0),
    "eyeriss": (2.83944, 0.00983862, 0.027716, 0.068786, 0.000253424),
    "fpga": (1.54986, 0.0455161, 0.429865, 0.158104, 0.0),
    "gold_6226": (0.0, 0.261154, 2.10243, 0.0, 0.0),
    "gold_6240": (7.85851, 0.348792, 0.112621, 0.0, 0.0),
    "pixel2": (7.03106, 0.25293, 0.334411, 0.0573137, 0.0),
    "pixel3": (3.85381, 0.0240575, 0.16066, 0.734095, 0.0),
    "raspi4": (11.146, 0.0233046, 0.327784, 0.898583, 0.0),
    "samsung_a50": (7.72423, 0.313646, 0.383382, 0.27443, 0.0),
    "samsung_s7": (12.3112, 0.471436, 0.473758, 0.0, 0.0),
    "silver_4114": (12.7653, 0.51813, 0.117346, 0.0, 0.0),
    "silver_4210r": (9.27531, 0.399199, 0.0646407, 0.0, 0.0),
    "titan_rtx_1": (4.44735, 0.0944779, 0.0, 0.0, 0.0),
    "titan_rtx_32": (4.55453, 0.0946045, 0.0, 0.052859, 0.0),
    "titan_rtx_64": (4.91173, 0.0672666, 0.0, 0.136814, 0.00143173),
    "titanx_1": (5.4229, 0.126064, 0.0, 0.0, 0.0),
    "titanx_32": (5.66845, 0.104451, 0.0, 0.1602, 0.000589045),
    "titanx_64": (6.11292, 0.0633747, 0.0, 0.348061, 0.00370127),
    "titanxp_1": (5.46618, 0.122731, 0.0, 0.0, 0.0),
    "titanxp_32": (5.49381, 0.113753, 0.0, 0.134643, 9.27015e-05),
    "titanxp_64": (6.27147, 0.0699375, 0.0, 0.278585, 0.00261153),
}

_METRIC_RE = re.compile(r"^latency\[(?P<device>[^\]]*)\]$")


def latency_metric(device: str) -> str:
    """The statistic name ``latency[<device>]``."""
    return f"latency[{device}]"


def check_devices(option: str | Sequence[str] | bool | None) -> tuple[str, ...]:
    """The devices a space's ``latency`` option names (comma-separated text, a list, or ``all``)."""
    if option is None or option is False or option == "":
        return ()
    if option is True:
        raise ConfigError("latency=true names no device", "name the devices: latency=pixel3,fpga or latency=all")
    names = [d.strip() for d in option.split(",")] if isinstance(option, str) else [str(d) for d in option]
    if names == ["all"]:
        return tuple(DEVICE_COEFFICIENTS)
    for name in names:
        if name not in DEVICE_COEFFICIENTS:
            raise ConfigError(f"unknown latency device {name!r}", f"devices: {', '.join(DEVICE_COEFFICIENTS)}")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Layer:
    """One convolution or linear layer: its dense and depthwise multiply-adds and output activations."""

    dense_macs: float = 0.0
    dw_macs: float = 0.0
    activations: float = 0.0

    def features(self) -> np.ndarray:
        """``(1, dense MMACs, depthwise MMACs, k activations)``: the per-layer terms of the model."""
        return np.array([1.0, self.dense_macs / 1e6, self.dw_macs / 1e6, self.activations / 1e3])


def _conv(size: int, cin: int, cout: int, kernel: int, stride: int, padding: int, groups: int = 1) -> tuple[int, Layer]:
    out = conv_out(size, kernel, stride, padding)
    macs = float(out * out * cout * (cin // groups) * kernel * kernel)
    layer = Layer(dw_macs=macs) if groups > 1 and groups == cin else Layer(dense_macs=macs)
    return out, Layer(layer.dense_macs, layer.dw_macs, float(out * out * cout))


def block_layers(size: int, cin: int, hidden: int, se: int, block: BlockSpec) -> tuple[int, list[Layer]]:
    """The layers of one inverted-residual block (widths as :meth:`NetworkSpec.layout` gives them) on a
    ``size``x``size`` input; ``(output size, layers)``."""
    layers = []
    if hidden != cin:
        _, layer = _conv(size, cin, hidden, 1, 1, 0)
        layers.append(layer)
    size, layer = _conv(size, hidden, hidden, block.kernel, block.stride, block.padding, groups=hidden)
    layers.append(layer)
    if se:
        layers += [Layer(dense_macs=float(hidden * se), activations=float(se)), Layer(float(se * hidden), 0.0, hidden)]
    _, layer = _conv(size, hidden, block.out_channels, 1, 1, 0)
    layers.append(layer)
    return size, layers


def network_layers(spec: NetworkSpec) -> tuple[list[Layer], list[list[Layer]], list[Layer]]:
    """``(stem layers, layers of each block, head layers)`` of a network."""
    size, stem = _conv(spec.resolution, spec.in_channels, spec.stem_channels, spec.stem_kernel, spec.stem_stride,
                       spec.stem_kernel // 2)  # fmt: skip
    blocks = []
    for cin, hidden, se, block in spec.layout():
        size, layers = block_layers(size, cin, hidden, se, block)
        blocks.append(layers)
    _, expand = _conv(size, spec.last_channels, spec.head_hidden, 1, 1, 0)
    head = [
        expand,
        Layer(float(spec.head_hidden * spec.num_features), 0.0, float(spec.num_features)),
        Layer(float(spec.num_features * spec.num_classes), 0.0, float(spec.num_classes)),
    ]
    return [stem], blocks, head


def layers_latency(layers: Sequence[Layer], device: str) -> float:
    """The modelled latency (ms) of some layers on ``device``, without the constant ``c0``."""
    coef = np.asarray(_coefficients(device)[1:])
    return float(sum(layer.features() @ coef for layer in layers))


def _coefficients(device: str) -> tuple[float, float, float, float, float]:
    try:
        return DEVICE_COEFFICIENTS[device]
    except KeyError:
        raise ConfigError(f"unknown latency device {device!r}", f"devices: {', '.join(DEVICE_COEFFICIENTS)}") from None


def network_latency(spec: NetworkSpec, device: str) -> float:
    """The modelled latency (ms) of a whole network on ``device``."""
    stem, blocks, head = network_layers(spec)
    return _coefficients(device)[0] + layers_latency([*stem, *(x for b in blocks for x in b), *head], device)


def fbnet_layers(ops: Sequence[int]) -> list[Layer]:
    """The layers of one FBNet network of the HELP measurements (its 22 op indices)."""
    from .latency_models import fbnet_blocks

    layers = []
    for block in fbnet_blocks(ops):
        if block.skip:
            continue
        expand, depthwise, project = block.macs()
        hidden = block.c_in * block.expansion
        pixels_in, pixels_out = block.resolution**2, (block.resolution / block.stride) ** 2
        if block.expansion != 1:
            layers.append(Layer(dense_macs=expand, activations=hidden * pixels_in))
        layers.append(Layer(dw_macs=depthwise, activations=hidden * pixels_out))
        layers.append(Layer(dense_macs=project, activations=block.c_out * pixels_out))
    return layers


def fit_device_coefficients(path: str | None = None) -> dict[str, tuple[float, float, float, float, float]]:
    """Fit :data:`DEVICE_COEFFICIENTS` by non-negative least squares on the FBNet latency table."""
    from scipy.optimize import nnls

    from .latency_models import load_fbnet_latency

    ops, latency, devices = load_fbnet_latency(path)
    x = np.array([[1.0, *np.sum([layer.features() for layer in fbnet_layers(o)], axis=0)] for o in ops])
    scale = x.max(0)
    out = {}
    for j, device in enumerate(devices):
        coef, _ = nnls(x / scale, latency[:, j])
        out[device] = tuple(float(f"{c:.6g}") for c in coef / scale)
    return out  # type: ignore[return-value]  # five floats each


if __name__ == "__main__":  # pragma: no cover - writes the table above
    for name, values in fit_device_coefficients().items():
        print(f"    {name!r}: {values},")
