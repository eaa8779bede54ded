"""Accuracy-latency Pareto fronts on ``nb201-latency``: NARS's stage-2 model family against REA and
random search at the same total budget, with hypervolumes over several seeds.

Protocol (every method spends exactly ``--budget`` queries per seed):

* ``nars-family``: one NARS run; stage 2 runs once per latency budget (``family`` setting), tightest
  first, and its picks are evaluated within the budget.
* ``<opt>-split``: one constrained run per latency budget, ``budget / k`` queries each (the way a
  user without a model-family search gets one model per budget).
* ``<opt>``: one unconstrained run of the whole budget.
* ``nars-family-30``: ``nars-family`` with 30% of the budget (instead of 10%) kept for the stage-2
  picks, i.e. 6 evaluated picks per latency budget instead of 2.

The front of a run is the Pareto front of *everything it evaluated*. Hypervolume reference point:
(the loosest latency budget, ``--acc-ref``); the table also gives the hypervolume of the true front
of the whole table (computable here because the table is complete) and, per latency budget, the best
accuracy found within it.

    python benchmarks/pareto.py --device pixel3 --budgets 3,5,8,12,20 --seeds 10 --budget 100 \\
        --out benchmarks/results/nb201-latency
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

METHODS = (
    "nars-family",
    "nars-family-30=nars-family(final_fraction=0.3)",
    "nars-split",
    "rea-split",
    "rs-split",
    "nars",
    "rea",
    "rs",
)


def _runs_of(method: str, budgets: list[float], device: str, total: int) -> list[tuple[str, list[str], dict, int]]:
    """(optimizer, constraints, settings, queries) of each run that makes up one method.

    A method is ``KIND`` or ``LABEL=KIND(key=value;...)`` with KIND ``nars-family``, ``<opt>-split``
    or ``<opt>``; the settings go to the optimizer.
    """
    from nars_plugin.comparison import OptimizerSpec

    spec = OptimizerSpec.parse(method)
    metric = f"latency[{device}]"
    kind, settings = spec.name, dict(spec.settings)
    if kind == "nars-family":
        family = ";".join(f"{metric}<={b:g}" for b in budgets)
        return [("nars", [], {**settings, "family": family}, total)]
    if kind.endswith("-split"):
        share = total // len(budgets)
        sizes = [share + (1 if i < total - share * len(budgets) else 0) for i in range(len(budgets))]
        return [(kind[: -len("-split")], [f"{metric} <= {b:g}"], settings, n) for b, n in zip(budgets, sizes)]
    return [(kind, [], settings, total)]


def _label(method: str) -> str:
    from nars_plugin.comparison import OptimizerSpec

    return OptimizerSpec.parse(method).label


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One method x seed: every evaluated candidate's (latency, accuracy), and NARS's family report."""
    import torch

    from nars_plugin import create_study
    from nars_plugin.plugins import get_registry

    torch.set_num_threads(1)
    registry = get_registry()
    bench = registry.create_benchmark("nb201-latency", device=task["device"])
    latency = bench.values("latency_ms")
    accuracy = bench.values()
    points: list[tuple[float, float]] = []
    family: list[dict[str, Any]] = []
    started = time.perf_counter()
    for optimizer, constraints, settings, queries in _runs_of(
        task["method"], task["budgets"], task["device"], task["budget"]
    ):
        study = create_study(
            bench,
            optimizer,
            budget=queries,
            seed=task["seed"],
            constraints=constraints,
            settings=settings,
            progress=False,
        )
        study.optimize()
        opt = study.optimizer
        for proposal, result in opt.history:
            if result.ok:
                row = bench.row_of(proposal.candidate)
                points.append((float(latency[row]), float(accuracy[row])))
        family += opt.report().get("family", [])
    return {
        "method": _label(task["method"]),
        "seed": task["seed"],
        "points": points,
        "family": family,
        "seconds": time.perf_counter() - started,
    }


def summarise(runs: list[dict[str, Any]], bench: Any, budgets: list[float], acc_ref: float) -> dict[str, Any]:
    """Hypervolume (mean, std, ratio to the true front) and best accuracy within each latency budget."""
    from nars_plugin.pareto import hypervolume, pareto_front

    reference = (max(budgets), acc_ref)
    lat, acc = bench.values("latency_ms"), bench.values()
    true_hv = hypervolume(lat, acc, reference)
    out: dict[str, Any] = {
        "reference_point": {"latency_ms": reference[0], "accuracy": reference[1]},
        "true_front": pareto_front(lat, acc).tolist(),
        "true_hypervolume": true_hv,
        "true_best_within": {f"{b:g}": float(acc[lat <= b].max()) for b in budgets},
        "methods": {},
    }
    for method in dict.fromkeys(r["method"] for r in runs):
        mine = [r for r in runs if r["method"] == method]
        hvs = np.array([hypervolume(*zip(*r["points"]), reference) for r in mine])
        within = {}
        for b in budgets:
            best = np.array([max((a for c, a in r["points"] if c <= b), default=np.nan) for r in mine])
            within[f"{b:g}"] = {"mean": float(np.nanmean(best)), "std": float(np.nanstd(best))}
        out["methods"][method] = {
            "hypervolume": {"mean": float(hvs.mean()), "std": float(hvs.std()), "per_seed": hvs.tolist()},
            "hypervolume_ratio": float(hvs.mean() / true_hv),
            "best_within": within,
            "seconds_per_seed": float(np.mean([r["seconds"] for r in mine])),
        }
    return out


def markdown(summary: dict[str, Any], config: dict[str, Any]) -> str:
    """The hypervolume table and the best-accuracy-within-budget table."""
    ref = summary["reference_point"]
    budgets = list(summary["true_best_within"])
    lines = [
        f"# nb201-latency (device={config['device']}): accuracy-latency fronts, {config['seeds']} seeds x "
        f"{config['budget']} queries",
        "",
        f"Hypervolume reference point: latency {ref['latency_ms']:g} ms, accuracy {ref['accuracy']:g}% "
        f"(area in ms x accuracy points). True front of the whole table: {summary['true_hypervolume']:.2f}.",
        "",
        "| method | hypervolume | × true front | × rs (same run) | s/seed |",
        "|---|---|---|---|---|",
    ]
    methods = summary["methods"]
    rs_hv = methods.get("rs", {}).get("hypervolume", {}).get("mean")
    for name, m in methods.items():
        hv = m["hypervolume"]
        vs_rs = f"{hv['mean'] / rs_hv:.3f}" if rs_hv else "-"
        lines.append(
            f"| {name} | {hv['mean']:.2f} ± {hv['std']:.2f} | {m['hypervolume_ratio']:.3f} | {vs_rs} | "
            f"{m['seconds_per_seed']:.1f} |"
        )
    lines += [
        "",
        "Best test accuracy found within each latency budget (mean ± std over seeds):",
        "",
        "| method | " + " | ".join(f"≤ {b} ms" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
        "| *table optimum* | " + " | ".join(f"{summary['true_best_within'][b]:.2f}" for b in budgets) + " |",
    ]
    for name, m in methods.items():
        cells = [f"{m['best_within'][b]['mean']:.2f} ± {m['best_within'][b]['std']:.2f}" for b in budgets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], runs: list[dict[str, Any]], budgets: list[float], path: Path) -> None:
    """Left: the fronts of the median-hypervolume seed of each method; right: best accuracy per budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nars_plugin.pareto import pareto_front

    ref = summary["reference_point"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    true = np.array(summary["true_front"])
    true = true[true[:, 0] <= ref["latency_ms"]]
    left.step(true[:, 0], true[:, 1], where="post", color="black", lw=2.5, alpha=0.35, label="true front (table)")
    for name, m in summary["methods"].items():
        per_seed = np.array(m["hypervolume"]["per_seed"])
        median_seed = int(np.argsort(per_seed)[len(per_seed) // 2])
        run = [r for r in runs if r["method"] == name][median_seed]
        front = pareto_front(*zip(*run["points"]))
        front = front[(front[:, 0] <= ref["latency_ms"]) & (front[:, 1] >= ref["accuracy"])]
        left.step(
            front[:, 0], front[:, 1], where="post", marker="o", ms=3, label=f"{name} (HV {per_seed[median_seed]:.1f})"
        )
    for b in budgets:
        left.axvline(b, color="grey", lw=0.6, ls=":")
    left.set_xlim(0, ref["latency_ms"] * 1.02)
    left.set_ylim(ref["accuracy"], 94.6)
    left.set_xlabel("latency (ms)")
    left.set_ylabel("CIFAR-10 test accuracy (%)")
    left.set_title("Pareto front of everything evaluated (median-HV seed)", fontsize=9)
    left.legend(fontsize=7, loc="lower right")
    left.grid(alpha=0.3)
    xs = np.arange(len(budgets))
    width = 0.8 / len(summary["methods"])
    for i, (name, m) in enumerate(summary["methods"].items()):
        means = [m["best_within"][f"{b:g}"]["mean"] for b in budgets]
        stds = [m["best_within"][f"{b:g}"]["std"] for b in budgets]
        right.bar(xs + i * width, means, width, yerr=stds, label=name, capsize=2)
    right.plot(xs + 0.4 - width / 2, [summary["true_best_within"][f"{b:g}"] for b in budgets], "k_", ms=30, mew=2)
    right.set_xticks(xs + 0.4 - width / 2, [f"≤ {b:g} ms" for b in budgets])
    right.set_ylim(85, 95)
    right.set_ylabel("best accuracy found within the budget (%)")
    right.set_title("mean ± std over seeds; black: table optimum", fontsize=9)
    right.legend(fontsize=7, loc="lower right")
    right.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _args(settings: dict[str, Any]) -> str:
    return "(" + ";".join(f"{k}={v}" for k, v in settings.items()) + ")" if settings else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="pixel3")
    parser.add_argument("--budgets", default="3,5,8,12,20", help="latency budgets in ms, comma list")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100, help="total queries per method and seed")
    parser.add_argument("--acc-ref", type=float, default=85.0, help="accuracy of the hypervolume reference point")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma list of KIND or LABEL=KIND(k=v;...)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from tqdm import tqdm

    from nars_plugin.comparison import split_optimizers
    from nars_plugin.plugins import get_registry

    budgets = sorted(float(b) for b in args.budgets.split(","))
    methods = [s.label + "=" + s.name + _args(s.settings) for s in split_optimizers(args.methods)]
    bench = get_registry().create_benchmark("nb201-latency", device=args.device)
    for b in budgets:
        bench.space.check_satisfiable([f"latency[{args.device}] <= {b:g}"])
    tasks = [
        {"method": m, "seed": s, "budgets": budgets, "device": args.device, "budget": args.budget}
        for m in methods
        for s in range(args.seeds)
    ]
    runs = []
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for run in tqdm(pool.imap_unordered(run_task, tasks), total=len(tasks), desc="pareto", unit="run"):
            runs.append(run)
    labels = [_label(m) for m in methods]
    runs.sort(key=lambda r: (labels.index(r["method"]), r["seed"]))
    summary = summarise(runs, bench, budgets, args.acc_ref)
    config = {**vars(args), "budgets": budgets, "methods": methods}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pareto.json").write_text(json.dumps({"config": config, **summary}, indent=2) + "\n")
    (out / "pareto_runs.json").write_text(json.dumps(runs) + "\n")
    (out / "pareto.md").write_text(markdown(summary, config))
    plot(summary, runs, budgets, out / "pareto.png")
    print(markdown(summary, config))
    print(f"results: {out}/pareto.json, pareto.md, pareto.png")


if __name__ == "__main__":
    main()
