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
"""

from __future__ import annotations

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
from .space import _parse_scalar

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
        settings: dict[str, Any] = {}
        for item in filter(None, (s.strip() for s in (match["args"] or "").split(";"))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"optimizer setting {item!r} in {text!r} is not key=value")
            settings[key.strip()] = _parse_scalar(value.strip())
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
    budget = Budget(queries=task["budget"])
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
    result = study.run()
    return {
        "label": task["label"],
        "seed": task["seed"],
        "curve": [p.best_report for p in result.trajectory],
        "seconds": time.perf_counter() - started,
        "evaluated_now": result.evaluated_now,
        "best": study.summary(result)["best"],
    }


def compare(
    benchmark: str,
    optimizers: Sequence[OptimizerSpec],
    seeds: int,
    budget: int,
    out: str | os.PathLike[str],
    bench_options: dict[str, Any] | None = None,
    constraints: Sequence[str] = (),
    workers: int | None = None,
    reference: str | None = "auto",
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run the comparison and write ``summary.json``, ``details.json``, ``summary.md`` and ``regret.png``.

    Returns the summary: ``results`` (what ``summary.json`` holds) plus the details.
    """
    from .plugins import get_registry

    if seeds < 1 or budget < 1:
        raise ConfigError("--seeds and --budget must be >= 1")
    registry = get_registry()
    for spec in optimizers:
        registry.get("optimizer", spec.name)
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
            "constraints": list(constraints),
            "out": str(out / "runs" / _safe(spec.label) / f"seed{seed}"),
        }
        for spec in optimizers
        for seed in range(seeds)
    ]
    workers = workers or max(1, min(len(tasks), os.cpu_count() or 1))
    runs = _run_all(tasks, workers, progress)
    summary = summarise(bench, optimizers, runs, budget, constraints, reference_key(benchmark, bench, reference))
    summary["config"] = {
        "benchmark": benchmark,
        "bench_options": bench_options,
        "optimizers": [s.__dict__ for s in optimizers],
        "seeds": seeds,
        "budget": budget,
        "constraints": list(constraints),
    }
    (out / "summary.json").write_text(json.dumps(summary["results"], indent=2) + "\n")
    details = {k: v for k, v in summary.items() if k != "results"}
    (out / "details.json").write_text(json.dumps(details, indent=2, sort_keys=True) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    plot_regret(summary, out / "regret.png")
    return summary


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
    budget: int,
    constraints: Sequence[str],
    reference: str | None,
) -> dict[str, Any]:
    """Aggregate run curves into mean/std/p_top per optimizer and budget."""
    metric = getattr(bench, "report", bench.objective)
    optimum = bench.optimum(metric, constraints) if hasattr(bench, "optimum") else math.nan
    top = bench.top_threshold(0.001, metric) if hasattr(bench, "top_threshold") else math.inf
    results: dict[str, Any] = {}
    seconds: dict[str, Any] = {}
    for spec in optimizers:
        mine = [r for r in runs if r["label"] == spec.label]
        table = {}
        for b in checkpoints(budget):
            values = np.array([_at(r["curve"], b) for r in mine], dtype=float)
            table[str(b)] = {
                "mean": float(np.nanmean(values)) if np.isfinite(values).any() else None,
                "std": float(np.nanstd(values)) if np.isfinite(values).any() else None,
                "p_top": float(np.mean(values >= top - 1e-9)),
            }
        results[spec.label] = table
        times = np.array([r["seconds"] for r in mine])
        seconds[spec.label] = {"mean": float(times.mean()), "max": float(times.max())}
    curves = {
        spec.label: np.nanmean(
            np.array([[_at(r["curve"], n) for n in range(1, budget + 1)] for r in runs if r["label"] == spec.label]), 0
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
        "mean_curves": curves,
        "reference": {"key": reference, "note": REFERENCE_NOTE, "rows": REFERENCES[reference]} if reference else None,
    }


def _at(curve: list[float], n: int) -> float:
    if not curve:
        return math.nan
    return float(curve[min(n, len(curve)) - 1])


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
    digits = _digits(summary["optimum"])
    lines = [
        f"# {_title(summary)}: best {summary['metric']} found (mean ± std over {summary['seeds']} seeds)",
        "",
        f"Optimum {summary['optimum']:.4f}; top-0.1% threshold {summary['top_0.1%_threshold']:.4f} "
        "(p_top: share of seeds whose best is in the top 0.1%).",
        "",
        "| optimizer | " + " | ".join(f"{b} queries" for b in budgets) + " | s/run |",
        "|---|" + "---|" * (len(budgets) + 1),
    ]
    for label, table in summary["results"].items():
        cells = [
            f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f} ({v['p_top']:.2f})" if v["mean"] is not None else "-"
            for v in table.values()
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {summary['seconds_per_run'][label]['mean']:.1f} |")
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
        (path.with_suffix(".txt")).write_text("install matplotlib (pip install 'nars-plugin[plot]') for regret.png\n")
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, curve in summary["mean_curves"].items():
        regret = np.maximum(summary["optimum"] - np.asarray(curve, dtype=float), 1e-3)
        ax.plot(np.arange(1, len(regret) + 1), regret, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("queries")
    ax.set_ylabel(f"regret of {summary['metric']} (optimum − best found)")
    ax.set_title(f"{_title(summary)} — mean over {summary['seeds']} seeds", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _safe(label: str) -> str:
    return re.sub(r"[^\w.\-]", "_", label)
