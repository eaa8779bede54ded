"""The study loop: budget, journal, resume, refusal of foreign journals and locked folders, failures.

Everything runs random search on the tiny in-code benchmark of ``conftest.py`` (72 candidates, one
best), so no data file is needed.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from nars_plugin.budget import Budget
from nars_plugin.errors import JournalError
from nars_plugin.evaluation import Evaluator, Result
from nars_plugin.optimizers import RandomSearch
from nars_plugin.space import Candidate, Constraint
from nars_plugin.storage import CHECK_FIELD, chain_check
from nars_plugin.study import (
    JOURNAL_NAME,
    SUMMARY_NAME,
    TRAJECTORY_NAME,
    FolderLock,
    JournalWarning,
    Study,
)
from nars_plugin.tabular.base import TabularBenchmark


def make_study(bench, out, budget=20, seed=0, progress=False, **optimizer_options) -> Study:
    optimizer = RandomSearch(bench.space, objective=bench.objective, seed=seed, **optimizer_options)
    return Study(bench, optimizer, Budget(queries=budget), out_dir=out, progress=progress)


def run(bench, out, budget=20, seed=0, **optimizer_options):
    study = make_study(bench, out, budget, seed, **optimizer_options)
    return study, study.run()


def read_journal(out: Path) -> tuple[dict, list[dict]]:
    lines = (Path(out) / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    return records[0], records[1:]


def eval_keys(out: Path) -> list[str]:
    _, evals = read_journal(out)
    return [Candidate.from_dict(r["candidate"]).key for r in evals]


def history_keys(study: Study) -> list[str]:
    return [p.candidate.key for p, _ in study.optimizer.history]


@pytest.fixture
def reference(tiny_bench, tmp_path):
    """Candidate keys of an uninterrupted 25-evaluation run with seed 0."""
    run(tiny_bench, tmp_path / "reference", budget=25)
    return eval_keys(tmp_path / "reference")


# --------------------------------------------------------------------------- #
# A complete run
# --------------------------------------------------------------------------- #


def test_study_writes_header_and_one_line_per_evaluation(tiny_bench, tmp_path):
    out = tmp_path / "run"
    study, result = run(tiny_bench, out, budget=20, seed=4)
    assert result.n_evaluations == 20 and result.evaluated_now == 20 and result.replayed == 0

    header, evals = read_journal(out)
    assert header["type"] == "header" and header["version"] == 1
    assert header["config"]["seed"] == 4
    assert header["config"]["optimizer"]["name"] == "rs"
    assert header["config"]["evaluator"]["name"] == "tiny"
    assert len(evals) == 20
    assert [r["n"] for r in evals] == list(range(1, 21))
    assert all(r["type"] == "eval" and r["result"]["status"] == "ok" for r in evals)
    keys = eval_keys(out)
    assert len(set(keys)) == 20, "a candidate was evaluated twice"
    assert keys == history_keys(study)
    for record in evals:  # what was journaled is what the benchmark answers
        cand = tiny_bench.space.validate(Candidate.from_dict(record["candidate"]))
        assert record["result"]["metrics"] == tiny_bench.evaluate(cand).metrics

    best = max(evals, key=lambda r: r["result"]["metrics"]["acc"])
    assert result.best_result.metrics["acc"] == best["result"]["metrics"]["acc"]
    assert result.best_candidate == Candidate.from_dict(best["candidate"])
    assert result.total_cost == pytest.approx(sum(r["result"]["cost"] for r in evals))

    summary = json.loads((out / SUMMARY_NAME).read_text())
    assert summary["best"]["objective"] == best["result"]["metrics"]["acc"]
    assert summary["best"]["candidate"] == best["candidate"]
    assert summary["n_evaluations"] == 20 and summary["failed"] == 0
    assert summary["evaluated_in_this_run"] == 20 and summary["replayed_from_journal"] == 0
    with open(out / TRAJECTORY_NAME, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["n"]) for r in rows] == list(range(1, 21))
    incumbent = [float(r["best_objective"]) for r in rows]
    assert incumbent == sorted(incumbent) and incumbent[-1] == best["result"]["metrics"]["acc"]


def test_in_memory_study_matches_the_journaled_one(tiny_bench, tmp_path):
    journaled, r1 = run(tiny_bench, tmp_path / "run", budget=15, seed=2)
    memory, r2 = run(tiny_bench, None, budget=15, seed=2)
    assert history_keys(memory) == history_keys(journaled)
    assert r1.best_candidate == r2.best_candidate
    assert list(tmp_path.iterdir()) == [tmp_path / "run"]  # the in-memory study wrote nothing


def test_random_search_finds_the_optimum_when_it_sees_the_whole_space(tiny_bench):
    _, result = run(tiny_bench, None, budget=72, seed=1)
    assert result.best_result.metrics["acc"] == tiny_bench.optimum() == 100.0
    assert result.best_candidate.arch == {"op1": "c", "op2": "b", "width": 3}


def test_constraints_hold_for_every_evaluation(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=12, constraints=["flops <= 4"])
    cands = [Candidate.from_dict(r["candidate"]) for r in read_journal(out)[1]]
    assert len(cands) == 12
    assert tiny_bench.space.feasible(cands, ["flops <= 4"]).all()
    (stored,) = read_journal(out)[0]["config"]["constraints"]
    assert Constraint.parse(stored) == Constraint.parse("flops <= 4")


def test_budget_in_simulated_seconds(tiny_bench):
    study = Study(
        tiny_bench,
        RandomSearch(tiny_bench.space, objective="acc", seed=5),
        Budget(seconds=60.0),
        progress=False,
    )
    result = study.run()
    costs = [r.cost for _, r in study.optimizer.history]
    assert result.total_cost == pytest.approx(sum(costs)) and result.total_cost >= 60.0
    assert sum(costs[:-1]) < 60.0  # it stopped right after crossing the budget


# --------------------------------------------------------------------------- #
# Resume
# --------------------------------------------------------------------------- #


def test_resume_after_a_complete_run_replays_everything(tiny_bench, tmp_path):
    out = tmp_path / "run"
    first, r1 = run(tiny_bench, out, budget=20, seed=6)
    journal = (out / JOURNAL_NAME).read_bytes()
    second, r2 = run(tiny_bench, out, budget=20, seed=6)
    assert r2.replayed == 20 and r2.evaluated_now == 0 and r2.n_evaluations == 20
    assert (out / JOURNAL_NAME).read_bytes() == journal
    # the journal covers the whole budget: read back without asking or telling the optimizer
    assert history_keys(second) == [] and [t.candidate.key for t in second.trials] == history_keys(first)
    assert r2.trajectory == r1.trajectory
    assert r2.best_candidate == r1.best_candidate
    assert r2.best_result.metrics == r1.best_result.metrics
    summary = json.loads((out / SUMMARY_NAME).read_text())
    assert summary["replayed_from_journal"] == 20 and summary["evaluated_in_this_run"] == 0


def test_budget_growth_continues_the_search(tiny_bench, tmp_path, reference):
    out = tmp_path / "grown"
    _, r1 = run(tiny_bench, out, budget=10)
    _, r2 = run(tiny_bench, out, budget=25)
    assert (r1.evaluated_now, r2.replayed, r2.evaluated_now) == (10, 10, 15)
    _, evals = read_journal(out)
    assert [r["n"] for r in evals] == list(range(1, 26))
    assert eval_keys(out) == reference
    assert len(set(reference)) == 25


def test_smaller_budget_keeps_the_rest_of_the_journal(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=12)
    before = (out / JOURNAL_NAME).read_bytes()
    with pytest.warns(JournalWarning, match="beyond this run's budget"):
        _, result = run(tiny_bench, out, budget=5)
    assert result.n_evaluations == 5 and result.replayed == 5 and result.evaluated_now == 0
    assert (out / JOURNAL_NAME).read_bytes() == before


@pytest.mark.parametrize("cut", [1, 40, "newline-only"])
def test_truncated_last_line_is_dropped_with_a_warning(tiny_bench, tmp_path, reference, cut):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=10)
    path = out / JOURNAL_NAME
    data = path.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    if cut == "newline-only":  # only the newline of the last record survived, plus half of a new one
        path.write_bytes(data + b'{"candidate": {"arch": {"op1"')
    else:  # the last record was cut off mid-write
        path.write_bytes(data[: last_start + cut])
    with pytest.warns(JournalWarning, match="truncated last line"):
        _, result = run(tiny_bench, out, budget=25)
    expect_replayed = 10 if cut == "newline-only" else 9
    assert result.replayed == expect_replayed and result.evaluated_now == 25 - expect_replayed
    _, evals = read_journal(out)  # every line parses again
    assert [r["n"] for r in evals] == list(range(1, 26))
    assert eval_keys(out) == reference


def test_header_only_journal_resumes(tiny_bench, tmp_path, reference):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=10)
    path = out / JOURNAL_NAME
    path.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n")
    _, result = run(tiny_bench, out, budget=25)
    assert result.replayed == 0 and result.evaluated_now == 25
    assert eval_keys(out) == reference


def test_empty_journal_file_starts_afresh(tiny_bench, tmp_path, reference):
    out = tmp_path / "run"
    out.mkdir()
    (out / JOURNAL_NAME).write_bytes(b"")
    _, result = run(tiny_bench, out, budget=25)
    assert result.evaluated_now == 25 and eval_keys(out) == reference


def test_half_written_header_starts_afresh(tiny_bench, tmp_path, reference):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=10)
    path = out / JOURNAL_NAME
    path.write_bytes(path.read_bytes()[:100])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JournalWarning)
        _, result = run(tiny_bench, out, budget=25)
    assert result.evaluated_now == 25 and eval_keys(out) == reference


def test_last_record_without_newline_stays_readable(tiny_bench, tmp_path, reference):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=10)
    path = out / JOURNAL_NAME
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    _, result = run(tiny_bench, out, budget=25)
    assert result.replayed == 10
    assert eval_keys(out) == reference  # every line must parse


# --------------------------------------------------------------------------- #
# Journals that must be refused
# --------------------------------------------------------------------------- #


def corrupt_line(path: Path, index: int, text: bytes) -> bytes:
    lines = path.read_bytes().split(b"\n")
    lines[index] = text
    data = b"\n".join(lines)
    path.write_bytes(data)
    return data


def test_corrupt_middle_line_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=10)
    path = out / JOURNAL_NAME
    data = corrupt_line(path, 4, b'{"type": "eval", "n": 4, "cand')
    with pytest.raises(JournalError, match="line 5 is corrupt") as info:
        run(tiny_bench, out, budget=10)
    assert info.value.hint
    assert path.read_bytes() == data  # nothing was repaired or appended


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b"[1, 2, 3]", id="json-array"),
        pytest.param(b"42", id="json-number"),
        pytest.param(b'{"type": "eval", "n": 4}', id="record-without-candidate"),
    ],
)
def test_malformed_middle_record_is_refused(tiny_bench, tmp_path, text):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=10)
    corrupt_line(out / JOURNAL_NAME, 4, text)
    with pytest.raises(JournalError):
        run(tiny_bench, out, budget=10)


def test_file_without_header_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / JOURNAL_NAME).write_text('{"type": "eval", "n": 1}\n')
    with pytest.raises(JournalError, match="no header"):
        run(tiny_bench, out, budget=5)


def test_journal_of_another_seed_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=8, seed=0)
    before = (out / JOURNAL_NAME).read_bytes()
    with pytest.raises(JournalError, match="seed: journal has 0, now 1"):
        run(tiny_bench, out, budget=8, seed=1)
    assert (out / JOURNAL_NAME).read_bytes() == before


def test_journal_of_other_optimizer_settings_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=8)
    with pytest.raises(
        JournalError, match="optimizer.settings.fixed_recipe: journal has None, now \\{'epochs': 200\\}"
    ) as info:
        run(tiny_bench, out, budget=8, fixed_recipe={"epochs": 200})
    assert "seed:" not in str(info.value)  # only what differs is named
    with pytest.raises(JournalError, match="constraints: journal has \\[\\], now \\['flops <= 4"):
        run(tiny_bench, out, budget=8, constraints=["flops <= 4"])


def test_journal_of_a_slightly_other_constraint_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=8, constraints=["flops <= 12"])
    with pytest.raises(JournalError, match="constraints"):
        run(tiny_bench, out, budget=8, constraints=["flops <= 12.0000001"])


def test_journal_of_another_objective_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=8)
    other = TabularBenchmark("tiny", tiny_bench.space, tiny_bench.rows, tiny_bench.columns, objective="loss")
    with pytest.raises(JournalError, match="evaluator.objective: journal has 'acc', now 'loss'"):
        run(other, out, budget=8)


def test_journal_of_another_version_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=4)
    path = out / JOURNAL_NAME
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["version"] = 99
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(JournalError, match="format 99"):
        run(tiny_bench, out, budget=4)


def test_replay_that_diverges_from_the_journal_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=6)
    path = out / JOURNAL_NAME
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["candidate"]["arch"]["width"] = 5 - record["candidate"]["arch"]["width"]  # another candidate
    lines[3] = json.dumps(record)
    path.write_text("\n".join(reseal(lines)) + "\n")  # as other code writing valid journals would
    # re-opened with its own budget, the finished search is read as journaled (the optimizer is not asked);
    # once the optimizer must go on, it replays the journal and the divergence is refused
    _, finished = run(tiny_bench, out, budget=6)
    assert finished.replayed == 6 and finished.evaluated_now == 0
    with pytest.raises(JournalError, match="journal entry 3 holds"):
        run(tiny_bench, out, budget=7)


def reseal(lines: list[str]) -> list[str]:
    """The lines with their hash chain recomputed (a journal written by other code, not edited)."""
    previous, sealed = "", []
    for line in lines:
        record = json.loads(line)
        record[CHECK_FIELD] = previous = chain_check(previous, record)
        sealed.append(json.dumps(record, sort_keys=True))
    return sealed


def edited(path: Path, index: int, change) -> None:
    lines = path.read_text().splitlines()
    record = json.loads(lines[index])
    change(record)
    lines[index] = json.dumps(record, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("where", ["metric", "header", "removed-line", "cut-and-extended"])
def test_an_edited_journal_line_is_refused_naming_the_line(tiny_bench, tmp_path, where):
    """Valid JSON is not enough: an edited, removed or cut-and-rewritten line breaks the hash chain."""
    out = tmp_path / "run"
    run(tiny_bench, out, budget=6)
    path = out / JOURNAL_NAME
    if where == "metric":  # a better accuracy written in by hand
        edited(path, 3, lambda r: r["result"]["metrics"].update(acc=r["result"]["metrics"]["acc"] + 1))
        line = 4
    elif where == "header":  # the seed changed by hand, to resume the search with another seed
        edited(path, 0, lambda r: r["config"].update(seed=1))
        line = 1
    elif where == "removed-line":
        lines = path.read_text().splitlines()
        path.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
        line = 3
    else:  # the file cut inside line 4, then records appended to it by other means
        lines = path.read_text().splitlines()
        record = json.loads(lines[3])
        record.pop(CHECK_FIELD)
        path.write_text("\n".join([*lines[:3], json.dumps(record), *lines[4:]]) + "\n")
        line = 4
    before = path.read_bytes()
    with pytest.raises(JournalError, match=f"journal.jsonl line {line} ") as info:
        run(tiny_bench, out, budget=8, seed=1 if where == "header" else 0)
    assert "move it away" in info.value.hint
    assert path.read_bytes() == before  # nothing appended


def test_a_journal_without_checks_replays_with_a_warning_and_is_checked_from_then_on(tiny_bench, tmp_path, reference):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=10)
    path = out / JOURNAL_NAME
    old = []  # as an older nars wrote it
    for line in path.read_text().splitlines():
        record = json.loads(line)
        record.pop(CHECK_FIELD)
        old.append(json.dumps(record, sort_keys=True))
    path.write_text("\n".join(old) + "\n")
    with pytest.warns(JournalWarning, match="11 line\\(s\\) were written without checks"):
        _, result = run(tiny_bench, out, budget=25)
    assert result.replayed == 10 and eval_keys(out) == reference
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(CHECK_FIELD not in r for r in records[:11]) and all(CHECK_FIELD in r for r in records[11:])
    edited(path, 15, lambda r: r.update(time=0.0))  # a checked line of the same journal edited
    with pytest.raises(JournalError, match="line 16 fails its integrity check"):
        run(tiny_bench, out, budget=25)


def test_second_process_on_the_same_folder_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    lock = FolderLock(out)
    lock.acquire()
    try:
        with pytest.raises(JournalError, match="another process is running a search in") as info:
            run(tiny_bench, out, budget=5)
        assert "another storage= folder" in (info.value.hint or "")  # Python's words (nars says --out)
        assert not (out / JOURNAL_NAME).exists()
        second = FolderLock(out)
        with pytest.raises(JournalError):
            second.acquire()
    finally:
        lock.release()
    _, result = run(tiny_bench, out, budget=5)  # free again
    assert result.evaluated_now == 5


def test_lock_is_released_when_the_journal_is_refused(tiny_bench, tmp_path):
    out = tmp_path / "run"
    run(tiny_bench, out, budget=4, seed=0)
    with pytest.raises(JournalError):
        run(tiny_bench, out, budget=4, seed=9)
    lock = FolderLock(out)
    lock.acquire()  # would raise if the refused study still held it
    lock.release()


# --------------------------------------------------------------------------- #
# Failing evaluations
# --------------------------------------------------------------------------- #


class Flaky(Evaluator):
    """The tiny benchmark, except that op1 = "c" raises, op2 = "b" gives NaN and width 4 loses the metric.

    Those are exactly where the best candidates are, so a failure taken for a success would win.
    """

    name = "flaky"

    def __init__(self, bench: TabularBenchmark) -> None:
        self.bench = bench
        self.space = bench.space
        self.objective = bench.objective
        self.calls = 0

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        self.calls += 1
        if cand.arch["op1"] == "c":
            raise RuntimeError(f"boom on {cand.arch['op1']}")
        result = self.bench.evaluate(cand, fidelity)
        if cand.arch["op2"] == "b":
            result.metrics["acc"] = math.nan
        elif cand.arch["width"] == 4:
            result.metrics = {"loss": result.metrics["loss"]}
        return result


def test_failed_evaluations_are_recorded_and_never_best(tiny_bench, tmp_path):
    out = tmp_path / "run"
    flaky = Flaky(tiny_bench)
    study = Study(
        flaky, RandomSearch(tiny_bench.space, objective="acc", seed=3), Budget(queries=60), out, progress=False
    )
    result = study.run()
    assert result.n_evaluations == 60 and flaky.calls == 60  # the search went on after failures

    _, evals = read_journal(out)
    failed = [r for r in evals if r["result"]["status"] == "failed"]
    ok = [r for r in evals if r["result"]["status"] == "ok"]
    assert len(failed) + len(ok) == 60 and failed and ok
    errors = {r["result"]["error"] for r in failed}
    assert any(e.startswith("RuntimeError: boom") for e in errors)
    assert any("not finite" in e for e in errors)
    for r in failed:
        cand = r["candidate"]["arch"]
        assert cand["op1"] == "c" or cand["op2"] == "b" or cand["width"] == 4
    for r in ok:
        assert math.isfinite(r["result"]["metrics"]["acc"])

    best = result.best_candidate
    assert best.arch["op1"] != "c" and best.arch["op2"] != "b" and best.arch["width"] != 4
    assert result.best_result.ok
    assert result.best_result.metrics["acc"] == max(r["result"]["metrics"]["acc"] for r in ok)
    summary = json.loads((out / SUMMARY_NAME).read_text())
    assert summary["failed"] == len(failed)
    assert summary["best"]["objective"] == result.best_result.metrics["acc"]
    points = result.trajectory
    assert all(math.isnan(p.objective) for p in points if p.status == "failed")
    first_ok = next(i for i, p in enumerate(points) if p.status == "ok")
    incumbent = [p.best_objective for p in points[first_ok:]]
    assert all(math.isfinite(v) for v in incumbent) and incumbent == sorted(incumbent)

    # failures are replayed from the journal like successes: nothing is evaluated again
    again = Flaky(tiny_bench)
    r2 = Study(
        again, RandomSearch(tiny_bench.space, objective="acc", seed=3), Budget(queries=60), out, progress=False
    ).run()
    assert again.calls == 0 and r2.replayed == 60 and r2.best_candidate == best


def test_study_of_only_failures_has_no_best(tiny_bench):
    class Broken(Flaky):
        def evaluate(self, cand, fidelity=None):
            raise ValueError("no GPU")

    study = Study(
        Broken(tiny_bench), RandomSearch(tiny_bench.space, objective="acc"), Budget(queries=5), progress=False
    )
    result = study.run()
    assert result.n_evaluations == 5 and result.best_candidate is None and result.best_result is None
    assert all(p.status == "failed" for p in result.trajectory)
    assert math.isnan(result.best_after(5))
    assert study.summary(result)["best"] is None


def test_best_after_follows_the_trajectory(tiny_bench):
    study = make_study(tiny_bench, None, budget=30, seed=8)
    result = study.run()
    values = [r.metrics["acc"] for _, r in study.optimizer.history]
    for q in (1, 5, 17, 30):
        assert result.best_after(q) == max(values[:q])
    assert math.isnan(result.best_after(0))
    assert np.all(np.diff([result.best_after(q) for q in range(1, 31)]) >= 0)
