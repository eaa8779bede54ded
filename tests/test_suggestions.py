"""The registry's did-you-mean for unknown plugin names (predictors, optimizers, ...)."""

from __future__ import annotations

import pytest

from nars_plugin.errors import UnknownNameError
from nars_plugin.plugins import Registry, _closest

PREDICTORS = ["fbnetv3", "gp", "lgbm", "naslib:bananas", "naslib:gp", "naslib:lgb", "naslib:mlp", "naslib:xgb", "rf"]
OPTIMIZERS = ["bananas", "nars", "naslib:bananas", "naslib:re", "naslib:rs", "optuna-tpe", "rea", "rs"]


@pytest.mark.parametrize(
    ("word", "choices", "meant"),
    [
        ("naslib:xgboost", PREDICTORS, "naslib:xgb"),  # a registered name inside the word, not naslib:bananas
        ("xgboost", PREDICTORS, "naslib:xgb"),  # compared after the plugin prefix too
        ("FBNetV3", PREDICTORS, "fbnetv3"),  # case ignored
        ("fbnet", PREDICTORS, "fbnetv3"),  # a prefix of a name
        ("mlp", PREDICTORS, "naslib:mlp"),
        ("naslib:lightgbm", PREDICTORS, "naslib:lgb"),  # merely similar, after the shared prefix
        ("lightgbm", PREDICTORS, "lgbm"),
        ("naslib:bannanas", OPTIMIZERS, "naslib:bananas"),
        ("naslib:regularized", OPTIMIZERS, "naslib:re"),
        ("tpe", OPTIMIZERS, "optuna-tpe"),
    ],
)
def test_closest_prefers_containment_then_similarity(word, choices, meant):
    assert _closest(word, choices) == meant


@pytest.mark.parametrize("word", ["zzz", "naslib:xgboost", "randomforest", "x"])
def test_closest_suggests_nothing_for_an_unrelated_word(word):
    """A shared ``naslib:`` prefix alone makes no suggestion (naslib:xgboost is no optimizer's)."""
    assert _closest(word, OPTIMIZERS) is None


def test_unknown_name_hint_names_the_substring_match():
    registry = Registry()
    for name in PREDICTORS:
        registry.add_predictor(name, object, "")
    with pytest.raises(UnknownNameError, match="unknown predictor 'naslib:xgboost'") as info:
        registry.get("predictor", "naslib:xgboost")
    assert "(did you mean 'naslib:xgb'?)" in info.value.hint and "bananas'?" not in info.value.hint
    with pytest.raises(UnknownNameError) as info:
        registry.get("predictor", "qqq")
    assert "did you mean" not in info.value.hint and "known predictors: fbnetv3, gp" in info.value.hint
