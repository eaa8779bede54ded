"""The FBNetV3 accuracy predictor.

Structure (FBNetV3, Dai et al. 2021, section 3.1)::

    architecture one-hot / min-max  ->  encoder MLP  ->  embedding
    embedding                       ->  proxy head     ->  free statistics (FLOPs, params, ...)
    [embedding, recipe encoding]    ->  accuracy head  ->  accuracy

* **Pretraining**: the encoder and proxy head learn to predict the free
  statistics (``Space.statistics``, log-scaled and standardised) of many
  Sobol-sampled architectures before any accuracy is known.
* **Fitting**: Huber (smooth L1) loss on standardised accuracies; first the
  accuracy head alone with the encoder frozen, then everything at a lower
  learning rate (the paper does not publish its schedule; the defaults below
  are measured in ``benchmarks/predictor``).
* An **ensemble** of ``n_models`` independently initialised predictors (same
  pretraining data) averages away the variance of small training sets.

Everything is seeded: the same seed and data give the same predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ConfigError
from .space import Candidate, Space


def _torch() -> Any:
    import torch

    return torch


class _Net:
    """One encoder + proxy head + accuracy head (built lazily with torch)."""

    def __init__(self, arch_dim: int, recipe_dim: int, n_stats: int, hidden: int, embed: int, seed: int) -> None:
        torch = _torch()
        nn = torch.nn
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.encoder = nn.Sequential(
            nn.Linear(arch_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, embed),
            nn.ReLU(),
        )
        self.proxy_head = nn.Linear(embed, max(n_stats, 1))
        self.accuracy_head = nn.Sequential(
            nn.Linear(embed + recipe_dim, hidden // 2), nn.ReLU(), nn.Linear(hidden // 2, 1)
        )
        torch.random.set_rng_state(gen_state)

    def parameters(self, part: str) -> list[Any]:
        modules = {"encoder": [self.encoder], "proxy": [self.encoder, self.proxy_head], "head": [self.accuracy_head]}
        modules["all"] = [self.encoder, self.accuracy_head]
        return [p for m in modules[part] for p in m.parameters()]

    def accuracy(self, arch: Any, recipe: Any) -> Any:
        torch = _torch()
        emb = self.encoder(arch)
        return self.accuracy_head(torch.cat([emb, recipe], dim=1)).squeeze(1)


class NARSPredictor:
    """FBNetV3's predictor: pretrained architecture encoder + accuracy head on [embedding, recipe].

    Args:
        space: the joint space whose candidates are scored.
        seed: seeds initialisation and mini-batch order.
        n_models: ensemble size.
        hidden: width of the encoder's hidden layers.
        embed: width of the architecture embedding.
        pretrain: pretrain on free statistics when the space has any.
        pretrain_samples: Sobol-sampled architectures for pretraining.
        pretrain_epochs: passes over them (mini-batches of 256).
        head_steps: full-batch steps of the frozen-encoder phase.
        finetune_steps: full-batch steps of the fine-tuning phase.
        lr: learning rate of the head phase and of pretraining.
        finetune_lr: learning rate of the fine-tuning phase.
        huber_delta: transition point of the Huber loss (in standard deviations).
        weight_decay: L2 penalty (AdamW).
    """

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        n_models: int = 3,
        hidden: int = 128,
        embed: int = 64,
        pretrain: bool = True,
        pretrain_samples: int = 4096,
        pretrain_epochs: int = 30,
        head_steps: int = 150,
        finetune_steps: int = 250,
        lr: float = 1e-2,
        finetune_lr: float = 2e-3,
        huber_delta: float = 1.0,
        weight_decay: float = 1e-4,
    ) -> None:
        if n_models < 1:
            raise ConfigError(f"n_models must be >= 1, got {n_models}")
        self.space = space
        self.seed = int(seed)
        self.n_models = int(n_models)
        self.hidden, self.embed = int(hidden), int(embed)
        self.pretrain_enabled = bool(pretrain)
        self.pretrain_samples = int(pretrain_samples)
        self.pretrain_epochs = int(pretrain_epochs)
        self.head_steps, self.finetune_steps = int(head_steps), int(finetune_steps)
        self.lr, self.finetune_lr = float(lr), float(finetune_lr)
        self.huber_delta, self.weight_decay = float(huber_delta), float(weight_decay)
        self.stat_names = tuple(space.statistic_names)
        self._nets: list[_Net] = []
        self._pretrained_state: list[dict[str, Any]] | None = None
        self._y_mean, self._y_std = 0.0, 1.0
        self.pretrain_loss: float | None = None

    def settings(self) -> dict[str, Any]:
        """Hyper-parameters (for journals and reports)."""
        keys = [
            "n_models",
            "hidden",
            "embed",
            "pretrain_enabled",
            "pretrain_samples",
            "pretrain_epochs",
            "head_steps",
            "finetune_steps",
            "lr",
            "finetune_lr",
            "huber_delta",
            "weight_decay",
        ]
        return {k: getattr(self, k) for k in keys}

    # -- tensors --------------------------------------------------------- #

    def _tensors(self, cands: Sequence[Candidate]) -> tuple[Any, Any]:
        torch = _torch()
        x = torch.as_tensor(self.space.encode(cands), dtype=torch.float32)
        return x[:, : self.space.arch_dim], x[:, self.space.arch_dim :]

    def _new_nets(self) -> list[_Net]:
        return [
            _Net(
                self.space.arch_dim,
                self.space.recipe_dim,
                len(self.stat_names),
                self.hidden,
                self.embed,
                self.seed * 101 + i,
            )
            for i in range(self.n_models)
        ]

    # -- pretraining ----------------------------------------------------- #

    @property
    def can_pretrain(self) -> bool:
        """True when pretraining is enabled and the space has free statistics."""
        return self.pretrain_enabled and bool(self.stat_names)

    def pretrain(self, cands: Sequence[Candidate] | None = None) -> float | None:
        """Pretrain encoder + proxy head on the free statistics; returns the final loss.

        ``cands`` defaults to ``pretrain_samples`` Sobol samples of the space.
        """
        if not self.can_pretrain:
            return None
        torch = _torch()
        cands = list(cands) if cands is not None else self.space.sample(self.pretrain_samples, seed=self.seed + 7919)
        stats = self.space.statistics(cands)
        target = np.stack([np.log1p(np.maximum(np.asarray(stats[n], dtype=float), 0.0)) for n in self.stat_names], 1)
        target = (target - target.mean(0)) / np.maximum(target.std(0), 1e-8)
        arch, _ = self._tensors(cands)
        y = torch.as_tensor(target, dtype=torch.float32)
        nets = self._new_nets()
        loss_value = math.nan
        for i, net in enumerate(nets):
            gen = torch.Generator().manual_seed(self.seed * 7 + i)
            opt = torch.optim.AdamW(net.parameters("proxy"), lr=self.lr, weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.pretrain_epochs)
            for _ in range(self.pretrain_epochs):
                order = torch.randperm(len(cands), generator=gen)
                for start in range(0, len(cands), 256):
                    idx = order[start : start + 256]
                    loss = torch.nn.functional.smooth_l1_loss(net.proxy_head(net.encoder(arch[idx])), y[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                sched.step()
            with torch.no_grad():
                loss_value = float(torch.nn.functional.smooth_l1_loss(net.proxy_head(net.encoder(arch)), y))
        self._pretrained_state = [{"encoder": {k: v.clone() for k, v in n.encoder.state_dict().items()}} for n in nets]
        self.pretrain_loss = loss_value
        return loss_value

    # -- fitting and prediction ------------------------------------------ #

    def fit(self, cands: Sequence[Candidate], y: Sequence[float]) -> NARSPredictor:
        """Fit the accuracy head (encoder frozen), then fine-tune everything."""
        torch = _torch()
        y_arr = np.asarray(y, dtype=float)
        keep = np.isfinite(y_arr)
        cands = [c for c, k in zip(cands, keep) if k]
        y_arr = y_arr[keep]
        if len(cands) < 2:
            raise ConfigError("the predictor needs at least 2 finite training points", "evaluate more candidates first")
        if self.can_pretrain and self._pretrained_state is None:
            self.pretrain()
        self._y_mean = float(y_arr.mean())
        self._y_std = float(max(y_arr.std(), 1e-8))
        target = torch.as_tensor((y_arr - self._y_mean) / self._y_std, dtype=torch.float32)
        arch, recipe = self._tensors(cands)
        self._nets = self._new_nets()
        for i, net in enumerate(self._nets):
            pretrained = self._pretrained_state is not None
            if pretrained:
                net.encoder.load_state_dict(self._pretrained_state[i]["encoder"])
            phases = [
                ("head" if pretrained else "all", self.head_steps, self.lr),
                ("all", self.finetune_steps, self.finetune_lr),
            ]
            for part, steps, lr in phases:
                opt = torch.optim.AdamW(net.parameters(part), lr=lr, weight_decay=self.weight_decay)
                for _ in range(steps):
                    loss = torch.nn.functional.huber_loss(net.accuracy(arch, recipe), target, delta=self.huber_delta)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        return self

    def predict_all(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Predictions of every ensemble member, shape (n_models, n)."""
        if not self._nets:
            raise ConfigError("the predictor has not been fitted", "call fit(candidates, accuracies) first")
        torch = _torch()
        out = []
        with torch.no_grad():
            for start in range(0, len(cands), 8192):
                arch, recipe = self._tensors(cands[start : start + 8192])
                out.append(np.stack([n.accuracy(arch, recipe).numpy() for n in self._nets]))
        preds = np.concatenate(out, axis=1) if out else np.zeros((len(self._nets), 0))
        return preds * self._y_std + self._y_mean

    def predict(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Ensemble-mean predicted accuracy of each candidate."""
        return self.predict_all(cands).mean(axis=0)
