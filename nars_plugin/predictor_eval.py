"""``nars predictor-eval``: how well the predictor ranks held-out candidates, with and without pretraining.

For each seed and training size, a random training set and a disjoint held-out set are drawn
from a tabular benchmark's rows; the predictor is fitted on the training set and scored on the
held-out set by Kendall tau, Spearman rho and top-k precision (share of the true top 5% of the
held-out set among the predicted top 5%). Pretraining happens once per seed and is reused for
every training size, as in a search.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError
from .safe_files import atomic_write, atomic_write_figure


def rank_metrics(y_true: np.ndarray, y_pred: np.ndarray, top: float = 0.05) -> dict[str, float]:
    """Kendall tau, Spearman rho and top-``top`` precision of predictions."""
    from scipy.stats import kendalltau, spearmanr

    k = max(1, int(round(top * len(y_true))))
    true_top = set(np.argsort(-y_true, kind="stable")[:k])
    pred_top = set(np.argsort(-y_pred, kind="stable")[:k])
    return {
        "kendall_tau": float(kendalltau(y_true, y_pred).statistic),
        "spearman": float(spearmanr(y_true, y_pred).statistic),
        "top_precision": len(true_top & pred_top) / k,
    }


def evaluate_predictor(
    bench: Any,
    sizes: Sequence[int] = (8, 16, 32, 64, 128, 256),
    seeds: int = 5,
    test_size: int = 1000,
    predictor_settings: dict[str, Any] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Rank quality for every (pretraining on/off, training size), averaged over seeds."""
    from tqdm import tqdm

    from .predictor import NARSPredictor

    rows = bench.rows
    y_all = bench.values()
    valid = np.flatnonzero(np.isfinite(y_all))
    if len(valid) < max(sizes) + test_size:
        raise ConfigError(
            f"benchmark {bench.name!r} has {len(valid)} rows; need {max(sizes) + test_size} for these sizes",
            "use smaller --sizes or --test-size",
        )
    raw: dict[str, dict[int, list[dict[str, float]]]] = {"pretrained": {}, "scratch": {}}
    bar = tqdm(total=seeds * len(sizes) * 2, desc="predictor-eval", disable=None if progress is None else not progress)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        perm = rng.permutation(valid)
        test = perm[:test_size]
        pool = perm[test_size:]
        test_cands = [rows[i] for i in test]
        variants = {
            "pretrained": NARSPredictor(bench.space, seed=seed, pretrain=True, **(predictor_settings or {})),
            "scratch": NARSPredictor(bench.space, seed=seed, pretrain=False, **(predictor_settings or {})),
        }
        if variants["pretrained"].can_pretrain:
            variants["pretrained"].pretrain()
        for size in sizes:
            train = pool[:size]
            for name, predictor in variants.items():
                predictor.fit([rows[i] for i in train], y_all[train])
                metrics = rank_metrics(y_all[test], predictor.predict(test_cands))
                raw[name].setdefault(size, []).append(metrics)
                bar.update()
    bar.close()
    table = {
        name: {
            str(size): {
                metric: {
                    "mean": float(np.mean([m[metric] for m in runs])),
                    "std": float(np.std([m[metric] for m in runs])),
                }
                for metric in runs[0]
            }
            for size, runs in by_size.items()
        }
        for name, by_size in raw.items()
    }
    return {"benchmark": bench.name, "seeds": seeds, "test_size": test_size, "sizes": list(sizes), "results": table}


def markdown(report: dict[str, Any]) -> str:
    """The predictor table in Markdown."""
    lines = [
        f"# Predictor ranking quality on {report['benchmark']} ({report['seeds']} seeds, "
        f"{report['test_size']} held-out candidates)",
        "",
        "| training size | tau (pretrained) | tau (scratch) | spearman (pretrained) | spearman (scratch) "
        "| top-5% precision (pretrained) | top-5% precision (scratch) |",
        "|---|---|---|---|---|---|---|",
    ]
    res = report["results"]
    for size in map(str, report["sizes"]):
        cells = []
        for metric in ("kendall_tau", "spearman", "top_precision"):
            for name in ("pretrained", "scratch"):
                v = res[name][size][metric]
                cells.append(f"{v['mean']:.3f} ± {v['std']:.3f}")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Kendall tau against training size, with and without pretraining."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = report["sizes"]
    for name, style in (("pretrained", "o-"), ("scratch", "s--")):
        mean = [report["results"][name][str(s)]["kendall_tau"]["mean"] for s in sizes]
        std = [report["results"][name][str(s)]["kendall_tau"]["std"] for s in sizes]
        ax.errorbar(sizes, mean, yerr=std, fmt=style, capsize=3, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("training candidates")
    ax.set_ylabel("Kendall tau on held-out candidates")
    ax.set_title(f"NARS predictor on {report['benchmark']}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    atomic_write_figure(path, fig)


def run(
    bench: Any, out: str | os.PathLike[str], sizes: Sequence[int], seeds: int, test_size: int, progress: bool | None
) -> dict[str, Any]:
    """Evaluate and write ``predictor.json``, ``predictor.md`` and ``predictor.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = evaluate_predictor(bench, sizes, seeds, test_size, progress=progress)
    atomic_write(out / "predictor.json", json.dumps(report, indent=2) + "\n")
    atomic_write(out / "predictor.md", markdown(report))
    with contextlib.suppress(ImportError):  # matplotlib is the `plot` extra
        plot(report, out / "predictor.png")
    return report
