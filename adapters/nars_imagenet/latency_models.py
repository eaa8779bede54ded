"""Latency predictors for MBConv-style networks, trained on measured latencies.

A network is a sequence of :class:`MBConvBlock` descriptions (kernel, expansion, groups, skip, and
where the block sits: input/output channels, stride, input resolution). Two predictors:

* :class:`BlockLatencyMLP`: latency = bias + the sum over blocks of a small MLP of the block's
  features (its description plus the multiply-accumulates and activation sizes it implies), one
  output per device. Any space that can describe its blocks this way can use it; the FBNetV3
  ImageNet space is the intended user, under a device latency budget.
* :class:`LookupTableLatency`: the FBNet-style lookup table, one additive cost per (layer, op),
  fitted by ridge regression on whole-network measurements; only for a fixed layer layout.

Training data: ``fbnet/latency_ms_5000.csv`` under ``$NARS_DATA_DIR`` (HELP's measurements of
5,000 FBNet-space networks on 27 device settings; :func:`load_fbnet_latency`). The FBNet layer
layout used to describe them (:data:`FBNET_LAYOUT`) is the FBNet macro-architecture (Wu et al.
2019, Table 1) on 32x32 input with the stem and first two stages at stride 1 (the CIFAR
adaptation); only positions vary between these networks, so the layout only tells the model where
a block sits. ``benchmarks/fbnet_latency.py`` measures both predictors on held-out networks.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from nars_plugin._datafiles import data_file
from nars_plugin.errors import ConfigError, DataFileError

FBNET_LATENCY_FILE = "fbnet/latency_ms_5000.csv"
N_FBNET_LAYERS = 22


@dataclass(frozen=True)
class MBConvBlock:
    """One inverted-residual block: 1x1 expand -> kxk depthwise (stride) -> 1x1 project.

    ``skip=True`` describes a skip (identity) choice in place of the block; ``groups`` is the group
    count of the two 1x1 convolutions (FBNet's ``_g2`` ops).
    """

    kernel: int
    expansion: float
    c_in: int
    c_out: int
    stride: int = 1
    resolution: int = 32
    groups: int = 1
    skip: bool = False
    se: bool = False

    def macs(self) -> tuple[float, float, float]:
        """Multiply-accumulates of (expand, depthwise, project); zeros for a skip."""
        if self.skip:
            return 0.0, 0.0, 0.0
        hidden = self.c_in * self.expansion
        out_pixels = (self.resolution / self.stride) ** 2
        expand = 0.0 if self.expansion == 1 else self.c_in * hidden / self.groups * self.resolution**2
        depthwise = hidden * self.kernel**2 * out_pixels
        project = hidden * self.c_out / self.groups * out_pixels
        return expand, depthwise, project


#: FBNet's 9 choices per layer: index -> (kernel, expansion, groups, skip).
FBNET_OPS: tuple[tuple[int, int, int, bool], ...] = (
    (3, 1, 1, False),
    (3, 1, 2, False),
    (3, 3, 1, False),
    (3, 6, 1, False),
    (5, 1, 1, False),
    (5, 1, 2, False),
    (5, 3, 1, False),
    (5, 6, 1, False),
    (3, 1, 1, True),
)
FBNET_OP_NAMES = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")


def _fbnet_layout() -> tuple[tuple[int, int, int, int], ...]:
    """(c_in, c_out, stride, input resolution) of the 22 searchable FBNet layers on 32x32 input."""
    stages = ((16, 1, 1), (24, 4, 1), (32, 4, 2), (64, 4, 2), (112, 4, 1), (184, 4, 2), (352, 1, 1))
    layout, c_in, res = [], 16, 32
    for c_out, repeats, stride in stages:
        for i in range(repeats):
            s = stride if i == 0 else 1
            layout.append((c_in, c_out, s, res))
            c_in, res = c_out, res // s
    return tuple(layout)


FBNET_LAYOUT = _fbnet_layout()


def fbnet_blocks(ops: Sequence[int]) -> list[MBConvBlock]:
    """The block descriptions of an FBNet network given its 22 op indices (see :data:`FBNET_OPS`)."""
    if len(ops) != N_FBNET_LAYERS:
        raise ConfigError(f"an FBNet network has {N_FBNET_LAYERS} layers, got {len(ops)} op indices")
    blocks = []
    for op, (c_in, c_out, stride, res) in zip(ops, FBNET_LAYOUT):
        if not 0 <= int(op) < len(FBNET_OPS):
            raise ConfigError(f"FBNet op index {op} is out of range", f"ops: {dict(enumerate(FBNET_OP_NAMES))}")
        kernel, expansion, groups, skip = FBNET_OPS[int(op)]
        blocks.append(MBConvBlock(kernel, expansion, c_in, c_out, stride, res, groups, skip))
    return blocks


def load_fbnet_latency(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(op indices (n, 22), latency in ms (n, devices), device names) of the FBNet latency table."""
    return _read_fbnet(str(data_file(FBNET_LATENCY_FILE, "FBNet latency table", path).resolve()))


@lru_cache(maxsize=2)
def _read_fbnet(file: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    with open(file, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = list(reader)
    layers = [f"layer{i}" for i in range(N_FBNET_LAYERS)]
    if any(c not in header for c in layers):
        raise DataFileError(f"{file} lacks the columns layer0..layer21", f"its columns are {header}")
    devices = tuple(c for c in header if c not in layers and c != "sample_idx")
    try:
        ops = np.array([[int(r[header.index(c)]) for c in layers] for r in rows])
        latency = np.array([[float(r[header.index(d)]) for d in devices] for r in rows])
    except (ValueError, IndexError) as exc:
        raise DataFileError(f"{file} holds a malformed row: {exc}", "restore the original file") from None
    return ops, latency, devices


# --------------------------------------------------------------------------- #
# Features
# --------------------------------------------------------------------------- #

FEATURE_NAMES = (
    "kernel",
    "expansion",
    "groups",
    "skip",
    "se",
    "log2_c_in",
    "log2_c_out",
    "stride",
    "log2_resolution",
    "mmacs_expand",
    "mmacs_depthwise",
    "mmacs_project",
    "k_activations_in",
    "k_activations_hidden",
)


def block_features(block: MBConvBlock) -> np.ndarray:
    """The feature vector of one block (:data:`FEATURE_NAMES`)."""
    expand, depthwise, project = block.macs()
    pixels = block.resolution**2
    hidden = 0.0 if block.skip else block.c_in * block.expansion * pixels
    return np.array(
        [
            block.kernel,
            block.expansion,
            block.groups,
            float(block.skip),
            float(block.se),
            math.log2(block.c_in),
            math.log2(block.c_out),
            block.stride,
            math.log2(block.resolution),
            expand / 1e6,
            depthwise / 1e6,
            project / 1e6,
            block.c_in * pixels / 1e3,
            hidden / 1e3,
        ],
        dtype=float,
    )


def _feature_tensor(networks: Sequence[Sequence[MBConvBlock]]) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, max_blocks, F), mask (n, max_blocks)) with zero padding."""
    if not networks:
        raise ConfigError("no networks to predict")
    width = max(len(n) for n in networks)
    feats = np.zeros((len(networks), width, len(FEATURE_NAMES)))
    mask = np.zeros((len(networks), width))
    for i, blocks in enumerate(networks):
        if not blocks:
            raise ConfigError(f"network {i} has no blocks")
        feats[i, : len(blocks)] = [block_features(b) for b in blocks]
        mask[i, : len(blocks)] = 1.0
    return feats, mask


# --------------------------------------------------------------------------- #
# Predictors
# --------------------------------------------------------------------------- #


class BlockLatencyMLP:
    """Latency = bias + sum over blocks of MLP(block features), one output per device.

    Args:
        devices: names of the outputs (the columns of the training latencies).
        hidden: width of the two hidden layers.
        steps: full-batch Adam steps.
        lr: learning rate.
        seed: initialisation seed (same seed and data -> same predictor).
    """

    def __init__(
        self, devices: Sequence[str], hidden: int = 64, steps: int = 1500, lr: float = 3e-3, seed: int = 0
    ) -> None:
        self.devices = tuple(devices)
        self.hidden, self.steps, self.lr, self.seed = int(hidden), int(steps), float(lr), int(seed)
        self._net: Any = None
        self._feature_mean: np.ndarray | None = None
        self._feature_std: np.ndarray | None = None
        self._scale: np.ndarray | None = None

    def fit(self, networks: Sequence[Sequence[MBConvBlock]], latency: np.ndarray) -> BlockLatencyMLP:
        """Fit on measured latencies (n, len(devices)), in ms; the loss is relative to each device's mean."""
        import torch

        latency = np.asarray(latency, dtype=float)
        if latency.shape != (len(networks), len(self.devices)):
            raise ConfigError(f"latency must have shape ({len(networks)}, {len(self.devices)}), got {latency.shape}")
        feats, mask = _feature_tensor(networks)
        flat = feats[mask > 0]
        self._feature_mean, self._feature_std = flat.mean(0), np.maximum(flat.std(0), 1e-6)
        self._scale = latency.mean(0)
        torch.manual_seed(self.seed)
        d = len(FEATURE_NAMES)
        self._net = torch.nn.Sequential(
            torch.nn.Linear(d, self.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, self.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, len(self.devices)),
        )
        self._bias = torch.nn.Parameter(torch.zeros(len(self.devices)))
        x, m = self._tensors(feats, mask)
        y = torch.as_tensor(latency / self._scale, dtype=torch.float32)
        opt = torch.optim.Adam([*self._net.parameters(), self._bias], lr=self.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.steps)
        for _ in range(self.steps):
            loss = torch.mean((self._forward(x, m) - y) ** 2)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            opt.step()
            sched.step()
        return self

    def _tensors(self, feats: np.ndarray, mask: np.ndarray) -> tuple[Any, Any]:
        import torch

        x = (feats - self._feature_mean) / self._feature_std
        return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(mask, dtype=torch.float32)

    def _forward(self, x: Any, m: Any) -> Any:
        per_block = self._net(x) * m.unsqueeze(-1)
        return per_block.sum(1) + self._bias

    def predict(self, networks: Sequence[Sequence[MBConvBlock]]) -> np.ndarray:
        """Predicted latency (n, len(devices)) in ms."""
        import torch

        if self._net is None:
            raise ConfigError("the latency predictor is not fitted", "call fit(networks, latency) first")
        x, m = self._tensors(*_feature_tensor(networks))
        with torch.no_grad():
            latency: np.ndarray = self._forward(x, m).numpy().astype(float) * self._scale
        return latency

    def predict_device(self, networks: Sequence[Sequence[MBConvBlock]], device: str) -> np.ndarray:
        """Predicted latency (ms) on one device."""
        if device not in self.devices:
            raise ConfigError(f"the latency predictor has no device {device!r}", f"devices: {list(self.devices)}")
        return self.predict(networks)[:, self.devices.index(device)]


class LookupTableLatency:
    """FBNet's latency lookup table: bias + one cost per (layer, op), fitted by ridge regression."""

    def __init__(self, devices: Sequence[str], n_layers: int = N_FBNET_LAYERS, n_ops: int = 9, ridge: float = 1e-3):
        self.devices, self.n_layers, self.n_ops, self.ridge = tuple(devices), int(n_layers), int(n_ops), float(ridge)
        self.table: np.ndarray | None = None  # (n_layers * n_ops + 1, devices)

    def _design(self, ops: np.ndarray) -> np.ndarray:
        ops = np.asarray(ops, dtype=int)
        x = np.zeros((len(ops), self.n_layers * self.n_ops + 1))
        x[np.arange(len(ops))[:, None], np.arange(self.n_layers) * self.n_ops + ops] = 1.0
        x[:, -1] = 1.0
        return x

    def fit(self, ops: np.ndarray, latency: np.ndarray) -> LookupTableLatency:
        """Fit on op-index rows (n, n_layers) and latencies (n, devices)."""
        x = self._design(ops)
        gram = x.T @ x + self.ridge * np.eye(x.shape[1])
        self.table = np.linalg.solve(gram, x.T @ np.asarray(latency, dtype=float))
        return self

    def predict(self, ops: np.ndarray) -> np.ndarray:
        """Predicted latency (n, devices) in ms."""
        if self.table is None:
            raise ConfigError("the lookup table is not fitted", "call fit(ops, latency) first")
        latency: np.ndarray = self._design(ops) @ self.table
        return latency


def accuracy_report(measured: np.ndarray, predicted: np.ndarray, devices: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per device: Kendall tau, Spearman rho and mean absolute percentage error of predictions."""
    from scipy.stats import kendalltau, spearmanr

    out = {}
    for j, device in enumerate(devices):
        y, p = measured[:, j], predicted[:, j]
        out[device] = {
            "kendall_tau": float(kendalltau(y, p).statistic),
            "spearman": float(spearmanr(y, p).statistic),
            "mape_percent": float(np.mean(np.abs(p - y) / np.abs(y)) * 100),
        }
    return out
