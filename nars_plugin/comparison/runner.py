"""Running a comparison: one task per (optimizer, seed), worker processes, resuming finished runs.

A task is a :class:`~.tasks.RunTask` (a frozen dataclass of plain values: it crosses process
boundaries); a run's outcome is a :class:`~.tasks.RunOutcome`. Searches are built by :mod:`nars_plugin.assembly`, as
:func:`nars_plugin.create_study` builds them.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._progress import Progress
from .._ray_cluster import connect
from .._safe_files import safe_name
from ..assembly import EVALUATOR_TARGET, create_study, create_target, optimizer_runner, optimizer_unavailable
from ..errors import ConfigError, option
from ..predictors.base import torch_threads
from ..storage import JOURNAL_NAME, SUMMARY_NAME
from ..study import Study
from .spec import OptimizerSpec
from .tasks import RunOutcome, RunTask

_BENCH_CACHE: dict[str, Any] = {}


def cached_benchmark(spec: str, options: Mapping[str, Any]) -> Any:
    """The benchmark ``spec`` with ``options`` (or the evaluator of an
    :func:`~nars_plugin.assembly.evaluator_target` spec), created once per process."""
    key = json.dumps([spec, options], sort_keys=True)
    if key not in _BENCH_CACHE:
        _BENCH_CACHE[key] = create_target(spec, options)
    return _BENCH_CACHE[key]


def plan_runs(
    benchmark: str,
    bench_options: Mapping[str, Any],
    optimizers: Sequence[OptimizerSpec],
    seeds: Mapping[str, int],
    budget: int | None,
    budget_seconds: float | None,
    constraints: Sequence[str],
    out: Path,
    first_seed: int = 0,
) -> list[RunTask]:
    """One task per optimizer and seed ``first_seed`` .. ``first_seed + seeds[label] - 1``, each with its
    folder ``out/runs/<label>/seed<k>``."""
    return [
        RunTask(
            benchmark=benchmark,
            bench_options=bench_options,
            optimizer=spec.name,
            label=spec.label,
            settings=spec.settings,
            fixed_recipe=spec.fixed_recipe,
            seed=seed,
            budget=budget,
            budget_seconds=budget_seconds,
            constraints=tuple(constraints),
            out=str(out / "runs" / safe_name(spec.label) / f"seed{seed}"),
        )
        for spec in optimizers
        for seed in range(first_seed, first_seed + seeds[spec.label])
    ]


def create_search(bench: Any, task: RunTask) -> Study:
    """The resumable search of one task: its optimizer, budget and study (journal in ``task.out``),
    built by :func:`nars_plugin.assembly.create_study` like every search."""
    return create_study(
        bench,
        task.optimizer,
        budget=task.budget,
        budget_seconds=task.budget_seconds,
        seed=task.seed,
        constraints=list(task.constraints),
        storage=task.out,
        settings=dict(task.settings),
        fixed_recipe=task.fixed_recipe,
        progress=False,
        identity={"label": task.label, **_evaluator_identity(task)},
    )


def _evaluator_identity(task: RunTask) -> dict[str, Any]:
    """What names an evaluator target in a run's journal (a benchmark's name is recorded by the study)."""
    if not task.benchmark.startswith(EVALUATOR_TARGET):
        return {}
    return {"evaluator_spec": task.benchmark.removeprefix(EVALUATOR_TARGET), "evaluator_target": task.bench_options}


def run_one(task: RunTask) -> RunOutcome:
    """Run (or resume) one study; return its best-so-far curves (report metric and objective)."""
    bench = cached_benchmark(task.benchmark, task.bench_options)
    runner = optimizer_runner(task.optimizer)
    if runner is not None:  # driven by another library's own loop (e.g. NASLib's Trainer)
        return RunOutcome.from_runner(task, runner(bench, task))
    started = time.perf_counter()
    study = create_search(bench, task)
    finished = finished_run(study, task)
    if finished is not None:
        return finished
    result = study.run()
    return RunOutcome(
        task.label,
        task.seed,
        curve=[p.best_report for p in result.trajectory],
        objective_curve=[p.best_objective for p in result.trajectory],
        costs=[p.cost for p in result.trajectory],
        seconds=time.perf_counter() - started,
        evaluated_now=result.evaluated_now,
        best=study.summary(result)["best"],
    )


def finished_run(study: Study, task: RunTask) -> RunOutcome | None:
    """The outcome of a run that already finished in ``task.out`` under the same identity and budget.

    Its ``summary.json`` is read instead of replaying the journal (a replay asks the optimizer
    again, which for predictor-based searches costs as much as the search). None when there is
    no finished run there, or it belongs to other settings (then the study resumes or refuses as usual).
    """
    path = Path(task.out) / SUMMARY_NAME
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = study.same_search(saved.get("config") or {}) and saved.get("budget") == {
        "queries": study.budget.queries,
        "seconds": study.budget.seconds,
    }
    trajectory = saved.get("trajectory") or []
    spent = trajectory[-1]["cost"] if trajectory else 0.0
    if not same or not study.budget.exhausted(len(trajectory), spent):
        return None
    return RunOutcome(
        task.label,
        task.seed,
        curve=[p["best_report"] for p in trajectory],
        objective_curve=[p.get("best_objective", float("nan")) for p in trajectory],
        costs=[p["cost"] for p in trajectory],
        seconds=_journal_seconds(Path(task.out) / JOURNAL_NAME),
        evaluated_now=0,
        best=saved.get("best"),
    )


def _journal_seconds(path: Path) -> float:
    """Wall seconds of a finished run: the time stamp of its journal's last record (0 if unreadable)."""
    try:
        last = path.read_bytes().rstrip().rsplit(b"\n", 1)[-1]
        return float(json.loads(last).get("time", 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0


def not_runnable(optimizers: Sequence[OptimizerSpec], target: Any = None) -> dict[str, str]:
    """Label -> why it cannot run on this machine or on ``target`` (the comparison's benchmark or
    evaluator), for optimizers that say so (a warning each)."""
    not_run = {}
    for spec in optimizers:
        reason = optimizer_unavailable(spec.name, target)
        if reason:
            warnings.warn(f"{spec.label} is not run: {reason}", stacklevel=3)
            not_run[spec.label] = reason
    return not_run


def _worker_init() -> None:
    """A worker process of ours runs one torch thread (runs side by side, one per core)."""
    import torch

    torch.set_num_threads(1)


class _RunProgress:
    """Progress of a comparison in evaluations, counted across its runs: each run's journal gains a line
    per evaluation, so a thread counts them every half second while the runs go on (in this process,
    in worker processes or on Ray workers that share the file system). Runs whose budget is in
    simulated seconds count as whole runs."""

    def __init__(self, tasks: list[RunTask], desc: str, enabled: bool | None) -> None:
        self.tasks = tasks
        self.by_queries = all(task.budget is not None for task in tasks)
        total = sum(task.budget or 0 for task in tasks) if self.by_queries else len(tasks)
        self.display = Progress(total, desc, "eval" if self.by_queries else "run", enabled)
        self.finished: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def done(self, outcome: RunOutcome) -> None:
        """A run has finished."""
        self.finished.add((outcome.label, outcome.seed))

    def count(self) -> int:
        """Evaluations (or runs) done so far."""
        if not self.by_queries:
            return len(self.finished)
        done = 0
        for task in self.tasks:
            budget = task.budget or 0
            if (task.label, task.seed) in self.finished:
                done += budget
                continue
            try:
                lines = (Path(task.out) / JOURNAL_NAME).read_bytes().count(b"\n")
            except OSError:
                lines = 0
            done += min(max(lines - 1, 0), budget)  # the first line is the header
        return done

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self.display.set(self.count())

    def close(self, completed: bool = True) -> None:
        """Stop counting; show the last count when the runs completed."""
        self._stop.set()
        self._thread.join()
        if completed:
            self.display.set(self.count())
        self.display.close(last_line=completed)


def run_all(
    tasks: list[RunTask],
    workers: int | None,
    progress: bool | None,
    executor: str = "local",
    address: str | None = None,
    desc: str = "compare",
) -> list[RunOutcome]:
    """Run every task and return outcomes in task order.

    ``executor="local"``: ``workers`` processes (default one per CPU core); ``"ray"``: one Ray task
    per run (one CPU each) on the cluster at ``address`` (``HOST:PORT``; None starts a local
    instance). Every run is seeded on its own, so the outcomes do not depend on where or beside
    what it ran. ``progress`` (evaluations across the runs, labelled ``desc``): None: a bar on a
    terminal, log lines otherwise; True: a bar; False: nothing.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}", f"use one of: {', '.join(EXECUTORS)}")
    if address is not None and executor != "ray":
        raise ConfigError(
            option("address", "--address") + " is the Ray cluster's address",
            "add " + option("executor='ray'", "--executor ray"),
        )
    workers = workers or max(1, min(len(tasks), os.cpu_count() or 1))
    bar = _RunProgress(tasks, desc, progress)
    results: list[RunOutcome] = []
    completed = False
    try:
        if executor == "ray":
            results = _run_on_ray(tasks, address, bar)
        elif workers == 1:  # in the caller's process: its thread count is given back afterwards
            with torch_threads(1):
                for task in tasks:
                    results.append(run_one(task))
                    bar.done(results[-1])
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(workers, initializer=_worker_init) as pool:
                for res in pool.imap_unordered(run_one, tasks):
                    results.append(res)
                    bar.done(res)
        completed = True
    finally:
        bar.close(completed)
    order = {(t.label, t.seed): i for i, t in enumerate(tasks)}
    return sorted(results, key=lambda r: order[(r.label, r.seed)])


#: Where ``run_all`` can run the tasks.
EXECUTORS = ("local", "ray")


def _ray_task(task: RunTask, cwd: str) -> RunOutcome:
    """One run inside a Ray worker: the driver's working folder (relative paths), one torch thread."""
    if os.path.isdir(cwd):
        os.chdir(cwd)
    _worker_init()
    return run_one(task)


#: How many times Ray runs a run again whose node or worker process was lost (never for an error
#: the run raised). The new attempt resumes the run from its journal: nothing is evaluated twice.
RAY_RETRIES = 3


def _run_on_ray(tasks: list[RunTask], address: str | None, bar: _RunProgress) -> list[RunOutcome]:
    """Every task as a Ray task (one CPU each), the driver's ``NARS_*`` settings passed along; a
    task whose node is lost runs again elsewhere, resuming its run from the journal."""
    ray = connect(address)
    remote = ray.remote(num_cpus=1, max_retries=RAY_RETRIES)(_ray_task)
    cwd = os.getcwd()
    pending = [remote.remote(dataclasses.replace(task, out=str(Path(task.out).resolve())), cwd) for task in tasks]
    results: list[RunOutcome] = []
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for outcome in ray.get(done):
            results.append(outcome)
            bar.done(outcome)
    return results
