"""The ``ensemble`` predictor (issue 27): its members' out-of-sample checks are real predictions of
points they had not seen, its weights follow those checks, and its predictions are the weighted
mixture of the members'. (``tests/test_conformance.py`` runs the predictor contract on it.)"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from nars_plugin.errors import NarsError
from nars_plugin.predictors import create_predictor
from nars_plugin.settings import Choice
from nars_plugin.spaces.nb201 import NB201Space

QUICK = {"members": "lgbm,rf", "min_checks": 5}


@pytest.fixture(scope="module")
def data():
    space = NB201Space()
    cands = space.unique_canonical(space.sample(80, seed=3))
    x = space.encode(cands)
    y = x @ np.random.default_rng(1).normal(size=x.shape[1])
    return space, cands, y


def test_each_member_is_checked_on_points_it_had_not_seen(data):
    space, cands, y = data
    ensemble = create_predictor(Choice("ensemble", QUICK), space, seed=2)
    ensemble.fit(cands[:30], y[:30])
    assert ensemble.member_taus() == [None, None]  # nothing unseen predicted yet
    before = [m.predict(cands[30:45]) for m in ensemble.members]  # what each member says before it sees them
    ensemble.fit(cands[:45], y[:45])
    ensemble.fit(cands[:45], y[:45])  # a refit on the same points checks nothing again
    for predicted, checks in zip(before, ensemble._checks):
        assert checks == [(float(p), float(v)) for p, v in zip(predicted, y[30:45])]
    taus = ensemble.member_taus()
    assert taus == [pytest.approx(kendalltau(p, y[30:45]).statistic) for p in before]


@pytest.mark.parametrize("combine", ["weighted", "select", "mean"])
def test_the_weights_follow_the_checks_and_the_prediction_is_the_weighted_mixture(data, combine):
    space, cands, y = data
    ensemble = create_predictor(Choice("ensemble", {**QUICK, "combine": combine}), space, seed=2)
    ensemble.fit(cands[:30], y[:30])
    np.testing.assert_allclose(ensemble.weights(), [0.5, 0.5])  # equal until min_checks are known
    ensemble.fit(cands[:50], y[:50])
    taus = np.array(ensemble.member_taus(), dtype=float)
    weights = ensemble.weights()
    if combine == "mean":
        np.testing.assert_allclose(weights, [0.5, 0.5])
    elif combine == "select":
        assert weights.tolist() == [1.0, 0.0] if taus[0] >= taus[1] else [0.0, 1.0]
    else:
        raw = np.exp(4.0 * taus)
        np.testing.assert_allclose(weights, raw / raw.sum())
        assert (weights[0] > weights[1]) == (taus[0] > taus[1])
    test = cands[50:]
    members = [m.predict_mean_std(test) for m in ensemble.members]
    mean, std = ensemble.predict_mean_std(test)
    expected = sum(w * mu for w, (mu, _) in zip(weights, members))
    spread = sum(w * (sd**2 + (mu - expected) ** 2) for w, (mu, sd) in zip(weights, members))
    np.testing.assert_allclose(mean, expected)
    np.testing.assert_allclose(std, np.sqrt(spread), atol=1e-9)
    assert ensemble.screen(test).shape == (len(test),)


def test_the_default_ensemble_pairs_the_pretrained_mlp_with_boosted_trees():
    ensemble = create_predictor("ensemble", NB201Space(), seed=0)
    assert [m.name for m in ensemble.members] == ["fbnetv3", "lgbm"]
    assert ensemble.members[0].config.refit_points == 100 and ensemble.members[0].config.n_models == 5
    assert ensemble.can_pretrain


@pytest.mark.parametrize(
    ("members", "message"),
    [("lgbm,lgbm", "needs distinct members"), ("ensemble,lgbm", "cannot contain itself"), ("lgbm,nope", "nope")],
)
def test_bad_members_are_named(members, message):
    with pytest.raises(NarsError, match=message):
        create_predictor(Choice("ensemble", {"members": members}), NB201Space(), seed=0)


def test_a_capped_feature_predictor_fits_the_best_half_and_a_seeded_sample_of_the_rest(data):
    space, cands, y = data
    capped = create_predictor(Choice("lgbm", {"fit_points": 20, "n_models": 2, "rounds": 30}), space, seed=4)
    kept, values = capped._capped(list(cands[:60]), y[:60])
    assert len(kept) == 20 and set(np.argsort(-y[:60])[:10]) <= {cands.index(c) for c in kept}
    again, _ = capped._capped(list(cands[:60]), y[:60])
    assert [c.key for c in again] == [c.key for c in kept]  # seeded: a replayed search fits the same points
    whole = create_predictor(Choice("lgbm", {"n_models": 2, "rounds": 30}), space, seed=4)
    np.testing.assert_array_equal(
        capped.fit(cands[:60], y[:60]).predict(cands[60:]), whole.fit(kept, values).predict(cands[60:])
    )
    assert capped._capped(list(cands[:15]), y[:15])[0] == list(cands[:15])  # under the cap: every point


def test_the_boosted_trees_screen_sums_the_first_rounds_of_the_first_booster(data):
    space, cands, y = data
    trees = create_predictor(Choice("lgbm", {"n_models": 2, "rounds": 60, "screen_rounds": 10}), space, seed=1)
    trees.fit(cands[:60], y[:60])
    first = trees._model[0]
    features = trees.features(cands[60:])
    np.testing.assert_allclose(trees.screen(cands[60:]), first.predict(features, num_iteration=10))
    assert not np.allclose(trees.screen(cands[60:]), first.predict(features))  # fewer rounds: another sum
    assert kendalltau(trees.screen(cands[60:]), first.predict(features)).statistic > 0.5  # nearly the order
    every = create_predictor(Choice("lgbm", {"n_models": 2, "rounds": 60}), space, seed=1).fit(cands[:60], y[:60])
    np.testing.assert_allclose(every.screen(cands[60:]), every._model[0].predict(features))
