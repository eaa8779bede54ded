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

A finished search created again with the same budget is not replayed through
the optimizer: when its ``summary.json`` shows that the journal covers the whole
budget (nothing new would be asked), the study reads its trials from the journal
without asking the optimizer, so re-opening costs no predictor fits. The
optimizer hears the journal only if the search is then asked to go on (a larger
budget), and the search continues exactly as an uninterrupted one.

Files in ``OUT``: ``journal.jsonl``, ``summary.json`` (best candidate, its
metrics and the whole trajectory), ``trajectory.csv`` (one row per evaluation:
the incumbent, and the arch and recipe evaluated) and a ``.lock`` that keeps a
second process off the same folder (the journal and the lock live in
:mod:`nars_plugin.storage`).

A proposal whose canonical form was evaluated already (the same candidate, or another encoding
of it) is answered from the study's cache, not evaluated or paid for again; each such answer is
journaled as a ``cached`` line (:data:`~nars_plugin.storage.CACHED`), so an author can count how
often an optimizer proposes what it has seen (``summary.json``'s ``cache_hits``,
:attr:`nars_plugin.api.StudyRecord.cache_hits`). A search without such answers writes none, and
its journal is what it was before these lines existed; a replay journals each answer once.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._isolation import (
    TimedEvaluator,
    accepts_timeout,
    call_evaluator,
    failed_by,
    load_pending,
    load_pending_batch,
    log_evaluation,
    save_pending_batch,
)
from ._progress import Progress
from ._safe_files import atomic_write, output_folder
from .budget import Budget, Spending
from .errors import ConfigError, JournalError, option
from .evaluation import Evaluator, Result
from .optimizers.base import Optimizer, Proposal
from .space import Candidate, Space, Value
from .storage import (
    BATCH_PENDING_NAME,
    CACHED,
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

if TYPE_CHECKING:
    import pandas

#: Stop when an optimizer proposes only already-evaluated candidates this many times in a row.
MAX_REPEATED_PROPOSALS = 10_000


@dataclass
class TrajectoryPoint:
    """The state of a study after one evaluation, and what that evaluation was.

    ``arch`` is the architecture evaluated as its space writes it (``Space.format_arch``), ``recipe``
    its recipe as ``name=value`` pairs joined by commas (empty without a recipe).
    """

    n: int
    cost: float
    objective: float
    best_objective: float
    best_report: float
    fidelity: int | None
    status: str
    arch: str = ""
    recipe: str = ""


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
    cache_hits: int = 0  # proposals answered from the cache: their canonical form was evaluated already

    def best_after(self, queries: int) -> float:
        """The reported metric of the incumbent after ``queries`` evaluations (nan before any)."""
        value = math.nan
        for point in self.trajectory:
            if point.n > queries:
                break
            value = point.best_report
        return value


@dataclass
class Trial:
    """One proposal handed to the caller of :meth:`Study.ask`, to evaluate and :meth:`Study.tell`.

    Attributes:
        number: its place in the journal (1 for the first evaluation).
        candidate: what to evaluate.
        fidelity: epochs to train (None: the full schedule).
        result: the result once told.
    """

    number: int
    candidate: Candidate
    fidelity: int | None
    proposal: Proposal = field(repr=False)
    result: Result | None = None
    #: How the result came: "evaluated" (told by the caller), "replayed" (from the journal),
    #: "recovered" (from a killed run's evaluation worker).
    source: str = "evaluated"
    #: Seconds from the start of the run that journaled it to its journaling (the journal's ``time``).
    elapsed: float | None = None


#: Trial states, named as Optuna names them: a successful full-fidelity evaluation, a failed one, one
#: stopped early (a successful evaluation at reduced fidelity), one asked but not told yet.
COMPLETE, FAIL, PRUNED, RUNNING = "COMPLETE", "FAIL", "PRUNED", "RUNNING"


def is_full(fidelity: int | None, max_fidelity: int | None) -> bool:
    """Whether an evaluation at ``fidelity`` (None: the full schedule) is a full-fidelity one."""
    return fidelity is None or max_fidelity is None or fidelity >= max_fidelity


def trial_fidelity(trial: Trial) -> int | None:
    """The fidelity a trial was evaluated at: its result's where it says, else the one asked for."""
    return trial.result.fidelity if trial.result is not None and trial.result.fidelity is not None else trial.fidelity


class Incumbent:
    """Follows the best full-fidelity result over a sequence of trials and gives the trajectory points.

    One implementation for a running :class:`Study` and a search read back by ``load_study``.
    """

    def __init__(self, objective: str | None, report: str | None, full: Callable[[Trial], bool]) -> None:
        self.objective, self.report, self.full = objective, report, full
        self.value = -math.inf
        self.trial: Trial | None = None
        self.cost = 0.0

    def add(self, trial: Trial, n: int) -> TrajectoryPoint:
        """Take the ``n``-th told trial into account; the trajectory point after it."""
        result = trial.result
        assert result is not None
        self.cost += result.cost
        value = result.objective(self.objective) if self.objective else -math.inf
        if value > self.value and self.full(trial):
            self.value, self.trial = value, trial
        best_report = math.nan
        if self.trial is not None and self.trial.result is not None:
            best_report = float(self.trial.result.metrics.get(self.report or self.objective or "", math.nan))
        return TrajectoryPoint(
            n=n,
            cost=self.cost,
            objective=value if math.isfinite(value) else math.nan,
            best_objective=self.value if math.isfinite(self.value) else math.nan,
            best_report=best_report,
            fidelity=result.fidelity,
            status=result.status,
            arch=trial.candidate.arch_text,
            recipe=trial.candidate.recipe_text,
        )


class TrialsView:
    """What a :class:`Study` and a search read back by ``load_study`` share, under Optuna's names:
    :attr:`best_trial`, :attr:`best_value`, :attr:`best_params` and :meth:`trials_dataframe`.

    Parameters are the architecture as its space writes it (``"arch"``) and the recipe's values
    (one entry per recipe parameter), so ``best_params`` of an NB201 search with a training recipe
    reads ``{"arch": "|nor_conv_3x3~0|+|...|", "training": "analog"}``.
    """

    if TYPE_CHECKING:

        @property
        def trials(self) -> list[Trial]: ...

        @property
        def best(self) -> Trial | None: ...

        @property
        def space(self) -> Space | None: ...

    def _objective_metric(self) -> str | None:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """The search's identity, as its journal header records it (benchmark, space, optimizer, seed, ...)."""
        raise NotImplementedError

    def describe(self) -> tuple[str, str, Any]:
        """The optimizer's name, the benchmark (or evaluator) and the seed, for titles and names."""
        config = self.identity()
        bench = config.get("benchmark_spec") or (config.get("evaluator") or {}).get("name") or "?"
        return str((config.get("optimizer") or {}).get("name", "?")), str(bench), config.get("seed", "?")

    @property
    def objective_name(self) -> str | None:
        """The metric the search maximises (None where a journal does not say)."""
        return self._objective_metric()

    def _is_full(self, trial: Trial) -> bool:
        """Whether a told trial is a full-fidelity evaluation (comparable with the others)."""
        raise NotImplementedError

    @property
    def best_trial(self) -> Trial:
        """:attr:`best`, the best successful full-fidelity trial; an error (as in Optuna) when there is none."""
        best = self.best
        if best is None:
            raise ConfigError(
                "the search has no successful full-fidelity trial yet, so no best one",
                "optimize() or tell() a result first (study.best is None until then)",
            )
        return best

    @property
    def best_value(self) -> float:
        """The objective of :attr:`best_trial`."""
        result, metric = self.best_trial.result, self._objective_metric()
        assert result is not None and metric is not None
        return float(result.metrics[metric])

    @property
    def best_params(self) -> dict[str, Value]:
        """The architecture string and recipe values of :attr:`best_trial`: ``{"arch": ..., **recipe}``."""
        return params_of(self.best_trial)

    @property
    def best_arch(self) -> str:
        """The architecture of :attr:`best_trial` as its space writes it (``Space.format_arch``)."""
        return self.best_trial.candidate.arch_text

    @property
    def best_recipe(self) -> dict[str, Value]:
        """The recipe values of :attr:`best_trial` (empty without a recipe)."""
        return dict(self.best_trial.candidate.recipe)

    def trial_state(self, trial: Trial) -> str:
        """``"COMPLETE"``, ``"FAIL"``, ``"PRUNED"`` (stopped early: a reduced fidelity) or ``"RUNNING"``."""
        if trial.result is None:
            return RUNNING
        if not trial.result.ok:
            return FAIL
        return COMPLETE if self._is_full(trial) else PRUNED

    def trials_dataframe(self) -> pandas.DataFrame:
        """One row per trial, as Optuna's ``trials_dataframe``: ``number``, ``state``, ``value`` (the
        objective; NaN where it failed), ``params_arch`` and ``params_<recipe parameter>``,
        ``metrics_<metric>`` for every metric, ``cost`` (GPU-seconds), ``fidelity`` (None: full),
        ``elapsed`` (seconds into its run when journaled) and ``error``. Needs pandas (extra ``pandas``).
        """
        pd = require_extra("pandas", "pandas", "trials_dataframe()")
        objective = self._objective_metric()
        rows = []
        for trial in self.trials:
            result = trial.result or Result(status="running")
            rows.append(
                {
                    "number": trial.number,
                    "state": self.trial_state(trial),
                    "value": trial_value(trial, objective),
                    **{f"params_{name}": value for name, value in params_of(trial).items()},
                    **{f"metrics_{name}": value for name, value in result.metrics.items()},
                    "cost": result.cost,
                    "fidelity": trial_fidelity(trial),
                    "elapsed": trial.elapsed,
                    "error": result.error,
                }
            )
        empty = ["number", "state", "value", "params_arch", "cost", "fidelity", "elapsed", "error"]
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=empty)


def trial_value(trial: Trial, objective: str | None) -> float:
    """A trial's objective; NaN where it failed, lacks it or is not told yet."""
    value = trial.result.objective(objective) if trial.result is not None and objective else -math.inf
    return value if math.isfinite(value) else math.nan


def params_of(trial: Trial) -> dict[str, Value]:
    """A trial's parameters, Optuna style: ``{"arch": <arch string>, **recipe}``."""
    return {"arch": trial.candidate.arch_text, **trial.candidate.recipe}


def require_extra(module: str, extra: str, what: str) -> Any:
    """Import an optional dependency; a ConfigError naming the extra to install when it is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{what} needs {module}, which is not installed", f"pip install 'nars-plugin[{extra}]'"
        ) from None


@dataclass
class _Slot:
    """A proposal of the current batch, in the order the optimizer made it."""

    proposal: Proposal
    proposed: Candidate | None = None  # the optimizer's own encoding, where it differs from the canonical form
    settled: bool = False  # decided: a trial (handed out or replayed) or a repeat
    trial: Trial | None = None  # None once settled: a repeat, answered from the cache when its turn comes


class StudyFinished(Exception):
    """Raised by :meth:`Study.ask` when the budget is spent or the optimizer has nothing left."""


Outcome = Result | float | int | Mapping[str, float] | BaseException


class Study(TrialsView):
    """Runs ``optimizer`` against ``evaluator`` within ``budget``, or hands its proposals out (ask/tell).

    Build one with :func:`nars_plugin.create_study` rather than by hand. Either call :meth:`optimize`
    (the study evaluates), or drive it yourself::

        while not study.finished:
            trial = study.ask()
            study.tell(trial, my_evaluation(trial.candidate))

    Both paths journal every evaluation the same way when ``out_dir`` is given, and a study created
    again on the same folder replays the journal first: repeats and journaled proposals are answered
    inside :meth:`ask`, which returns only proposals that still need evaluating. Results are told to
    the optimizer in the order it proposed them, whatever order :meth:`tell` is called in, so the
    search does not depend on how many evaluations run side by side.

    Optuna's names work too: :attr:`best_trial`, :attr:`best_value`, :attr:`best_params` and
    :meth:`trials_dataframe` (:class:`TrialsView`).

    Args:
        evaluator: answers proposals (a tabular benchmark or a trainer).
        optimizer: proposes candidates (ask/tell).
        budget: evaluations and/or simulated seconds.
        out_dir: folder for journal and results; None keeps everything in memory.
        config: extra identity for the journal header (e.g. CLI options).
        progress: progress of :meth:`optimize`: None: a bar on a terminal, a log line every quarter of
            the budget or 30 s when stderr is not one (:mod:`nars_plugin._progress`); True: a bar;
            False: nothing.
        eval_timeout: seconds one evaluation may take; evaluations then run in a worker process
            that is killed past the limit, and the candidate is recorded as failed. None (default)
            evaluates in this process with no limit (the fast path for tabular benchmarks).
        default_space_options: the space options of the benchmark's default construction (called
            only to read a journal written before space options were recorded; :meth:`upgrade`).
    """

    def __init__(
        self,
        evaluator: Evaluator,
        optimizer: Optimizer[Any],
        budget: Budget,
        out_dir: str | os.PathLike[str] | None = None,
        config: Mapping[str, Any] | None = None,
        progress: bool | None = None,
        eval_timeout: float | None = None,
        default_space_options: Callable[[], Mapping[str, Any] | None] | None = None,
    ) -> None:
        if eval_timeout is not None and not (isinstance(eval_timeout, (int, float)) and 0 < eval_timeout < math.inf):
            raise ConfigError(f"eval_timeout must be a positive number of seconds, got {eval_timeout!r}", "e.g. 600")
        self.eval_timeout = eval_timeout
        self._timed: TimedEvaluator | None = None
        self._token_prefix: str | None = None
        self.evaluator = evaluator
        self.optimizer = optimizer
        self.budget = budget
        #: What this study has spent when it last asked; it alone writes it, its optimizer reads it.
        self.spending = Spending()
        optimizer.follow(self.spending.view)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.extra_config = dict(config or {})
        self._default_space_options = default_space_options
        self.progress = progress
        self.report_metric = evaluator.report_metric
        # run state
        self._opened = False
        self._journal: Journal | None = None
        self._journaled_hits = 0  # cached lines the journal held when opened (a replay does not write them again)
        self._lock: FolderLock | None = None
        self._pending: deque[dict[str, Any]] = deque()
        self._batch: deque[_Slot] = deque()  # the optimizer's current batch, in proposal order
        self._batch_size = 0
        self._handed_out = 0  # trials asked for but not yet told to the optimizer
        self._repeats = 0
        self._started = time.time()
        self._stopped = False
        self._reset()
        # a finished search re-opened without asking the optimizer: its journal records (replayed in
        # full, through the optimizer, once it is asked for more) and the optimizer report it ended with
        self._unreplayed: list[dict[str, Any]] | None = None
        self._saved_report: Any = None

    def _reset(self) -> None:
        """Forget every trial told (before a replay from the start)."""
        self._trials: list[Trial] = []
        self._cache: dict[tuple[str, int | None], Result] = {}
        # judged by the optimizer, not by a method of the study: no reference cycle, so a study dropped
        # without close() frees its folder lock at once
        self._incumbent = Incumbent(self.evaluator.objective, self.report_metric, _judge(self.optimizer))
        self.result = StudyResult(None, None)

    def identity(self) -> dict[str, Any]:
        """What must match for a journal to be resumed (the budget may grow)."""
        space = self.optimizer.space
        return {
            "evaluator": self.evaluator.config(),
            "space": {
                "name": space.name,
                "params": [p.describe() + f" {p.name}" for p in space.params],
                **({"options": options} if (options := space.options()) else {}),
            },
            "optimizer": {"name": self.optimizer.name, "settings": self.optimizer.settings()},
            "seed": self.optimizer.seed,
            "constraints": [str(c) for c in self.optimizer.constraints],
            **self.extra_config,
        }

    def same_search(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` (a journal header's or a summary's) is this search's :meth:`identity`."""
        return bool(self.upgrade(config) == jsonable(self.identity()))

    def upgrade(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` as this version records it. A config written before space options were recorded
        gets the options its benchmark options imply: this search's own where it names the same
        benchmark with the same options (``nars search``), else the default ones of the benchmark it
        names (``default_space_options``); where they are unknown it stays as it is (and differs)."""
        config = dict(config)
        space, options = config.get("space"), self.optimizer.space.options()
        if not isinstance(space, Mapping) or "options" in space or not options:
            return config
        mine = jsonable(self.extra_config)
        if "benchmark_options" in config:
            named = ("benchmark_spec", "benchmark_options")
            same = all(config.get(key) == mine.get(key) for key in named)
            presumed: Mapping[str, Any] | None = (self.evaluator.legacy_space_options or options) if same else None
        else:
            presumed = self._default_space_options() if self._default_space_options is not None else None
        if presumed:
            config["space"] = {**space, "options": jsonable(presumed)}
        return config

    def pending_token(self, journaled: int) -> str:
        """Names the evaluation after ``journaled`` journal records of this configuration (pending file)."""
        if self._token_prefix is None:
            text = json.dumps(jsonable(self.identity()), sort_keys=True)
            self._token_prefix = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        return f"{self._token_prefix}:{journaled}"

    # -- opening and closing ------------------------------------------------ #

    def open(self) -> Study:
        """Lock the output folder and read its journal (called by the first ask or optimize)."""
        if self._opened:
            return self
        if self.out_dir is not None:
            output_folder(self.out_dir, "storage")
            lock = FolderLock(self.out_dir)
            lock.acquire()
            journal = Journal(self.out_dir / JOURNAL_NAME)
            header = {"type": "header", "version": JOURNAL_VERSION, "config": jsonable(self.identity())}
            try:
                records = journal.open(header, self.upgrade)
            except BaseException:
                lock.release()
                raise
            self._journaled_hits = len(journal.cached)
            if self._trials and len(records) != self.result.n_evaluations + len(self._pending):
                journal.close()
                lock.release()
                raise JournalError(
                    f"{self.out_dir / JOURNAL_NAME} changed while this study had it closed",
                    "create the study again to resume from the journal",
                )
            if not self._trials:
                if self._covers_budget(records):
                    self._read_finished(records)
                else:
                    self._pending.extend(records)
            self._journal, self._lock = journal, lock
        self._opened = True
        return self

    def _covers_budget(self, records: list[dict[str, Any]]) -> bool:
        """Whether the journal is a finished search of this very configuration and budget: its
        ``summary.json`` covers every record and the budget is spent, so nothing new would be asked."""
        assert self.out_dir is not None
        try:
            saved = json.loads((self.out_dir / SUMMARY_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        spent = sum(float(r["result"].get("cost", 0.0)) for r in records)
        same = (
            isinstance(saved, dict)
            and saved.get("n_evaluations") == len(records)
            and saved.get("budget") == {"queries": self.budget.queries, "seconds": self.budget.seconds}
            and saved.get("config") == jsonable(self.identity())
        )
        if not same or not records or not self.budget.exhausted(len(records), spent):
            return False
        self._saved_report = saved.get("optimizer_report")
        return True

    def _read_finished(self, records: list[dict[str, Any]]) -> None:
        """Take the trials of a finished search from its journal without asking the optimizer (see
        :meth:`_covers_budget`); the optimizer hears them only if the study is asked to go on."""
        space = self.space
        for record in records:
            cand = space.bind(Candidate.from_dict(record["candidate"]))
            fidelity = record.get("fidelity")
            number = int(record.get("n", len(self._trials) + 1))
            trial = Trial(number, cand, fidelity, Proposal(cand, fidelity), source="replayed")
            trial.result, trial.elapsed = Result.from_dict(record["result"]), record.get("time")
            self._cache[(cand.key, fidelity)] = trial.result
            self._account(trial)
        self.result.cache_hits = self._journaled_hits
        self._unreplayed = records

    def _replay_in_full(self) -> None:
        """Start again from an empty study and replay the journal through the optimizer (the study was
        read without it and is now asked for more: a larger budget)."""
        assert self._unreplayed is not None
        records, self._unreplayed, self._saved_report = self._unreplayed, None, None
        self._reset()
        self._pending.extend(records)

    def close(self, write: bool = True) -> None:
        """Release the folder, stop the evaluation worker and write ``summary.json``/``trajectory.csv``.

        Asked trials not yet told are not journaled: a study created again on the folder proposes them
        again. ``write=False`` leaves the output files as they are (after a failure).
        """
        if not self._opened:
            return
        self._opened = False
        if self._timed is not None:
            self._timed.close()
            self._timed = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self.out_dir is not None:
            if not self._handed_out:  # everything they could hold is journaled
                (self.out_dir / PENDING_NAME).unlink(missing_ok=True)
                (self.out_dir / BATCH_PENDING_NAME).unlink(missing_ok=True)
            if write:
                self.write_outputs(self.result)

    def __enter__(self) -> Study:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ask / tell ---------------------------------------------------------- #

    @property
    def finished(self) -> bool:
        """True when no further proposal will be handed out (budget spent, optimizer done, or stalled)."""
        if self._batch or self._handed_out:
            return False
        out = self.result
        return self._stopped or self.budget.exhausted(out.n_evaluations, out.total_cost) or self.optimizer.finished

    def ask(self) -> Trial:
        """The next candidate to evaluate; raises :class:`StudyFinished` when there is none.

        Repeats of evaluated candidates and proposals the journal already answers are settled inside,
        so every trial returned needs an evaluation, then :meth:`tell`.
        """
        trials = self.ask_batch(1)
        if not trials:
            raise StudyFinished("the study is finished: its budget is spent or the optimizer has no proposal left")
        return trials[0]

    def ask_batch(self, n: int) -> list[Trial]:
        """Up to ``n`` trials to evaluate side by side (fewer where the optimizer's batch ends; [] at the end).

        A new batch is asked of the optimizer only when every trial of the last one was told.
        """
        self.open()
        trials: list[Trial] = []
        while len(trials) < n:
            slot = next((s for s in self._batch if not s.settled), None)
            if slot is None:
                if self._batch or self._handed_out or self.finished:
                    break  # the rest of this batch waits for trials out with the caller
                self._refill(n)
                continue
            trial = self._settle(slot)
            if trial is not None:
                trials.append(trial)
            self._flush()
        return trials

    def tell(self, trial: Trial, outcome: Outcome, cost: float | None = None) -> None:
        """Report a trial's outcome: a :class:`Result`, the objective's value, a dict of metrics, or an
        exception the evaluation raised (recorded as a failed result).

        ``cost`` (GPU-seconds) counts against a seconds budget when ``outcome`` is not a Result.
        """
        if trial.result is not None:
            raise ConfigError(f"trial {trial.number} was told already", "tell each trial once")
        if not any(slot.trial is trial for slot in self._batch):
            raise ConfigError(
                f"trial {trial.number} does not belong to this study's open batch", "tell trials it asked"
            )
        trial.result = self._checked(self._as_result(outcome, trial, cost))
        self._flush()

    def _as_result(self, outcome: Outcome, trial: Trial, cost: float | None) -> Result:
        if isinstance(outcome, Result):
            return outcome
        if isinstance(outcome, BaseException):
            result = failed_by(outcome)
        elif isinstance(outcome, Mapping):
            result = Result(metrics={str(k): float(v) for k, v in outcome.items()})
        elif isinstance(outcome, (int, float)) and not isinstance(outcome, bool):
            result = Result(metrics={self.evaluator.objective: float(outcome)})
        else:
            raise ConfigError(
                f"cannot tell {type(outcome).__name__} {outcome!r} as the result of trial {trial.number}",
                "tell a Result, a number (the objective), a dict of metrics or the exception raised",
            )
        result.cost = float(cost or 0.0)
        result.fidelity = trial.fidelity
        return result

    def _refill(self, n: int) -> None:
        """Ask the optimizer for its next batch (one proposal when evaluations run one at a time)."""
        if self._unreplayed is not None:
            self._replay_in_full()
            return
        self.spending.asked(self.result.n_evaluations, self.result.total_cost)
        if n <= 1 and self.parallel == 1:
            proposals = [self.optimizer.ask()]
        else:
            width = max(n, self.parallel)
            left = self.budget.queries - self.result.n_evaluations if self.budget.queries is not None else width
            proposals = self.optimizer.ask_batch(max(1, min(width, left)))
        self._batch_size = len(proposals)
        self._batch.extend(self._slot(p) for p in proposals)

    def _slot(self, proposal: Proposal) -> _Slot:
        """A batch slot for ``proposal``, its candidate in canonical form (the encoding proposed kept)."""
        canonical = self._canonical(proposal)
        return _Slot(canonical, proposal.candidate if canonical is not proposal else None)

    def _canonical(self, proposal: Proposal) -> Proposal:
        """The proposal with its candidate in the space's canonical form: the study caches, journals,
        pays for and tells that form, so two encodings of one candidate are one candidate."""
        form = self.optimizer.space.canonical(proposal.candidate)
        return proposal if form == proposal.candidate else dataclasses.replace(proposal, candidate=form)

    def _settle(self, slot: _Slot) -> Trial | None:
        """Answer a slot from the cache or the journal, or make it a trial for the caller."""
        slot.settled = True
        proposal = slot.proposal
        key = (proposal.candidate.key, proposal.fidelity)
        number = self.result.n_evaluations + sum(s.trial is not None for s in self._batch) + 1
        if key in self._cache and not proposal.reevaluate:
            return None  # a repeat: _flush answers it from the cache
        twin = any(s.trial is not None and (s.proposal.candidate.key, s.proposal.fidelity) == key for s in self._batch)
        if twin and not proposal.reevaluate:
            return None  # the same candidate is already out in this batch: answered once it is told
        trial = Trial(number, self.space.bind(proposal.candidate), proposal.fidelity, proposal)
        slot.trial = trial
        if self._pending:
            record = self._pending.popleft()
            expected = (Candidate.from_dict(record["candidate"]).key, record.get("fidelity"))
            if expected != key:
                raise JournalError(
                    f"journal entry {record.get('n')} holds {record['candidate']} but the optimizer now "
                    f"proposes {proposal.candidate.to_dict()}: the journal was written by other code "
                    "or settings",
                    "resume with the same version and options, or choose "
                    + option("another storage= folder", "another --out folder"),
                )
            trial.result, trial.source = Result.from_dict(record["result"]), "replayed"
            trial.elapsed = record.get("time")
            return None
        self._handed_out += 1
        return trial

    def _flush(self) -> None:
        """Tell the optimizer, in proposal order, every answered slot at the front of the batch."""
        while self._batch:
            slot = self._batch[0]
            proposal = slot.proposal
            key = (proposal.candidate.key, proposal.fidelity)
            if not slot.settled:
                return
            if slot.trial is None:
                if key not in self._cache:
                    return  # its twin earlier in the batch is still out
                self._repeats += 1
                if self._repeats > MAX_REPEATED_PROPOSALS:
                    warnings.warn(
                        f"{self.optimizer.name} proposed only evaluated candidates {self._repeats} times in a row; "
                        "stopping",
                        stacklevel=3,
                    )
                    self._stopped = True
                    self._batch.clear()
                    return
                self._batch.popleft()
                self._cache_hit(slot)
                self.optimizer.tell(proposal, self._cache[key])
                continue
            trial = slot.trial
            if trial.result is None:
                return
            self._batch.popleft()
            self._repeats = 0
            self._record(trial)

    def _cache_hit(self, slot: _Slot) -> None:
        """Count a proposal answered from the cache and journal it, unless a replay met it in the journal."""
        self.result.cache_hits += 1
        if self._journal is None or self.result.cache_hits <= self._journaled_hits:
            return
        proposal = slot.proposal
        record: dict[str, Any] = {
            "type": CACHED,
            "after": self.result.n_evaluations,
            "candidate": proposal.candidate.to_dict(),
            "fidelity": proposal.fidelity,
        }
        if slot.proposed is not None:
            record["proposed"] = slot.proposed.to_dict()
        self._journal.append(record)

    def _record(self, trial: Trial) -> None:
        """Journal a told trial, update the incumbent and the trajectory, and tell the optimizer."""
        out, proposal, result = self.result, trial.proposal, trial.result
        assert result is not None
        if trial.source != "replayed":
            self._handed_out -= 1
            out.recovered += trial.source == "recovered"
            out.evaluated_now += trial.source != "recovered"
            trial.elapsed = round(time.time() - self._started, 3)
            if self._journal is not None:
                self._journal.append(
                    {
                        "type": "eval",
                        "n": out.n_evaluations + 1,
                        "candidate": proposal.candidate.to_dict(),
                        "fidelity": proposal.fidelity,
                        "result": result.to_dict(),
                        "time": trial.elapsed,
                    }
                )
        self._cache[(proposal.candidate.key, proposal.fidelity)] = result
        self._account(trial)
        self.optimizer.tell(proposal, result)

    def _account(self, trial: Trial) -> None:
        """Count a told trial: the totals, the incumbent and the trajectory (the optimizer is not told)."""
        out, result = self.result, trial.result
        assert result is not None
        out.replayed += trial.source == "replayed"
        self._trials.append(trial)
        out.n_evaluations += 1
        out.total_cost += result.cost
        out.trajectory.append(self._incumbent.add(trial, out.n_evaluations))
        best = self._incumbent.trial
        if best is not None:
            out.best_candidate, out.best_result = best.candidate, best.result

    # -- what the study holds ------------------------------------------------ #

    @property
    def trials(self) -> list[Trial]:
        """Every evaluation so far, replayed ones included, in journal order."""
        return list(self._trials)

    @property
    def best(self) -> Trial | None:
        """The best full-fidelity successful trial (None before any)."""
        return self._incumbent.trial

    @property
    def space(self) -> Space:
        """The space searched (the optimizer's)."""
        return self.optimizer.space

    def _objective_metric(self) -> str | None:
        return self.evaluator.objective

    def _is_full(self, trial: Trial) -> bool:
        return self._incumbent.full(trial)

    @property
    def trajectory(self) -> list[TrajectoryPoint]:
        """The state after each evaluation (best objective and best report metric so far, cost, ...)."""
        return list(self.result.trajectory)

    # -- the study evaluates -------------------------------------------------- #

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
        """Proposals evaluated side by side: the evaluator's ``parallel``."""
        return max(1, int(self.evaluator.parallel or 1))

    def _evaluate_together(self, trials: list[Trial]) -> None:
        """Evaluate the trials of one batch side by side (``evaluate_many``), grouped by fidelity.

        With an output folder the batch's results are kept in a pending file until all are journaled,
        so a search killed between two journal lines takes them from there instead of evaluating again.
        """
        pending = self.out_dir / BATCH_PENDING_NAME if self.out_dir is not None else None
        kept = load_pending_batch(pending) if pending is not None else {}
        for trial in trials:
            saved = kept.get((self.pending_token(trial.number - 1), trial.candidate.key, trial.fidelity))
            if saved is not None:
                trial.result, trial.source = saved, "recovered"
        todo = [t for t in trials if t.result is None]
        for fidelity in dict.fromkeys(t.fidelity for t in todo):
            group = [t for t in todo if t.fidelity == fidelity]
            try:
                limit = {"timeout": self.eval_timeout} if self.eval_timeout is not None else {}
                results = self.evaluator.evaluate_many([t.candidate for t in group], fidelity, **limit)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001 - a failing evaluation must not end the search
                results = [failed_by(exc) for _ in group]
            for trial, result in zip(group, results):
                log_evaluation(trial.candidate, fidelity, result)
                trial.result = self._checked(result)
        if pending is not None and todo:
            entries = [(self.pending_token(t.number - 1), t.candidate, t.fidelity, t.result) for t in trials]
            save_pending_batch(pending, [(tok, c, f, r) for tok, c, f, r in entries if r is not None])
        self._flush()

    def optimize(self) -> StudyResult:
        """Run (or resume) the study to the end of its budget, evaluating with the study's evaluator."""
        self.open()
        bar = _progress_bar(self.budget, self.progress, len(self._pending))
        done = 0 if self._unreplayed is not None else self.result.n_evaluations  # a finished search read back: all
        completed = False
        try:
            while True:
                trials = self.ask_batch(self.parallel)
                bar.update(self._progress(done))
                done = self.result.n_evaluations
                if not trials:
                    break
                # side by side, unless a time limit is set that the evaluator cannot enforce per candidate
                if self._batch_size >= 2 and (self.eval_timeout is None or accepts_timeout(self.evaluator)):
                    self._evaluate_together(trials)
                else:
                    for trial in trials:
                        result, recovered = self._evaluate(trial.proposal, self.result.n_evaluations)
                        trial.source = "recovered" if recovered else "evaluated"
                        trial.result = result
                        self._flush()
                bar.update(self._progress(done))
                done = self.result.n_evaluations
                bar.set_postfix(best=f"{self._incumbent.value:.4g}")
            completed = True
        finally:
            bar.close(last_line=completed)
            self.close(write=completed)
        if self._pending:
            warnings.warn(
                f"{len(self._pending)} journal entries lie beyond this run's budget; they are kept in the journal",
                JournalWarning,
                stacklevel=2,
            )
        return self.result

    def _progress(self, done: int) -> float:
        """Progress-bar units since ``done`` evaluations: evaluations, or seconds for a seconds budget."""
        if self.budget.queries is not None:
            return self.result.n_evaluations - done
        return sum(p.cost for p in self.result.trajectory[done:])

    def run(self) -> StudyResult:
        """Alias of :meth:`optimize`."""
        return self.optimize()

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
        summary: dict[str, Any] = jsonable(
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
                "cache_hits": result.cache_hits,
                "optimizer_report": self.optimizer.report() if self._unreplayed is None else self._saved_report,
                "max_fidelity": self.optimizer.max_fidelity,
                "trajectory": [p.__dict__ for p in result.trajectory],
            }
        )
        return summary

    def write_outputs(self, result: StudyResult) -> None:
        """Write ``summary.json`` and ``trajectory.csv`` atomically into the output folder."""
        assert self.out_dir is not None
        atomic_write(self.out_dir / SUMMARY_NAME, json.dumps(self.summary(result), indent=2, sort_keys=True) + "\n")
        table = io.StringIO(newline="")
        writer = csv.DictWriter(table, fieldnames=list(TrajectoryPoint.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(p.__dict__ for p in result.trajectory)
        atomic_write(self.out_dir / TRAJECTORY_NAME, table.getvalue())


def _judge(optimizer: Optimizer[Any]) -> Callable[[Trial], bool]:
    """Whether a told trial is a full-fidelity evaluation, as ``optimizer`` judges it."""

    def full(trial: Trial) -> bool:
        assert trial.result is not None
        return optimizer.is_full(trial.proposal, trial.result)

    return full


def _progress_bar(budget: Budget, enabled: bool | None, replay: int) -> Progress:
    """The search's progress: a bar on a terminal, log lines in a batch job's log (:mod:`.progress`)."""
    total = budget.queries if budget.queries is not None else budget.seconds
    assert total is not None  # a budget has queries or seconds
    unit = "eval" if budget.queries is not None else "s"
    desc = "search" if not replay else f"search (replaying {replay})"
    return Progress(total, desc, unit, enabled, file=sys.stderr)
