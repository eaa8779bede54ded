"""Cost as a search grows (issue 27): capped refits, settings recorded only off their default, and
NARS's training set kept as results are told. The timings are a benchmark (``benchmarks/cost_growth.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from helpers import FAST, make, toy_bench
from test_nars import curve_bench

from nars_plugin.budget import Budget
from nars_plugin.optimizers.bananas import BananasSettings
from nars_plugin.optimizers.nars import NARSSettings
from nars_plugin.plugins import get_registry
from nars_plugin.predictors.fbnetv3 import NARSPredictor, PredictorSettings
from nars_plugin.settings import identity, parse, setting
from nars_plugin.study import Study

SMALL = FAST["nars"]["predictor"]


def _data(n: int = 60):
    bench = toy_bench()
    order = np.random.default_rng(0).permutation(len(bench.rows))
    values = bench.values()
    return bench, [bench.rows[i] for i in order[:n]], values[order[:n]], [bench.rows[i] for i in order[n : n + 300]]


def _fitted(sizes, **settings):
    bench, xs, ys, test = _data()
    pred = NARSPredictor(bench.space, seed=3, **{**SMALL, "refit_tolerance": 0.0, **settings})
    for n in sizes:
        pred.fit(xs[:n], ys[:n])
    return pred, pred.predict(test)


def test_a_refit_within_refit_points_is_the_full_batch_refit_it_was():
    """Up to ``refit_points`` known points a refit trains on all of them, bit for bit as without the cap."""
    _, full = _fitted([30, 40, 50])
    _, within = _fitted([30, 40, 50], refit_points=50)
    _, beyond = _fitted([30, 40, 50], refit_points=49)
    assert np.array_equal(within, full)
    assert not np.array_equal(beyond, full), "past the cap the refit trains on samples"


def test_a_capped_refit_step_trains_on_the_new_points_and_a_fresh_sample_of_the_others():
    pred, _ = _fitted([40], refit_points=16)
    bench, xs, ys, _ = _data()
    rows = pred._refit_rows(xs[:50])
    assert rows is not None
    steps = [next(rows).tolist() for _ in range(6)]
    new = list(range(40, 50))
    for step in steps:
        assert len(step) == 16 and len(set(step)) == 16, "refit_points rows a step, each once"
        assert step[:10] == new, "the points the previous fit did not have are in every step"
        assert all(0 <= i < 40 for i in step[10:])
    assert len({tuple(s[10:]) for s in steps}) > 1, "the sample of the others is drawn afresh each step"
    again, _ = _fitted([40], refit_points=16)
    assert next(again._refit_rows(xs[:50])).tolist() == steps[0], "seeded: the same fits draw the same rows"
    assert pred._refit_rows(xs[:16]) is None, "within the cap: the full batch"
    many_new = next(pred._refit_rows(xs[:60]))
    assert len(many_new) == 16 and not set(range(40, 56)) <= set(many_new.tolist()), (
        "more new points than the cap: a sample of all of them"
    )


def test_capped_refits_replay_identically_and_the_cap_is_what_they_train():
    _, a = _fitted([30, 40, 50, 60], refit_points=20)
    _, b = _fitted([30, 40, 50, 60], refit_points=20)
    _, c = _fitted([30, 40, 50, 60], refit_points=21)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_fresh_fit_after_reset_forgets_which_points_were_fitted():
    pred, _ = _fitted([40], refit_points=16)
    _, xs, ys, _ = _data()
    pred.reset()
    pred.fit(xs[:40], ys[:40])  # a fresh fit: the full batch, and it knows these 40 points
    pred.fit(xs[:50], ys[:50])
    assert next(pred._refit_rows(xs[:50]))[:10].tolist() != list(range(40, 50)), "all 50 fitted now"


@dataclass(frozen=True)
class _Declared:
    old: int = setting(1, "a setting journals always had")
    new: int | None = setting(None, "added later, journals record it off its default", recorded="changed", none="all")


def test_a_changed_recorded_setting_is_recorded_only_off_its_default():
    assert identity(_Declared()) == {"old": 1}
    assert identity(_Declared(new=5)) == {"old": 1, "new": 5}
    assert identity(_Declared(new=5), {"new": 5}) == {"old": 1}, "the owner's own default counts as the default"
    assert identity(_Declared(), {"new": 5}) == {"old": 1, "new": "all"}


def test_refit_points_keeps_the_journal_identity_of_nars_and_bananas_at_their_defaults():
    """NARS caps its refits at 100 points and BANANAS does not: at those defaults neither journal
    header names ``refit_points`` (the headers they had before it existed); any other value is recorded."""
    settings = get_registry().parse_settings
    assert settings("optimizer", "nars", {})["predictor"].settings["refit_points"] == 100
    assert "refit_points" not in identity(parse(NARSSettings, {}))["predictor"]
    assert "refit_points" not in identity(parse(BananasSettings, {}))["predictor"]
    assert "refit_points" not in identity(PredictorSettings())
    nars_all = parse(NARSSettings, settings("optimizer", "nars", {"predictor.refit_points": "all"}))
    assert identity(nars_all)["predictor"]["refit_points"] == "all"
    bananas_capped = parse(BananasSettings, settings("optimizer", "bananas", {"predictor.refit_points": "100"}))
    assert identity(bananas_capped)["predictor"]["refit_points"] == 100


def test_nars_keeps_its_training_set_as_results_are_told():
    """The training set NARS grows round by round is the one read from its whole history, also after
    the early-stopping epoch changes what the predictor learns."""
    bench = curve_bench(noise_until=6)
    opt = make("nars", bench, budget=30, max_fidelity=bench.max_fidelity)
    Study(bench, opt, Budget(queries=30), progress=False).run()
    assert opt.report()["early_stopping_epoch"] == 6
    xs, ys = opt._training_set()
    opt._known = (0, None, [], [])  # read afresh from the whole history
    again_xs, again_ys = opt._training_set()
    assert [c.key for c in xs] == [c.key for c in again_xs] and np.array_equal(ys, again_ys)
    assert len(xs) == 30
