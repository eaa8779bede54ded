"""Rebuild the tables and plot of a ``nars compare`` folder from the runs that finished.

``nars compare`` writes ``summary.md`` only when every run is done. When a comparison has to be
stopped early (time, shared machine), this reads ``OUT/runs/<label>/seed<k>/summary.json`` of each
finished run and writes the same ``summary.json``, ``details.json``, ``summary.md`` and
``regret.png``, stating how many seeds each optimizer has. Rerunning the original ``nars compare``
command completes the missing runs (it resumes from the journals).

    python benchmarks/summarise_runs.py --out benchmarks/results/fcnet-protein_structure \\
        -b fcnet -B dataset=protein_structure --budget 50
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nars_plugin._keyvalue import parse_key_values
from nars_plugin.comparison import (
    OptimizerSpec,
    RunOutcome,
    details_json,
    markdown,
    plot_regret,
    summarise,
    summary_json,
)
from nars_plugin.plugins import get_registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--benchmark", "-b", required=True)
    parser.add_argument("--bench-opt", "-B", action="append")
    parser.add_argument("--budget", type=int, required=True)
    parser.add_argument("--constraint", "-c", action="append", default=[])
    args = parser.parse_args()

    out = Path(args.out)
    options = parse_key_values(args.bench_opt, "--bench-opt")
    bench = get_registry().create_benchmark(args.benchmark, **options)
    runs, specs, seeds = [], [], {}
    for folder in sorted(p for p in (out / "runs").iterdir() if p.is_dir()):
        finished = []
        for run in sorted(folder.glob("seed*/summary.json"), key=lambda p: int(p.parent.name[4:])):
            data = json.loads(run.read_text())
            if data["n_evaluations"] < args.budget:
                continue
            curve = [p["best_report"] for p in data["trajectory"]]
            objective_curve = [p.get("best_objective", float("nan")) for p in data["trajectory"]]
            seconds = float("nan")
            seed = int(run.parent.name[4:])
            finished.append(
                RunOutcome(folder.name, seed, curve, seconds, 0, data.get("best"), objective_curve=objective_curve)
            )
        if finished:
            specs.append(OptimizerSpec(folder.name, folder.name))
            seeds[folder.name] = [r.seed for r in finished]
            runs += finished
    summary = summarise(bench, specs, runs, args.budget, args.constraint, None)
    summary["seeds"] = min(len(s) for s in seeds.values())
    summary["config"] = {
        "benchmark": args.benchmark,
        "bench_options": options,
        "budget": args.budget,
        "constraints": args.constraint,
        "seeds_per_optimizer": seeds,
        "note": "tables rebuilt from the runs that finished (benchmarks/summarise_runs.py)",
    }
    (out / "summary.json").write_text(json.dumps(summary_json(summary), indent=2) + "\n")
    (out / "details.json").write_text(json.dumps(details_json(summary), indent=2, sort_keys=True) + "\n")
    counts = ", ".join(f"{label}: {len(s)}" for label, s in seeds.items())
    text = markdown(summary).replace("| s/run |", "| |").replace("| nan |", "| |")
    (out / "summary.md").write_text(text + f"\nFinished seeds per optimizer (seeds 0..k-1): {counts}.\n")
    plot_regret(summary, out / "regret.png")
    print(text + f"\nFinished seeds per optimizer: {counts}")


if __name__ == "__main__":
    main()
