"""Running a comparison: one task per (optimizer, seed), worker processes, resuming finished runs.

A task is a plain dict (it crosses process boundaries): ``benchmark``, ``bench_options``,
``optimizer`` (registered name), ``label``, ``settings``, ``seed``, ``budget``, ``budget_seconds``,
``constraints`` and ``out`` (the run's folder). A run's outcome is a dict with ``label``, ``seed``,
``curve`` (best-so-far report metric after each query), ``objective_curve`` (best-so-far
objective; absent from runners that do not record it), ``costs`` (simulated seconds spent after
each query), ``seconds`` (wall time), ``evaluated_now`` and ``best`` (the candidate returned).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._progress import Progress
from .._safe_files import safe_name
from ..errors import ConfigError, option
from ..predictors.base import torch_threads
from ..storage import JOURNAL_NAME, SUMMARY_NAME
from .spec import OptimizerSpec

_BENCH_CACHE: dict[str, Any] = {}


def _benchmark(spec: str, options: dict[str, Any]) -> Any:
    """The benchmark ``spec`` with ``options``, created once per process."""
    key = json.dumps([spec, options], sort_keys=True)
    if key not in _BENCH_CACHE:
        from ..plugins import get_registry

        _BENCH_CACHE[key] = get_registry().create_benchmark(spec, **options)
    return _BENCH_CACHE[key]


def plan_runs(
    benchmark: str,
    bench_options: dict[str, Any],
    optimizers: Sequence[OptimizerSpec],
    seeds: Mapping[str, int],
    budget: int | None,
    budget_seconds: float | None,
    constraints: Sequence[str],
    out: Path,
) -> list[dict[str, Any]]:
    """One task per optimizer and seed 0..seeds[label]-1, each with its folder ``out/runs/<label>/seed<k>``."""
    return [
        {
            "benchmark": benchmark,
            "bench_options": bench_options,
            "optimizer": spec.name,
            "label": spec.label,
            "settings": spec.settings,
            "fixed_recipe": spec.fixed_recipe,
            "seed": seed,
            "budget": budget,
            "budget_seconds": budget_seconds,
            "constraints": list(constraints),
            "out": str(out / "runs" / safe_name(spec.label) / f"seed{seed}"),
        }
        for spec in optimizers
        for seed in range(seeds[spec.label])
    ]


def create_search(bench: Any, task: dict[str, Any]) -> Any:
    """The resumable search of one task: its optimizer, budget and study (journal in ``task["out"]``).

    Built with :func:`nars_plugin.create_study`, like every search; the rest of this module only runs
    it and reads its outcome.
    """
    from ..api import create_study

    return create_study(
        bench,
        task["optimizer"],
        budget=task["budget"],
        budget_seconds=task.get("budget_seconds"),
        seed=task["seed"],
        constraints=task["constraints"],
        storage=task["out"],
        settings=task["settings"],
        fixed_recipe=task.get("fixed_recipe"),
        progress=False,
        identity={"label": task["label"]},
    )


def run_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run (or resume) one study; return its best-so-far curves (report metric and objective)."""
    from ..plugins import get_registry

    bench = _benchmark(task["benchmark"], task["bench_options"])
    runner = get_registry().get("optimizer", task["optimizer"]).extra.get("runner")
    if runner is not None:  # driven by another library's own loop (e.g. NASLib's Trainer)
        return {"label": task["label"], "seed": task["seed"], **runner(bench, task)}
    started = time.perf_counter()
    study = create_search(bench, task)
    finished = finished_run(study, task)
    if finished is not None:
        return finished
    result = study.run()
    return {
        "label": task["label"],
        "seed": task["seed"],
        "curve": [p.best_report for p in result.trajectory],
        "objective_curve": [p.best_objective for p in result.trajectory],
        "costs": [p.cost for p in result.trajectory],
        "seconds": time.perf_counter() - started,
        "evaluated_now": result.evaluated_now,
        "best": study.summary(result)["best"],
    }


def finished_run(study: Any, task: dict[str, Any]) -> dict[str, Any] | None:
    """The outcome of a run that already finished in ``task["out"]`` under the same identity and budget.

    Its ``summary.json`` is read instead of replaying the journal (a replay asks the optimizer
    again, which for predictor-based searches costs as much as the search). None when there is
    no finished run there, or it belongs to other settings (then the study resumes or refuses as usual).
    """
    path = Path(task["out"]) / SUMMARY_NAME
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
    return {
        "label": task["label"],
        "seed": task["seed"],
        "curve": [p["best_report"] for p in trajectory],
        "objective_curve": [p.get("best_objective", float("nan")) for p in trajectory],
        "costs": [p["cost"] for p in trajectory],
        "seconds": _journal_seconds(Path(task["out"]) / JOURNAL_NAME),
        "evaluated_now": 0,
        "best": saved.get("best"),
    }


def _journal_seconds(path: Path) -> float:
    """Wall seconds of a finished run: the time stamp of its journal's last record (0 if unreadable)."""
    try:
        last = path.read_bytes().rstrip().rsplit(b"\n", 1)[-1]
        return float(json.loads(last).get("time", 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0


def not_runnable(registry: Any, optimizers: Sequence[OptimizerSpec]) -> dict[str, str]:
    """Label -> why it cannot run on this machine, for optimizers that say so (a warning each)."""
    import warnings

    not_run = {}
    for spec in optimizers:
        check = registry.get("optimizer", spec.name).extra.get("unavailable")
        reason = check() if check is not None else None
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

    def __init__(self, tasks: list[dict[str, Any]], desc: str, enabled: bool | None) -> None:
        self.tasks = tasks
        self.by_queries = all(task.get("budget") is not None for task in tasks)
        total = sum(task["budget"] for task in tasks) if self.by_queries else len(tasks)
        self.display = Progress(total, desc, "eval" if self.by_queries else "run", enabled)
        self.finished: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def done(self, outcome: Mapping[str, Any]) -> None:
        """A run has finished."""
        self.finished.add((outcome["label"], outcome["seed"]))

    def count(self) -> int:
        """Evaluations (or runs) done so far."""
        if not self.by_queries:
            return len(self.finished)
        done = 0
        for task in self.tasks:
            if (task["label"], task["seed"]) in self.finished:
                done += task["budget"]
                continue
            try:
                lines = (Path(task["out"]) / JOURNAL_NAME).read_bytes().count(b"\n")
            except OSError:
                lines = 0
            done += min(max(lines - 1, 0), task["budget"])  # the first line is the header
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
    tasks: list[dict[str, Any]],
    workers: int | None,
    progress: bool | None,
    executor: str = "local",
    address: str | None = None,
    desc: str = "compare",
) -> list[dict[str, Any]]:
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
    results: list[dict[str, Any]] = []
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
    order = {(t["label"], t["seed"]): i for i, t in enumerate(tasks)}
    return sorted(results, key=lambda r: order[(r["label"], r["seed"])])


#: Where ``run_all`` can run the tasks.
EXECUTORS = ("local", "ray")


def _ray_task(task: dict[str, Any], cwd: str) -> dict[str, Any]:
    """One run inside a Ray worker: the driver's working folder (relative paths), one torch thread."""
    if os.path.isdir(cwd):
        os.chdir(cwd)
    _worker_init()
    return run_one(task)


def _run_on_ray(tasks: list[dict[str, Any]], address: str | None, bar: _RunProgress) -> list[dict[str, Any]]:
    """Every task as a Ray task (one CPU each), the driver's ``NARS_*`` settings passed along."""
    from .._ray_cluster import connect

    ray = connect(address)
    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
    cwd = os.getcwd()
    pending = [remote.remote({**task, "out": str(Path(task["out"]).resolve())}, cwd) for task in tasks]
    results: list[dict[str, Any]] = []
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for outcome in ray.get(done):
            results.append(outcome)
            bar.done(outcome)
    return results
