"""The leaderboard of a suite: normalised regret per benchmark, average rank across benchmarks.

Input: the folders of ``nars compare`` runs, one per benchmark (their ``details.json``: mean
best-so-far curves of the report metric, its table maximum and median). For every benchmark and
optimizer, the **normalised regret** at a fraction ``f`` of the budget is

    (optimum - mean best found after f x budget) / (optimum - median of the table)

so 0 is the optimum, 1 the table's median cell, whatever the metric's units. Optimizers are ranked
per benchmark by it (1 = lowest regret; ties share the mean rank) and the ranks averaged over the
benchmarks. The Friedman test and the Nemenyi post-hoc test with its critical-difference diagram
come from ``autorank`` (extra ``suite``), over the benchmarks as samples (Demšar 2006).

Outputs of :func:`write_leaderboard`: ``leaderboard.json``, ``leaderboard.md``,
``rank-vs-budget.png`` and ``cd-50.png`` / ``cd-100.png`` (critical-difference diagrams at 50%
and 100% of the budget).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from .._safe_files import atomic_write, atomic_write_figure, output_folder
from ..errors import ConfigError

#: Fractions of each benchmark's budget the leaderboard reports.
FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def read_comparison(folder: str | Path) -> dict[str, Any]:
    """The ``details.json`` of a ``nars compare`` folder, checked for what the leaderboard needs."""
    path = Path(folder) / "details.json"
    try:
        details: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path} does not exist", f"run `nars compare ... --out {folder}` (or `nars suite`) first"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read: {exc}", "rerun the comparison to rewrite it") from None
    missing = [key for key in ("optimum", "median", "curve_x", "mean_curves") if details.get(key) is None]
    if missing:
        raise ConfigError(
            f"{path} lacks {', '.join(missing)} (written by an older nars-plugin, or a benchmark without a table)",
            "rerun the same `nars compare` command: finished runs are reused and the reports rewritten",
        )
    return details


def normalised_regret(details: Mapping[str, Any], fraction: float) -> dict[str, float]:
    """Each optimizer's normalised regret after ``fraction`` of the budget (see the module docstring)."""
    optimum, median = float(details["optimum"]), float(details["median"])
    spread = optimum - median
    if not spread > 0:
        raise ConfigError(
            f"benchmark {details.get('benchmark')!r}: its optimum equals its median, so regret cannot be normalised",
            "leave it out of the suite",
        )
    xs = np.asarray(details["curve_x"], dtype=float)
    at = int(np.searchsorted(xs, fraction * xs[-1] - 1e-9))  # the first grid point at or past the fraction
    return {label: (optimum - float(curve[at])) / spread for label, curve in details["mean_curves"].items()}


def _labels(details: Mapping[str, Any]) -> list[str]:
    """The comparison's optimizer labels in the order its command gave them."""
    listed = [o.get("label") for o in (details.get("config") or {}).get("optimizers", [])]
    ordered = [label for label in listed if label in details["mean_curves"]]
    return ordered + [label for label in details["mean_curves"] if label not in ordered]


def leaderboard(comparisons: Mapping[str, Mapping[str, Any]], fractions: Sequence[float] = FRACTIONS) -> dict[str, Any]:
    """Normalised regret, ranks and average ranks of the optimizers every comparison ran.

    ``comparisons`` maps a benchmark label to its ``details.json`` content (:func:`read_comparison`).
    An optimizer missing from some benchmark is left out of the ranking and listed in ``partial``.
    """
    if not comparisons:
        raise ConfigError("a leaderboard needs at least one comparison")
    every = [set(d["mean_curves"]) for d in comparisons.values()]
    order = list(dict.fromkeys(label for d in comparisons.values() for label in _labels(d)))
    ranked = [label for label in order if all(label in s for s in every)]
    regret = {
        bench: {_percent(f): normalised_regret(details, f) for f in fractions} for bench, details in comparisons.items()
    }
    ranks: dict[str, dict[str, dict[str, float]]] = {}
    average: dict[str, dict[str, float]] = {}
    for f in fractions:
        key = _percent(f)
        ranks[key] = {}
        for bench in comparisons:
            values = [regret[bench][key][label] for label in ranked]
            ranks[key][bench] = dict(zip(ranked, rankdata(values).tolist()))
        average[key] = {label: float(np.mean([ranks[key][b][label] for b in comparisons])) for label in ranked}
    return {
        "benchmarks": list(comparisons),
        "optimizers": ranked,
        "partial": [label for label in order if label not in ranked],
        "fractions": [_percent(f) for f in fractions],
        "normalised_regret": regret,
        "ranks": ranks,
        "average_rank": average,
        "seconds_per_100_queries": {bench: overhead(details) for bench, details in comparisons.items()},
    }


def overhead(details: Mapping[str, Any]) -> dict[str, float]:
    """Each optimizer's mean wall seconds per 100 queries in a comparison (on a table, where a query
    takes microseconds, this is the optimizer's own time), from ``details.json``'s per-run means."""
    seconds, queries = details.get("seconds_per_run") or {}, details.get("queries_per_run") or {}
    return {
        label: 100.0 * float(seconds[label]["mean"]) / float(queries[label]["mean"])
        for label in _labels(details)
        if label in seconds and label in queries and float(queries[label]["mean"]) > 0
    }


def _autorank() -> Any:
    try:
        import autorank
    except ImportError:
        raise ConfigError(
            "the leaderboard's Friedman test and critical-difference diagram need autorank, which is not installed",
            "pip install 'nars-plugin[suite]' (or pip install 'autorank>=1.2')",
        ) from None
    return autorank


def critical_difference(board: Mapping[str, Any], fraction: str, png: Path | None = None) -> dict[str, Any]:
    """Friedman test, Nemenyi post-hoc test and critical difference of the average ranks at ``fraction``
    (e.g. ``"100%"``), through autorank; with ``png``, the critical-difference diagram.

    Needs at least 3 optimizers and 5 benchmarks (autorank's minimum); returns ``{"skipped": reason}``
    otherwise.
    """
    optimizers, benchmarks = board["optimizers"], board["benchmarks"]
    if len(optimizers) < 3 or len(benchmarks) < 5:
        return {"skipped": f"needs 3 optimizers and 5 benchmarks ({len(optimizers)} and {len(benchmarks)} here)"}
    autorank = _autorank()
    import pandas as pd

    table = pd.DataFrame(
        [[board["normalised_regret"][b][fraction][o] for o in optimizers] for b in benchmarks],
        columns=optimizers,
        index=benchmarks,
    )
    with contextlib.redirect_stdout(io.StringIO()):  # autorank prints which tests it forces
        result = autorank.autorank(table, alpha=0.05, order="ascending", force_mode="nonparametric")
    if png is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = autorank.plot_stats(result, allow_insignificant=True)
        ax.set_title(f"average rank of normalised regret at {fraction} of the budget ({len(benchmarks)} benchmarks)")
        atomic_write_figure(png, ax.get_figure(), own_layout=True)
        plt.close("all")
    return {
        "omnibus": str(result.omnibus),
        "posthoc": str(result.posthoc),
        "p_value": float(result.pvalue),
        "significant": bool(result.pvalue < 0.05),
        "critical_difference": None if result.cd is None else float(result.cd),
        "mean_ranks": {str(k): float(v) for k, v in result.rankdf["meanrank"].items()},
    }


def plot_rank_vs_budget(board: Mapping[str, Any], png: Path) -> None:
    """Average rank of each optimizer against the fraction of the budget (1 = best)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    xs = [float(f.rstrip("%")) for f in board["fractions"]]
    for label in board["optimizers"]:
        ax.plot(xs, [board["average_rank"][f][label] for f in board["fractions"]], marker="o", label=label)
    ax.set_xlabel("% of each benchmark's budget")
    ax.set_ylabel("average rank (1 = best)")
    ax.invert_yaxis()
    ax.set_xticks(xs)
    ax.grid(alpha=0.3)
    ax.set_title(f"average rank over {len(board['benchmarks'])} benchmarks")
    ax.legend(fontsize=8, loc="best")
    atomic_write_figure(png, fig)


def markdown(board: Mapping[str, Any]) -> str:
    """The leaderboard as Markdown: average ranks, then normalised regret per benchmark."""
    fractions, optimizers = board["fractions"], board["optimizers"]
    lines = [f"# Leaderboard: {len(board['benchmarks'])} benchmarks, {len(optimizers)} optimizers", ""]
    lines += ["## Average rank (1 = best) at each fraction of the budget", ""]
    lines += ["| optimizer | " + " | ".join(fractions) + " |", "|---|" + "---|" * len(fractions)]
    by_final = sorted(optimizers, key=lambda o: board["average_rank"][fractions[-1]][o])
    for label in by_final:
        lines.append(f"| {label} | " + " | ".join(f"{board['average_rank'][f][label]:.2f}" for f in fractions) + " |")
    for f, test in (board.get("tests") or {}).items():
        if "skipped" in test:
            lines += ["", f"Friedman test at {f}: not run ({test['skipped']})."]
        else:
            cd = test["critical_difference"]
            lines += [
                "",
                f"At {f}: {test['omnibus']} test p = {test['p_value']:.3g}"
                + (f", {test['posthoc']} critical difference {cd:.2f} ranks" if cd is not None else "")
                + ("" if test["significant"] else " (no significant difference at alpha 0.05)")
                + ".",
            ]
    lines += ["", "## Normalised regret per benchmark (0 = optimum, 1 = the table's median)", ""]
    for f in fractions:
        lines += [f"### at {f} of the budget", ""]
        lines += ["| benchmark | " + " | ".join(optimizers) + " |", "|---|" + "---|" * len(optimizers)]
        for bench in board["benchmarks"]:
            row = board["normalised_regret"][bench][f]
            best = min(row[o] for o in optimizers)
            cells = [f"**{row[o]:.3f}**" if math.isclose(row[o], best) else f"{row[o]:.3f}" for o in optimizers]
            lines.append(f"| {bench} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += _overhead_markdown(board)
    if board.get("partial"):
        lines.append(f"Not ranked (missing from some benchmark): {', '.join(board['partial'])}.")
    if board.get("not_run"):
        lines.append("Benchmarks not run here: " + "; ".join(f"{k} ({v})" for k, v in board["not_run"].items()) + ".")
    return "\n".join(lines).rstrip() + "\n"


def _overhead_markdown(board: Mapping[str, Any]) -> list[str]:
    """The overhead table: wall seconds per 100 queries, per benchmark and on average."""
    table = board.get("seconds_per_100_queries") or {}
    labels = list(dict.fromkeys(label for row in table.values() for label in row))
    if not labels:
        return []
    lines = ["## Optimizer overhead: wall seconds per 100 queries (each run's own measurement)", ""]
    lines += ["| benchmark | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for bench, row in table.items():
        lines.append(f"| {bench} | " + " | ".join(f"{row[o]:.2f}" if o in row else "-" for o in labels) + " |")
    means = [np.mean([row[o] for row in table.values() if o in row]) for o in labels]
    lines += ["| mean | " + " | ".join(f"{m:.2f}" for m in means) + " |", ""]
    return lines


def write_leaderboard(
    board: dict[str, Any], out: Path, cd_fractions: Sequence[str] = ("50%", "100%")
) -> dict[str, Any]:
    """Run the tests, then write ``leaderboard.json``, ``leaderboard.md``, ``rank-vs-budget.png`` and the
    critical-difference diagrams ``cd-50.png``, ``cd-100.png`` into ``out``; returns the board with its tests."""
    output_folder(out)
    board["tests"] = {}
    for f in (f for f in cd_fractions if f in board["fractions"]):
        png = out / f"cd-{f.rstrip('%')}.png"
        png.unlink(missing_ok=True)  # a diagram of an earlier run of this folder must not pass for this one's
        board["tests"][f] = critical_difference(board, f, png)
    atomic_write(out / "leaderboard.json", json.dumps(board, indent=2) + "\n")
    atomic_write(out / "leaderboard.md", markdown(board))
    plot_rank_vs_budget(board, out / "rank-vs-budget.png")
    return board
