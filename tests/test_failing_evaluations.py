"""Evaluations that raise, hang or return NaN: the search goes on, records why, and never picks them.

The evaluator under test is :class:`Unreliable`, a real evaluator that answers from the tiny tabular
benchmark of ``conftest.py`` but, for fixed groups of candidates, raises, sleeps for an hour or
returns NaN / infinity. Hangs are stopped by the study's per-evaluation time limit.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from helpers import QUICK

from nars_plugin._isolation import EVALUATION_LOG_ENV, TimedEvaluator
from nars_plugin.budget import Budget
from nars_plugin.errors import ConfigError
from nars_plugin.evaluation import Evaluator, Result
from nars_plugin.plugins import get_registry
from nars_plugin.settings import RunContext
from nars_plugin.space import Candidate
from nars_plugin.study import JOURNAL_NAME, Study

# the quick predictor: these tests are about failing evaluations, not what the predictor learns
OPTIMIZER_SETTINGS = {"nars": QUICK["nars"], "bananas": {**QUICK["bananas"], "num_candidates": 20}}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The predictors of bananas and nars are tiny: one thread is much faster on a shared machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def failure_kind(cand: Candidate) -> str | None:
    """Which way the evaluation of ``cand`` fails (None: it succeeds)."""
    arch = cand.arch
    if arch["op1"] == "c" and arch["width"] == 3:
        return "raise"  # holds the best candidate (c, b, 3, 200): a search must not end up there
    if arch["op2"] == "b" and arch["width"] == 4:
        return "nan"
    if arch["op2"] == "c" and arch["width"] == 4:
        return "inf"
    if arch["op1"] == "b" and arch["op2"] == "a" and arch["width"] == 1:
        return "hang"
    return None


class Unreliable(Evaluator):
    """The tiny benchmark, except for the candidates :func:`failure_kind` names."""

    name = "unreliable"

    def __init__(self, bench) -> None:
        self.bench = bench
        self.space = bench.space
        self.objective = bench.objective
        self.report = bench.report

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        kind = failure_kind(cand)
        if kind == "raise":
            raise RuntimeError(f"CUDA out of memory for width {cand.arch['width']}")
        if kind == "hang":
            time.sleep(3600)
        result = self.bench.evaluate(cand, fidelity)
        if kind in ("nan", "inf"):
            result.metrics[self.objective] = math.nan if kind == "nan" else math.inf
        return result


def eval_records(out: Path) -> list[dict]:
    lines = (out / JOURNAL_NAME).read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "eval"]


@pytest.mark.parametrize("optimizer", ["rs", "rea", "ls", "bananas", "nars"])
def test_search_survives_raising_hanging_and_nan_evaluations(tiny_bench, tmp_path, monkeypatch, optimizer):
    log = tmp_path / "evaluations.log"
    monkeypatch.setenv(EVALUATION_LOG_ENV, str(log))
    out = tmp_path / "run"
    budget = 40

    def study() -> Study:
        opt = get_registry().create_optimizer(
            optimizer,
            tiny_bench.space,
            RunContext(objective="acc", seed=1, budget=Budget(queries=budget)),
            OPTIMIZER_SETTINGS.get(optimizer, {}),
        )
        return Study(Unreliable(tiny_bench), opt, Budget(queries=budget), out, progress=False, eval_timeout=0.5)

    result = study().run()
    assert result.n_evaluations == budget  # the search went on after every failure
    records = eval_records(out)
    by_kind: dict[str, list[dict]] = {}
    for r in records:
        kind = failure_kind(Candidate.from_dict(r["candidate"]))
        by_kind.setdefault(kind or "ok", []).append(r)
        assert (r["result"]["status"] == "ok") == (kind is None), r
    reasons = {
        "raise": "RuntimeError: CUDA out of memory",
        "nan": "objective 'acc' is not finite (nan)",
        "inf": "objective 'acc' is not finite (inf)",
        "hang": "timed out: no result after 0.5 s",
    }
    for kind, group in by_kind.items():
        if kind != "ok":
            assert all(r["result"]["error"].startswith(reasons[kind]) for r in group), group
    assert len(by_kind) >= 3, f"too few kinds of failure exercised: {sorted(by_kind)}"

    best = result.best_candidate
    assert best is not None and failure_kind(best) is None and result.best_result.ok
    assert result.best_result.metrics["acc"] == max(r["result"]["metrics"]["acc"] for r in by_kind["ok"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == budget - len(by_kind["ok"])
    # every evaluation ran exactly once (hangs were killed before they could log); resume reruns none
    ran = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(ran) == budget - len(by_kind.get("hang", []))
    again = study().run()
    assert again.replayed == budget and again.evaluated_now == 0
    assert len(log.read_text().splitlines()) == len(ran)
    assert again.best_candidate == best


@pytest.mark.parametrize("optimizer", ["rea", "ls"])
def test_failed_candidates_are_never_parents(tiny_bench, optimizer):
    """Drive the optimizer by hand; every mutant's parent (REA) / climbing point (LS) succeeded."""
    setting = {"population": 4} if optimizer == "rea" else {"init": 4}
    opt = get_registry().create_optimizer(optimizer, tiny_bench.space, RunContext(objective="acc", seed=5), setting)
    evaluator = Unreliable(tiny_bench)
    failed: set[str] = set()
    parents = 0
    for _ in range(60):
        proposal = opt.ask()
        parent = opt.last_parent if optimizer == "rea" else (opt.current[0] if opt.current else None)
        if parent is not None:
            parents += 1
            assert parent.key not in failed, f"{optimizer} used a failed candidate as a parent"
        if failure_kind(proposal.candidate) in ("raise", "nan", "inf", "hang"):
            result = Result.failed("fails on purpose")
            failed.add(proposal.candidate.key)
        else:
            result = evaluator.evaluate(proposal.candidate)
        opt.tell(proposal, result)
    assert parents > 10 and failed


def test_rea_with_only_failed_members_proposes_random_candidates(tiny_bench):
    opt = get_registry().create_optimizer(
        "rea", tiny_bench.space, RunContext(objective="acc", seed=2), {"population": 3, "tournament": 3}
    )
    for _ in range(3):
        proposal = opt.ask()
        opt.tell(proposal, Result.failed("no GPU"))
    for _ in range(5):
        proposal = opt.ask()
        assert opt.last_parent is None
        opt.tell(proposal, Result.failed("no GPU"))


def test_hanging_evaluations_are_stopped_at_the_time_limit(tiny_bench, tmp_path):
    class Hanging(Unreliable):
        def evaluate(self, cand, fidelity=None):
            time.sleep(3600)

    opt = get_registry().create_optimizer("rs", tiny_bench.space, RunContext(objective="acc", seed=0))
    started = time.monotonic()
    result = Study(Hanging(tiny_bench), opt, Budget(queries=3), tmp_path / "run", eval_timeout=0.3).run()
    elapsed = time.monotonic() - started
    assert result.n_evaluations == 3 and result.best_candidate is None
    assert [p.status for p in result.trajectory] == ["failed"] * 3
    assert all(r["result"]["error"].startswith("timed out") for r in eval_records(tmp_path / "run"))
    assert elapsed < 30, f"three 0.3 s time limits took {elapsed:.1f} s"


def test_timed_evaluator_restarts_after_a_crash(tiny_bench):
    class Crashing(Unreliable):
        def evaluate(self, cand, fidelity=None):
            if cand.arch["width"] == 2:
                import os

                os._exit(3)  # the worker dies, as when killed for memory
            return self.bench.evaluate(cand, fidelity)

    timed = TimedEvaluator(Crashing(tiny_bench), timeout=30)
    space = tiny_bench.space
    try:
        ok = timed.evaluate(space.candidate({"op1": "a", "op2": "a", "width": 1}, {"epochs": 12}))
        dead = timed.evaluate(space.candidate({"op1": "a", "op2": "a", "width": 2}, {"epochs": 12}))
        again = timed.evaluate(space.candidate({"op1": "c", "op2": "b", "width": 3}, {"epochs": 200}))
    finally:
        timed.close()
    assert (
        ok.ok
        and ok.metrics["acc"]
        == tiny_bench.evaluate(space.candidate({"op1": "a", "op2": "a", "width": 1}, {"epochs": 12})).metrics["acc"]
    )
    assert not dead.ok and dead.error == "the evaluation process died (exit code 3)"
    assert again.ok and again.metrics["acc"] == 100.0 and timed.restarts == 1


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "10"])
def test_bad_eval_timeout_is_refused(tiny_bench, value):
    opt = get_registry().create_optimizer("rs", tiny_bench.space, RunContext(objective="acc"))
    with pytest.raises(ConfigError, match="eval_timeout"):
        Study(tiny_bench, opt, Budget(queries=3), eval_timeout=value)


def test_a_result_finished_by_a_killed_runs_worker_is_not_evaluated_again(tiny_bench, tmp_path, monkeypatch):
    """The worker keeps its result on disk until it is journaled; a resumed study takes it from there."""
    from nars_plugin._isolation import save_pending
    from nars_plugin.study import PENDING_NAME

    log = tmp_path / "evaluations.log"  # evaluations run in the worker: count them there
    monkeypatch.setenv(EVALUATION_LOG_ENV, str(log))

    def evaluations() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    def study(out, budget) -> Study:
        opt = get_registry().create_optimizer(
            "rea", tiny_bench.space, RunContext(objective="acc", seed=4), {"population": 3}
        )
        return Study(tiny_bench, opt, Budget(queries=budget), out, progress=False, eval_timeout=30)

    reference = tmp_path / "reference"
    study(reference, 8).run()
    out = tmp_path / "run"
    study(out, 7).run()  # the killed run had journaled 7 evaluations ...
    eighth = eval_records(reference)[7]  # ... and its worker had finished the eighth
    cand = Candidate.from_dict(eighth["candidate"])
    resumed = study(out, 8)
    save_pending(out / PENDING_NAME, resumed.pending_token(7), cand, None, Result.from_dict(eighth["result"]))
    before = evaluations()
    result = resumed.run()
    assert evaluations() == before and result.recovered == 1 and result.replayed == 7
    strip = [{k: v for k, v in r.items() if k not in ("time", "check")} for r in eval_records(out)]
    assert strip == [{k: v for k, v in r.items() if k not in ("time", "check")} for r in eval_records(reference)]
    assert not (out / PENDING_NAME).exists()

    # a pending result of another position (or configuration) is ignored, not mixed in
    other = tmp_path / "other"
    study(other, 7).run()
    stale = study(other, 8)
    save_pending(other / PENDING_NAME, stale.pending_token(6), cand, None, Result(metrics={"acc": 1e9}))
    before = evaluations()
    result = stale.run()
    assert evaluations() == before + 1 and result.recovered == 0
    assert max(r["result"]["metrics"].get("acc", 0) for r in eval_records(other)) < 1e9
