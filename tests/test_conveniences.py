"""What an Optuna user reaches for first: best_value / best_params / trials_dataframe() on a study and
on a search read back, candidates that print as their space writes them, arch and recipe columns in
trajectory.csv, re-opening a finished search without asking the optimizer again, and an export that
Optuna itself reads back (``optuna.load_study``)."""

from __future__ import annotations

import csv
import gc
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import QUICK_PREDICTOR, TinySpace, build_tiny_bench
from test_study import reseal

import nars_plugin
from nars_plugin.budget import Budget
from nars_plugin.errors import ConfigError, JournalError
from nars_plugin.optimizers import RandomSearch
from nars_plugin.optimizers.base import Proposal
from nars_plugin.space import Candidate
from nars_plugin.storage import JOURNAL_NAME, SUMMARY_NAME, TRAJECTORY_NAME
from nars_plugin.study import COMPLETE, FAIL, PRUNED
from nars_plugin.tabular.base import TabularBenchmark


def journal_keys(folder: Path) -> list[str]:
    lines = (folder / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()[1:]
    return [Candidate.from_dict(json.loads(line)["candidate"]).key for line in lines]


def finished(tmp_path: Path, optimizer: str = "rea", budget: int = 20, seed: int = 0) -> nars_plugin.Study:
    study = nars_plugin.create_study(
        build_tiny_bench(), optimizer, budget=budget, seed=seed, storage=tmp_path / "run", progress=False
    )
    study.optimize()
    return study


# --------------------------------------------------------------------------- #
# best_value, best_params, trials_dataframe on a study and on load_study's record
# --------------------------------------------------------------------------- #


def test_best_accessors_on_a_study_and_on_its_record_agree(tmp_path):
    study = finished(tmp_path)
    record = nars_plugin.load_study(tmp_path / "run")
    summary = json.loads((tmp_path / "run" / SUMMARY_NAME).read_text())
    best = study.best_trial
    assert best is study.best and record.best_trial.number == best.number
    assert study.best_value == record.best_value == summary["best"]["objective"]
    assert study.best_value == max(t.result.metrics["acc"] for t in study.trials)
    arch = TinySpace().format_arch(best.candidate)  # "op1=...,op2=...,width=..."
    expected = {"arch": arch, "epochs": best.candidate.recipe["epochs"]}
    assert study.best_params == record.best_params == expected
    assert study.best_arch == record.best_arch == arch == summary["best"]["arch"]
    assert study.best_recipe == record.best_recipe == dict(best.candidate.recipe)
    assert study.objective_name == record.objective_name == "acc"


def test_best_trial_of_a_search_without_a_result_is_a_clear_error(tmp_path):
    study = nars_plugin.create_study(build_tiny_bench(), "rs", budget=5, progress=False)
    assert study.best is None
    with pytest.raises(ConfigError, match="no successful full-fidelity trial") as info:
        _ = study.best_value
    assert "optimize()" in (info.value.hint or "")


def test_trials_dataframe_has_one_row_per_trial_with_optuna_column_names(tmp_path):
    study = finished(tmp_path, budget=12)
    record = nars_plugin.load_study(tmp_path / "run")
    for frame in (study.trials_dataframe(), record.trials_dataframe()):
        assert list(frame["number"]) == list(range(1, 13))
        assert set(frame["state"]) == {COMPLETE}
        assert list(frame["value"]) == [t.result.metrics["acc"] for t in study.trials]
        assert list(frame["params_arch"]) == [TinySpace().format_arch(t.candidate) for t in study.trials]
        assert list(frame["params_epochs"]) == [t.candidate.recipe["epochs"] for t in study.trials]
        assert np.allclose(frame["metrics_loss"], 100.0 - frame["metrics_acc"])
        assert list(frame["cost"]) == [t.result.cost for t in study.trials]
        assert frame["elapsed"].notna().all() and frame["fidelity"].isna().all()
        assert frame.loc[frame["value"].idxmax(), "number"] == study.best_trial.number
    # the elapsed seconds come from the journal: the same on the study and read back
    assert list(study.trials_dataframe()["elapsed"]) == list(record.trials_dataframe()["elapsed"])


def test_trials_dataframe_without_pandas_names_the_extra(tmp_path, monkeypatch):
    study = finished(tmp_path, budget=3)
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an environment without pandas gives
    with pytest.raises(ConfigError, match="needs pandas") as info:
        study.trials_dataframe()
    assert info.value.hint == "pip install 'nars-plugin[pandas]'"


class Alternating(RandomSearch):
    """Random search that asks every second candidate at 2 epochs only (a stopped-early evaluation)."""

    name = "alternating"

    def ask(self) -> Proposal:
        proposal = super().ask()
        return Proposal(proposal.candidate, 2) if len(self.history) % 2 else proposal


def curve_bench() -> TabularBenchmark:
    """The tiny benchmark with a 4-epoch learning curve and a latency per candidate; width 4 fails."""
    base = build_tiny_bench()
    acc = base.columns["acc"].copy()
    acc[[i for i, c in enumerate(base.rows) if c.arch["width"] == 4]] = np.nan
    return TabularBenchmark(
        "tiny-curves",
        base.space,
        base.rows,
        {"acc": acc, "latency": np.array([1.5 * c.arch["width"] for c in base.rows])},
        objective="acc",
        curve=lambda row: acc[row] * np.array([0.7, 0.85, 0.95, 1.0]),
        max_fidelity=4,
    )


def test_states_count_early_stopped_trials_apart_and_failed_ones_as_failed(tmp_path):
    study = nars_plugin.create_study(curve_bench(), Alternating, budget=16, seed=3, progress=False)
    study.optimize()
    frame = study.trials_dataframe()
    for trial, state in zip(study.trials, frame["state"]):
        if not trial.result.ok:
            assert state == FAIL and np.isnan(frame.loc[trial.number - 1, "value"])
        elif trial.fidelity == 2:
            assert state == PRUNED and len(trial.result.curve) == 2
        else:
            assert state == COMPLETE and len(trial.result.curve) == 4
    assert {FAIL, PRUNED, COMPLETE} <= set(frame["state"])
    # the best is a full-fidelity trial, whatever the stopped-early ones show
    full = frame[frame["state"] == COMPLETE]
    assert study.best_value == full["value"].max() and study.best_trial.fidelity is None


# --------------------------------------------------------------------------- #
# str(candidate), trajectory.csv
# --------------------------------------------------------------------------- #


def test_a_candidate_prints_as_the_cli_prints_it(tmp_path, cli):
    out = tmp_path / "cli"
    code, stdout, _ = cli(["search", "-b", "nb201-analog", "-o", "rs", "--budget", "6", "--out", out, "--no-progress"])
    assert code == 0
    lines = dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)
    record = nars_plugin.load_study(out)
    best = record.best_trial.candidate
    assert str(best) == f"{lines['best arch']} {lines['best recipe']}"  # "|...| training=analog"
    assert str(best).startswith("|") and best.arch_text == lines["best arch"]
    assert record.best_params == {"arch": lines["best arch"], "training": best.recipe["training"]}
    bench = nars_plugin.get_registry().create_benchmark("nb201-analog")
    built = bench.space.candidate(lines["best arch"], dict(best.recipe))
    assert str(built) == str(best) and built == best and hash(built) == hash(best)


def test_printing_leaves_identity_and_json_alone():
    space = TinySpace()
    plain = Candidate({"op1": "c", "op2": "b", "width": 3}, {"epochs": 200})
    bound = space.bind(Candidate({"op1": "c", "op2": "b", "width": 3}, {"epochs": 200}))
    assert str(plain) == "op1=c,op2=b,width=3 epochs=200" == str(bound)  # the default syntax both ways
    assert plain == bound and hash(plain) == hash(bound) and plain.key == bound.key
    assert plain.to_dict() == bound.to_dict() and "_space" not in json.dumps(bound.to_dict())
    assert repr(bound).startswith("Candidate(arch={")
    assert str(Candidate({"x": 1})) == "x=1"  # no recipe, no trailing part


def test_trajectory_csv_has_the_arch_and_recipe_of_each_evaluation(tmp_path):
    study = finished(tmp_path, budget=10)
    with open(tmp_path / "run" / TRAJECTORY_NAME, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["arch"] for r in rows] == [TinySpace().format_arch(t.candidate) for t in study.trials]
    assert [r["recipe"] for r in rows] == [f"epochs={t.candidate.recipe['epochs']}" for t in study.trials]
    summary = json.loads((tmp_path / "run" / SUMMARY_NAME).read_text())
    assert [p["arch"] for p in summary["trajectory"]] == [r["arch"] for r in rows]
    # load_study computes the same points as the study wrote
    assert [p.__dict__ for p in nars_plugin.load_study(tmp_path / "run").trajectory] == summary["trajectory"]


# --------------------------------------------------------------------------- #
# Re-opening a finished search
# --------------------------------------------------------------------------- #


class CountingRandomSearch(RandomSearch):
    """Random search that counts the proposals asked of it (all instances together)."""

    name = "counting-rs"
    asked = 0

    def ask(self) -> Proposal:
        CountingRandomSearch.asked += 1
        return super().ask()


def test_reopening_a_finished_search_asks_nothing_and_writes_the_same_results(tmp_path):
    bench = build_tiny_bench()
    first = nars_plugin.create_study(bench, CountingRandomSearch, budget=15, storage=tmp_path / "a", progress=False)
    first.optimize()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / SUMMARY_NAME).unlink()  # no summary: b can only be re-opened by replaying
    CountingRandomSearch.asked = 0
    again = nars_plugin.create_study(bench, CountingRandomSearch, budget=15, storage=tmp_path / "a", progress=False)
    result = again.optimize()
    assert CountingRandomSearch.asked == 0 and again.optimizer.history == []
    assert result.replayed == 15 and result.evaluated_now == 0 and again.finished
    replay = nars_plugin.create_study(bench, CountingRandomSearch, budget=15, storage=tmp_path / "b", progress=False)
    replay.optimize()
    assert CountingRandomSearch.asked == 15  # the replay asked the optimizer for every journaled proposal
    for name in (SUMMARY_NAME, TRAJECTORY_NAME, JOURNAL_NAME):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert again.best_trial.candidate == first.best_trial.candidate == replay.best_trial.candidate
    assert again.trajectory == first.trajectory
    with pytest.raises(nars_plugin.StudyFinished):
        again.ask()


def test_a_larger_budget_replays_in_full_and_continues_as_an_uninterrupted_search(tmp_path):
    bench = build_tiny_bench()
    nars_plugin.create_study(bench, "rea", budget=10, seed=1, storage=tmp_path / "grown", progress=False).optimize()
    grown = nars_plugin.create_study(bench, "rea", budget=25, seed=1, storage=tmp_path / "grown", progress=False)
    result = grown.optimize()
    assert (result.replayed, result.evaluated_now) == (10, 15)
    straight = nars_plugin.create_study(bench, "rea", budget=25, seed=1, storage=tmp_path / "straight", progress=False)
    straight.optimize()
    assert journal_keys(tmp_path / "grown") == journal_keys(tmp_path / "straight")
    assert grown.trajectory == straight.trajectory


def test_raising_the_budget_of_a_study_read_back_replays_it_through_the_optimizer(tmp_path):
    bench = build_tiny_bench()
    nars_plugin.create_study(bench, "rea", budget=10, seed=2, storage=tmp_path / "run", progress=False).optimize()
    study = nars_plugin.create_study(bench, "rea", budget=10, seed=2, storage=tmp_path / "run", progress=False)
    assert study.optimize().replayed == 10 and study.optimizer.history == []  # read back, nothing asked
    study.budget = Budget(queries=20)  # the same object is asked for more
    result = study.optimize()
    assert (result.replayed, result.evaluated_now, result.n_evaluations) == (10, 10, 20)
    assert len(study.optimizer.history) == 20  # it heard the ten journaled results, then ten new ones
    straight = nars_plugin.create_study(bench, "rea", budget=20, seed=2, storage=tmp_path / "straight", progress=False)
    straight.optimize()
    assert journal_keys(tmp_path / "run") == journal_keys(tmp_path / "straight")


def test_a_study_read_back_and_asked_for_more_checks_the_journal_against_the_optimizer(tmp_path):
    bench = build_tiny_bench()
    nars_plugin.create_study(bench, "rs", budget=6, seed=0, storage=tmp_path / "run", progress=False).optimize()
    path = tmp_path / "run" / JOURNAL_NAME
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["candidate"]["arch"]["width"] = 5 - record["candidate"]["arch"]["width"]  # not what rs proposes
    lines[3] = json.dumps(record)
    path.write_text("\n".join(reseal(lines)) + "\n")  # a valid journal other code could have written
    study = nars_plugin.create_study(bench, "rs", budget=6, seed=0, storage=tmp_path / "run", progress=False)
    assert study.optimize().replayed == 6  # read back as journaled
    study.budget = Budget(queries=8)
    with pytest.raises(JournalError, match="journal entry 3 holds"):  # replayed through the optimizer
        study.optimize()


def test_a_study_dropped_without_close_frees_its_folder_at_once(tmp_path):
    bench = build_tiny_bench()
    gc.disable()  # freed by reference counting, not by a later garbage collection
    try:
        study = nars_plugin.create_study(bench, "rs", budget=6, storage=tmp_path / "run", progress=False)
        for _ in range(3):
            trial = study.ask()
            study.tell(trial, bench.evaluate(trial.candidate))
        del study, trial  # as a killed loop leaves it: no close()
        again = nars_plugin.create_study(bench, "rs", budget=6, storage=tmp_path / "run", progress=False)
        assert again.optimize().replayed == 3  # the lock was released
    finally:
        gc.enable()


def test_reopening_a_finished_nars_search_keeps_its_optimizer_report(tmp_path):
    settings = {"predictor": dict(QUICK_PREDICTOR), "pool_size": 72}
    kwargs = {"budget": 12, "seed": 0, "settings": settings, "progress": False}
    nars_plugin.create_study(build_tiny_bench(), "nars", storage=tmp_path / "a", **kwargs).optimize()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / SUMMARY_NAME).unlink()
    again = nars_plugin.create_study(build_tiny_bench(), "nars", storage=tmp_path / "a", **kwargs)
    again.optimize()
    assert again.optimizer.history == []  # no refit, no proposal
    nars_plugin.create_study(build_tiny_bench(), "nars", storage=tmp_path / "b", **kwargs).optimize()
    a, b = (json.loads((tmp_path / f / SUMMARY_NAME).read_text()) for f in "ab")
    assert a["optimizer_report"] and a == b


# --------------------------------------------------------------------------- #
# Export to Optuna
# --------------------------------------------------------------------------- #


def test_export_is_read_back_by_optuna_with_the_same_best(tmp_path):
    optuna = pytest.importorskip("optuna")
    study = nars_plugin.create_study(curve_bench(), Alternating, budget=16, seed=3, storage=tmp_path / "run")
    study.optimize()
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    exported = nars_plugin.export_optuna(study, storage=storage, study_name="tiny")  # the study knows its space
    loaded = optuna.load_study(study_name="tiny", storage=storage)
    assert exported.study_name == "tiny" and len(loaded.trials) == 16
    best = study.best_trial
    assert loaded.best_value == study.best_value and loaded.best_trial.number == best.number - 1
    assert loaded.best_params == {**best.candidate.arch, **best.candidate.recipe}  # op1, op2, width, epochs
    assert loaded.best_trial.user_attrs["arch"] == study.best_params["arch"] == study.best_arch
    assert set(loaded.best_trial.distributions) == {"op1", "op2", "width", "epochs"}
    assert loaded.best_trial.distributions["width"] == optuna.distributions.IntDistribution(1, 4)
    states = {COMPLETE: "COMPLETE", FAIL: "FAIL", PRUNED: "PRUNED"}
    for ours, theirs in zip(study.trials, loaded.trials):
        assert theirs.state.name == states[study.trial_state(ours)]
        assert theirs.params == {**ours.candidate.arch, **ours.candidate.recipe}
        assert theirs.user_attrs["candidate"] == ours.candidate.to_dict()
        assert theirs.intermediate_values == dict(enumerate(ours.result.curve or [], start=1))
        if ours.result.ok:
            assert theirs.user_attrs["acc"] == ours.result.metrics["acc"]
        else:
            assert theirs.value is None and "error" in theirs.user_attrs
    assert loaded.direction.name == "MAXIMIZE"


def test_export_refuses_an_existing_name_unless_replaced_and_a_bad_storage_clearly(tmp_path):
    pytest.importorskip("optuna")
    finished(tmp_path, budget=5)
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    first = nars_plugin.export_optuna(tmp_path / "run", storage)
    assert first.study_name == "rea-tiny-seed0"
    with pytest.raises(ConfigError, match="already has a study named 'rea-tiny-seed0'"):
        nars_plugin.export_optuna(tmp_path / "run", storage)
    assert len(nars_plugin.export_optuna(tmp_path / "run", storage, replace=True).trials) == 5
    with pytest.raises(ConfigError, match="cannot open the Optuna storage 'not a url'"):
        nars_plugin.export_optuna(tmp_path / "run", "not a url")
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}"
    with pytest.raises(ConfigError, match="cannot open the Optuna storage"):
        nars_plugin.export_optuna(tmp_path / "run", missing)


def test_nars_export_optuna_command(tmp_path, cli):
    optuna = pytest.importorskip("optuna")
    finished(tmp_path, budget=6)
    storage = f"sqlite:///{tmp_path / 'cli.db'}"
    code, stdout, stderr = cli(["export-optuna", tmp_path / "run", "--storage", storage, "--study-name", "s"])
    assert code == 0, stderr
    assert "6 trials -> Optuna study 's'" in stdout
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 6
    code, _, stderr = cli(["export-optuna", tmp_path / "run", "--storage", storage, "--study-name", "s"])
    assert code == 2 and "already has a study named 's'" in stderr and "Traceback" not in stderr


def test_readme_optuna_example_runs(tmp_path):
    optuna = pytest.importorskip("optuna")
    from test_readme_example import readme_block

    script = tmp_path / "example.py"
    script.write_text(readme_block("optuna"), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    value, params, candidate = proc.stdout.strip().splitlines()
    record = nars_plugin.load_study(tmp_path / "runs/optuna-demo")
    assert float(value) == record.best_value and params == str(record.best_params)
    assert candidate == f"{record.best_arch} training={record.best_recipe['training']}"
    assert all((tmp_path / "runs/optuna-demo" / name).is_file() for name in ("history.png", "pareto.png"))
    loaded = optuna.load_study(study_name="demo", storage=f"sqlite:///{tmp_path / 'runs/optuna-demo.db'}")
    assert loaded.best_value == record.best_value and loaded.best_trial.user_attrs["arch"] == record.best_arch
    assert loaded.best_params == {**record.best_trial.candidate.arch, **record.best_recipe}
    # the registered space gives each NB201 edge its five ops, whatever the search tried
    assert len(loaded.best_trial.distributions["edge_1_0"].choices) == 5
