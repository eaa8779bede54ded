"""Zero-cost proxies: scores of an untrained network that predict how well it will train.

Computed by the project on the real network at initialisation, without data:

* ``synflow`` (Tanaka et al. 2020, as a NAS proxy: Abdelfattah et al. 2021): the network in float64
  with every parameter replaced by its absolute value and BatchNorm as the identity (the running
  statistics of a fresh BN: mean 0, variance 1), an all-ones input; the score is
  ``sum |theta * dR/dtheta|`` with ``R`` the sum of the outputs. Reported as ``log10`` of the score
  (it spans dozens of orders of magnitude).
* ``jacob_cov`` (Mellor et al. 2021, the score of the zero-cost-proxies paper): the correlation
  matrix of the input Jacobians of a batch of Gaussian-noise images; the score is
  ``-sum(log(eig + k) + 1 / (eig + k))`` with ``k = 1e-5``.

Both are seeded (weights and noise come from ``seed``): the same cell and seed give the same score.
:class:`ProxyCache` keeps computed scores on disk per space and proxy, so each is computed once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..._datafiles import cache_root
from ..._safe_files import atomic_write
from ...errors import ConfigError
from ...settings import setting

#: The proxies this module computes.
PROXIES = ("synflow", "jacob_cov")


def _torch() -> Any:
    import torch

    return torch


def synflow(model: Any, input_shape: Sequence[int] = (3, 32, 32)) -> float:
    """log10 of the SynFlow score of ``model`` (modified in place: use a fresh copy)."""
    torch = _torch()
    model = model.double().eval()  # eval: a fresh BN is the identity (running mean 0, var 1)
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad()
    out = model(torch.ones((1, *input_shape), dtype=torch.float64))
    out.sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None)
    return math.log10(total) if total > 0 else 0.0  # 0: no signal reaches the output


def jacob_cov(model: Any, input_shape: Sequence[int] = (3, 32, 32), batch: int = 32, seed: int = 0) -> float:
    """The Jacobian-covariance score of ``model`` on a batch of Gaussian noise images."""
    torch = _torch()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *input_shape), generator=gen).requires_grad_(True)
    model.train()
    out = model(x)
    (grad,) = torch.autograd.grad(out.sum(), x)
    jac = grad.reshape(batch, -1).double()
    corr = torch.nan_to_num(torch.corrcoef(jac), nan=0.0)
    eig = torch.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-torch.sum(torch.log(eig.clamp_min(0) + k) + 1.0 / (eig.clamp_min(0) + k)))


def zero_cost_setting() -> Any:
    """The ``zero_cost`` option of every NB201 space and benchmark (:func:`parse_proxies` reads it)."""
    return setting(
        None,
        "zero-cost proxies of the untrained cell as free statistics: synflow, jacob_cov (comma-separated) or all; "
        "computed once per cell and cached on disk ($NARS_CACHE_DIR)",
    )


def parse_proxies(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Proxy names from ``"synflow,jacob_cov"``, ``"all"``, a sequence or None (none); a clear error
    names an unknown one."""
    if value is None:
        return ()
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value) if n.strip()]
    if names in (["all"], ["true"]):
        return PROXIES
    if names in (["none"], ["false"]):
        return ()
    for name in names:
        if name not in PROXIES:
            raise ConfigError(
                f"unknown zero-cost proxy {name!r}", f"zero_cost takes {', '.join(PROXIES)} (comma-separated) or all"
            )
    return tuple(dict.fromkeys(names))


def one_proxy(name: str) -> str:
    """``name`` if it is one proxy this module computes, else a clear error (``all`` is not one)."""
    if name not in PROXIES:
        raise ConfigError(f"unknown zero-cost proxy {name!r}", f"choose one of {', '.join(PROXIES)}")
    return name


def nb201_proxy(arch: str, name: str, seed: int = 0, num_classes: int = 10, resolution: int = 32) -> float:
    """Proxy ``name`` of the NAS-Bench-201 network of cell ``arch`` (C=16, N=5), weights seeded."""
    torch = _torch()
    from ._net import NB201Network

    name = one_proxy(name)
    torch.manual_seed(seed)
    model = NB201Network(arch, num_classes=num_classes)
    shape = (3, resolution, resolution)
    if name == "synflow":
        return synflow(model, shape)
    return jacob_cov(model, shape, seed=seed)


class ProxyCache:
    """Zero-cost proxy scores on disk, one JSON file per (space, proxy, seed): computed once, read by
    every later process. The folder is ``$NARS_CACHE_DIR/proxies`` (default
    ``~/.cache/nars-plugin/proxies``); files are written atomically, so parallel processes at worst
    compute the same scores twice.
    """

    def __init__(self, space_key: str, proxy: str, seed: int = 0, folder: str | os.PathLike[str] | None = None):
        proxy = one_proxy(proxy)
        root = Path(folder) if folder is not None else cache_root() / "proxies"
        digest = hashlib.sha256(space_key.encode()).hexdigest()[:16]
        self.path = root / f"{proxy}-seed{seed}-{digest}.json"
        self.proxy, self.seed, self.space_key = proxy, seed, space_key
        self._scores: dict[str, float] | None = None

    def scores(self) -> dict[str, float]:
        """Every cached score by key (an unreadable file is ignored and rewritten)."""
        if self._scores is None:
            self._scores = {}
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(self.path.read_text())
                if data.get("space") == self.space_key and data.get("proxy") == self.proxy:
                    self._scores = {str(k): float(v) for k, v in data["scores"].items()}
        return self._scores

    def get(self, keys: Sequence[str], compute: Callable[[str], float], progress: bool | None = None) -> np.ndarray:
        """The score of each key, computing (with a progress bar) and saving the missing ones."""
        scores = self.scores()
        missing = list(dict.fromkeys(k for k in keys if k not in scores))
        if missing:
            from tqdm import tqdm

            bar: Iterable[str] = tqdm(
                missing,
                desc=f"{self.proxy} (computed once, cached)",
                disable=None if progress is None else not progress,
            )
            try:
                for i, key in enumerate(bar, 1):
                    scores[key] = float(compute(key))
                    if i % 500 == 0:
                        self._save()
            finally:
                self._save()
        return np.asarray([scores[k] for k in keys], dtype=float)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"space": self.space_key, "proxy": self.proxy, "seed": self.seed, "scores": self.scores()}
        atomic_write(self.path, json.dumps(body, allow_nan=True) + "\n")
