"""The settings of the one-shot optimizers (:mod:`.oneshot`), apart from it: the plugin registers
them (``nars optimizers`` lists them) without importing torch or the training stack."""

from __future__ import annotations

from dataclasses import dataclass

from nars_plugin.settings import setting


@dataclass(frozen=True)
class OneShotSettings:
    """Settings both one-shot optimizers share."""

    device: str | None = setting(None, "latency device (none: the device of the run's latency[...] constraint)")
    target: float | None = setting(None, "latency target in ms (none: the bound of that constraint)", low=0)
    latency_weight: float = setting(1.0, "weight of the latency term of the loss", low=0)
    supernet_share: float = setting(0.8, "share of the seconds budget the supernet may train for", low=0, high=1)
    epochs: int = setting(50, "most supernet epochs", low=1)
    batch_size: int = setting(64, "supernet batch", low=1)
    learning_rate: float = setting(0.05, "SGD learning rate of the supernet weights (cosine decay)", low=0)
    arch_learning_rate: float = setting(0.01, "Adam learning rate of the architecture parameters", low=0)
    macro: str | None = setting(None, "fixed macro values, e.g. resolution=16,stem_channels=12 (none: defaults)")
    max_steps_per_epoch: int | None = setting(None, "cap on supernet steps per epoch (tests; none: no cap)", low=1)


@dataclass(frozen=True)
class ProxylessSettings(OneShotSettings):
    """ProxylessNAS: the settings above, the latency term ``latency_weight * E[latency] / target``."""

    train_portion: float = setting(
        0.5, "share of the training images that trains weights (the rest: alpha)", low=0, high=1, high_open=True
    )


@dataclass(frozen=True)
class SinglePathSettings(OneShotSettings):
    """Single-Path NAS: the settings above, the latency term ``latency_weight * log(latency)``."""

    arch_learning_rate: float = setting(0.05, "Adam learning rate of the thresholds", low=0)
    temperature: float = setting(1.0, "temperature of the sigmoid relaxing the indicators", low=0.01)


METHODS: dict[str, tuple[type[OneShotSettings], str]] = {
    "proxylessnas": (
        ProxylessSettings,
        "ProxylessNAS (Cai et al. 2019): binarized paths, two-path gradient, expected-latency loss",
    ),
    "single-path-nas": (
        SinglePathSettings,
        "Single-Path NAS (Stamoulis et al. 2019): superkernels, thresholds, log-latency loss",
    ),
}
