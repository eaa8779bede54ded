"""Accuracy predictors (surrogates): the contract every registered predictor follows, and every predictor.

Here: the :class:`Predictor` contract, FBNetV3's predictor (pretrained encoder, recipe-aware
accuracy head), the classic surrogates ``gp``, ``rf`` and ``lgbm``, and predictor evaluation
(``nars predictor-eval``). Plugins register theirs with ``registry.add_predictor(name, cls,
description)`` (hook ``nars_register_predictors``) and ``nars predictors`` lists them. May import
the space, settings and errors modules and torch; scikit-learn and LightGBM lazily; never the
plugin host, the optimizers or the study.
"""

from .base import Predictor, create_predictor, torch_threads

__all__ = ["Predictor", "create_predictor", "torch_threads"]
