"""Wall time of one full 100-query search per optimizer, in one process, and where NARS spends it.

Each optimizer first runs one untimed search (seed 999) that pays the one-time costs of a process:
importing torch's optimiser and scipy modules, and for NARS the pretraining of the predictor on the
space's free statistics, which the pretraining cache then keeps on disk (``NARS_CACHE_DIR`` is a fresh
folder for this run, so that first search really pretrains; its seconds are reported as "first").
Then ``--seeds`` searches are timed. Optuna TPE and REA run in the same process, so the figures to
read are the ratios: these machines are noisy. ``--profile`` adds a cProfile breakdown of one more
NARS search by phase. Writes ``OUT/timing.json`` and ``OUT/timing.md``.

    python benchmarks/timing.py --benchmark csv:../shared/data/nb201/cifar10_test_acc_200ep.csv \\
        --optimizers nars,bananas,optuna-tpe,rea --profile --out benchmarks/results/timing
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

#: Phases of a NARS search: (label, functions whose cumulative time it is); "other" is the rest.
PHASES = [
    ("pretraining (once per space, then cached)", ["pretrain"]),
    ("predictor fits", ["fit"]),  # without the pretraining the first fit may start
    ("pool screening (one ensemble member)", ["screen"]),
    ("pool ranking (full ensemble)", ["_acquisition"]),
    ("stage-2 evolution", ["evolve"]),
]


def time_search(benchmark: str, optimizer: str, seed: int, queries: int) -> tuple[float, float]:
    """Seconds of one search from scratch (benchmark already loaded), and its best objective."""
    from nars_plugin import create_study
    from nars_plugin.comparison import _benchmark

    bench = _benchmark(benchmark, {})
    started = time.perf_counter()
    result = create_study(bench, optimizer, budget=queries, seed=seed, progress=False).optimize()
    return time.perf_counter() - started, result.best_result.objective(bench.objective)


def profile_search(benchmark: str, seed: int, queries: int) -> dict[str, float]:
    """Seconds per phase of one NARS search (cProfile cumulative times; profiling adds overhead)."""
    profiler = cProfile.Profile()
    profiler.enable()
    started = time.perf_counter()
    time_search(benchmark, "nars", seed, queries)
    total = time.perf_counter() - started
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    phases = {"total": total}
    for label, functions in PHASES:
        phases[label] = sum(
            cumulative
            for (filename, _, name), (_, _, _, cumulative, _) in stats.items()
            if name in functions and "nars_plugin" in filename and "predictors/base" not in filename
        )
    phases["predictor fits"] -= phases[PHASES[0][0]]  # the first fit pretrains when nothing is cached
    phases["other (planning, pool bookkeeping, the study)"] = total - sum(v for k, v in phases.items() if k != "total")
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--optimizers", default="nars,bananas,optuna-tpe,rea")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="also profile one NARS search by phase")
    parser.add_argument("--label", default="", help="a note for the report (e.g. the commit measured)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.environ["NARS_CACHE_DIR"] = tempfile.mkdtemp(prefix="nars-timing-cache-")
    from nars_plugin.comparison import _benchmark

    names = args.optimizers.split(",")
    _benchmark(args.benchmark, {})  # load the table once, outside the timings
    rows = {}
    for name in names:
        first, _ = time_search(args.benchmark, name, 999, args.queries)
        runs = [time_search(args.benchmark, name, seed, args.queries) for seed in range(args.seeds)]
        seconds = [s for s, _ in runs]
        rows[name] = {
            "first_search_seconds": first,
            "seconds": seconds,
            "mean_seconds": float(np.mean(seconds)),
            "best": [b for _, b in runs],
        }
        print(f"{name}: {np.mean(seconds):.2f} s per {args.queries}-query search (first {first:.2f} s)", flush=True)
    for base in ("optuna-tpe", "rea"):
        for row in rows.values():
            row[f"ratio_to_{base}"] = row["mean_seconds"] / rows[base]["mean_seconds"] if base in rows else None
    report = {
        "benchmark": args.benchmark,
        "queries": args.queries,
        "label": args.label,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_end": os.getloadavg()[0],
        "machine": f"{platform.machine()}, {platform.processor() or '?'}, python {platform.python_version()}",
        "results": rows,
    }
    if args.profile:
        report["nars_profile"] = profile_search(args.benchmark, 0, args.queries)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "timing.json").write_text(json.dumps(report, indent=2) + "\n")
    title = f"# Wall time of one {args.queries}-query search ({args.benchmark.split('/')[-1]}"
    lines = [
        f"{title}, {report['torch_threads']} torch threads){' - ' + args.label if args.label else ''}",
        "",
        "| optimizer | mean s/search | × Optuna TPE | × REA | first search in the process (s) | best (per seed) |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        tpe = f"{row['ratio_to_optuna-tpe']:.2f}" if row.get("ratio_to_optuna-tpe") else "-"
        rea = f"{row['ratio_to_rea']:.0f}" if row.get("ratio_to_rea") else "-"
        best = ", ".join(f"{b:.2f}" for b in row["best"])
        lines.append(
            f"| {name} | {row['mean_seconds']:.2f} | {tpe} | {rea} | {row['first_search_seconds']:.2f} | {best} |"
        )
    if args.profile:
        lines += ["", "NARS, one search (seed 0) under cProfile:", "", "| phase | s | share |", "|---|---|---|"]
        total = report["nars_profile"]["total"]
        for label, value in report["nars_profile"].items():
            lines.append(f"| {label} | {value:.2f} | {value / total:.0%} |")
    (out / "timing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
