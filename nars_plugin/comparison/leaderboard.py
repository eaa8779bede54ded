"""The leaderboard of a suite: normalised regret per benchmark, average rank across benchmarks.

Input: the folders of ``nars compare`` runs, one per benchmark (their ``details.json``: mean
best-so-far curves of the objective and of the report metric, and the table statistics they are
measured against). Every optimizer maximises the benchmark's **objective**, so that is what the
leaderboard ranks on. For every benchmark and optimizer, the **normalised regret** at a fraction
``f`` of the budget is

    (best objective of the table - mean best objective found after f x budget)
    / (best objective of the table - median objective of the table)

so 0 is the best value any candidate reaches, 1 the table's median cell, whatever the metric's
units. Beside it, where the report metric is not the objective, the report metric's regret on the
same scale, from the *reachable optimum* (the report metric of the candidate with the best
objective, what a search that finds that candidate reports) to the report metric's median: a
table maximum of the report metric that no search on the objective is led to is no reference.
Table statistics count distinct canonical candidates (:mod:`nars_plugin.tabular.base`).

Optimizers are ranked per benchmark by the objective's regret (1 = lowest; ties share the mean
rank) and the ranks averaged over the benchmarks; the board shows how many seeds each optimizer ran.
The Friedman test and the Nemenyi post-hoc test with its critical-difference diagram come from
``autorank`` (extra ``suite``), over the benchmarks as samples (Demšar 2006).

Outputs of :func:`write_leaderboard`: ``leaderboard.json``, ``leaderboard.md``,
``rank-vs-budget.png`` and ``cd-50.png`` / ``cd-100.png`` (critical-difference diagrams at 50%
and 100% of the budget). :func:`upgrade` brings a ``details.json`` written before the objective's
curves and scale were recorded up to date, so a committed suite's leaderboard can be rebuilt
without running a search again (``nars suite --leaderboard-only``).
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
from .aggregate import Targets
from .report import OBJECTIVE_KEY

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


def _at(details: Mapping[str, Any], fraction: float) -> int:
    """The index of the first grid point of the mean curves at or past ``fraction`` of the budget."""
    xs = np.asarray(details["curve_x"], dtype=float)
    return int(np.searchsorted(xs, fraction * xs[-1] - 1e-9))


def objective_reference(details: Mapping[str, Any]) -> Mapping[str, Any]:
    """``details.json``'s ``objective_reference``: the objective's name, optimum and median and the
    reachable optimum of the report metric (an error naming the fix where an older version wrote it)."""
    reference = details.get("objective_reference")
    if not isinstance(reference, Mapping):
        raise ConfigError(
            f"the comparison of {details.get('benchmark')!r} does not record the objective's optimum and median "
            "(its details.json was written by an older nars-plugin)",
            "rebuild the leaderboard with `nars suite --out FOLDER --leaderboard-only` (it reads them from the "
            "benchmark), or rerun the same `nars compare` command",
        )
    return reference


def objective_curves(details: Mapping[str, Any]) -> dict[str, list[float] | None]:
    """Each optimizer's mean best-so-far objective curve (None: its runs do not record the objective);
    the report metric's curves where the objective is the report metric."""
    if "objective_mean_curves" in details:
        return dict(details["objective_mean_curves"])
    if objective_reference(details)["metric"] != details.get("metric"):
        raise ConfigError(
            f"the comparison of {details.get('benchmark')!r} does not record the objective's curves",
            "rerun the same `nars compare` command: finished runs are reused and the reports rewritten",
        )
    return dict(details["mean_curves"])


def _scaled(curves: Mapping[str, Sequence[float] | None], at: int, best: float, median: float) -> dict[str, float]:
    return {label: (best - float(c[at])) / (best - median) for label, c in curves.items() if c is not None}


def normalised_regret(details: Mapping[str, Any], fraction: float) -> dict[str, float]:
    """Each optimizer's normalised regret of the objective after ``fraction`` of the budget, what the
    leaderboard ranks on (see the module docstring); optimizers that do not record the objective are
    left out."""
    reference = objective_reference(details)
    best, median = reference["optimum"], reference["median"]
    if best is None or median is None or not best > median:
        raise ConfigError(
            f"benchmark {details.get('benchmark')!r}: the best objective equals its median, so regret cannot be "
            "normalised",
            "leave it out of the suite",
        )
    return _scaled(objective_curves(details), _at(details, fraction), float(best), float(median))


def report_regret(details: Mapping[str, Any], fraction: float) -> dict[str, float]:
    """Each optimizer's normalised regret of the report metric after ``fraction`` of the budget, from
    the reachable optimum (0) to the report metric's median (1); NaN where the reachable optimum is
    unknown or not above the median. It is negative where a search reports more than a search that
    finds the best objective would."""
    best, median = objective_reference(details)["reachable_optimum"], details["median"]
    curves = details["mean_curves"]
    if best is None or median is None or not best > median:
        return {label: math.nan for label, c in curves.items() if c is not None}
    return _scaled(curves, _at(details, fraction), float(best), float(median))


def _labels(details: Mapping[str, Any]) -> list[str]:
    """The comparison's optimizer labels in the order its command gave them."""
    listed = [o.get("label") for o in (details.get("config") or {}).get("optimizers", [])]
    ordered = [label for label in listed if label in details["mean_curves"]]
    return ordered + [label for label in details["mean_curves"] if label not in ordered]


def seeds(details: Mapping[str, Any]) -> dict[str, int]:
    """The seeds each optimizer of a comparison ran."""
    counts = details.get("seeds_per_optimizer") or {label: details.get("seeds", 0) for label in _labels(details)}
    return {label: int(counts[label]) for label in _labels(details) if label in counts}


def _average_ranks(
    regret: Mapping[str, Mapping[str, Mapping[str, float]]], ranked: Sequence[str], key: str
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """The ranks per benchmark of ``ranked`` by ``regret`` at ``key`` (1 = least) and their average."""
    ranks = {
        bench: dict(zip(ranked, rankdata([row[key][label] for label in ranked]).tolist()))
        for bench, row in regret.items()
    }
    return ranks, {label: float(np.mean([ranks[b][label] for b in regret])) for label in ranked}


def leaderboard(comparisons: Mapping[str, Mapping[str, Any]], fractions: Sequence[float] = FRACTIONS) -> dict[str, Any]:
    """Normalised regret of the objective and of the report metric, ranks and average ranks (on the
    objective) of the optimizers every comparison ran, with the seeds each ran.

    ``comparisons`` maps a benchmark label to its ``details.json`` content (:func:`read_comparison`).
    An optimizer missing from some benchmark, or whose runs there do not record the objective, is
    left out of the ranking and listed in ``partial``. ``average_rank_report`` ranks on the report
    metric's regret instead, for comparison.
    """
    if not comparisons:
        raise ConfigError("a leaderboard needs at least one comparison")
    keys = [_percent(f) for f in fractions]
    regret = {b: {k: normalised_regret(d, f) for k, f in zip(keys, fractions)} for b, d in comparisons.items()}
    report = {b: {k: report_regret(d, f) for k, f in zip(keys, fractions)} for b, d in comparisons.items()}
    order = list(dict.fromkeys(label for d in comparisons.values() for label in _labels(d)))
    ranked = [label for label in order if all(label in regret[b][keys[0]] for b in comparisons)]
    ranks: dict[str, dict[str, dict[str, float]]] = {}
    average: dict[str, dict[str, float]] = {}
    average_report: dict[str, dict[str, float]] = {}
    for key in keys:
        ranks[key], average[key] = _average_ranks(regret, ranked, key)
        if all(math.isfinite(report[b][key][label]) for b in comparisons for label in ranked):
            average_report[key] = _average_ranks(report, ranked, key)[1]
    return {
        "benchmarks": list(comparisons),
        "optimizers": ranked,
        "partial": [label for label in order if label not in ranked],
        "fractions": keys,
        "metrics": {
            b: {"objective": objective_reference(d)["metric"], "report": d.get("metric")}
            for b, d in comparisons.items()
        },
        "seeds": {bench: seeds(details) for bench, details in comparisons.items()},
        "normalised_regret": regret,
        "report_regret": report,
        "ranks": ranks,
        "average_rank": average,
        "average_rank_report": average_report,
        "seconds_per_100_queries": {bench: overhead(details) for bench, details in comparisons.items()},
    }


def upgrade(
    details: Mapping[str, Any], summary: Mapping[str, Any], bench: Any, constraints: Sequence[str]
) -> dict[str, Any]:
    """A ``details.json`` written before the objective's curves and scale were recorded, brought up to
    date in memory (the folder's files stay as they are) for :func:`leaderboard`.

    The table statistics come from ``bench`` (the benchmark the comparison ran, with its
    ``constraints``), counted over distinct canonical candidates as this version counts them; where
    the objective is not the report metric, its mean best-so-far values come from ``summary``
    (``summary.json``'s ``"@objective"`` block), which holds them at the reported budget points,
    so each fraction of the leaderboard must be one of them. A ``details.json`` that records them
    is returned as it is.
    """
    if isinstance(details.get("objective_reference"), Mapping):
        return dict(details)
    targets = Targets.of(bench, constraints)
    if targets.metric != details.get("metric"):
        raise ConfigError(
            f"the comparison of {details.get('benchmark')!r} reports {details.get('metric')!r}, the benchmark made "
            f"here reports {targets.metric!r}",
            "give the benchmark and options the comparison ran with",
        )
    out = {
        **details,
        "optimum": targets.optimum,
        "top_0.1%_threshold": targets.top,
        "median": targets.median,
        "objective_reference": targets.reference(),
    }
    if targets.objective == targets.metric:
        return out
    tables = (summary.get(OBJECTIVE_KEY) or {}).get("results") or {}

    def curve(table: Mapping[str, Any] | None) -> list[float] | None:
        if table is None:
            return None
        means = [(table.get(f"{x:g}") or {}).get("mean") for x in details["curve_x"]]
        return [math.nan if mean is None else float(mean) for mean in means]

    out["objective_mean_curves"] = {label: curve(tables.get(label)) for label in details["mean_curves"]}
    for fraction in FRACTIONS:
        at = _at(out, fraction)
        if any(c is not None and not math.isfinite(c[at]) for c in out["objective_mean_curves"].values()):
            raise ConfigError(
                f"the comparison of {details.get('benchmark')!r} records the objective only at its budget points, "
                f"and {_percent(fraction)} of the budget is none of them",
                "rerun the same `nars compare` command: finished runs are reused and the reports rewritten",
            )
    return out


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
        ax.set_title(
            f"average rank on the objective's regret at {fraction} of the budget ({len(benchmarks)} benchmarks)"
        )
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

    fig, ax = plt.subplots(figsize=(8, 4))
    xs = [float(f.rstrip("%")) for f in board["fractions"]]
    for label in board["optimizers"]:
        name = f"{label} ({_seed_cell(board, label)} seeds)"
        ax.plot(xs, [board["average_rank"][f][label] for f in board["fractions"]], marker="o", label=name)
    ax.set_xlabel("% of each benchmark's budget")
    ax.set_ylabel("average rank on the objective (1 = best)")
    ax.invert_yaxis()
    ax.set_xticks(xs)
    ax.grid(alpha=0.3)
    ax.set_title(f"average rank over {len(board['benchmarks'])} benchmarks")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the lines, never over them
    atomic_write_figure(png, fig)


def _seed_cell(board: Mapping[str, Any], label: str) -> str:
    """The seeds ``label`` ran: one count, or the range over the benchmarks."""
    counts = [row[label] for row in (board.get("seeds") or {}).values() if label in row]
    if not counts:
        return "-"
    return str(min(counts)) if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"


def _regret_cell(board: Mapping[str, Any], bench: str, fraction: str, label: str, best: float) -> str:
    """The objective's regret (bold where least), with the report metric's beside it where it differs."""
    value = board["normalised_regret"][bench][fraction][label]
    shown = round(value, 3) + 0.0  # no "-0.000" for a best found a rounding error above the optimum
    cell = f"**{shown:.3f}**" if math.isclose(value, best) else f"{shown:.3f}"
    metrics = (board.get("metrics") or {}).get(bench) or {}
    if metrics.get("objective") == metrics.get("report"):
        return cell
    report = (board.get("report_regret") or {}).get(bench, {}).get(fraction, {}).get(label, math.nan)
    return cell + (f" ({round(report, 3) + 0.0:.3f})" if math.isfinite(report) else " (-)")


def _benchmark_cell(board: Mapping[str, Any], bench: str) -> str:
    metrics = (board.get("metrics") or {}).get(bench) or {}
    if metrics.get("objective") == metrics.get("report"):
        return bench
    return f"{bench} ({metrics.get('objective')}; {metrics.get('report')})"


def markdown(board: Mapping[str, Any]) -> str:
    """The leaderboard as Markdown: average ranks on the objective with the seeds each optimizer ran,
    then the normalised regret per benchmark (the report metric's beside it where it differs)."""
    fractions, optimizers = board["fractions"], board["optimizers"]
    lines = [f"# Leaderboard: {len(board['benchmarks'])} benchmarks, {len(optimizers)} optimizers", ""]
    lines += [
        "Ranked on the objective every optimizer maximises. Normalised regret: 0 = the best objective of the "
        "table, 1 = its median; where the report metric is another metric, its regret is shown beside it in "
        "parentheses, 0 = the reachable optimum (the report metric of the best-objective candidate), 1 = the "
        "report metric's median. Table statistics count distinct canonical candidates, not rows.",
        "",
    ]
    lines += ["## Average rank on the objective (1 = best) at each fraction of the budget", ""]
    lines += ["| optimizer | seeds | " + " | ".join(fractions) + " |", "|---|---|" + "---|" * len(fractions)]
    by_final = sorted(optimizers, key=lambda o: board["average_rank"][fractions[-1]][o])
    for label in by_final:
        ranks = " | ".join(f"{board['average_rank'][f][label]:.2f}" for f in fractions)
        lines.append(f"| {label} | {_seed_cell(board, label)} | {ranks} |")
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
    report_ranks = board.get("average_rank_report") or {}
    if fractions[-1] in report_ranks:
        ranked = sorted(optimizers, key=lambda o: report_ranks[fractions[-1]][o])
        lines += [
            "",
            f"Average rank on the report metric's regret at {fractions[-1]} (not the ranking): "
            + ", ".join(f"{o} {report_ranks[fractions[-1]][o]:.2f}" for o in ranked)
            + ".",
        ]
    lines += ["", "## Normalised regret per benchmark", ""]
    lines += ["Benchmark (objective; report metric) where the two differ: cells read objective (report metric).", ""]
    for f in fractions:
        lines += [f"### at {f} of the budget", ""]
        lines += ["| benchmark | " + " | ".join(optimizers) + " |", "|---|" + "---|" * len(optimizers)]
        for bench in board["benchmarks"]:
            best = min(board["normalised_regret"][bench][f][o] for o in optimizers)
            cells = [_regret_cell(board, bench, f, o, best) for o in optimizers]
            lines.append(f"| {_benchmark_cell(board, bench)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += _overhead_markdown(board)
    if board.get("partial"):
        lines.append(
            "Not ranked (missing from some benchmark, or not recording the objective there): "
            + ", ".join(board["partial"])
            + "."
        )
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
