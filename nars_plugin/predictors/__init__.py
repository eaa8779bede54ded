"""Accuracy predictors (surrogates): the contract every registered predictor follows.

The FBNetV3 predictor itself lives in :mod:`nars_plugin.predictors.fbnetv3`; plugins register theirs with
``registry.add_predictor(name, cls, description)`` (hook ``nars_register_predictors``) and
``nars predictors`` lists them.
"""

from .base import Predictor, create_predictor, torch_threads

__all__ = ["Predictor", "create_predictor", "torch_threads"]
