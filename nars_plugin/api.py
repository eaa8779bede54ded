"""The Python API: the one place that assembles a search (benchmark -> optimizer -> study).

::

    import nars_plugin

    study = nars_plugin.create_study("nb201-analog", "nars", budget=100, seed=0, storage="runs/demo")
    result = study.optimize()                       # or drive it: trial = study.ask(); study.tell(trial, value)
    print(study.best.candidate, study.best.result.metrics)

    finished = nars_plugin.load_study("runs/demo")  # read a finished or interrupted search back

The command line (``nars search``, ``nars compare``), the NASLib adapter, the benchmark scripts and
the conformance suites all build their searches with :func:`create_study`, so a search scripted in
Python is the same search, journal for journal, as the command with the same arguments.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .constraints import constraint_list, parse_constraints
from .errors import ConfigError, NarsError, UnknownNameError
from .evaluation import Evaluator, Result
from .optimizers.base import Budget, Optimizer, Proposal
from .settings import RunContext, as_kwargs, checked_seed, is_declaration, recipe_values
from .space import Candidate, Constraint, Space
from .storage import JOURNAL_NAME, SUMMARY_NAME, Journal
from .study import Incumbent, Study, TrajectoryPoint, Trial, TrialsView, is_full, trial_fidelity

Target = str | Evaluator | tuple[Space, Evaluator]


def _resolve_target(target: Target, options: Mapping[str, Any] | None) -> tuple[Evaluator, Space, dict[str, Any]]:
    """The evaluator, the space the optimizer searches and the journal identity of ``target``."""
    from .plugins import get_registry

    options = dict(options or {})
    if isinstance(target, str):
        bench = get_registry().create_benchmark(target, **options)
        return bench, bench.space, {"benchmark_spec": target, "benchmark_options": options}
    if options:
        raise ConfigError(
            f"options {sorted(options)} apply only to a benchmark given by name",
            "pass options to the benchmark's own constructor, or give its registered name as the target",
        )
    if isinstance(target, tuple):
        if len(target) != 2 or not isinstance(target[0], Space):
            raise ConfigError(
                f"a (space, evaluator) target must be a pair, got {target!r}",
                "create_study((space, evaluator), ...)",
            )
        space, evaluator = target
        _check_evaluator(evaluator)
        return evaluator, space, {}
    _check_evaluator(target)
    own_space = getattr(target, "space", None)  # an evaluator that never set its space
    if not isinstance(own_space, Space):
        raise ConfigError(
            f"{type(target).__name__} has no .space to search",
            "give the space too: create_study((space, evaluator), ...)",
        )
    return target, own_space, {}


def _check_evaluator(evaluator: object) -> None:
    if not isinstance(evaluator, Evaluator):
        raise ConfigError(
            f"{type(evaluator).__name__} is not an evaluator",
            "pass a benchmark name ('nb201-analog', 'csv:PATH'), a benchmark object or a (space, evaluator) pair; "
            "evaluators subclass nars_plugin.evaluation.Evaluator (its docstring lists what to implement)",
        )


def create_study(
    target: Target,
    optimizer: str | type[Optimizer[Any]] = "nars",
    *,
    budget: int | None = None,
    budget_seconds: float | None = None,
    seed: int = 0,
    constraints: str | Sequence[str | Constraint] = (),
    storage: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | object | None = None,
    options: Mapping[str, Any] | None = None,
    fixed_recipe: Mapping[str, Any] | str | None = None,
    eval_timeout: float | None = None,
    progress: bool | None = None,
    identity: Mapping[str, Any] | None = None,
) -> Study:
    """A search, ready to :meth:`~Study.optimize` or to drive with :meth:`~Study.ask`/:meth:`~Study.tell`.

    Args:
        target: a benchmark name (``"nb201-analog"``, ``"csv:PATH"``; ``nars benchmarks`` lists them), a
            benchmark or evaluator object (its ``.space`` is searched), or a ``(space, evaluator)`` pair.
        optimizer: a registered optimizer name (``nars optimizers``) or an Optimizer subclass.
        budget: evaluations (queries); budget_seconds: simulated GPU-seconds. At least one is needed.
        seed: the same seed gives the same search.
        constraints: e.g. ``["flops <= 100M", "latency[pixel3] <= 5"]`` (one string is one constraint);
            checked for satisfiability.
        storage: a folder for the journal, ``summary.json`` and ``trajectory.csv``. Every evaluation is
            journaled before the optimizer hears of it; creating the study again on the same folder
            resumes it (a journal of another configuration, or a second process, is refused).
        settings: optimizer settings (``nars optimizers NAME`` lists them): a mapping, or an instance
            of the optimizer's declaration (``NARSSettings(batch=8)``). The run's own arguments
            (seed, constraints, budget, fixed_recipe) are not settings: they make the optimizer's
            :class:`~nars_plugin.settings.RunContext`.
        options: benchmark options, for a benchmark given by name (``nars benchmarks NAME``).
        fixed_recipe: recipe values to hold fixed (an architecture-only search).
        eval_timeout: seconds one evaluation may take in :meth:`~Study.optimize` (a worker process).
        progress: progress of :meth:`~Study.optimize` on stderr: None: a bar on a terminal, else a log
            line every quarter of the budget or 30 s; True: a bar; False: nothing.
        identity: extra entries for the journal header (what must match to resume).
    """
    from .plugins import get_registry, make_optimizer

    plan = Budget(queries=budget, seconds=budget_seconds)  # a missing or non-positive budget is a ConfigError
    constraints = constraint_list(constraints)
    checked_seed(seed)
    registry = get_registry()
    if isinstance(optimizer, str):  # a typo in the name or a setting fails here, before any data is loaded
        registry.parse_settings("optimizer", optimizer, _settings_mapping(settings))
    evaluator, space, ident = _resolve_target(target, options)
    plan.check_runs_out(evaluator)
    space.check_satisfiable(constraints)
    context = RunContext(
        objective=evaluator.objective,
        seed=seed,
        constraints=tuple(parse_constraints(constraints)),
        budget=plan,
        max_fidelity=evaluator.max_fidelity,
        fixed_recipe=recipe_values(fixed_recipe),
    )
    if isinstance(optimizer, str):
        opt = registry.create_optimizer(optimizer, space, context, settings)
    elif isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        opt = make_optimizer(optimizer, space, context, settings, optimizer.Settings, optimizer.name)
    else:
        raise ConfigError(
            f"optimizer must be a registered name or an Optimizer subclass, got {optimizer!r}",
            "e.g. create_study(target, 'nars') or create_study(target, MyOptimizer)",
        )
    return Study(
        evaluator,
        opt,
        plan,
        out_dir=storage,
        config={**ident, **dict(identity or {})},
        progress=progress,
        eval_timeout=eval_timeout,
        default_space_options=lambda: _default_space_options(evaluator.name, space.name),
    )


def _settings_mapping(settings: Mapping[str, Any] | object | None) -> dict[str, Any]:
    """``create_study``'s ``settings`` as a mapping (an instance of a declaration gives its values)."""
    if settings is None:
        return {}
    if is_declaration(type(settings)):
        return as_kwargs(settings)
    if not isinstance(settings, Mapping):
        raise ConfigError(
            f"settings must be a mapping or a settings dataclass, got {settings!r}",
            "e.g. create_study(target, 'nars', settings={'batch': 8})",
        )
    return dict(settings)


@functools.lru_cache(maxsize=8)
def _default_space_options_text(benchmark: str, space: str) -> str | None:
    from .plugins import get_registry

    registry = get_registry()
    try:
        try:
            return json.dumps(registry.create_benchmark(benchmark).space.options())
        except UnknownNameError:  # an evaluator that is no registered benchmark (a trainer): its space's
            return json.dumps(registry.create_space(space).options())
    except NarsError:  # neither can be made here
        return None


def _default_space_options(benchmark: str, space: str) -> dict[str, Any] | None:
    """The space options of the benchmark ``benchmark`` (an evaluator's name) made with no options, or
    where no benchmark has that name, of the space ``space`` made so; None when neither can be made.
    What a journal written before space options were recorded is taken to have been run with
    (:meth:`Study.upgrade`)."""
    text = _default_space_options_text(benchmark, space)
    return json.loads(text) if text is not None else None


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
    from .plugins import get_registry

    described = config.get("space")
    name = described.get("name") if isinstance(described, Mapping) else described
    registry = get_registry()
    if not isinstance(name, str) or name not in registry.names("space"):
        return None
    try:
        space: Space = registry.create_space(name)
    except Exception:  # noqa: BLE001 - a space that needs options or data only prints less nicely
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
) -> dict[str, Any]:
    """Run optimizers x seeds on one benchmark, as ``nars compare`` does; returns its summary.json content.

    ``optimizers`` is a comma list or a list of ``NAME`` / ``LABEL=NAME(key=value;...)`` specs.
    Finished runs in ``out`` are reused, so an interrupted comparison resumes. ``executor="ray"``
    runs each run as a Ray task on the cluster at ``address`` (None: a local instance).
    """
    from . import comparison as _compare

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
) -> dict[str, Any]:
    """Run optimizers x seeds on every benchmark of a suite, as ``nars suite`` does; returns the leaderboard.

    ``benchmarks`` is a suite file (TOML, see :mod:`nars_plugin.comparison.suite`), a list of
    :class:`~nars_plugin.comparison.suite.SuiteEntry`, or None for the default suite; ``only`` keeps
    the entries with those labels. Each benchmark is a resumable comparison in ``out/<label>/``; the
    leaderboard (``leaderboard.json``/``.md``, ``rank-vs-budget.png``, ``cd-50.png``, ``cd-100.png``)
    goes to ``out``. ``executor="ray"`` runs each run as a Ray task on the cluster at ``address``.
    """
    from . import comparison as _compare
    from .comparison import suite as _suite

    entries = _suite.resolve(benchmarks, only)
    text = optimizers if isinstance(optimizers, str) else ",".join(optimizers)
    return _suite.run_suite(
        entries, _compare.split_optimizers(text), seeds, out, workers, progress, executor=executor, address=address
    )


__all__ = ["StudyRecord", "compare", "create_study", "load_study", "suite"]
