"""The Python API: create_study / load_study / compare, ask/tell with a journal, resume after SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import QUICK_PREDICTOR, REPO_ROOT, build_tiny_bench, run_cli

import nars_plugin
from nars_plugin import StudyFinished, create_study, load_study
from nars_plugin.errors import ConfigError, JournalError
from nars_plugin.evaluation import Result


def trajectory_of(folder: Path) -> list[dict]:
    return json.loads((folder / "summary.json").read_text())["trajectory"]


def journal_records(folder: Path) -> list[dict]:
    lines = (folder / "journal.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in ("time", "check")} for x in lines[1:]]


def test_create_study_gives_the_trajectory_of_nars_search(tmp_path, c10_csv):
    spec = f"csv:{c10_csv}"
    api_dir, cli_dir = tmp_path / "api", tmp_path / "cli"
    create_study(spec, "rea", budget=40, seed=3, storage=api_dir, progress=False).optimize()
    rc, _, err = run_cli(["search", "-b", spec, "-o", "rea", "--budget", "40", "--seed", "3", "--out", cli_dir])
    assert rc == 0, err
    assert trajectory_of(api_dir) == trajectory_of(cli_dir)
    assert journal_records(api_dir) == journal_records(cli_dir)
    # the journal header is the same too: the CLI's folder resumes through the API and vice versa
    again = create_study(spec, "rea", budget=40, seed=3, storage=cli_dir, progress=False).optimize()
    assert again.replayed == 40 and again.evaluated_now == 0


@pytest.mark.slow
def test_create_study_in_python_c_gives_the_trajectory_of_nars_search_for_nars(tmp_path, c10_csv):
    """Issue 13's acceptance as written: default NARS, 100 queries, seed 0, in a fresh interpreter."""
    spec = f"csv:{c10_csv}"
    api_dir, cli_dir = tmp_path / "api", tmp_path / "cli"
    call = f"create_study({spec!r}, 'nars', budget=100, seed=0, storage={str(api_dir)!r}).optimize()"
    script = f"from nars_plugin import create_study; {call}"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    rc, _, err = run_cli(
        ["search", "-b", spec, "-o", "nars", "--budget", "100", "--seed", "0", "--out", cli_dir], timeout=900
    )
    assert rc == 0, err
    assert (api_dir / "trajectory.csv").read_text() == (cli_dir / "trajectory.csv").read_text()
    assert trajectory_of(api_dir) == trajectory_of(cli_dir) and len(trajectory_of(api_dir)) == 100
    assert journal_records(api_dir) == journal_records(cli_dir)


def test_ask_tell_loop_matches_optimize(tmp_path):
    bench = build_tiny_bench()
    reference = create_study(bench, "rea", budget=30, seed=1, settings={"population": 6}, progress=False)
    expected = reference.optimize()
    study = create_study(bench, "rea", budget=30, seed=1, settings={"population": 6}, storage=tmp_path)
    while not study.finished:
        trial = study.ask()
        study.tell(trial, bench.evaluate(trial.candidate, trial.fidelity))
    study.close()
    assert [p.best_objective for p in study.trajectory] == [p.best_objective for p in expected.trajectory]
    assert study.best is not None and study.best.candidate == expected.best_candidate
    with pytest.raises(StudyFinished):
        study.ask()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_evaluations"] == 30


def test_tell_takes_a_value_a_dict_or_an_exception(tmp_path):
    bench = build_tiny_bench()
    study = create_study(bench, "rs", budget=3, seed=0, storage=tmp_path)
    (first,) = study.ask_batch(1)
    study.tell(first, 91.5, cost=2.0)
    second = study.ask()
    study.tell(second, {"acc": 92.0, "loss": 8.0})
    third = study.ask()
    study.tell(third, RuntimeError("the GPU fell over"))
    study.close()
    assert [t.result.status for t in study.trials] == ["ok", "ok", "failed"]
    assert study.trials[0].result.cost == 2.0 and "GPU fell over" in study.trials[2].result.error
    assert study.best.number == 2
    with pytest.raises(ConfigError, match="told already"):
        study.tell(first, 1.0)
    with pytest.raises(ConfigError, match="cannot tell"):
        other = create_study(bench, "rs", budget=1, seed=0)
        other.tell(other.ask(), "ninety")


def test_batch_told_out_of_order_is_the_same_search(tmp_path):
    """Results reach the optimizer in proposal order whatever order they are told in."""
    bench = build_tiny_bench()

    def run(reverse: bool, folder: Path) -> list[dict]:
        study = create_study(bench, "rs", budget=24, seed=5, storage=folder)
        while not study.finished:
            trials = study.ask_batch(4)
            assert 1 <= len(trials) <= 4
            for trial in reversed(trials) if reverse else trials:
                study.tell(trial, bench.evaluate(trial.candidate))
        study.close()
        return journal_records(folder)

    assert run(False, tmp_path / "a") == run(True, tmp_path / "b")


ASK_TELL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from conftest import build_tiny_bench
    from nars_plugin import create_study

    bench = build_tiny_bench()
    kill_after = int(sys.argv[2])
    study = create_study(bench, "nars", budget=24, seed=2, storage=sys.argv[1], settings={settings!r})
    told = 0
    while not study.finished:
        trial = study.ask()
        result = bench.evaluate(trial.candidate, trial.fidelity)
        if told == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # dies holding an asked, unevaluated trial
        study.tell(trial, result)
        told += 1
    study.close()
    print("told", told)
    """
)


@pytest.mark.slow
def test_ask_tell_loop_killed_and_restarted_ends_like_an_uninterrupted_one(tmp_path):
    script = tmp_path / "loop.py"
    settings = {"predictor": dict(QUICK_PREDICTOR), "pool_size": 72}
    script.write_text(ASK_TELL_SCRIPT.format(tests=str(REPO_ROOT / "tests"), settings=settings))

    def loop(folder: Path, kill_after: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), str(folder), str(kill_after)], capture_output=True, text=True, timeout=300
        )

    whole = loop(tmp_path / "whole", -1)
    assert whole.returncode == 0, whole.stderr
    killed = tmp_path / "killed"
    first = loop(killed, 9)
    assert first.returncode == -signal.SIGKILL
    assert len(journal_records(killed)) == 9 and not (killed / "summary.json").exists()
    second = loop(killed, -1)
    assert second.returncode == 0, second.stderr
    assert "told 15" in second.stdout  # the 9 journaled evaluations were replayed, not told again
    assert journal_records(killed) == journal_records(tmp_path / "whole")
    assert trajectory_of(killed) == trajectory_of(tmp_path / "whole")


def test_a_second_study_on_the_folder_and_another_configuration_are_refused(tmp_path):
    bench = build_tiny_bench()
    study = create_study(bench, "rs", budget=5, seed=0, storage=tmp_path)
    study.ask()
    with pytest.raises(JournalError, match="another process is running a search"):
        create_study(bench, "rs", budget=5, seed=0, storage=tmp_path).ask()
    study.close()
    create_study(bench, "rs", budget=5, seed=0, storage=tmp_path).optimize()
    with pytest.raises(JournalError, match="different search"):
        create_study(bench, "rs", budget=5, seed=1, storage=tmp_path).optimize()


def test_load_study_reads_a_finished_and_an_interrupted_search(tmp_path):
    bench = build_tiny_bench()
    study = create_study(bench, "rea", budget=20, seed=4, settings={"population": 5}, storage=tmp_path / "done")
    result = study.optimize()
    record = load_study(tmp_path / "done")
    assert record.finished and len(record.trials) == 20 and record.budget == {"queries": 20, "seconds": None}
    assert record.best.candidate == result.best_candidate
    assert [p.best_objective for p in record.trajectory] == [p.best_objective for p in result.trajectory]
    assert record.config["optimizer"]["name"] == "rea"

    half = create_study(bench, "rea", budget=20, seed=4, settings={"population": 5}, storage=tmp_path / "half")
    for _ in range(7):
        trial = half.ask()
        half.tell(trial, bench.evaluate(trial.candidate))
    record = load_study(tmp_path / "half")  # while the study still holds the folder: reading needs no lock
    assert len(record.trials) == 7 and not record.finished
    half.close()
    with pytest.raises(ConfigError, match="no search journal"):
        load_study(tmp_path / "nowhere")

    journal = tmp_path / "done" / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    edited = json.loads(lines[3])
    edited["result"]["metrics"]["acc"] += 1.0  # a better number, still valid JSON
    journal.write_text("".join([*lines[:3], json.dumps(edited, sort_keys=True) + "\n", *lines[4:]]))
    with pytest.raises(JournalError, match="line 4 fails its integrity check"):
        load_study(tmp_path / "done")
    journal.write_text("".join(lines) + lines[-1][: len(lines[-1]) // 2])  # a cut-off last line
    with pytest.warns(UserWarning, match="dropped a truncated last line"):
        assert len(load_study(tmp_path / "done").trials) == 20
    assert journal.read_text().endswith(lines[-1][: len(lines[-1]) // 2]), "reading must change nothing"


def test_targets_and_their_errors(tmp_path, tiny_space):
    bench = build_tiny_bench(tiny_space)
    pair = create_study((tiny_space, bench), "rs", budget=4, seed=0).optimize()
    assert pair.n_evaluations == 4
    with pytest.raises(ConfigError, match="a budget needs queries or seconds"):
        create_study(bench, "rs")
    with pytest.raises(ConfigError, match="apply only to a benchmark given by name"):
        create_study(bench, "rs", budget=3, options={"target": "int8"})
    with pytest.raises(ConfigError, match="not an evaluator"):
        create_study(object(), "rs", budget=3)  # type: ignore[arg-type]
    with pytest.raises(nars_plugin.errors.UnknownNameError, match="unknown optimizer"):
        create_study(bench, "nope", budget=3)
    with pytest.raises(ConfigError, match="unknown setting 'constraints' for optimizer 'rs'"):
        create_study(bench, "rs", budget=3, settings={"constraints": ["flops <= 1"]})  # the run's, not a setting
    with pytest.raises(ConfigError, match="registered name or an Optimizer subclass"):
        create_study(bench, 42, budget=3)  # type: ignore[arg-type]
    free = "gives its queries no cost, so a budget of 500 simulated seconds never runs out"
    with pytest.raises(ConfigError, match=free):  # nb201-analog has no training times
        create_study("nb201-analog", "rs", budget_seconds=500)
    with pytest.raises(ConfigError, match=free):
        nars_plugin.compare("nb201-analog", "rs", seeds=1, budget_seconds=500, out=tmp_path / "cmp", workers=1)
    assert create_study("nb201-analog", "rs", budget=2, budget_seconds=500).optimize().n_evaluations == 2


def test_optimizer_sees_what_the_study_spent(tiny_bench):
    seen: list[tuple[int, float]] = []
    study = create_study(tiny_bench, "rs", budget=5, budget_seconds=1e6, seed=0)
    while not study.finished:
        trial = study.ask()
        seen.append(study.optimizer.remaining())
        study.tell(trial, Result(metrics={"acc": 90.0}, cost=10.0))
    assert seen == [(5, 1e6), (4, 1e6 - 10), (3, 1e6 - 20), (2, 1e6 - 30), (1, 1e6 - 40)]


def test_compare_returns_what_nars_compare_writes(tmp_path, c10_csv):
    summary = nars_plugin.compare(
        f"csv:{c10_csv}", "rs,rea", seeds=2, budget=10, out=tmp_path, workers=1, progress=False
    )
    written = json.loads((tmp_path / "summary.json").read_text())
    assert json.loads(json.dumps(summary, default=str)) == written
