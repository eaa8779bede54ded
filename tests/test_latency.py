"""Measured latencies: constraint parsing with device names, errors, latency as a free statistic,
the nb201-latency benchmark, hypervolumes and the MBConv latency predictor on held-out FBNet data.

Tests that read ``nb201/latency_ms.csv`` or ``fbnet/latency_ms_5000.csv`` skip when the file is
absent under ``$NARS_DATA_DIR``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BEST_C10, QUICK_PREDICTOR

from nars_plugin.errors import ConfigError, DataFileError, InfeasibleConstraintError, UnknownNameError
from nars_plugin.pareto import hypervolume, pareto_front
from nars_plugin.plugins import get_registry
from nars_plugin.space import Constraint
from nars_plugin.spaces.nb201 import NB201Space
from nars_plugin.spaces.nb201._latency import NB201_DEVICES, device_of, load_nb201_latency, parse_devices

LATENCY = "nb201/latency_ms.csv"


@pytest.fixture
def latency_csv(need_data):
    return need_data(LATENCY)


def test_device_constraints_parse():
    c = Constraint.parse("latency[pixel3] <= 5")
    assert (c.metric, c.op, c.bound) == ("latency[pixel3]", "<=", 5.0)
    assert Constraint.parse("latency[titan_rtx_256]<2.5").metric == "latency[titan_rtx_256]"
    assert device_of("latency[fpga]") == "fpga" and device_of("flops") is None
    assert len(NB201_DEVICES) == 27 and parse_devices("all") == list(NB201_DEVICES)


def test_unknown_device_lists_the_27(latency_csv):
    with pytest.raises(UnknownNameError) as err:
        NB201Space().check_satisfiable(["latency[pixel9] <= 5"])
    assert "pixel9" in str(err.value) and all(d in err.value.hint for d in NB201_DEVICES)
    with pytest.raises(UnknownNameError):
        NB201Space(latency="iphone")


def test_unknown_device_is_reported_before_the_data_is_read(monkeypatch, tmp_path):
    monkeypatch.setenv("NARS_DATA_DIR", str(tmp_path))
    with pytest.raises(UnknownNameError):
        NB201Space().feasible(NB201Space().sample(3, seed=0), ["latency[nope] <= 1"])


def test_missing_latency_file_names_nars_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NARS_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError) as err:
        NB201Space().check_satisfiable(["latency[pixel3] <= 5"])
    assert "NARS_DATA_DIR" in err.value.hint and "latency_ms.csv" in str(err.value)
    with pytest.raises(DataFileError):
        get_registry().create_benchmark("nb201-latency")
    # a space that does not use latency needs no file
    assert NB201Space().statistic_names == ("flops", "params")


def test_infeasible_latency_names_the_smallest_value(latency_csv):
    smallest = float(load_nb201_latency()[:, NB201_DEVICES.index("fpga")].min())
    with pytest.raises(InfeasibleConstraintError) as err:
        NB201Space().check_satisfiable(["latency[fpga] <= 0.5"])
    assert "smallest latency[fpga]" in str(err.value) and repr(smallest) in str(err.value)


def test_latency_is_a_free_statistic(latency_csv):
    space = NB201Space(latency="pixel3,fpga")
    assert space.statistic_names == ("flops", "params", "latency[pixel3]", "latency[fpga]")
    cands = [space.candidate(BEST_C10)]
    stats = space.statistics(cands)
    table = load_nb201_latency()
    row = space.index(cands[0])
    assert stats["latency[pixel3]"][0] == table[row, NB201_DEVICES.index("pixel3")]
    from nars_plugin.predictors.fbnetv3 import NARSPredictor

    predictor = NARSPredictor(space, n_models=1, pretrain_samples=256, pretrain_epochs=2)
    assert predictor.stat_names == space.statistic_names
    assert np.isfinite(predictor.pretrain())


def test_constraints_filter_by_measured_latency(latency_csv):
    space = NB201Space()
    cands = space.cells()
    mask = space.feasible(cands, ["latency[pixel3] <= 5"])
    column = load_nb201_latency()[:, NB201_DEVICES.index("pixel3")]
    assert np.array_equal(mask, column <= 5) and 0 < mask.sum() < len(cands)


def test_nb201_latency_benchmark(latency_csv, c10_csv):
    bench = get_registry().create_benchmark("nb201-latency", device="fpga")
    result = bench.query(bench.space.candidate(BEST_C10))
    assert result.metrics["test_acc_200ep"] == pytest.approx(94.3733)
    assert result.metrics["latency_ms"] == bench.space.statistics([bench.space.candidate(BEST_C10)])["latency[fpga]"][0]
    assert "latency[fpga]" in bench.space.statistic_names
    assert bench.optimum(constraints=["latency[fpga] <= 3"]) < bench.optimum()


def test_cli_latency_constraint_search_and_errors(latency_csv, c10_csv, cli, tmp_path):
    code, out, err = cli(
        ["search", "-b", "nb201-latency", "-o", "rea", "--budget", "30", "-c", "latency[pixel3] <= 5"]
        + ["--out", tmp_path / "run", "--no-progress"]
    )
    assert code == 0, err
    import json

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["best"]["metrics"]["latency_ms"] <= 5
    code, _, err = cli(
        ["search", "-b", "nb201-latency", "-c", "latency[pixel9] <= 5", "--budget", "5"] + ["--out", tmp_path / "x"]
    )
    assert code == 2 and "unknown latency device 'pixel9'" in err and "pixel3" in err and "Traceback" not in err
    code, _, err = cli(
        ["search", "-b", "nb201-latency", "-c", "latency[pixel3] <= 0.001", "--budget", "5"] + ["--out", tmp_path / "y"]
    )
    assert code == 2 and "smallest latency[pixel3]" in err
    code, _, err = cli(["query", "-b", "nb201-latency", "-B", "device=pixel9", "--arch", BEST_C10])
    assert code == 2 and "unknown latency device" in err


def test_nars_family_over_latency_budgets(latency_csv, c10_csv):
    from nars_plugin import create_study

    budgets = (3.0, 8.0)
    family = ";".join(f"latency[pixel3]<={b}" for b in budgets)
    settings = {"family": family, "predictor": QUICK_PREDICTOR}
    study = create_study("nb201-latency", "nars", budget=30, seed=0, settings=settings, progress=False)
    study.optimize()
    bench, opt = study.evaluator, study.optimizer
    family = opt.report()["family"]
    assert [f["constraints"] for f in family] == [[f"latency[pixel3] <= {b!r}"] for b in budgets]
    for member, bound in zip(family, budgets):
        cand = bench.space.validate(bench.space.candidate(member["candidate"]["arch"]))
        assert bench.space.statistics([cand])["latency[pixel3]"][0] <= bound


# --------------------------------------------------------------------------- #
# Pareto fronts and hypervolume
# --------------------------------------------------------------------------- #


def test_pareto_front_drops_dominated_points():
    cost = [1, 2, 2, 3, 4, 5]
    acc = [80, 85, 84, 83, 90, 90]
    assert pareto_front(cost, acc).tolist() == [[1, 80], [2, 85], [4, 90]]


def test_hypervolume_of_a_hand_made_front():
    # reference (10, 70): [1, 2) at 80 -> 10, [2, 4) at 85 -> 30, [4, 10) at 90 -> 120; total 160
    assert hypervolume([1, 2, 4, 3], [80, 85, 90, 84], (10, 70)) == pytest.approx(160.0)
    assert hypervolume([11, 1], [95, 60], (10, 70)) == 0.0  # outside the reference box
    assert hypervolume([1], [80], (10, 70)) == pytest.approx(90.0)
    # adding a dominated point changes nothing, a dominating one adds area
    assert hypervolume([1, 2, 4, 5], [80, 85, 90, 88], (10, 70)) == pytest.approx(160.0)
    assert hypervolume([1, 2, 4, 3], [80, 85, 90, 88], (10, 70)) > 160.0


# --------------------------------------------------------------------------- #
# The MBConv latency predictor on the FBNet measurements
# --------------------------------------------------------------------------- #


@pytest.mark.slow
def test_latency_predictor_on_held_out_fbnet(need_data):
    from nars_imagenet.latency_models import (
        BlockLatencyMLP,
        LookupTableLatency,
        fbnet_blocks,
        load_fbnet_latency,
    )
    from scipy.stats import kendalltau

    need_data("fbnet/latency_ms_5000.csv")
    ops, latency, devices = load_fbnet_latency()
    assert ops.shape == (5000, 22) and latency.shape == (5000, 27)
    cols = [devices.index(d) for d in ("pixel3", "fpga", "gold_6240")]
    train, test = slice(0, 1500), slice(4500, 5000)
    nets = [fbnet_blocks(o) for o in ops]
    mlp = BlockLatencyMLP([devices[c] for c in cols], steps=400).fit(nets[train], latency[train][:, cols])
    pred = mlp.predict(nets[test])
    lut = LookupTableLatency([devices[c] for c in cols]).fit(ops[train], latency[train][:, cols])
    pred_lut = lut.predict(ops[test])
    for j in range(len(cols)):
        y = latency[test][:, cols[j]]
        assert kendalltau(y, pred[:, j]).statistic > 0.6
        assert np.mean(np.abs(pred[:, j] - y) / y) < 0.06
        assert kendalltau(y, pred_lut[:, j]).statistic > 0.8
    assert np.array_equal(mlp.predict(nets[test][:5]), pred[:5])  # deterministic
    assert mlp.predict_device(nets[test][:3], "fpga").shape == (3,)


def test_latency_flag_false_means_none_and_true_asks_for_device_names():
    assert parse_devices(False) == [] and NB201Space(latency=False).latency_devices == ()
    with pytest.raises(ConfigError) as err:
        parse_devices(True)
    assert "latency=all" in err.value.hint
