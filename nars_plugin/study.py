"""The ask/tell search loop, its budget, its journal and resume.

A :class:`Study` runs one optimizer against one evaluator until the budget
(evaluations and/or simulated GPU-seconds) is spent. Every evaluation is
appended to ``OUT/journal.jsonl`` (one JSON line, flushed and fsynced) before
the optimizer hears of it. Started again on the same folder, the study
*replays* the journal: it asks the optimizer again, answers each proposal from
the journal instead of evaluating it, checks that the proposals match, and
carries on from the first unanswered one. Optimizers are deterministic given
their seed and what they were told, so a killed search ends with the same
result as an uninterrupted one and nothing is evaluated twice.

Files in ``OUT``: ``journal.jsonl``, ``summary.json`` (best candidate, its
metrics and the whole trajectory), ``trajectory.csv`` and a ``.lock`` that
keeps a second process off the same folder (the journal and the lock live in
:mod:`nars_plugin.storage`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import sys
import time
import warnings
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, JournalError
from .evaluation import Evaluator, Result
from .isolation import TimedEvaluator, accepts_timeout, call_evaluator, failed_by, load_pending, log_evaluation
from .optimizers.base import Budget, Optimizer, Proposal
from .safe_files import atomic_write
from .space import Candidate
from .storage import (
    JOURNAL_NAME,
    JOURNAL_VERSION,
    PENDING_NAME,
    SUMMARY_NAME,
    TRAJECTORY_NAME,
    FolderLock,
    Journal,
    JournalWarning,
    jsonable,
)

#: Stop when an optimizer proposes only already-evaluated candidates this many times in a row.
MAX_REPEATED_PROPOSALS = 10_000


@dataclass
class TrajectoryPoint:
    """The state of a study after one evaluation."""

    n: int
    cost: float
    objective: float
    best_objective: float
    best_report: float
    fidelity: int | None
    status: str


@dataclass
class StudyResult:
    """What a finished study found."""

    best_candidate: Candidate | None
    best_result: Result | None
    trajectory: list[TrajectoryPoint] = field(default_factory=list)
    n_evaluations: int = 0
    total_cost: float = 0.0
    replayed: int = 0
    evaluated_now: int = 0
    recovered: int = 0  # results a killed run's evaluation worker had finished but not journaled

    def best_after(self, queries: int) -> float:
        """The reported metric of the incumbent after ``queries`` evaluations (nan before any)."""
        value = math.nan
        for point in self.trajectory:
            if point.n > queries:
                break
            value = point.best_report
        return value


class Study:
    """Runs ``optimizer`` against ``evaluator`` within ``budget``.

    Args:
        evaluator: answers proposals (a tabular benchmark or a trainer).
        optimizer: proposes candidates (ask/tell).
        budget: evaluations and/or simulated seconds.
        out_dir: folder for journal and results; None keeps everything in memory.
        config: extra identity for the journal header (e.g. CLI options).
        progress: show a progress bar (None: only on a terminal).
        eval_timeout: seconds one evaluation may take; evaluations then run in a worker process
            that is killed past the limit, and the candidate is recorded as failed. None (default)
            evaluates in this process with no limit (the fast path for tabular benchmarks).
    """

    def __init__(
        self,
        evaluator: Evaluator,
        optimizer: Optimizer,
        budget: Budget,
        out_dir: str | os.PathLike[str] | None = None,
        config: Mapping[str, Any] | None = None,
        progress: bool | None = None,
        eval_timeout: float | None = None,
    ) -> None:
        if eval_timeout is not None and not (isinstance(eval_timeout, (int, float)) and 0 < eval_timeout < math.inf):
            raise ConfigError(f"eval_timeout must be a positive number of seconds, got {eval_timeout!r}", "e.g. 600")
        self.eval_timeout = eval_timeout
        self._timed: TimedEvaluator | None = None
        self._token_prefix: str | None = None
        self.evaluator = evaluator
        self.optimizer = optimizer
        self.budget = budget
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.extra_config = dict(config or {})
        self.progress = progress
        self.report_metric = getattr(evaluator, "report", evaluator.objective)

    def identity(self) -> dict[str, Any]:
        """What must match for a journal to be resumed (the budget may grow)."""
        space = self.optimizer.space
        return {
            "evaluator": self.evaluator.config(),
            "space": {"name": space.name, "params": [p.describe() + f" {p.name}" for p in space.params]},
            "optimizer": {"name": self.optimizer.name, "settings": self.optimizer.settings()},
            "seed": self.optimizer.seed,
            "constraints": [str(c) for c in self.optimizer.constraints],
            **self.extra_config,
        }

    def pending_token(self, journaled: int) -> str:
        """Names the evaluation after ``journaled`` journal records of this configuration (pending file)."""
        if self._token_prefix is None:
            text = json.dumps(jsonable(self.identity()), sort_keys=True)
            self._token_prefix = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        return f"{self._token_prefix}:{journaled}"

    def _evaluate(self, proposal: Proposal, journaled: int) -> tuple[Result, bool]:
        """The result of a proposal, and whether it was recovered from a killed run's worker."""
        recovered = False
        if self.eval_timeout is not None:
            pending = self.out_dir / PENDING_NAME if self.out_dir is not None else None
            token = self.pending_token(journaled)
            saved = load_pending(pending, token, proposal.candidate, proposal.fidelity) if pending else None
            if saved is not None:
                result, recovered = saved, True
            else:
                if self._timed is None:
                    self._timed = TimedEvaluator(self.evaluator, self.eval_timeout, pending)
                result = self._timed.evaluate(proposal.candidate, proposal.fidelity, token)
        else:
            result = call_evaluator(self.evaluator, proposal.candidate, proposal.fidelity)
        return self._checked(result), recovered

    def _checked(self, result: Result) -> Result:
        """A result whose objective is missing or not finite, turned into a failed one."""
        if result.ok and not math.isfinite(result.objective(self.evaluator.objective)):
            value = result.metrics.get(self.evaluator.objective)
            what = "missing" if value is None else f"not finite ({value})"
            return Result.failed(f"objective {self.evaluator.objective!r} is {what}", cost=result.cost)
        return result

    @property
    def parallel(self) -> int:
        """Proposals evaluated side by side: the evaluator's ``parallel`` attribute (default 1)."""
        return max(1, int(getattr(self.evaluator, "parallel", 1) or 1))

    def _next_batch(self, done: int) -> list[Proposal]:
        if self.parallel == 1:
            return [self.optimizer.ask()]
        left = self.budget.queries - done if self.budget.queries is not None else self.parallel
        return self.optimizer.ask_batch(max(1, min(self.parallel, left)))

    def _evaluate_ahead(
        self, batch: list[Proposal], cache: Mapping[tuple[str, int | None], Result], replayable: int
    ) -> dict[tuple[str, int | None], Result]:
        """Evaluate together the proposals of a batch that neither the cache nor the journal answers."""
        if len(batch) < 2 or (self.eval_timeout is not None and not accepts_timeout(self.evaluator)):
            return {}  # with a limit the evaluator cannot enforce, each proposal goes through _evaluate
        todo: dict[tuple[str, int | None], Proposal] = {}
        seen: set[tuple[str, int | None]] = set()
        for proposal in batch:
            key = (proposal.candidate.key, proposal.fidelity)
            if key in cache or key in seen:
                continue
            seen.add(key)
            if replayable > 0:
                replayable -= 1
                continue
            todo[key] = proposal
        answers: dict[tuple[str, int | None], Result] = {}
        for fidelity in dict.fromkeys(p.fidelity for p in todo.values()):
            group = [p for p in todo.values() if p.fidelity == fidelity]
            try:
                limit = {"timeout": self.eval_timeout} if self.eval_timeout is not None else {}
                results = self.evaluator.evaluate_many([p.candidate for p in group], fidelity, **limit)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001 - a failing evaluation must not end the search
                results = [failed_by(exc) for _ in group]
            for proposal, result in zip(group, results):
                log_evaluation(proposal.candidate, fidelity, result)
                answers[(proposal.candidate.key, fidelity)] = self._checked(result)
        return answers

    def run(self) -> StudyResult:
        """Run (or resume) the study to the end of its budget."""
        journal = lock = None
        pending: deque[dict[str, Any]] = deque()
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            lock = FolderLock(self.out_dir)
            lock.acquire()
            journal = Journal(self.out_dir / JOURNAL_NAME)
            header = {"type": "header", "version": JOURNAL_VERSION, "config": jsonable(self.identity())}
            try:
                pending.extend(journal.open(header))
            except BaseException:
                lock.release()
                raise
        try:
            result = self._loop(journal, pending)
        finally:
            if self._timed is not None:
                self._timed.close()
                self._timed = None
            if journal is not None:
                journal.close()
            if lock is not None:
                lock.release()
        if self.out_dir is not None:
            (self.out_dir / PENDING_NAME).unlink(missing_ok=True)  # everything it could hold is journaled
            self.write_outputs(result)
        return result

    def _loop(self, journal: Journal | None, pending: deque[dict[str, Any]]) -> StudyResult:
        opt, budget = self.optimizer, self.budget
        cache: dict[tuple[str, int | None], Result] = {}
        out = StudyResult(None, None)
        best_value = -math.inf
        repeats = 0
        bar = _progress_bar(budget, self.progress, len(pending))
        started = time.time()
        batch: deque[Proposal] = deque()
        ahead: dict[tuple[str, int | None], Result] = {}
        try:
            while batch or (not budget.exhausted(out.n_evaluations, out.total_cost) and not opt.finished):
                if not batch:
                    batch.extend(self._next_batch(out.n_evaluations))
                    ahead = self._evaluate_ahead(list(batch), cache, len(pending))
                proposal = batch.popleft()
                key = (proposal.candidate.key, proposal.fidelity)
                if key in cache and not proposal.reevaluate:
                    repeats += 1
                    if repeats > MAX_REPEATED_PROPOSALS:
                        warnings.warn(
                            f"{opt.name} proposed only evaluated candidates {repeats} times in a row; stopping",
                            stacklevel=2,
                        )
                        break
                    opt.tell(proposal, cache[key])
                    continue
                repeats = 0
                if pending:
                    record = pending.popleft()
                    expected = (Candidate.from_dict(record["candidate"]).key, record.get("fidelity"))
                    if expected != key:
                        raise JournalError(
                            f"journal entry {record.get('n')} holds {record['candidate']} but the optimizer now "
                            f"proposes {proposal.candidate.to_dict()}: the journal was written by other code "
                            "or settings",
                            "resume with the same version and options, or choose another --out folder",
                        )
                    result = Result.from_dict(record["result"])
                    out.replayed += 1
                else:
                    if key in ahead:  # evaluated side by side with the rest of its batch
                        result, recovered = ahead.pop(key), False
                    else:
                        result, recovered = self._evaluate(proposal, out.n_evaluations)
                    out.recovered += recovered
                    out.evaluated_now += not recovered
                    if journal is not None:
                        journal.append(
                            {
                                "type": "eval",
                                "n": out.n_evaluations + 1,
                                "candidate": proposal.candidate.to_dict(),
                                "fidelity": proposal.fidelity,
                                "result": result.to_dict(),
                                "time": round(time.time() - started, 3),
                            }
                        )
                cache[key] = result
                out.n_evaluations += 1
                out.total_cost += result.cost
                value = result.objective(self.evaluator.objective)
                if opt.is_full(proposal, result) and value > best_value:
                    best_value = value
                    out.best_candidate, out.best_result = proposal.candidate, result
                best_report = out.best_result.metrics.get(self.report_metric, math.nan) if out.best_result else math.nan
                out.trajectory.append(
                    TrajectoryPoint(
                        n=out.n_evaluations,
                        cost=out.total_cost,
                        objective=value if math.isfinite(value) else math.nan,
                        best_objective=best_value if math.isfinite(best_value) else math.nan,
                        best_report=float(best_report),
                        fidelity=result.fidelity,
                        status=result.status,
                    )
                )
                opt.tell(proposal, result)
                if bar is not None:
                    bar.update(1 if budget.queries is not None else result.cost)
                    bar.set_postfix(best=f"{best_value:.4g}", refresh=False)
        finally:
            if bar is not None:
                bar.close()
        if pending:
            warnings.warn(
                f"{len(pending)} journal entries lie beyond this run's budget; they are kept in the journal",
                JournalWarning,
                stacklevel=2,
            )
        return out

    def summary(self, result: StudyResult) -> dict[str, Any]:
        """The JSON summary of a finished study."""
        space = self.optimizer.space
        best = None
        if result.best_candidate is not None and result.best_result is not None:
            best = {
                "candidate": result.best_candidate.to_dict(),
                "arch": space.format_arch(result.best_candidate),
                "objective": result.best_result.metrics.get(self.evaluator.objective),
                "report": result.best_result.metrics.get(self.report_metric),
                "metrics": result.best_result.metrics,
            }
        return jsonable(
            {
                "config": self.identity(),
                "budget": {"queries": self.budget.queries, "seconds": self.budget.seconds},
                "objective": self.evaluator.objective,
                "report_metric": self.report_metric,
                "best": best,
                "n_evaluations": result.n_evaluations,
                "total_cost": result.total_cost,
                "failed": sum(p.status != "ok" for p in result.trajectory),
                "replayed_from_journal": result.replayed,
                "evaluated_in_this_run": result.evaluated_now,
                "recovered_from_killed_worker": result.recovered,
                "optimizer_report": self.optimizer.report(),
                "trajectory": [p.__dict__ for p in result.trajectory],
            }
        )

    def write_outputs(self, result: StudyResult) -> None:
        """Write ``summary.json`` and ``trajectory.csv`` atomically into the output folder."""
        assert self.out_dir is not None
        atomic_write(self.out_dir / SUMMARY_NAME, json.dumps(self.summary(result), indent=2, sort_keys=True) + "\n")
        table = io.StringIO(newline="")
        writer = csv.DictWriter(table, fieldnames=list(TrajectoryPoint.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(p.__dict__ for p in result.trajectory)
        atomic_write(self.out_dir / TRAJECTORY_NAME, table.getvalue())


def _progress_bar(budget: Budget, enabled: bool | None, replay: int) -> Any:
    if enabled is False:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    total = budget.queries if budget.queries is not None else budget.seconds
    unit = "eval" if budget.queries is not None else "s"
    desc = "search" if not replay else f"search (replaying {replay})"
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, disable=None if enabled is None else False)
