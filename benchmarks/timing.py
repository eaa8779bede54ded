"""Wall time of one full 100-query search per optimizer, in this process, on all cores.

NARS (stage 1, stage 2 and the final picks, predictor pretraining included) is timed against
regularized evolution in the same run, so the figure to read is the ratio, not the seconds:
these machines are noisy. Writes ``OUT/timing.json`` and ``OUT/timing.md``.

    python benchmarks/timing.py --benchmark csv:../shared/data/nb201/cifar10_test_acc_200ep.csv \
        --out benchmarks/results/timing
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from nars_plugin import create_study
from nars_plugin.comparison import _benchmark


def time_search(benchmark: str, optimizer: str, seed: int, queries: int) -> tuple[float, float]:
    """Seconds of one search from scratch (benchmark already loaded), and its best objective."""
    bench = _benchmark(benchmark, {})
    started = time.perf_counter()
    result = create_study(bench, optimizer, budget=queries, seed=seed, progress=False).optimize()
    return time.perf_counter() - started, result.best_result.objective(bench.objective)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--optimizers", default="nars,rea,bananas")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    names = args.optimizers.split(",")
    _benchmark(args.benchmark, {})  # load the table once, outside the timings
    rows = {}
    for name in names:
        runs = [time_search(args.benchmark, name, seed, args.queries) for seed in range(args.seeds)]
        seconds = [s for s, _ in runs]
        rows[name] = {"seconds": seconds, "mean_seconds": float(np.mean(seconds)), "best": [b for _, b in runs]}
        print(f"{name}: {np.mean(seconds):.2f} s per {args.queries}-query search (seeds {args.seeds})")
    base = rows["rea"]["mean_seconds"] if "rea" in rows else None
    for row in rows.values():
        row["ratio_to_rea"] = row["mean_seconds"] / base if base else None
    report = {
        "benchmark": args.benchmark,
        "queries": args.queries,
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, {platform.processor() or '?'}, python {platform.python_version()}",
        "results": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "timing.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Wall time of one {args.queries}-query search ({args.benchmark.split('/')[-1]}, "
        f"{report['torch_threads']} torch threads)",
        "",
        "| optimizer | mean s/search | × REA | best found (per seed) |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        ratio = f"{row['ratio_to_rea']:.0f}" if row["ratio_to_rea"] else "-"
        best = ", ".join(f"{b:.2f}" for b in row["best"])
        lines.append(f"| {name} | {row['mean_seconds']:.2f} | {ratio} | {best} |")
    (out / "timing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
