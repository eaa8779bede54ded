"""NASLib's performance predictors as registered predictors (``naslib:xgb``, ``naslib:gp``, ...).

Each wraps NASLib's ``Ensemble(predictor_type=NAME)`` (the way NASLib's own BANANAS and NPENAS use
its predictors): NASLib encodes every cell itself (adjacency one-hot, or paths for ``bananas``), the
ensemble's mean is the prediction and its spread the uncertainty (0 for an ensemble of one). They
follow :class:`nars_plugin.predictors.Predictor`, so NARS and BANANAS take them
(``-O predictor=naslib:xgb``) and ``nars predictor-eval --predictors naslib:xgb`` ranks them on the
same splits as ours. NASLib draws from the global ``random``/``numpy``/``torch`` generators; every
fit and query seeds them from the predictor's seed first, so the same seed gives the same predictions.
NB201 spaces only, architecture only (NASLib's encodings know no recipe). Importing this module
imports NASLib.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from nars_plugin.candidate import Candidate
from nars_plugin.errors import ConfigError
from nars_plugin.predictors import Predictor
from nars_plugin.settings import setting
from nars_plugin.space import Space
from nars_plugin.spaces.nb201 import NB201Space

from ._naslib import naslib_module

#: NASLib predictor types that fit and predict NB201 cells on a CPU, with a line for ``nars predictors``.
NASLIB_PREDICTORS: dict[str, str] = {
    "xgb": "XGBoost on the adjacency one-hot encoding",
    "lgb": "LightGBM on the adjacency one-hot encoding",
    "ngb": "NGBoost on the adjacency one-hot encoding",
    "rf": "random forest on the adjacency one-hot encoding",
    "gp": "Gaussian process (pyro) on the adjacency one-hot encoding",
    "bananas": "BANANAS' MLP on the path encoding (an ensemble of 3 by default, as NASLib's BANANAS)",
    "mlp": "MLP on the adjacency one-hot encoding",
    "bayes_lin_reg": "Bayesian linear regression on the adjacency one-hot encoding",
    "gcn": "graph convolutional network on the cell graph",
}
ENSEMBLED = ("bananas", "mlp", "gcn")  # NASLib's BANANAS/NPENAS use ensembles of 3 of these


class _Cell(torch.nn.Module):
    """The part of a NASLib NB201 graph its encoders read: the op indices (a Module, so NASLib's
    predictors encode it as they encode their own graphs)."""

    def __init__(self, op_indices: Sequence[int]) -> None:
        super().__init__()
        self.op_indices = [int(i) for i in op_indices]

    def get_op_indices(self) -> list[int]:
        return self.op_indices

    def get_hash(self) -> tuple[int, ...]:
        return tuple(self.op_indices)

    def encode(self, encoding_type: Any = None) -> Any:
        encodings = naslib_module("search_spaces.nasbench201.encodings")
        if encoding_type is None:
            return encodings.encode_201(self)
        return encodings.encode_201(self, encoding_type=encoding_type)


@dataclass(frozen=True)
class NASLibPredictorSettings:
    """Settings of the ``naslib:*`` predictors."""

    ensemble: int | None = setting(
        None, "members of NASLib's Ensemble (auto: 3 for bananas, mlp and gcn, else 1)", low=1, none="auto"
    )


class NASLibPredictor(Predictor[NASLibPredictorSettings]):
    """One of NASLib's predictors (``naslib_type``) behind the predictor contract."""

    naslib_type: ClassVar[str] = ""

    def __init__(self, space: Space, seed: int = 0, **settings: Any) -> None:
        super().__init__(space, seed, **settings)
        if not isinstance(space, NB201Space) or space.recipe_params:
            raise ConfigError(
                f"predictor {self.name!r} reads NAS-Bench-201 cells only (NASLib's encodings), "
                f"not the space {space.name!r}" + (" with a recipe" if isinstance(space, NB201Space) else ""),
                "use it on an NB201 table without recipe columns (e.g. csv:.../cifar10_test_acc_200ep.csv, "
                "nb201-paper), or pick a predictor of our own (fbnetv3, gp, rf, lgbm)",
            )
        self.nb201 = space
        self.members = self.config.ensemble or (3 if self.naslib_type in ENSEMBLED else 1)
        self._model: Any = None

    def _seed_globals(self) -> None:
        naslib_module("utils").set_seed(self.seed)  # random, numpy and torch, as NASLib's own runs

    def _cells(self, cands: Sequence[Candidate]) -> list[_Cell]:
        return [_Cell(self.nb201.to_naslib(c)) for c in cands]

    def fit(self, cands: Sequence[Candidate], y: Sequence[float] | np.ndarray) -> NASLibPredictor:
        cands, y_arr = self.training_set(cands, y)
        ensemble_cls = naslib_module("predictors.ensemble").Ensemble
        self._seed_globals()
        model = ensemble_cls(
            predictor_type=self.naslib_type, num_ensemble=self.members, ss_type="nasbench201", hpo_wrapper=False
        )
        with _quiet():  # NASLib prints every boosting / GP iteration
            model.fit(self._cells(cands), list(map(float, y_arr)))
        self._model = model
        return self

    def predict_mean_std(self, cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        if self._model is None:
            raise self.not_fitted()
        if not cands:
            return np.zeros(0), np.zeros(0)
        self._seed_globals()
        with _quiet():
            predicted = self._model.query(self._cells(cands))
        members = np.asarray(predicted, dtype=float).reshape(self.members, len(cands))
        return members.mean(axis=0), members.std(axis=0)


def _quiet() -> contextlib.AbstractContextManager[Any]:
    """NASLib's progress prints, kept off our output (its log messages still go to logging)."""
    return contextlib.redirect_stdout(io.StringIO())


def predictor_classes() -> dict[str, type[NASLibPredictor]]:
    """One registered class per NASLib predictor type, named ``naslib:<type>``."""
    return {
        f"naslib:{kind}": type(
            f"NASLib_{kind}", (NASLibPredictor,), {"name": f"naslib:{kind}", "naslib_type": kind, "__doc__": doc}
        )
        for kind, doc in NASLIB_PREDICTORS.items()
    }
