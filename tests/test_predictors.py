"""Registered predictors: the built-in gp / rf / lgbm surrogates, ``predictor=NAME`` in NARS and
BANANAS (journal identity of the default unchanged), and ``nars predictor-eval --predictors``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TinySpace, build_tiny_bench
from helpers import QUICK, keys, run, toy_bench

from nars_plugin.errors import ConfigError, UnknownNameError
from nars_plugin.optimizers.nars import NARSSettings
from nars_plugin.plugins import get_registry
from nars_plugin.predictors import Predictor, create_predictor
from nars_plugin.predictors.evaluation import evaluate_predictor, markdown, variants
from nars_plugin.settings import Choice, identity, parse

CLASSIC = {"gp": {"restarts": 0}, "rf": {"trees": 30}, "lgbm": {"n_models": 2, "rounds": 30}}


# The conformance suite runs on every registered predictor in tests/test_conformance.py.


def test_builtin_predictors_are_listed_with_their_settings(cli):
    code, out, err = cli(["predictors"])
    assert code == 0, err
    assert {line.split()[0] for line in out.splitlines() if line.strip()} >= {"fbnetv3", "gp", "rf", "lgbm"}
    code, out, err = cli(["predictors", "lgbm"])
    assert code == 0, err
    assert "rounds" in out and "min_child_samples" in out and "-O predictor=lgbm" in out


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_classic_predictors_learn_a_ranking_and_give_uncertainty(name):
    bench = build_tiny_bench()
    rows, y = bench.rows, bench.values()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(rows))
    train, test = order[:40], order[40:]
    predictor = create_predictor(name, bench.space, seed=0).fit([rows[i] for i in train], y[train])
    mean, std = predictor.predict_mean_std([rows[i] for i in test])
    from scipy.stats import kendalltau

    assert kendalltau(mean, y[test]).statistic > 0.3, f"{name} learnt no ranking on the tiny table"
    assert np.all(std >= 0) and np.any(std > 0), f"{name} gives no uncertainty"


def test_a_missing_library_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm raises ImportError, as when absent
    with pytest.raises(ConfigError) as info:
        create_predictor("lgbm", TinySpace())
    assert "lightgbm" in str(info.value) and "nars-plugin[predictors]" in info.value.hint


def test_the_default_predictor_is_recorded_by_its_settings_without_a_name():
    """The default choice records the FBNetV3 settings group in full and no name (the form journals
    had when ``predictor`` was that group); naming it, or giving its settings, records the same."""
    default = identity(parse(NARSSettings, {}))["predictor"]
    assert "name" not in default and default["n_models"] == 5 and default["pretrain"] is True
    assert identity(parse(NARSSettings, {"predictor": "fbnetv3"}))["predictor"] == default
    assert identity(parse(NARSSettings, {"predictor": '{"n_models": 5}'}))["predictor"] == default
    other = identity(parse(NARSSettings, {"predictor": "gp", "predictor.restarts": 1}))["predictor"]
    assert other == {"name": "gp", "kernel": "matern", "restarts": 1, "statistics": True, "target": "rank"}


def test_predictor_choice_parses_names_settings_and_mappings():
    settings = get_registry().parse_settings
    assert settings("optimizer", "nars", {})["predictor"] == Choice("fbnetv3", {"n_models": 5, "refit_points": 100})
    assert settings("optimizer", "nars", {"pretrain": "false"})["predictor"].settings["pretrain"] is False
    picked = settings("optimizer", "bananas", {"predictor": "rf", "predictor.trees": "50"})["predictor"]
    assert picked == Choice("rf", {"trees": 50}), "another predictor does not inherit the default's settings"
    mapping = settings("optimizer", "nars", {"predictor": '{"name": "lgbm", "rounds": 20}'})["predictor"]
    assert mapping == Choice("lgbm", {"rounds": 20})
    with pytest.raises(UnknownNameError, match="unknown predictor 'gpp'") as info:
        settings("optimizer", "nars", {"predictor": "gpp"})
    assert "did you mean 'gp'" in info.value.hint
    with pytest.raises(ConfigError, match="predictor.trees") as info:
        settings("optimizer", "nars", {"predictor": "rf", "predictor.trees": 0})
    with pytest.raises(ConfigError, match="unknown setting 'predictor.n_models'") as info:
        settings("optimizer", "nars", {"predictor": "gp", "predictor.n_models": 3})
    assert "predictor.restarts" in info.value.hint


class _Broken:
    def __init__(self, space, seed=0):
        pass


def test_a_factory_that_makes_no_predictor_is_refused():
    registry = get_registry()
    registry.current_plugin = "tests"
    registry.add_predictor("broken", _Broken, "not a Predictor")
    try:
        with pytest.raises(ConfigError, match="made a _Broken, not a Predictor"):
            create_predictor("broken", TinySpace())
    finally:
        registry._entries["predictor"].pop("broken")
        registry.current_plugin = "?"
    assert isinstance(create_predictor("rf", TinySpace()), Predictor)


@pytest.mark.parametrize("optimizer", ["nars", "bananas"])
@pytest.mark.parametrize("predictor", ["gp", "rf", "lgbm"])
def test_nars_and_bananas_search_with_any_registered_predictor(tmp_path, optimizer, predictor):
    settings = {"predictor": predictor, **{f"predictor.{k}": v for k, v in CLASSIC[predictor].items()}}
    settings = {k: v for k, v in QUICK[optimizer].items() if k != "predictor"} | settings
    opt, result = run(optimizer, toy_bench(), seed=3, budget=25, out=tmp_path / "a", **settings)
    again, _ = run(optimizer, toy_bench(), seed=3, budget=25, out=tmp_path / "b", **settings)
    assert len(opt.history) == 25
    assert keys(opt) == keys(again), "same seed, same search"
    header = json.loads((tmp_path / "a" / "journal.jsonl").read_text().splitlines()[0])
    assert header["config"]["optimizer"]["settings"]["predictor"]["name"] == predictor
    assert type(opt.predictor).name == predictor


def test_predictor_eval_compares_predictors_on_the_same_splits():
    columns = variants("fbnetv3(n_models=1;pretrain_samples=256;pretrain_epochs=2;head_steps=10;finetune_steps=10),rf")
    assert [c.label for c in columns] == ["fbnetv3", "fbnetv3 (scratch)", "rf"]
    report = evaluate_predictor(
        build_tiny_bench(),
        sizes=(8, 24),
        seeds=2,
        test_size=40,
        predictors=["fbnetv3(n_models=1;pretrain_samples=256;pretrain_epochs=2;head_steps=10;finetune_steps=10)", "rf"],
        progress=False,
    )
    assert set(report["results"]) == {"fbnetv3", "fbnetv3 (scratch)", "rf"}
    cell = report["results"]["rf"]["24"]
    assert set(cell) == {"kendall_tau", "spearman", "top_precision", "seconds"} and cell["seconds"]["mean"] > 0
    assert report["pretrain_seconds"]["fbnetv3"] > 0 and "rf" not in report["pretrain_seconds"]
    text = markdown(report)
    assert "## Kendall tau" in text and "| 24 |" in text and "fbnetv3 (scratch)" in text
    with pytest.raises(ConfigError, match="duplicate predictor labels"):
        variants("rf,rf")


def test_predictor_eval_command_refuses_an_unknown_predictor_before_loading(cli, tmp_path):
    code, _, err = cli(["predictor-eval", "-b", "nb201-analog", "--predictors", "rf,gpx", "--out", tmp_path / "o"])
    assert code == 2 and "unknown predictor 'gpx'" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_constant_predictions_rank_nothing():
    from nars_plugin.predictors.evaluation import rank_metrics

    y = np.arange(40, dtype=float)
    flat = rank_metrics(y, np.full(40, 3.0))
    assert flat["kendall_tau"] == 0.0 and flat["spearman"] == 0.0, "no ranking is 0, not NaN in the averages"
    assert rank_metrics(y, y)["kendall_tau"] == 1.0 and rank_metrics(y, -y)["top_precision"] == 0.0


def test_pretraining_is_cached_on_disk_and_gives_identical_predictions(tmp_path, monkeypatch):
    from nars_plugin.predictors.fbnetv3 import NARSPredictor

    monkeypatch.setenv("NARS_CACHE_DIR", str(tmp_path))
    bench = build_tiny_bench()
    small = {"n_models": 2, "pretrain_samples": 128, "pretrain_epochs": 2, "head_steps": 5, "finetune_steps": 5}
    train, y = bench.rows[:20], bench.values()[:20]

    def predictions(**settings):
        predictor = NARSPredictor(bench.space, seed=4, **{**small, **settings})
        loss = predictor.pretrain()
        return loss, predictor.fit(train, y).predict(bench.rows)

    loss, first = predictions()
    files = list((tmp_path / "pretrain").glob("*.pt"))
    assert len(files) == 1, "the first pretraining is saved"
    stamp = files[0].stat().st_mtime_ns
    again_loss, again = predictions()
    assert again_loss == loss and np.array_equal(again, first), "loading the cache changes nothing"
    assert files[0].stat().st_mtime_ns == stamp, "the second search loaded it rather than training again"
    predictions(pretrain_epochs=3)
    assert len(list((tmp_path / "pretrain").glob("*.pt"))) == 2, "other settings, another entry"
    files[0].write_bytes(b"damaged")
    assert np.array_equal(predictions()[1], first), "a damaged entry is recomputed"
    monkeypatch.setenv("NARS_CACHE", "off")
    for f in (tmp_path / "pretrain").glob("*.pt"):
        f.unlink()
    assert np.array_equal(predictions()[1], first) and not list((tmp_path / "pretrain").glob("*.pt"))
