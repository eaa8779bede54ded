"""``nars predictor-eval``: how well registered predictors rank held-out candidates, side by side.

For each seed and training size, a random training set and a disjoint held-out set are drawn
from a tabular benchmark's rows (the same for every predictor); each predictor is fitted on the
training set and scored on the held-out set by Kendall tau, Spearman rho and top-k precision
(share of the true top 5% of the held-out set among the predicted top 5%), and timed (fit +
predict). A predictor that pretrains is also run with ``pretrain=false``; pretraining happens once
per seed and is reused for every training size, as in a search.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._safe_files import atomic_write, atomic_write_figure, output_folder
from ..comparison.spec import split_optimizers
from ..errors import ConfigError
from ..settings import Choice, as_kwargs, parse, plugin_settings
from .base import create_predictor


def rank_metrics(y_true: np.ndarray, y_pred: np.ndarray, top: float = 0.05) -> dict[str, float]:
    """Kendall tau, Spearman rho and top-``top`` precision of predictions. Constant predictions (a
    model that learnt nothing, e.g. a GP whose fit is all noise) rank nothing: both correlations 0."""
    from scipy.stats import kendalltau, spearmanr

    k = max(1, int(round(top * len(y_true))))
    true_top = set(np.argsort(-y_true, kind="stable")[:k])
    pred_top = set(np.argsort(-y_pred, kind="stable")[:k])
    constant = bool(np.ptp(y_pred) == 0)
    return {
        "kendall_tau": 0.0 if constant else float(kendalltau(y_true, y_pred).statistic),
        "spearman": 0.0 if constant else float(spearmanr(y_true, y_pred).statistic),
        "top_precision": len(true_top & pred_top) / k,
    }


@dataclass
class Variant:
    """One column of the comparison: a registered predictor with settings, pretrained or not."""

    label: str
    name: str
    settings: dict[str, Any]


def variants(specs: str | Sequence[str]) -> list[Variant]:
    """The columns for ``--predictors`` specs (``fbnetv3,gp,lgbm(rounds=400)``, labels as in
    ``nars compare``): a predictor that pretrains by default also gets a ``LABEL (scratch)`` column
    with ``pretrain=false``."""
    text = specs if isinstance(specs, str) else ",".join(specs)
    out = []
    for spec in split_optimizers(text, kind="predictor"):
        declaration = plugin_settings("predictor", spec.name)  # resolved by the plugin host
        owner, command = f"predictor {spec.name!r}", f"nars predictors {spec.name}"
        values = as_kwargs(parse(declaration, spec.settings, owner, command)) if declaration else dict(spec.settings)
        out.append(Variant(spec.label, spec.name, values))
        if values.get("pretrain") is True:
            out.append(Variant(f"{spec.label} (scratch)", spec.name, {**values, "pretrain": False}))
    if not out:
        raise ConfigError("--predictors names no predictor", "e.g. --predictors fbnetv3,gp,rf,lgbm")
    return out


def evaluate_predictor(
    bench: Any,
    sizes: Sequence[int] = (8, 16, 32, 64, 128, 256),
    seeds: int = 5,
    test_size: int = 1000,
    predictors: str | Sequence[str] = "fbnetv3",
    progress: bool | None = None,
) -> dict[str, Any]:
    """Rank quality and fit + predict seconds of every predictor variant at every training size,
    mean and standard deviation over seeds. Each seed draws one held-out set and one training order
    shared by all variants (the training set of size N is the first N of that order)."""
    from tqdm import tqdm

    columns = variants(predictors)
    rows = bench.rows
    y_all = bench.values()
    valid = np.flatnonzero(np.isfinite(y_all))
    if len(valid) < max(sizes) + test_size:
        raise ConfigError(
            f"benchmark {bench.name!r} has {len(valid)} rows; need {max(sizes) + test_size} for these sizes",
            "use smaller --sizes or --test-size",
        )
    raw: dict[str, dict[int, list[dict[str, float]]]] = {v.label: {} for v in columns}
    pretrain_seconds: dict[str, list[float]] = {}
    bar = tqdm(
        total=seeds * len(sizes) * len(columns),
        desc="predictor-eval",
        disable=None if progress is None else not progress,
    )
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        perm = rng.permutation(valid)
        test = perm[:test_size]
        pool = perm[test_size:]
        test_cands = [rows[i] for i in test]
        for column in columns:
            predictor = create_predictor(Choice(column.name, column.settings), bench.space, seed)
            if predictor.can_pretrain:  # once per seed, reused for every training size, as in a search
                started = time.perf_counter()
                predictor.pretrain()
                pretrain_seconds.setdefault(column.label, []).append(time.perf_counter() - started)
            for size in sizes:
                train = pool[:size]
                started = time.perf_counter()
                predictor.reset()  # each size is a fit from scratch (the pretraining is kept)
                predictor.fit([rows[i] for i in train], y_all[train])
                predicted = predictor.predict(test_cands)
                seconds = time.perf_counter() - started
                metrics = rank_metrics(y_all[test], predicted)
                raw[column.label].setdefault(size, []).append({**metrics, "seconds": seconds})
                bar.update()
    bar.close()
    table = {
        label: {
            str(size): {
                metric: {
                    "mean": float(np.mean([m[metric] for m in runs])),
                    "std": float(np.std([m[metric] for m in runs])),
                }
                for metric in runs[0]
            }
            for size, runs in by_size.items()
        }
        for label, by_size in raw.items()
    }
    return {
        "benchmark": bench.name,
        "seeds": seeds,
        "test_size": test_size,
        "sizes": list(sizes),
        "predictors": {v.label: {"name": v.name, "settings": _plain(v.settings)} for v in columns},
        "pretrain_seconds": {k: float(np.mean(v)) for k, v in pretrain_seconds.items()},
        "results": table,
    }


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


METRICS = (
    ("kendall_tau", "Kendall tau", ".3f"),
    ("spearman", "Spearman rho", ".3f"),
    ("top_precision", "top-5% precision", ".3f"),
    ("seconds", "fit + predict seconds", ".2f"),
)


def markdown(report: dict[str, Any]) -> str:
    """The comparison in Markdown: one table per metric, training sizes down, predictors across."""
    labels = list(report["results"])
    lines = [
        f"# Predictor ranking quality on {report['benchmark']} ({report['seeds']} seeds, "
        f"{report['test_size']} held-out candidates)",
        "",
        "Predictors: "
        + "; ".join(f"`{label}` = {v['name']} {v['settings']}" for label, v in report["predictors"].items()),
    ]
    if report.get("pretrain_seconds"):
        done = ", ".join(f"{k} {v:.1f} s" for k, v in report["pretrain_seconds"].items())
        lines.append(f"Pretraining (once per seed, not in the times below): {done}.")
    for metric, title, fmt in METRICS:
        lines += [
            "",
            f"## {title}",
            "",
            "| training size | " + " | ".join(labels) + " |",
            "|---" * (len(labels) + 1) + "|",
        ]
        for size in map(str, report["sizes"]):
            cells = []
            for label in labels:
                v = report["results"][label][size][metric]
                cells.append(f"{v['mean']:{fmt}} ± {v['std']:{fmt}}")
            best = max(range(len(labels)), key=lambda i: report["results"][labels[i]][size][metric]["mean"])
            if metric != "seconds":
                cells[best] = f"**{cells[best]}**"
            lines.append(f"| {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Kendall tau and fit + predict time against training size, one line per predictor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_time) = plt.subplots(1, 2, figsize=(11, 4))
    sizes = report["sizes"]
    for i, label in enumerate(report["results"]):
        style = "--" if label.endswith("(scratch)") else "-"
        for axis, metric in ((ax, "kendall_tau"), (ax_time, "seconds")):
            mean = [report["results"][label][str(s)][metric]["mean"] for s in sizes]
            std = [report["results"][label][str(s)][metric]["std"] for s in sizes]
            axis.errorbar(sizes, mean, yerr=std, fmt="o" + style, color=f"C{i}", capsize=3, label=label)
    for axis in (ax, ax_time):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("training candidates")
        axis.grid(True, alpha=0.3)
    ax_time.set_yscale("log")
    ax.set_ylabel("Kendall tau on held-out candidates")
    ax_time.set_ylabel("fit + predict seconds")
    ax.legend(fontsize=8)
    fig.suptitle(f"Predictors on {report['benchmark']} ({report['seeds']} seeds)", fontsize=9)
    fig.tight_layout()
    atomic_write_figure(path, fig)


def run(
    bench: Any,
    out: str | os.PathLike[str],
    sizes: Sequence[int],
    seeds: int,
    test_size: int,
    progress: bool | None,
    predictors: str | Sequence[str] = "fbnetv3",
) -> dict[str, Any]:
    """Evaluate and write ``predictor.json``, ``predictor.md`` and ``predictor.png`` into ``out``."""
    out = output_folder(out)
    report = evaluate_predictor(bench, sizes, seeds, test_size, predictors, progress=progress)
    atomic_write(out / "predictor.json", json.dumps(report, indent=2) + "\n")
    atomic_write(out / "predictor.md", markdown(report))
    with contextlib.suppress(ImportError):  # matplotlib is the `plot` extra
        plot(report, out / "predictor.png")
    return report
