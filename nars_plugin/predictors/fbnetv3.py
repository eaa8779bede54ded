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
* **Threads**: pretraining, fitting and prediction run with ``threads`` torch
  threads (default 1), set around each call and restored after it
  (:func:`~nars_plugin.predictors.base.torch_threads`); the rest of the process
  keeps its own setting.

Everything is seeded: the same seed and data give the same predictions.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import operator
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

import numpy as np

from .._datafiles import cache_root
from .._safe_files import atomic_write
from ..candidate import unique
from ..settings import read_mapping, setting
from ..settings import split as split_settings
from ..space import Candidate, Space
from .base import Predictor, log_scaled, torch_threads

_KEY = operator.attrgetter("key")
_LOG = logging.getLogger(__name__)
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _in_own_threads(method: _Method) -> _Method:
    """Run a :class:`NARSPredictor` method with the predictor's ``threads`` torch threads."""

    @functools.wraps(method)
    def wrapper(self: NARSPredictor, *args: Any, **kwargs: Any) -> Any:
        with torch_threads(self.config.threads):
            return method(self, *args, **kwargs)

    return cast(_Method, wrapper)


def _torch() -> Any:
    import torch

    return torch


class _EnsembleLinear:
    """``n_models`` independent linear layers evaluated as one batched matmul."""

    def __init__(self, n_models: int, d_in: int, d_out: int, gen: Any) -> None:
        torch = _torch()
        bound = 1.0 / math.sqrt(d_in)  # the default initialisation of torch.nn.Linear
        self.weight = (torch.rand(n_models, d_in, d_out, generator=gen) * 2 - 1) * bound
        self.bias = (torch.rand(n_models, 1, d_out, generator=gen) * 2 - 1) * bound
        self.weight.requires_grad_(True)
        self.bias.requires_grad_(True)

    def __call__(self, x: Any, members: slice = slice(None)) -> Any:
        return _torch().baddbmm(self.bias[members], x, self.weight[members])

    def parameters(self) -> list[Any]:
        return [self.weight, self.bias]


class _Ensemble:
    """``n_models`` predictors (encoder + proxy head + accuracy head) trained side by side.

    Every tensor has a leading model axis; the members share no parameters, so one
    summed loss trains each exactly as if alone (Adam is per-element), at the cost of one.
    """

    def __init__(self, n_models: int, arch_dim: int, recipe_dim: int, n_stats: int, hidden: int, embed: int, seed: int):
        gen = _torch().Generator().manual_seed(seed)
        self.encoder = [
            _EnsembleLinear(n_models, arch_dim, hidden, gen),
            _EnsembleLinear(n_models, hidden, hidden, gen),
            _EnsembleLinear(n_models, hidden, embed, gen),
        ]
        self.proxy_head = [_EnsembleLinear(n_models, embed, max(n_stats, 1), gen)]
        self.accuracy_head = [
            _EnsembleLinear(n_models, embed + recipe_dim, hidden // 2, gen),
            _EnsembleLinear(n_models, hidden // 2, 1, gen),
        ]
        self.n_models = n_models

    def parameters(self, part: str) -> list[Any]:
        layers = {
            "proxy": self.encoder + self.proxy_head,
            "head": self.accuracy_head,
            "all": self.encoder + self.accuracy_head,
        }[part]
        return [p for layer in layers for p in layer.parameters()]

    def embed(self, arch: Any, members: slice = slice(None)) -> Any:
        """Architecture embedding, (n_models, n, embed); ``arch`` is (n, d) or (n_models, n, d);
        ``members`` computes only those ensemble members."""
        torch = _torch()
        x = arch.expand(len(range(self.n_models)[members]), *arch.shape) if arch.dim() == 2 else arch
        for layer in self.encoder:
            x = torch.relu_(layer(x, members))  # in place: a layer output no one else holds
        return x

    def proxy(self, arch: Any) -> Any:
        return self.proxy_head[0](self.embed(arch))

    def accuracy(self, arch: Any, recipe: Any, members: slice = slice(None)) -> Any:
        """Predicted (standardised) accuracy, (n_models, n) (or only ``members``)."""
        return self.head(self.embed(arch, members), recipe, members)

    def head(self, emb: Any, recipe: Any, members: slice = slice(None)) -> Any:
        """The accuracy head on embeddings ``emb`` (n_models, n, embed) and the recipe encoding."""
        torch = _torch()
        x = torch.cat([emb, recipe.expand(emb.shape[0], *recipe.shape)], dim=2)
        x = torch.relu_(self.accuracy_head[0](x, members))
        return self.accuracy_head[1](x, members).squeeze(2)

    def encoder_state(self) -> list[Any]:
        return [p.detach().clone() for layer in self.encoder for p in layer.parameters()]

    def load_encoder_state(self, state: list[Any]) -> None:
        torch = _torch()
        with torch.no_grad():
            for p, saved in zip((p for layer in self.encoder for p in layer.parameters()), state):
                p.copy_(saved)


@dataclass(frozen=True)
class PredictorSettings:
    """Settings of :class:`NARSPredictor` (optimizers that use it take them as ``predictor.NAME``)."""

    n_models: int = setting(3, "ensemble size", low=1)
    hidden: int = setting(128, "width of the encoder's hidden layers", low=1)
    embed: int = setting(64, "width of the architecture embedding", low=1)
    pretrain: bool = setting(True, "pretrain the encoder on free statistics when the space has any")
    pretrain_samples: int = setting(4096, "Sobol-sampled architectures for pretraining", low=1)
    pretrain_epochs: int = setting(30, "passes over them (mini-batches of 256)", low=1)
    pretrain_seed: int | None = setting(
        0,
        "seed of pretraining (samples, initialisation, batch order); fixed, so every search on a space "
        "shares one pretrained encoder (cached on disk); auto: the search's seed",
        low=0,
        none="auto",
    )
    head_steps: int = setting(150, "full-batch steps of the frozen-encoder phase", low=0)
    finetune_steps: int = setting(250, "full-batch steps of the fine-tuning phase", low=0)
    warm_start: bool = setting(
        True, "a refit continues from the previous fit's weights for refit_steps (off: every fit starts afresh)"
    )
    refit_steps: int = setting(
        40, "steps of a warm-started refit (all weights, finetune_lr; full-batch up to refit_points)", low=1
    )
    refit_tolerance: float = setting(
        0.02,
        "a warm-started refit stops before refit_steps once its training loss (Huber, summed over the "
        "ensemble, in standard deviations of the target) is at most this: the new points are fitted",
        low=0,
    )
    refit_points: int | None = setting(
        None,
        "most points one step of a warm-started refit trains on: with more known, each step takes the "
        "points new since the previous fit and a fresh random sample of the others, so a refit costs "
        "the same however long the search (all: the full batch, whose cost grows with the data)",
        low=1,
        none="all",
        recorded="changed",
    )
    lr: float = setting(1e-2, "learning rate of the head phase and of pretraining", low=0)
    finetune_lr: float = setting(2e-3, "learning rate of the fine-tuning phase", low=0)
    huber_delta: float = setting(1.0, "transition point of the Huber loss (in standard deviations)", low=0)
    weight_decay: float = setting(1e-4, "L2 penalty (AdamW)", low=0)
    target: str = setting(
        "rank",
        "rank: fit normal scores of the accuracy ranks (resolution at the top of the range); standard: z-scores",
        choices=("rank", "standard"),
    )
    threads: int | None = setting(
        1,
        "torch threads while pretraining, fitting and predicting, set around each call and restored "
        "after (auto: leave torch's setting as it is); not part of the journal identity. The tensors "
        "are small: more threads cost more than they save, most of all beside other jobs",
        low=1,
        none="auto",
        recorded=False,
    )


class NARSPredictor(Predictor[PredictorSettings]):
    """FBNetV3's predictor: pretrained architecture encoder + accuracy head on [embedding, recipe].

    Args:
        space: the joint space whose candidates are scored.
        seed: seeds initialisation and mini-batch order.
        settings: :class:`PredictorSettings` by name (typed or as text), e.g. ``n_models=5``; read
            back as ``self.config``.
    """

    name = "fbnetv3"

    def __init__(self, space: Space, seed: int = 0, **settings: Any) -> None:
        super().__init__(space, seed, **settings)
        #: The seed of the pretraining (the ``pretrain_seed`` setting; auto: the predictor's seed).
        self.pretrain_seed = self.seed if self.config.pretrain_seed is None else self.config.pretrain_seed
        self.stat_names = tuple(space.statistic_names)
        self._ensemble: _Ensemble | None = None
        self._refit_optimizer: Any = None  # the fine-tuning optimiser a warm-started refit continues
        self._fitted: set[str] = set()  # keys of the candidates the current fit has trained on
        self._rows: dict[str, int] = {}  # candidate key -> row of _encoded
        self._encoded = _torch().zeros(0, space.arch_dim + space.recipe_dim)
        self._pretrained_state: list[Any] | None = None
        self._scaler: TargetScaler | None = None
        self.pretrain_loss: float | None = None

    # -- tensors --------------------------------------------------------- #

    def _tensors(self, cands: Sequence[Candidate]) -> tuple[Any, Any]:
        """Architecture and recipe encodings of ``cands``; each candidate is encoded once (optimizers
        score the same pool round after round)."""
        torch = _torch()
        rows = self._rows
        try:
            found = np.fromiter(map(rows.__getitem__, map(_KEY, cands)), np.int64, len(cands))
        except KeyError:
            new = [c for c in unique(cands) if c.key not in rows]
            start = len(rows)
            rows.update({c.key: start + i for i, c in enumerate(new)})
            self._encoded = torch.cat([self._encoded, torch.as_tensor(self.space.encode(new), dtype=torch.float32)])
            found = np.fromiter(map(rows.__getitem__, map(_KEY, cands)), np.int64, len(cands))
        x = self._encoded[torch.from_numpy(found)]
        return x[:, : self.space.arch_dim], x[:, self.space.arch_dim :]

    def _new_ensemble(self, seed: int | None = None) -> _Ensemble:
        return _Ensemble(
            self.config.n_models,
            self.space.arch_dim,
            self.space.recipe_dim,
            len(self.stat_names),
            self.config.hidden,
            self.config.embed,
            (self.seed if seed is None else seed) * 101 + 17,
        )

    # -- pretraining ----------------------------------------------------- #

    @property
    def can_pretrain(self) -> bool:
        """True when pretraining is enabled and the space has free statistics."""
        return self.config.pretrain and bool(self.stat_names)

    @_in_own_threads
    def pretrain(self, cands: Sequence[Candidate] | None = None) -> float | None:
        """Pretrain encoder + proxy head on the free statistics; returns the final loss.

        ``cands`` defaults to ``pretrain_samples`` Sobol samples of the space. The result depends
        only on the encoded architectures, their statistics, the pretraining settings and the seed;
        it is kept on disk under that key (:class:`PretrainCache`), so a later search with the same
        space and seed loads it (bit-identical) instead of training again.
        """
        if not self.can_pretrain:
            return None
        torch = _torch()
        seed = self.pretrain_seed
        cands = list(cands) if cands is not None else self.space.sample(self.config.pretrain_samples, seed=seed + 7919)
        stats = self.space.statistics(cands)
        target = log_scaled(stats, self.stat_names)
        target = (target - target.mean(0)) / np.maximum(target.std(0), 1e-8)
        arch, _ = self._tensors(cands)
        y = torch.as_tensor(target, dtype=torch.float32)
        cache = PretrainCache(self._pretrain_key(arch, y))
        cached = cache.load()
        if cached is not None:
            self._pretrained_state, self.pretrain_loss = cached
            return self.pretrain_loss
        _announce(
            f"pretraining the predictor on {len(cands)} architectures "
            + (f"(once: cached in {cache.path.parent})" if cache.enabled else "(NARS_CACHE=off: not cached)")
        )
        started = time.perf_counter()
        ensemble = self._new_ensemble(seed)
        gen = torch.Generator().manual_seed(seed * 7 + 3)
        opt = _AdamW(ensemble.parameters("proxy"), self.config.lr, self.config.weight_decay)
        for opt.lr in _cosine_annealing(self.config.lr, self.config.pretrain_epochs):
            # each member sees its own mini-batch order
            order = torch.stack([torch.randperm(len(cands), generator=gen) for _ in range(self.config.n_models)])
            for start in range(0, len(cands), 256):
                idx = order[:, start : start + 256]
                loss = _huber_sum(ensemble.proxy(arch[idx]), y[idx], 1.0)
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            loss_value: float = (
                float(_huber_sum(ensemble.proxy(arch), y.expand(self.config.n_models, *y.shape), 1.0))
                / self.config.n_models
            )
        self._pretrained_state = ensemble.encoder_state()
        self.pretrain_loss = loss_value
        cache.save(self._pretrained_state, loss_value)
        _LOG.info("pretrained the predictor in %.1f s (final loss %.4g)", time.perf_counter() - started, loss_value)
        return loss_value

    def _pretrain_key(self, arch: Any, target: Any) -> str:
        """A digest of everything pretraining depends on."""
        import hashlib

        torch = _torch()
        digest = hashlib.sha256()
        settings = (
            self.config.n_models,
            self.config.hidden,
            self.config.embed,
            self.config.pretrain_epochs,
            self.config.lr,
            self.config.weight_decay,
        )
        identity = (_PRETRAIN_VERSION, torch.__version__, settings, self.pretrain_seed, self.space.recipe_dim)
        digest.update(repr((*identity, self.stat_names)).encode())
        digest.update(arch.numpy().tobytes())
        digest.update(target.numpy().tobytes())
        return digest.hexdigest()

    # -- fitting and prediction ------------------------------------------ #

    @_in_own_threads
    def fit(self, cands: Sequence[Candidate], y: Sequence[float] | np.ndarray) -> NARSPredictor:
        """Fit the accuracy head (encoder frozen), then fine-tune everything.

        With ``warm_start`` a later fit continues from the previous one instead (up to ``refit_steps``
        of fine-tuning, fewer once the loss is within ``refit_tolerance``; the optimiser's state kept):
        optimizers refit on everything known plus a few new points, so most of the work is done.
        The same sequence of fits gives the same result.
        """
        torch = _torch()
        cands, y_arr = self.training_set(cands, y)
        if self.can_pretrain and self._pretrained_state is None:
            self.pretrain()
        self._scaler = TargetScaler(y_arr, self.config.target)
        target = torch.as_tensor(self._scaler.forward(y_arr), dtype=torch.float32)
        arch, recipe = self._tensors(cands)
        targets = target.expand(self.config.n_models, len(target))
        if self.config.warm_start and self._ensemble is not None:  # _refit_optimizer is set with it
            self._train(
                self._ensemble,
                self._refit_optimizer,
                arch,
                recipe,
                targets,
                self.config.refit_steps,
                self.config.refit_tolerance,
                rows=self._refit_rows(cands),
            )
            self._fitted.update(map(_KEY, cands))
            return self
        self._fitted = set(map(_KEY, cands))
        ensemble = self._new_ensemble()
        pretrained = self._pretrained_state is not None
        if self._pretrained_state is not None:
            ensemble.load_encoder_state(self._pretrained_state)
        phases = [
            ("head" if pretrained else "all", self.config.head_steps, self.config.lr),
            ("all", self.config.finetune_steps, self.config.finetune_lr),
        ]
        for part, steps, lr in phases:
            opt = _AdamW(ensemble.parameters(part), lr, self.config.weight_decay)
            self._train(ensemble, opt, arch, recipe, targets, steps, frozen_encoder=part == "head")
        self._ensemble, self._refit_optimizer = ensemble, opt
        return self

    def reset(self) -> None:
        """Forget the fitted ensemble (the pretrained encoder stays): the next fit starts afresh."""
        self._ensemble, self._refit_optimizer = None, None
        self._fitted = set()

    def _refit_rows(self, cands: Sequence[Candidate]) -> Iterator[Any] | None:
        """The rows of ``cands`` each step of a warm-started refit trains on: None (all of them) up to
        ``refit_points``; beyond, the candidates the previous fit did not have (while fewer than
        ``refit_points``) and a fresh random sample of the others, seeded by the seed and the data
        size, so the same sequence of fits gives the same result."""
        limit = self.config.refit_points
        if limit is None or len(cands) <= limit:
            return None
        torch = _torch()
        new = [i for i, c in enumerate(cands) if c.key not in self._fitted]
        if len(new) >= limit:
            new = []
        fixed = torch.as_tensor(new, dtype=torch.int64)
        taken = set(new)
        others = torch.as_tensor([i for i in range(len(cands)) if i not in taken], dtype=torch.int64)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + len(cands))

        def rows() -> Iterator[Any]:
            while True:
                yield torch.cat([fixed, others[torch.randperm(len(others), generator=gen)[: limit - len(new)]]])

        return rows()

    def _train(
        self,
        ensemble: _Ensemble,
        opt: Any,
        arch: Any,
        recipe: Any,
        targets: Any,
        steps: int,
        tolerance: float = 0.0,
        frozen_encoder: bool = False,
        rows: Iterator[Any] | None = None,
    ) -> None:
        """Up to ``steps`` steps of ``opt``, fewer once the loss is at most ``tolerance``: full-batch, or
        each on the rows ``rows`` gives (the encoder not frozen); with the encoder frozen its embedding
        is computed once."""
        torch = _torch()
        assert rows is None or not frozen_encoder
        if frozen_encoder:
            with torch.no_grad():
                emb = ensemble.embed(arch)
        for _ in range(steps):
            a, r, t = arch, recipe, targets
            if rows is not None:
                pick = next(rows)
                a, r, t = arch[pick], recipe[pick], targets[:, pick]
            pred = ensemble.head(emb, r) if frozen_encoder else ensemble.accuracy(a, r)
            loss = _huber_sum(pred, t, self.config.huber_delta)
            if tolerance > 0 and loss.item() <= tolerance:
                break
            opt.zero_grad()
            loss.backward()
            opt.step()

    @_in_own_threads
    def _standardised(self, cands: Sequence[Candidate], members: slice = slice(None)) -> np.ndarray:
        """The ``members``' predictions in the training target's units, shape (members, n)."""
        if self._ensemble is None:
            raise self.not_fitted()
        torch = _torch()
        out = []
        with torch.no_grad():
            for start in range(0, len(cands), 8192):
                arch, recipe = self._tensors(cands[start : start + 8192])
                out.append(self._ensemble.accuracy(arch, recipe, members).numpy())
        return np.concatenate(out, axis=1) if out else np.zeros((len(range(self.config.n_models)[members]), 0))

    def predict_all(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Predictions of every ensemble member, shape (n_models, n)."""
        preds = self._standardised(cands)
        return self._scaler.inverse(preds) if self._scaler is not None else preds

    def screen(self, cands: Sequence[Candidate]) -> np.ndarray:
        """The first ensemble member's prediction (standardised): a fifth of the cost, nearly the order."""
        first: np.ndarray = self._standardised(cands, slice(0, 1))[0]
        return first

    def predict_mean_std(self, cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and ensemble standard deviation of each candidate's predicted accuracy."""
        members = self.predict_all(cands)
        return members.mean(axis=0), members.std(axis=0)

    def predict(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Ensemble-mean predicted accuracy of each candidate."""
        mean: np.ndarray = self.predict_all(cands).mean(axis=0)
        return mean


class PretrainCache:
    """Pretrained encoder states on disk, by the digest of what determines them:
    ``$NARS_CACHE_DIR/pretrain/<digest>.pt`` (default ``~/.cache/nars-plugin``); ``NARS_CACHE=off``
    switches it off. Loading uses ``torch.load(weights_only=True)``; an unreadable or mismatched file
    is ignored (and replaced on the next save), so the cache can only save time, never change a result.
    """

    def __init__(self, key: str) -> None:
        self.enabled = os.environ.get("NARS_CACHE", "").strip().lower() not in ("off", "0", "false", "no")
        self.path = cache_root() / "pretrain" / f"{key}.pt"

    #: States this process has read, by file and modification time (each file is read once).
    _loaded: ClassVar[dict[tuple[Path, int], tuple[list[Any], float]]] = {}

    def load(self) -> tuple[list[Any], float] | None:
        """The saved ``(encoder state, final loss)``, or None."""
        if not self.enabled:
            return None
        try:
            version = (self.path, self.path.stat().st_mtime_ns)
        except OSError:
            return None
        if version not in self._loaded:
            torch = _torch()
            try:
                saved = torch.load(self.path, weights_only=True)
                self._loaded[version] = ([t.clone() for t in saved["state"]], float(saved["loss"]))
            except Exception:  # noqa: BLE001 - a damaged cache file is recomputed, not an error
                return None
        state, loss = self._loaded[version]
        return [t.clone() for t in state], loss

    def save(self, state: list[Any], loss: float) -> None:
        """Write the state atomically (a failure to write only loses the saving of time)."""
        if not self.enabled:
            return
        import io

        torch = _torch()
        buffer = io.BytesIO()
        torch.save({"state": [t.detach() for t in state], "loss": loss}, buffer)
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, buffer.getvalue())


def parse_predictor_settings(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The predictor settings given in a mapping or JSON text (``'{"n_models": 3}'``, as the CLI passes
    them), typed and checked against :class:`PredictorSettings`; only the names given."""
    given, _ = split_settings(PredictorSettings, read_mapping(value, "predictor settings", "predictor"), "predictor")
    return given


#: Bumped when pretraining changes in a way its cache key does not see (the optimiser implementation).
_PRETRAIN_VERSION = 2


def _announce(message: str) -> None:
    """A one-time note on what a pause is for: logged (``nars_plugin.predictors.fbnetv3``, INFO), and written to
    stderr where a progress bar would be shown (a terminal), through tqdm so a running bar stays intact."""
    _LOG.info(message)
    if sys.stderr is not None and sys.stderr.isatty():
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)


class _AdamW:
    """AdamW (betas 0.9, 0.999; eps 1e-8) as ``torch.optim.AdamW(fused=True)`` computes it, bit for bit:
    state made at a parameter's first step, the step count as a float32 tensor, torch's fused kernel
    (on CPU several times faster than the per-tensor loop for these small parameter sets).

    It calls that kernel itself because ``torch.optim``'s optimizers import ``torch._dynamo`` the first
    time one is made: about 2 s of every search process, more than the fits of a 100-query search.
    """

    def __init__(self, params: list[Any], lr: float, weight_decay: float) -> None:
        self.params, self.lr, self.weight_decay = params, lr, weight_decay
        #: per parameter, as torch.optim keeps it: {"step", "exp_avg", "exp_avg_sq"}
        self.state: dict[Any, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        torch = _torch()
        live = [p for p in self.params if p.grad is not None]
        if not live:
            return
        for p in live:
            if p not in self.state:
                zeros = torch.zeros_like(p, memory_format=torch.preserve_format)
                self.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32),
                    "exp_avg": zeros,
                    "exp_avg_sq": zeros.clone(),
                }
        states = [self.state[p] for p in live]
        steps = [state["step"] for state in states]
        with torch.no_grad():
            torch._foreach_add_(steps, 1)
            torch._fused_adamw_(
                live,
                [p.grad for p in live],
                [state["exp_avg"] for state in states],
                [state["exp_avg_sq"] for state in states],
                [],
                steps,
                amsgrad=False,
                lr=self.lr,
                beta1=0.9,
                beta2=0.999,
                weight_decay=self.weight_decay,
                eps=1e-8,
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )


def _cosine_annealing(lr: float, epochs: int) -> list[float]:
    """The learning rate of each epoch under cosine annealing to 0, computed step by step as
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` does (so the same floats)."""
    rates = [lr]
    for epoch in range(1, epochs):
        rates.append(
            (1 + math.cos(math.pi * epoch / epochs)) / (1 + math.cos(math.pi * (epoch - 1) / epochs)) * rates[-1]
        )
    return rates


def _huber_sum(pred: Any, target: Any, delta: float) -> Any:
    """Huber loss averaged over points, summed over ensemble members."""
    loss = _torch().nn.functional.huber_loss(pred, target, delta=delta, reduction="none")
    return loss.reshape(loss.shape[0], -1).mean(dim=1).sum()


class TargetScaler:
    """Monotone map between accuracies and the standardised training target (and back): ``rank``
    (normal scores of the ranks, interpolated between observed values) or ``standard`` (z-scores)."""

    def __init__(self, y: np.ndarray, kind: str) -> None:
        self.kind = kind
        self.mean, self.std = float(y.mean()), float(max(y.std(), 1e-8))
        if kind == "rank":
            from scipy.stats import norm, rankdata

            z = norm.ppf((rankdata(y) - 0.5) / len(y))
            self.ys, first = np.unique(y, return_index=True)
            self.zs = z[first]

    def forward(self, y: np.ndarray) -> np.ndarray:
        z: np.ndarray = (y - self.mean) / self.std if self.kind == "standard" else np.interp(y, self.ys, self.zs)
        return z

    def inverse(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "standard" or len(self.zs) < 2:
            y: np.ndarray = z * self.std + self.mean
            return y
        zs, ys = self.zs, self.ys
        out = np.interp(z, zs, ys)
        # beyond the observed range: continue the slope of the outermost quarter, so order is kept
        k = max(1, len(zs) // 4)
        hi_slope = (ys[-1] - ys[-1 - k]) / max(zs[-1] - zs[-1 - k], 1e-8)
        lo_slope = (ys[k] - ys[0]) / max(zs[k] - zs[0], 1e-8)
        out = np.where(z > zs[-1], ys[-1] + (z - zs[-1]) * hi_slope, out)
        extended: np.ndarray = np.where(z < zs[0], ys[0] + (z - zs[0]) * lo_slope, out)
        return extended
