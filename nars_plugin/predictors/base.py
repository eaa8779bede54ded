"""The predictor contract: what a registered accuracy predictor implements and what the core relies on."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar, cast

import numpy as np

from ..candidate import Candidate
from ..errors import ConfigError
from ..settings import Choice, Configured, bind, identity
from ..settings import parse as parse_settings
from ..space import Space

S = TypeVar("S")


class Predictor(Configured[S], ABC):
    """An accuracy predictor: learns objective values of candidates, predicts new ones with uncertainty.

    Subclass it and override:

    * :meth:`fit` ``(candidates, values) -> self``: learn from evaluated candidates (the objective,
      higher is better; non-finite values are to be left out). Each call starts from scratch on the
      data given (optimizers refit on everything they know), except for what :meth:`pretrain` learnt
      and, where the predictor says so, the previous fit it continues from (a warm start).
    * :meth:`predict_mean_std` ``(candidates) -> (mean, std)``: two float arrays of shape ``(n,)``,
      ``std >= 0`` (an ensemble's spread, a posterior's standard deviation; 0 where a model has none).
      Before the first :meth:`fit` it raises a :class:`~nars_plugin.errors.NarsError` saying so.

    Optional:

    * a settings dataclass (:mod:`nars_plugin.settings`) that types the predictor, named once as
      the type argument: ``class Ridge(Predictor[RidgeSettings])``; the constructor parses
      ``**settings`` with it into ``self.config`` (a ``RidgeSettings``), so text from the command
      line is typed and checked, and ``nars predictors NAME`` lists them.
    * :attr:`can_pretrain` / :meth:`pretrain`: learn from the space's free statistics
      (``Space.statistics``) before any accuracy is known; the default has nothing to pretrain.
    * :meth:`reset`: a predictor whose :meth:`fit` continues the previous fit (a warm start) forgets
      it here; evaluations that compare training sizes call it before each fit.
    * :meth:`screen`: a cheaper approximation of :meth:`predict` (one ensemble member, say) that
      optimizers use to shortlist large pools; the default is :meth:`predict`.

    What the core relies on: the constructor ``cls(space, seed=..., **settings)``; the same seed and
    the same sequence of fits give the same predictions (journal replay re-runs every fit, in order);
    :meth:`predict` is the mean of :meth:`predict_mean_std`. ``nars_plugin.testing.PredictorConformance``
    checks all of it.
    """

    #: The name it is registered under, for messages (the class name where empty).
    name: ClassVar[str] = ""

    def __init__(self, space: Space, seed: int = 0, **settings: Any) -> None:
        self.space = space
        self.seed = int(seed)
        name = self.name or type(self).__name__
        if self.Settings is not None:
            parsed = parse_settings(self.Settings, settings, f"predictor {name!r}", f"nars predictors {name}")
        elif settings:
            raise ConfigError(
                f"predictor {name} takes no settings, got {sorted(settings)}",
                "leave them out, or declare them with a Settings dataclass",
            )
        else:
            parsed = None
        self.config = cast(S, parsed)

    def settings(self) -> dict[str, Any]:
        """The settings (for journals and reports), from the declaration."""
        return identity(self.config) if self.config is not None else {}

    @property
    def can_pretrain(self) -> bool:
        """Whether :meth:`pretrain` would learn anything (the default: no)."""
        return False

    def pretrain(self, cands: Sequence[Candidate] | None = None) -> float | None:
        """Learn from free statistics before any accuracy is known; returns a final loss, or None."""
        return None

    @abstractmethod
    def fit(self, cands: Sequence[Candidate], y: Sequence[float] | np.ndarray) -> Predictor[S]:
        """Learn the values ``y`` of ``cands``; return ``self``."""

    @abstractmethod
    def predict_mean_std(self, cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted mean and its uncertainty (standard deviation) for each candidate."""

    def predict(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Predicted mean of each candidate."""
        mean, _ = self.predict_mean_std(cands)
        return mean

    def reset(self) -> None:
        """Forget what :meth:`fit` learnt (not the pretraining), so the next fit starts afresh; a
        predictor whose fits always start afresh has nothing to forget (the default)."""
        return None

    def screen(self, cands: Sequence[Candidate]) -> np.ndarray:
        """A cheaper score whose order approximates :meth:`predict`'s, used to shortlist a large pool
        before the full prediction ranks the shortlist (default: :meth:`predict` itself)."""
        return self.predict(cands)

    # -- helpers for implementations ---------------------------------------- #

    def training_set(
        self, cands: Sequence[Candidate], y: Sequence[float] | np.ndarray
    ) -> tuple[list[Candidate], np.ndarray]:
        """The candidates whose value is finite, and those values; an error if fewer than 2 remain."""
        values = np.asarray(y, dtype=float)
        keep = np.isfinite(values)
        kept = [c for c, k in zip(cands, keep) if k]
        if len(kept) < 2:
            raise ConfigError(
                f"the {self.name or type(self).__name__} predictor needs at least 2 finite training points",
                "evaluate more candidates first",
            )
        return kept, values[keep]

    def not_fitted(self) -> ConfigError:
        """The error for a prediction asked before the first :meth:`fit`."""
        return ConfigError(
            f"the {self.name or type(self).__name__} predictor has not been fitted",
            "call fit(candidates, values) first",
        )


def log_scaled(stats: Mapping[str, Sequence[float] | np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Free statistics as model inputs, shape ``(n, len(names))``: ``sign(x) * log1p(|x|)`` of each
    (FLOPs, params and latencies span orders of magnitude; signed proxies keep their order)."""
    columns = [np.asarray(stats[name], dtype=float) for name in names]
    return np.stack([np.sign(c) * np.log1p(np.abs(c)) for c in columns], 1)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op thread count at ``threads`` (None: as it is), and give the
    caller's count back afterwards, whatever happens in the block.

    A predictor's tensors are small: with torch's default (every core) each operation pays for
    waking threads it barely uses, and beside other jobs on the machine that cost grows many times
    over. Setting the count only around its own work keeps the rest of the process as the user set it.
    """
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def create_predictor(choice: Choice | str, space: Space, seed: int = 0) -> Predictor[Any]:
    """The predictor ``choice`` names (a :class:`~nars_plugin.settings.Choice`, or a bare name), made
    for ``space`` with ``seed`` and the choice's settings by the factory the plugin host resolved
    (a choice parsed from settings carries it; a bare name is resolved by the host)."""
    picked = bind("predictor", choice if isinstance(choice, Choice) else Choice(choice))
    assert picked.make is not None
    predictor = picked.make(space, seed=seed, **dict(picked.settings))
    if not isinstance(predictor, Predictor):
        raise ConfigError(
            f"predictor {picked.name!r} made a {type(predictor).__name__}, not a Predictor",
            "register a subclass of nars_plugin.predictors.Predictor",
        )
    return predictor
