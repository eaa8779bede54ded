"""``nars compare``: every optimizer x every seed on one benchmark, with tables and a regret plot.

Each run is an ordinary resumable :class:`~nars_plugin.study.Study` with its journal in
``OUT/runs/<label>/seed<k>/``, so an interrupted comparison picks up where it stopped. Runs go
to worker processes (one torch thread each); results do not depend on the number of workers.

Outputs: ``summary.json`` (optimizer -> budget, as a string -> ``{"mean", "std", "p_top"}``),
``details.json`` (configuration, optimum, top-0.1% threshold, run times, mean best-so-far
curves, reference rows), ``summary.md`` (the table, with published reference rows where they
apply, clearly marked as not our runs) and ``regret.png``.

Optimizer specs: ``NAME``, or ``LABEL=NAME(key=value;key=value)`` for a variant, e.g.
``nars-std=nars(fixed_recipe=training=standard)``.

Budgets: queries (``budget``), simulated seconds (``budget_seconds``: each query costs what the
benchmark says, e.g. its training time), or both (a run stops at the first limit). A seconds-only
budget is reported at 10%, 25%, 50% and 100% of it; like the study loop, a query asked before a
checkpoint counts at that checkpoint even when its cost runs past it.

The figure reported for a run is the benchmark's *report* metric of the candidate the search
returns (its best objective): for ``nb201-paper``, the 200-epoch CIFAR-10 test accuracy of the
architecture with the best 12-epoch validation accuracy found. Any tabular benchmark can name its
report metric (``report=`` option of ``csv``, ``nb201-paper``, ``nb201-schedule``).
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError
from .keyvalue import parse_key_values
from .safe_files import atomic_write, safe_name

#: Published NAS-Bench-201 CIFAR-10 test accuracies (200 epochs), NB201 paper (Dong & Yang 2020), Table 5.
REFERENCES: dict[str, dict[str, str]] = {
    "nb201-c10": {
        "DARTS-V1": "54.30",
        "DARTS-V2": "54.30",
        "ENAS": "53.89",
        "GDAS": "93.61",
        "RS": "93.70 ± 0.36",
        "REINFORCE": "93.85",
        "REA": "93.92 ± 0.30",
    }
}
REFERENCE_NOTE = (
    "published in the NAS-Bench-201 paper (Dong & Yang, ICLR 2020) under its 12,000-second protocol; not our runs"
)

_SPEC_RE = re.compile(r"^\s*(?:(?P<label>[\w.\-]+)=)?(?P<name>[\w.\-:]+)\s*(?:\((?P<args>.*)\))?\s*$")


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a comparison: a label, a registered name and settings."""

    label: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> OptimizerSpec:
        """Parse ``NAME`` or ``LABEL=NAME(key=value;key=value)``."""
        match = _SPEC_RE.match(text)
        if not match:
            raise ConfigError(f"cannot parse optimizer spec {text!r}", "write NAME or LABEL=NAME(key=value;key=value)")
        settings = parse_key_values(match["args"] or "", f"optimizer setting in {text!r}:", separator=";")
        return cls(match["label"] or match["name"], match["name"], settings)


def split_optimizers(text: str) -> list[OptimizerSpec]:
    """Split a comma-separated list of specs (commas inside parentheses stay)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    specs = [OptimizerSpec.parse(p) for p in parts if p.strip()]
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"duplicate optimizer labels in {labels}", "give variants labels: LABEL=NAME(...)")
    return specs


#: Fractions of a seconds-only budget at which results are reported.
SECONDS_MARKS = (0.1, 0.25, 0.5, 1.0)


def checkpoints_seconds(seconds: float) -> list[float]:
    """Simulated-second checkpoints of a seconds-only budget."""
    return [round(f * seconds, 6) for f in SECONDS_MARKS]


def checkpoints(budget: int) -> list[int]:
    """Budgets reported: 10, 25, 50, 100, 200, 250, 500, 1000, ... up to and including ``budget``."""
    marks = [m * 10**e for e in range(1, 8) for m in (1, 2.5, 5)]
    out = sorted({int(m) for m in marks if m < budget} | {budget})
    return [b for b in out if b >= min(10, budget)]


_BENCH_CACHE: dict[str, Any] = {}


def _benchmark(spec: str, options: dict[str, Any]) -> Any:
    key = json.dumps([spec, options], sort_keys=True)
    if key not in _BENCH_CACHE:
        from .plugins import get_registry

        _BENCH_CACHE[key] = get_registry().create_benchmark(spec, **options)
    return _BENCH_CACHE[key]


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def run_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run (or resume) one study; return its best-so-far curve of the report metric."""
    from .optimizers.base import Budget
    from .plugins import get_registry
    from .study import Study

    bench = _benchmark(task["benchmark"], task["bench_options"])
    runner = get_registry().get("optimizer", task["optimizer"]).extra.get("runner")
    if runner is not None:  # driven by another library's own loop (e.g. NASLib's Trainer)
        return {"label": task["label"], "seed": task["seed"], **runner(bench, task)}
    budget = Budget(queries=task["budget"], seconds=task.get("budget_seconds"))
    optimizer = get_registry().create_optimizer(
        task["optimizer"],
        bench.space,
        objective=bench.objective,
        seed=task["seed"],
        constraints=task["constraints"],
        budget=budget,
        max_fidelity=bench.max_fidelity,
        **task["settings"],
    )
    started = time.perf_counter()
    study = Study(bench, optimizer, budget, out_dir=task["out"], config={"label": task["label"]}, progress=False)
    finished = finished_run(study, task)
    if finished is not None:
        return finished
    result = study.run()
    return {
        "label": task["label"],
        "seed": task["seed"],
        "curve": [p.best_report for p in result.trajectory],
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
    from .storage import JOURNAL_NAME, SUMMARY_NAME
    from .storage import jsonable as _jsonable

    path = Path(task["out"]) / SUMMARY_NAME
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = saved.get("config") == _jsonable(study.identity()) and saved.get("budget") == {
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


def compare(
    benchmark: str,
    optimizers: Sequence[OptimizerSpec],
    seeds: int,
    budget: int | None,
    out: str | os.PathLike[str],
    bench_options: dict[str, Any] | None = None,
    constraints: Sequence[str] = (),
    workers: int | None = None,
    reference: str | None = "auto",
    progress: bool | None = None,
    budget_seconds: float | None = None,
) -> dict[str, Any]:
    """Run the comparison and write ``summary.json``, ``details.json``, ``summary.md`` and ``regret.png``.

    ``budget`` counts queries, ``budget_seconds`` simulated seconds (give one or both).
    Returns the summary: ``results`` (what ``summary.json`` holds) plus the details.
    """
    from .optimizers.base import Budget
    from .plugins import get_registry

    if seeds < 1:
        raise ConfigError("--seeds must be >= 1")
    Budget(queries=budget, seconds=budget_seconds)  # a clear error for a missing or non-positive budget
    registry = get_registry()
    not_run = _not_runnable(registry, optimizers)
    optimizers = [spec for spec in optimizers if spec.label not in not_run]
    if not optimizers:
        raise ConfigError(f"no optimizer of the comparison can run here: {not_run}", "add one that can")
    for spec in optimizers:  # a bad setting fails here, not in every worker
        registry.parse_settings("optimizer", spec.name, spec.settings)
    bench_options = dict(bench_options or {})
    bench = _benchmark(benchmark, bench_options)
    bench.space.check_satisfiable(constraints)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [
        {
            "benchmark": benchmark,
            "bench_options": bench_options,
            "optimizer": spec.name,
            "label": spec.label,
            "settings": spec.settings,
            "seed": seed,
            "budget": budget,
            "budget_seconds": budget_seconds,
            "constraints": list(constraints),
            "out": str(out / "runs" / safe_name(spec.label) / f"seed{seed}"),
        }
        for spec in optimizers
        for seed in range(seeds)
    ]
    workers = workers or max(1, min(len(tasks), os.cpu_count() or 1))
    runs = _run_all(tasks, workers, progress)
    summary = summarise(
        bench, optimizers, runs, budget, constraints, reference_key(benchmark, bench, reference), budget_seconds
    )
    summary["not_run"] = not_run
    summary["config"] = {
        "benchmark": benchmark,
        "bench_options": bench_options,
        "optimizers": [s.__dict__ for s in optimizers],
        "seeds": seeds,
        "budget": budget,
        "budget_seconds": budget_seconds,
        "constraints": list(constraints),
    }
    atomic_write(out / "summary.json", json.dumps(summary["results"], indent=2) + "\n")
    details = {k: v for k, v in summary.items() if k != "results"}
    atomic_write(out / "details.json", json.dumps(details, indent=2, sort_keys=True) + "\n")
    atomic_write(out / "summary.md", markdown(summary))
    plot_regret(summary, out / "regret.png")
    return summary


def _not_runnable(registry: Any, optimizers: Sequence[OptimizerSpec]) -> dict[str, str]:
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


def _run_all(tasks: list[dict[str, Any]], workers: int, progress: bool | None) -> list[dict[str, Any]]:
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc="compare", unit="run", disable=None if progress is None else not progress)
    results: list[dict[str, Any]] = []
    try:
        if workers == 1:
            _worker_init()
            for task in tasks:
                results.append(run_one(task))
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(workers, initializer=_worker_init) as pool:
                for res in pool.imap_unordered(run_one, tasks):
                    results.append(res)
                    bar.update()
    finally:
        bar.close()
    order = {(t["label"], t["seed"]): i for i, t in enumerate(tasks)}
    return sorted(results, key=lambda r: order[(r["label"], r["seed"])])


def reference_key(spec: str, bench: Any, reference: str | None) -> str | None:
    """Which published reference rows apply (``auto``: NB201 CIFAR-10 200-epoch test tables)."""
    if reference in (None, "none"):
        return None
    if reference != "auto":
        if reference not in REFERENCES:
            raise ConfigError(f"unknown reference {reference!r}", f"choose one of {sorted(REFERENCES)} or none")
        return reference
    text = f"{spec} {getattr(bench, 'report', '')}".lower()
    if bench.space.name == "nb201" and ("cifar10_test_acc_200ep" in text or "nb201-paper" in text):
        return "nb201-c10"
    return None


def summarise(
    bench: Any,
    optimizers: Sequence[OptimizerSpec],
    runs: list[dict[str, Any]],
    budget: int | None,
    constraints: Sequence[str],
    reference: str | None,
    budget_seconds: float | None = None,
) -> dict[str, Any]:
    """Aggregate run curves into mean/std/p_top per optimizer and budget (queries, or seconds if only those)."""
    metric = getattr(bench, "report", bench.objective)
    optimum = bench.optimum(metric, constraints) if hasattr(bench, "optimum") else math.nan
    top = bench.top_threshold(0.001, metric, constraints) if hasattr(bench, "top_threshold") else math.inf
    in_seconds = budget is None
    marks: list[float] = checkpoints_seconds(budget_seconds) if in_seconds else checkpoints(budget)  # type: ignore[arg-type]

    def value(run: dict[str, Any], mark: float) -> float:
        return _at_seconds(run["curve"], run["costs"], mark) if in_seconds else _at(run["curve"], int(mark))

    results: dict[str, Any] = {}
    seconds: dict[str, Any] = {}
    queries: dict[str, Any] = {}
    for spec in optimizers:
        mine = [r for r in runs if r["label"] == spec.label]
        table = {}
        for b in marks:
            values = np.array([value(r, b) for r in mine], dtype=float)
            table[f"{b:g}"] = {
                "mean": float(np.nanmean(values)) if np.isfinite(values).any() else None,
                "std": float(np.nanstd(values)) if np.isfinite(values).any() else None,
                "p_top": float(np.mean(values >= top - 1e-9)),
            }
        results[spec.label] = table
        times = np.array([r["seconds"] for r in mine])
        seconds[spec.label] = {"mean": float(times.mean()), "max": float(times.max())}
        counts = np.array([len(r["curve"]) for r in mine])
        queries[spec.label] = {"mean": float(counts.mean()), "min": int(counts.min()), "max": int(counts.max())}
    grid = np.linspace(budget_seconds / 100, budget_seconds, 100) if in_seconds else np.arange(1, budget + 1)  # type: ignore[operator]
    curves = {
        spec.label: np.nanmean(
            np.array([[value(r, x) for x in grid] for r in runs if r["label"] == spec.label]), 0
        ).tolist()
        for spec in optimizers
    }
    return {
        "benchmark": getattr(bench, "name", "?"),
        "metric": metric,
        "optimum": optimum,
        "top_0.1%_threshold": top,
        "seeds": len(runs) // max(1, len(optimizers)),
        "results": results,
        "seconds_per_run": seconds,
        "queries_per_run": queries,
        "budget_unit": "s" if in_seconds else "queries",
        "curve_x": grid.tolist(),
        "mean_curves": curves,
        "reference": {"key": reference, "note": REFERENCE_NOTE, "rows": REFERENCES[reference]} if reference else None,
    }


def _at(curve: list[float], n: int) -> float:
    if not curve:
        return math.nan
    return float(curve[min(n, len(curve)) - 1])


def _at_seconds(curve: list[float], costs: list[float], seconds: float) -> float:
    """The best-so-far value once every query asked before ``seconds`` were spent has answered."""
    spent_before = np.concatenate([[0.0], np.asarray(costs[:-1], dtype=float)])
    asked = int(np.searchsorted(spent_before, seconds, side="left"))  # queries started below ``seconds``
    return float(curve[asked - 1]) if asked else math.nan


def _title(summary: dict[str, Any]) -> str:
    """The benchmark's name with its options, e.g. ``nb201-analog (target=analog_1d)``."""
    options = (summary.get("config") or {}).get("bench_options") or {}
    extra = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{summary['benchmark']} ({extra})" if extra else str(summary["benchmark"])


def _digits(optimum: float) -> int:
    """Decimals of the table: 2 for percentages, 4 for objectives of order one (e.g. -log10 MSE)."""
    return 2 if not math.isfinite(optimum) or abs(optimum) >= 10 else 4


def markdown(summary: dict[str, Any]) -> str:
    """The comparison table in Markdown."""
    budgets = list(next(iter(summary["results"].values())).keys())
    unit = "s (simulated)" if summary.get("budget_unit") == "s" else "queries"
    digits = _digits(summary["optimum"])
    feasible = " of the feasible candidates" if summary.get("config", {}).get("constraints") else ""
    lines = [
        f"# {_title(summary)}: best {summary['metric']} found (mean ± std over {summary['seeds']} seeds)",
        "",
        f"Optimum{feasible} {summary['optimum']:.4f}; top-0.1% threshold {summary['top_0.1%_threshold']:.4f} "
        f"(p_top: share of seeds whose best is in the top 0.1%{feasible}).",
        "",
        "| optimizer | " + " | ".join(f"{b} {unit}" for b in budgets) + " | queries/run | s/run |",
        "|---|" + "---|" * (len(budgets) + 2),
    ]
    for label, table in summary["results"].items():
        cells = [
            f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f} ({v['p_top']:.2f})" if v["mean"] is not None else "-"
            for v in table.values()
        ]
        n = summary.get("queries_per_run", {}).get(label, {}).get("mean", math.nan)
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {n:.1f} | {summary['seconds_per_run'][label]['mean']:.1f} |"
        )
    for label, reason in (summary.get("not_run") or {}).items():
        lines += ["", f"Not run here: {label}: {reason}"]
    ref = summary.get("reference")
    if ref:
        lines += ["", f"Reference rows, {ref['note']}:", "", "| method (published) | CIFAR-10 test |", "|---|---|"]
        lines += [f"| {name} *(published)* | {value} |" for name, value in ref["rows"].items()]
    return "\n".join(lines) + "\n"


def plot_regret(summary: dict[str, Any], path: Path) -> None:
    """Mean regret (optimum - best found) against queries, log scale."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # matplotlib is the `plot` extra
        atomic_write(path.with_suffix(".txt"), "install matplotlib (pip install 'nars-plugin[plot]') for regret.png\n")
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, curve in summary["mean_curves"].items():
        regret = np.maximum(summary["optimum"] - np.asarray(curve, dtype=float), 1e-3)
        ax.plot(summary.get("curve_x") or np.arange(1, len(regret) + 1), regret, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("simulated seconds" if summary.get("budget_unit") == "s" else "queries")
    ax.set_ylabel(f"regret of {summary['metric']} (optimum − best found)")
    ax.set_title(f"{_title(summary)} — mean over {summary['seeds']} seeds", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, dpi=120, format="png")
    plt.close(fig)
    atomic_write(path, image.getvalue())
