"""NARS against random search with real training: fbnetv3-tiny on scikit-learn's digits, on a CPU.

Runs ``nars search --space fbnetv3-tiny --evaluator train --dataset digits`` for each optimizer and
seed at the same query budget, then writes ``summary.md``, ``summary.json`` and ``curves.png``
(best validation top-1 against evaluations and against CPU-seconds spent) into the output folder.
NARS trains its later stage-1 candidates only up to the early-stopping epoch its round-0 curves
chose, so it spends fewer CPU-seconds per evaluation; both columns are reported.

    python benchmarks/digits_search.py --budget 16 --seeds 3 --workers 2 --out benchmarks/results/digits
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

NARS_OPTS = ["pool_size=4096", "init_batch=6", "batch=3"]


def run_one(optimizer: str, seed: int, budget: int, workers: int, out: Path) -> dict:
    """One search through the CLI; returns its summary plus wall time."""
    command = [
        sys.executable, "-m", "nars_plugin.cli", "search", "--space", "fbnetv3-tiny", "--evaluator", "train",
        "--dataset", "digits", "--optimizer", optimizer, "--budget", str(budget), "--seed", str(seed),
        "--workers", str(workers), "--out", str(out), "--no-progress", "-E", f"seed={seed}",
    ]  # fmt: skip
    if optimizer == "nars":
        for opt in NARS_OPTS:
            command += ["--opt", opt]
    started = time.time()
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    summary["wall_seconds"] = time.time() - started
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/digits")
    args = parser.parse_args()
    out = Path(args.out)
    rows = {}
    from tqdm import tqdm

    runs = [(opt, seed) for seed in range(args.seeds) for opt in ("nars", "rs")]
    for optimizer, seed in tqdm(runs, desc="searches"):
        summary = run_one(optimizer, seed, args.budget, args.workers, out / "runs" / f"{optimizer}-{seed}")
        trajectory = summary["trajectory"]
        rows.setdefault(optimizer, []).append(
            {
                "seed": seed,
                "best_val_top1": summary["best"]["objective"],
                "cpu_seconds": summary["total_cost"],
                "wall_seconds": summary["wall_seconds"],
                "failed": summary["failed"],
                "early_stopped": sum(1 for p in trajectory if p["fidelity"] is not None),
                "early_stopping_epoch": summary["optimizer_report"].get("early_stopping_epoch"),
                "best_by_eval": [p["best_objective"] for p in trajectory],
                "cost_by_eval": [p["cost"] for p in trajectory],
                "best_arch": summary["best"]["arch"],
                "best_recipe": summary["best"]["candidate"]["recipe"],
            }
        )
    table = [
        "| optimizer | best val top-1 (mean ± std) | per seed | CPU-s of training (mean) | wall s (mean) | "
        "early-stopped evals | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for optimizer, items in rows.items():
        best = np.array([r["best_val_top1"] for r in items])
        table.append(
            f"| {optimizer} | {best.mean():.2f} ± {best.std():.2f} | {', '.join(f'{b:.2f}' for b in best)} | "
            f"{np.mean([r['cpu_seconds'] for r in items]):.0f} | {np.mean([r['wall_seconds'] for r in items]):.0f} | "
            f"{sum(r['early_stopped'] for r in items)} | {sum(r['failed'] for r in items)} |"
        )
    ratio = np.mean([r["cpu_seconds"] for r in rows["nars"]]) / np.mean([r["cpu_seconds"] for r in rows["rs"]])
    text = (
        f"fbnetv3-tiny on digits (1,438 train / 359 val images), budget {args.budget} evaluations, "
        f"{args.seeds} seeds, {args.workers} local workers\n\n" + "\n".join(table) + "\n\n"
        f"NARS training CPU-seconds / random search's: {ratio:.2f}\n"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps({"budget": args.budget, "rows": rows}, indent=2))
    _plot(rows, out / "curves.png")
    print(text)
    return 0


def _plot(rows: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    colors = {"nars": "tab:blue", "rs": "tab:orange"}
    for optimizer, items in rows.items():
        for i, r in enumerate(items):
            label = optimizer if i == 0 else None
            n = np.arange(1, len(r["best_by_eval"]) + 1)
            axes[0].step(n, r["best_by_eval"], where="post", color=colors[optimizer], alpha=0.7, label=label)
            axes[1].step(r["cost_by_eval"], r["best_by_eval"], where="post", color=colors[optimizer], alpha=0.7,
                         label=label)  # fmt: skip
    axes[0].set_xlabel("evaluations")
    axes[1].set_xlabel("training CPU-seconds")
    for ax in axes:
        ax.set_ylabel("best full-schedule val top-1 (%)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("fbnetv3-tiny on digits: NARS vs random search (one line per seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
