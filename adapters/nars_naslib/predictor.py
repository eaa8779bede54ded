"""The NARS predictor as a NASLib ``Predictor``, for NASLib's ``PredictorEvaluator`` and optimizers.

``fit(xtrain, ytrain)`` and ``query(xtest)`` take NASLib NAS-Bench-201 graphs; they are turned
into our candidates and handed to the registered ``fbnetv3`` predictor
(:class:`nars_plugin.predictors.fbnetv3.NARSPredictor`, the pretrained-encoder ensemble NARS searches with),
made by the registry with the same defaults and checks as ``nars predictor-eval --predictors
fbnetv3``, so NASLib's predictor benchmarks measure our predictor, not a copy, and give the same
figures as ours on the same split. Importing this module imports NASLib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nars_plugin.errors import ConfigError
from nars_plugin.plugins import get_registry
from nars_plugin.predictors import Predictor, create_predictor
from nars_plugin.settings import Choice
from nars_plugin.spaces.nb201 import NB201Space

from ._naslib import naslib_module
from .dataset_api import graph_to_candidate

_Predictor: Any = naslib_module("predictors.predictor").Predictor

#: The registered predictor this class puts behind NASLib's interface.
REGISTERED = "fbnetv3"


class NARSPredictor(_Predictor):
    """FBNetV3's predictor on NASLib NB201 graphs.

    Args:
        ss_type: NASLib's search-space type; only ``"nasbench201"`` is supported
            (``PredictorEvaluator`` sets it from the search space).
        encoding_type: unused (the predictor encodes candidates itself); kept for NASLib's signature.
        dataset: NB201 data set, for the exact FLOPs/params the encoder is pretrained on.
        seed: seeds the predictor.
        settings: settings of the registered ``fbnetv3`` predictor
            (:class:`nars_plugin.predictors.fbnetv3.PredictorSettings`, typed and checked by the registry);
            its declared defaults (an ensemble of 3, as ``nars predictor-eval --predictors fbnetv3``)
            unless given. ``n_models=5`` is the ensemble NARS searches with.
    """

    def __init__(
        self,
        ss_type: str | None = "nasbench201",
        encoding_type: Any = None,
        dataset: str = "cifar10",
        seed: int = 0,
        **settings: Any,
    ) -> None:
        super().__init__(ss_type=ss_type, encoding_type=encoding_type)
        self.space = NB201Space(dataset=dataset)
        self.seed = int(seed)
        self.settings = get_registry().parse_settings("predictor", REGISTERED, settings)
        self.model: Predictor | None = None

    def _candidates(self, archs: Sequence[Any]) -> list[Any]:
        if self.ss_type not in (None, "nasbench201"):
            raise ConfigError(
                f"the NARS predictor bridge supports NASLib's nasbench201 space, got {self.ss_type!r}",
                "use NasBench201SearchSpace",
            )
        return [graph_to_candidate(arch, self.space) for arch in archs]

    def fit(self, xtrain: Sequence[Any], ytrain: Sequence[float], train_info: Any = None, **kwargs: Any) -> float:
        """Fit on NASLib graphs and accuracies; returns the mean absolute training error."""
        cands = self._candidates(xtrain)
        values = [float(v) for v in ytrain]
        y = np.asarray(values)
        self.model = create_predictor(Choice(REGISTERED, self.settings), self.space, self.seed).fit(cands, values)
        return float(np.mean(np.abs(self.model.predict(cands) - y)))

    def query(self, xtest: Sequence[Any], info: Any = None, **kwargs: Any) -> np.ndarray:
        """Predicted accuracy of each NASLib graph."""
        if self.model is None:
            raise ConfigError("query() before fit()", "fit the predictor on evaluated architectures first")
        return np.asarray(self.model.predict(self._candidates(xtest)), dtype=float)
