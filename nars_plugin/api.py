"""The Python API: create, read back, compare and rank searches.

::

    import nars_plugin

    study = nars_plugin.create_study("nb201-analog", "nars", budget=100, seed=0, storage="runs/demo")
    result = study.optimize()                       # or drive it: trial = study.ask(); study.tell(trial, value)
    print(study.best.candidate, study.best.result.metrics)

    finished = nars_plugin.load_study("runs/demo")  # read a finished or interrupted search back

The command line (``nars search``, ``nars compare``), the NASLib adapter, the benchmark scripts and
the conformance suites all build their searches with :func:`create_study` (made in
:mod:`nars_plugin.assembly`, which ``nars compare``'s runs use too), so a search scripted in Python
is the same search, journal for journal, as the command with the same arguments.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import comparison as _compare
from .assembly import Target, create_study, registered_space
from .constraints import constraint_list
from .errors import ConfigError
from .evaluation import Result
from .optimizers.base import Proposal
from .space import Candidate, Space
from .storage import JOURNAL_NAME, SUMMARY_NAME, Journal
from .study import Incumbent, TrajectoryPoint, Trial, TrialsView, is_full, trial_fidelity


@dataclass
class StudyRecord(TrialsView):
    """A search read back from its folder by :func:`load_study` (finished or interrupted).

    Optuna's names work as on a :class:`~nars_plugin.study.Study`: ``best_trial``, ``best_value``,
    ``best_params``, ``trials_dataframe()`` (:class:`~nars_plugin.study.TrialsView`).

    Attributes:
        folder: where it lives.
        config: the journal header's identity (benchmark, space, optimizer and settings, seed, ...).
        trials: every journaled evaluation, in order.
        objective, report_metric: the metric searched and the one reported (from summary.json when
            the search finished, else from the evaluator's identity).
        budget: the budget of the last finished run, where summary.json exists.
        finished: whether summary.json covers every journaled evaluation.
        cache_hits: proposals answered from the cache because their canonical form was evaluated
            already (the journal's ``cached`` lines): how often the optimizer proposed what it had seen.
        max_fidelity: the evaluator's full schedule in epochs where it has learning curves (from
            summary.json); evaluations at fewer epochs are stopped early and never the best.
        space: the registered space the search ran on, which prints its candidates (None where
            its name is not registered here; candidates then print as ``name=value`` pairs).
    """

    folder: Path
    config: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)
    objective: str | None = None
    report_metric: str | None = None
    budget: dict[str, Any] | None = None
    finished: bool = False
    cache_hits: int = 0
    max_fidelity: int | None = None
    space: Space | None = None

    def _objective_metric(self) -> str | None:
        return self.objective

    def identity(self) -> dict[str, Any]:
        """:attr:`config`, the journal header's identity."""
        return self.config

    def _is_full(self, trial: Trial) -> bool:
        return is_full(trial_fidelity(trial), self.max_fidelity)

    def _incumbents(self) -> tuple[Incumbent, list[TrajectoryPoint]]:
        incumbent = Incumbent(self.objective, self.report_metric, self._is_full)
        return incumbent, [incumbent.add(trial, trial.number) for trial in self.trials]

    @property
    def best(self) -> Trial | None:
        """The successful full-fidelity trial with the best objective (the first of equals)."""
        return self._incumbents()[0].trial

    @property
    def trajectory(self) -> list[TrajectoryPoint]:
        """Best objective and best report metric after each evaluation, as a study computes them."""
        return self._incumbents()[1]


def load_study(storage: str | os.PathLike[str]) -> StudyRecord:
    """Read a search's folder (written by :func:`create_study` with ``storage=`` or ``nars search --out``).

    Reading takes no lock and changes nothing. To continue the search, call :func:`create_study` with
    the same arguments and ``storage`` (a larger budget continues a finished one).
    Full-fidelity and partial (early-stopped) evaluations are both listed; :attr:`StudyRecord.best`
    considers those whose result has the objective.
    """
    folder = Path(storage)
    path = folder / JOURNAL_NAME
    if not path.is_file():
        raise ConfigError(f"no search journal in {folder}", f"expected {path}; pass the storage= / --out folder")
    journal = Journal(path)
    header, entries = journal.read()  # a broken hash chain (an edited line) is an error here too
    record = StudyRecord(folder=folder, config=dict(header.get("config") or {}), cache_hits=len(journal.cached))
    evaluator = record.config.get("evaluator") or {}
    record.objective = evaluator.get("objective")
    record.report_metric = evaluator.get("report", record.objective)
    record.space = _registered_space(record.config)
    for number, entry in enumerate(entries, start=1):
        cand = Candidate.from_dict(entry["candidate"])
        if record.space is not None:
            record.space.bind(cand)
        trial = Trial(int(entry.get("n", number)), cand, entry.get("fidelity"), Proposal(cand, entry.get("fidelity")))
        trial.result = Result.from_dict(entry["result"])
        trial.source, trial.elapsed = "replayed", entry.get("time")
        record.trials.append(trial)
    summary_path = folder / SUMMARY_NAME
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        record.objective = summary.get("objective", record.objective)
        record.report_metric = summary.get("report_metric", record.report_metric)
        record.budget = summary.get("budget")
        record.max_fidelity = summary.get("max_fidelity")
        record.finished = summary.get("n_evaluations") == len(record.trials)
    return record


def _registered_space(config: Mapping[str, Any]) -> Space | None:
    """The registered space a journal header names, if it is registered here and has the journal's
    architecture parameters (it prints the candidates; nothing else of it is used)."""
    described = config.get("space")
    name = described.get("name") if isinstance(described, Mapping) else described
    space = registered_space(name) if isinstance(name, str) else None
    if space is None:
        return None
    params = [str(p) for p in described.get("params", [])] if isinstance(described, Mapping) else []
    names = {text.rsplit(" ", 1)[-1] for text in params}
    return space if not names or {p.name for p in space.arch_params} <= names else None


def compare(
    target: str,
    optimizers: str | Sequence[str],
    *,
    seeds: int | Mapping[str, int] = 10,
    budget: int | None = None,
    budget_seconds: float | None = None,
    out: str | os.PathLike[str],
    options: Mapping[str, Any] | None = None,
    constraints: str | Sequence[str] = (),
    workers: int | None = None,
    reference: str = "auto",
    progress: bool | None = None,
    executor: str = "local",
    address: str | None = None,
    first_seed: int = 0,
) -> dict[str, Any]:
    """Run optimizers x seeds on one benchmark, as ``nars compare`` does; returns its summary.json content.

    Seeds run from ``first_seed`` on (``--first-seed``).

    ``optimizers`` is a comma list or a list of ``NAME`` / ``LABEL=NAME(key=value;...)`` specs.
    Finished runs in ``out`` are reused, so an interrupted comparison resumes. ``executor="ray"``
    runs each run as a Ray task on the cluster at ``address`` (None: a local instance).
    """
    text = optimizers if isinstance(optimizers, str) else ",".join(optimizers)
    summary = _compare.compare(
        target,
        _compare.split_optimizers(text),
        seeds=seeds,
        budget=budget if budget is not None or budget_seconds is not None else 100,
        budget_seconds=budget_seconds,
        out=str(out),
        bench_options=dict(options or {}),
        constraints=[str(c) for c in constraint_list(constraints)],
        workers=workers,
        reference=reference,
        progress=progress,
        executor=executor,
        address=address,
        first_seed=first_seed,
    )
    return _compare.summary_json(summary)


def suite(
    optimizers: str | Sequence[str],
    *,
    out: str | os.PathLike[str],
    seeds: int | Mapping[str, int] = 10,
    benchmarks: str | os.PathLike[str] | Sequence[Any] | None = None,
    only: Sequence[str] = (),
    workers: int | None = None,
    progress: bool | None = None,
    executor: str = "local",
    address: str | None = None,
    first_seed: int = 0,
) -> dict[str, Any]:
    """Run optimizers x seeds on every benchmark of a suite, as ``nars suite`` does; returns the leaderboard.

    Seeds run from ``first_seed`` on.

    ``benchmarks`` is a suite file (TOML, see :mod:`nars_plugin.comparison.suite`), a list of
    :class:`~nars_plugin.comparison.suite.SuiteEntry`, or None for the default suite; ``only`` keeps
    the entries with those labels. Each benchmark is a resumable comparison in ``out/<label>/``; the
    leaderboard (``leaderboard.json``/``.md``, ``rank-vs-budget.png``, ``cd-50.png``, ``cd-100.png``)
    goes to ``out``. ``executor="ray"`` runs each run as a Ray task on the cluster at ``address``.
    """
    from .comparison import suite as _suite  # scipy.stats, for the leaderboard: only for a suite

    entries = _suite.resolve(benchmarks, only)
    text = optimizers if isinstance(optimizers, str) else ",".join(optimizers)
    return _suite.run_suite(
        entries,
        _compare.split_optimizers(text),
        seeds,
        out,
        workers,
        progress,
        executor=executor,
        address=address,
        first_seed=first_seed,
    )


__all__ = ["StudyRecord", "Target", "compare", "create_study", "load_study", "suite"]
