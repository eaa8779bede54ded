"""Classic surrogate models as registered predictors: a Gaussian process and a random forest
(scikit-learn) and gradient-boosted trees (LightGBM), each with its uncertainty.

They read a candidate through ``Space.encode`` (one-hot architecture, min-max recipe), with the
space's free statistics appended (``log1p``, standardised) when ``statistics=true`` and the space
has any. None of them pretrains: their free statistics go in as features instead.

scikit-learn is optional (``pip install 'nars-plugin[predictors]'``; making ``gp`` or ``rf`` without
it raises an error naming that extra); LightGBM is a core dependency, NARS's companion predictor.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from ..candidate import Candidate
from ..errors import ConfigError
from ..settings import setting
from ..space import Space
from .base import Predictor, log_scaled
from .fbnetv3 import TargetScaler

EXTRA = "pip install 'nars-plugin[predictors]'"


def import_extra(module: str, predictor: str) -> Any:
    """``module``, or an error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = {"sklearn": "scikit-learn"}.get(module.split(".")[0], module.split(".")[0])
        raise ConfigError(
            f"the {predictor} predictor needs {package}, which is not installed", f"{EXTRA} (or pip install {package})"
        ) from None


@dataclass(frozen=True)
class FeatureSettings:
    """The settings every feature predictor has; a predictor's own settings class derives from this one."""

    statistics: bool = setting(
        True, "append the space's free statistics (log-scaled; zero-cost proxies where the space has them)"
    )
    target: str = setting(
        "rank",
        "rank: learn normal scores of the value ranks (robust to the long tail of failed networks); raw: the values",
        choices=("rank", "raw"),
    )
    fit_points: int | None = setting(
        None,
        "fit on at most this many points: the best half of them and a seeded random sample of the others "
        "(all: every point; a cap keeps a long search's refits from growing with it)",
        low=2,
        none="all",
        recorded="changed",
    )


FS = TypeVar("FS", bound=FeatureSettings)


class FeaturePredictor(Predictor[FS]):
    """A predictor on feature vectors: the space's encoding, plus its free statistics if asked.

    Typed by settings deriving from :class:`FeatureSettings`. Subclasses implement
    :meth:`_fit_features` and :meth:`_predict_features`; this class drops
    non-finite targets, builds the features and raises before the first fit.
    """

    #: The module the model comes from (imported on construction, so a missing extra fails early).
    library: ClassVar[str] = ""

    def __init__(self, space: Space, seed: int = 0, **settings: Any) -> None:
        super().__init__(space, seed, **settings)
        self._library: Any = import_extra(self.library, self.name) if self.library else None
        self._model: Any = None  # set by _fit_features
        self._stat_scale: tuple[np.ndarray, np.ndarray] | None = None
        self._feature_rows: dict[str, int] = {}  # candidate key -> row of _feature_table
        self._feature_table = np.zeros((0, 0))
        self._n_stats = 0
        self._scaler: TargetScaler | None = None

    def features(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Encoding of each candidate, free statistics appended when ``statistics`` is on."""
        raw = self._raw_features(cands)
        if not self._n_stats:
            return raw
        x, s = raw[:, : -self._n_stats], raw[:, -self._n_stats :]
        if self._stat_scale is None:  # fixed at the first fit, so predictions use the same scale
            self._stat_scale = (s.mean(0), np.maximum(s.std(0), 1e-8))
        mean, std = self._stat_scale
        return np.concatenate([x, (s - mean) / std], axis=1)

    def _raw_features(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Encoding and log-scaled statistics of each candidate, each computed once per predictor (an
        optimizer scores the same pool of thousands every round; both depend on the candidate alone)."""
        names = tuple(self.space.statistic_names) if self.config.statistics else ()
        self._n_stats = len(names)
        rows = self._feature_rows
        missing = list({c.key: c for c in cands if c.key not in rows}.values())
        if missing:
            x = np.asarray(self.space.encode(missing), dtype=float)
            if names:
                x = np.concatenate([x, log_scaled(self.space.statistics(missing), names)], axis=1)
            start = len(self._feature_table)
            self._feature_table = np.concatenate([self._feature_table, x]) if start else x
            rows.update((c.key, start + i) for i, c in enumerate(missing))
        if not cands:
            return self._feature_table[:0]
        return self._feature_table[np.fromiter((rows[c.key] for c in cands), dtype=np.int64, count=len(cands))]

    def fit(self, cands: Sequence[Candidate], y: Sequence[float] | np.ndarray) -> FeaturePredictor[FS]:
        cands, y_arr = self._capped(*self.training_set(cands, y))
        self._stat_scale = None
        self._scaler = TargetScaler(y_arr, "rank") if self.config.target == "rank" else None
        self._fit_features(self.features(cands), self._scaler.forward(y_arr) if self._scaler else y_arr)
        return self

    def _capped(self, cands: list[Candidate], y: np.ndarray) -> tuple[list[Candidate], np.ndarray]:
        """At most ``fit_points`` of the training points: the best half, then a random sample of the
        others seeded by the seed and the number of points (so a replayed search fits the same ones)."""
        limit = self.config.fit_points
        if limit is None or len(cands) <= limit:
            return cands, y
        order = np.argsort(-y, kind="stable")
        best, others = order[: limit // 2], order[limit // 2 :]
        sample = np.random.default_rng([self.seed, len(cands)]).choice(others, limit - len(best), replace=False)
        keep = np.sort(np.concatenate([best, sample]))
        return [cands[i] for i in keep], y[keep]

    def predict_mean_std(self, cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        if self._model is None:
            raise self.not_fitted()
        if not cands:
            return np.zeros(0), np.zeros(0)
        mean, std = self._predict_features(self.features(cands))
        mean, std = np.asarray(mean, dtype=float), np.maximum(np.asarray(std, dtype=float), 0.0)
        if self._scaler is None:
            return mean, std
        # back to the values' scale: the mean maps through, the std as half the mapped +-1 std band
        band = (self._scaler.inverse(mean + std) - self._scaler.inverse(mean - std)) / 2
        return self._scaler.inverse(mean), np.maximum(band, 0.0)

    def _fit_features(self, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


@dataclass(frozen=True)
class GPSettings(FeatureSettings):
    """Settings of the ``gp`` predictor."""

    kernel: str = setting(
        "matern", "covariance: matern (nu=2.5) or rbf, times a constant, plus white noise", choices=("matern", "rbf")
    )
    restarts: int = setting(2, "restarts of the marginal-likelihood optimiser (seeded)", low=0)


class GPPredictor(FeaturePredictor[GPSettings]):
    """Gaussian-process regression (scikit-learn): posterior mean and standard deviation; the
    targets are standardised and the kernel's length scale, amplitude and noise fitted by maximum
    marginal likelihood."""

    name = "gp"
    library = "sklearn.gaussian_process"

    def _fit_features(self, x: np.ndarray, y: np.ndarray) -> None:
        kernels = import_extra("sklearn.gaussian_process.kernels", self.name)
        shape = (
            kernels.Matern(length_scale=1.0, nu=2.5, length_scale_bounds=(1e-2, 1e3))
            if self.config.kernel == "matern"
            else kernels.RBF(length_scale=1.0, length_scale_bounds=(1e-2, 1e3))
        )
        kernel = kernels.ConstantKernel(1.0, (1e-3, 1e3)) * shape + kernels.WhiteKernel(1e-2, (1e-6, 1e1))
        self._model = self._library.GaussianProcessRegressor(
            kernel=kernel, normalize_y=True, n_restarts_optimizer=self.config.restarts, random_state=self.seed
        )
        with warnings.catch_warnings():  # bounds reached on tiny training sets: the fit is still usable
            warnings.simplefilter("ignore")
            self._model.fit(x, y)

    def _predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._model.predict(x, return_std=True)
        return mean, std


@dataclass(frozen=True)
class ForestSettings(FeatureSettings):
    """Settings of the ``rf`` predictor."""

    trees: int = setting(200, "number of trees", low=1)
    min_samples_leaf: int = setting(1, "fewest training points in a leaf", low=1)
    max_features: float = setting(0.5, "share of the features tried at each split", low=0, high=1)


class ForestPredictor(FeaturePredictor[ForestSettings]):
    """Random forest (scikit-learn): the mean of the trees, and their spread as the uncertainty."""

    name = "rf"
    library = "sklearn.ensemble"

    def _fit_features(self, x: np.ndarray, y: np.ndarray) -> None:
        c = self.config
        self._model = self._library.RandomForestRegressor(
            n_estimators=c.trees,
            min_samples_leaf=c.min_samples_leaf,
            max_features=c.max_features if c.max_features > 0 else None,
            random_state=self.seed,
            n_jobs=1,
        ).fit(x, y)

    def _predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        per_tree = np.stack([tree.predict(x) for tree in self._model.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)


@dataclass(frozen=True)
class BoostingSettings(FeatureSettings):
    """Settings of the ``lgbm`` predictor."""

    n_models: int = setting(5, "ensemble size: independently bagged boosters (their spread is the uncertainty)", low=1)
    rounds: int = setting(200, "boosting rounds per model", low=1)
    learning_rate: float = setting(0.05, "shrinkage", low=0)
    num_leaves: int = setting(15, "most leaves per tree", low=2)
    min_child_samples: int = setting(2, "fewest training points in a leaf (small: NAS training sets are small)", low=1)
    subsample: float = setting(0.8, "share of the training points each model bags", low=0, high=1)
    colsample: float = setting(0.8, "share of the features each tree sees", low=0, high=1)
    screen_rounds: int | None = setting(
        None,
        "boosting rounds of the first model that its cheap screen (NARS's pool shortlist) sums (all: every round)",
        low=1,
        none="all",
        recorded="changed",
    )


class BoostingPredictor(FeaturePredictor[BoostingSettings]):
    """Gradient-boosted trees (LightGBM): an ensemble of boosters bagged with different seeds; the
    mean is the prediction and their spread the uncertainty. Single-threaded and deterministic."""

    name = "lgbm"
    library = "lightgbm"

    def _fit_features(self, x: np.ndarray, y: np.ndarray) -> None:
        # LightGBM's own API: its scikit-learn wrapper needs scikit-learn, which a plain install lacks
        c = self.config
        params = {
            "objective": "regression",
            "learning_rate": c.learning_rate,
            "num_leaves": c.num_leaves,
            "min_data_in_leaf": c.min_child_samples,
            "min_sum_hessian_in_leaf": 0.0,
            "bagging_fraction": c.subsample,
            "bagging_freq": 1 if c.subsample < 1 else 0,
            "feature_fraction": c.colsample,
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        self._model = [
            self._library.train(
                {**params, "seed": self.seed * 1000 + i}, self._library.Dataset(x, y), num_boost_round=c.rounds
            )
            for i in range(c.n_models)
        ]

    def _predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        members = np.stack([m.predict(x) for m in self._model])
        return members.mean(axis=0), members.std(axis=0)

    def screen(self, cands: Sequence[Candidate]) -> np.ndarray:
        """The first booster's prediction (on the learnt scale) from its first ``screen_rounds`` rounds: a fraction
        of the cost, nearly the order."""
        if self._model is None:
            raise self.not_fitted()
        rounds = self.config.screen_rounds
        first: np.ndarray = np.asarray(self._model[0].predict(self.features(cands), num_iteration=rounds), dtype=float)
        return first
