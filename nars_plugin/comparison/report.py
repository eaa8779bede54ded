"""Reporting a comparison: ``summary.json``, ``details.json``, ``summary.md`` and ``regret.png`` (or,
where the target has no known optimum, ``best.png``: the best found against the budget)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._safe_files import atomic_write, atomic_write_figure
from ..assembly import EVALUATOR_TARGET
from .spec import seeds_text

#: The key of ``summary.json`` that holds the objective's block (no optimizer label can be it).
OBJECTIVE_KEY = "@objective"
#: Most decimals :func:`decimals` uses to separate rows.
MOST_DECIMALS = 6


def summary_json(summary: dict[str, Any]) -> dict[str, Any]:
    """What ``summary.json`` holds: optimizer -> budget -> report statistics, and the objective's block."""
    block = summary.get("objective")
    return {**summary["results"], OBJECTIVE_KEY: block} if block else dict(summary["results"])


def details_json(summary: dict[str, Any]) -> dict[str, Any]:
    """What ``details.json`` holds: everything but the tables of ``summary.json``."""
    return {k: v for k, v in summary.items() if k not in ("results", "objective")}


def write_reports(summary: dict[str, Any], out: Path) -> None:
    """Write the four result files of a comparison into ``out``."""
    atomic_write(out / "summary.json", json.dumps(summary_json(summary), indent=2) + "\n")
    atomic_write(out / "details.json", json.dumps(details_json(summary), indent=2, sort_keys=True) + "\n")
    atomic_write(out / "summary.md", markdown(summary))
    if _known(summary["optimum"]):
        plot_regret(summary, out / "regret.png")
    else:
        plot_best(summary, out / "best.png")


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _title(summary: dict[str, Any]) -> str:
    """The benchmark's name with its options, e.g. ``nb201-analog (target=analog_1d)``, or the evaluator's
    with its space and options, e.g. ``train on nb201-digits (dataset=digits, test=true)``."""
    config = summary.get("config") or {}
    options = config.get("bench_options") or {}
    if str(config.get("benchmark", "")).startswith(EVALUATOR_TARGET):
        space = options.get("space") or "its own space"
        space += "".join(f" {k}={v}" for k, v in (options.get("space_options") or {}).items())
        extra = ", ".join(f"{k}={v}" for k, v in (options.get("options") or {}).items() if k != "workers")
        return f"{summary['benchmark']} on {space}" + (f" ({extra})" if extra else "")
    extra = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{summary['benchmark']} ({extra})" if extra else str(summary["benchmark"])


def _digits(optimum: float | None) -> int:
    """Least decimals of a table: 2 for percentages, 4 for objectives of order one (e.g. -log10 MSE)."""
    return 2 if optimum is None or not math.isfinite(optimum) or abs(optimum) >= 10 else 4


def decimals(columns: Iterable[Sequence[float]], minimum: int, most: int = MOST_DECIMALS) -> int:
    """The fewest decimals, at least ``minimum`` and at most ``most``, that print the different values
    of every column differently (values equal to ``most`` decimals count as equal)."""
    columns = [list(c) for c in columns]
    for digits in range(minimum, most):
        if all(len({f"{v:.{digits}f}" for v in c}) == len({round(v, most) for v in c}) for c in columns):
            return digits
    return max(minimum, most)


def _table(
    results: dict[str, Any], optimum: float | None, extra: dict[str, list[str]], extra_names: Sequence[str], unit: str
) -> list[str]:
    """A Markdown table: one row per optimizer, ``mean ± std (p_top)`` per budget, then ``extra`` cells."""
    tables = [t for t in results.values() if t is not None]
    if not tables:
        return ["Not recorded by these runs."]
    budgets = list(tables[0])
    columns = [[t[b]["mean"] for t in tables if t[b]["mean"] is not None] for b in budgets]
    digits = decimals(columns, _digits(optimum))
    lines = [
        "| optimizer | " + " | ".join([f"{b} {unit}" for b in budgets] + list(extra_names)) + " |",
        "|---|" + "---|" * (len(budgets) + len(extra_names)),
    ]
    for label, table in results.items():
        cells = [
            f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f} ({v['p_top']:.2f})" if v["mean"] is not None else "-"
            for v in (table or {b: {"mean": None} for b in budgets}).values()
        ]
        lines.append(f"| {label} | " + " | ".join(cells + extra.get(label, [])) + " |")
    return lines


def _at_optimum_cells(block: dict[str, Any] | None) -> dict[str, str] | None:
    """Label -> ``k/n`` seeds at the objective's optimum at the last budget (None: not known here)."""
    if not block or block.get("optimum") is None:
        return None
    cells = {}
    for label, reached in block["at_optimum"].items():
        last = list(reached.values())[-1] if reached else None
        cells[label] = "-" if last is None else f"{last}/{block['seeds'][label]}"
    return cells


def _number(value: float | None) -> str:
    return "unknown" if value is None or not math.isfinite(value) else f"{value:.4f}"


#: What the table statistics count (:mod:`nars_plugin.tabular.base`), said under every table.
_COUNTED = (
    "Table statistics (optimum, thresholds, median) count distinct canonical candidates, not rows: "
    "encodings of one candidate count once."
)


def _explanation(summary: dict[str, Any], block: dict[str, Any] | None, counted: bool, feasible: str) -> list[str]:
    """What the optimum, the thresholds and the columns of the tables are."""
    metric = summary["metric"]
    optimum, top = _number(summary["optimum"]), _number(summary["top_0.1%_threshold"])

    def counts(what: str) -> str:
        return f" At optimum: seeds whose best is {what}, at the last budget." if counted else ""

    if not block or block["metric"] == metric:
        return [
            f"Optimum{feasible} {optimum}; top-0.1% threshold {top} (p_top: share of seeds whose best is in the "
            f"top 0.1%{feasible}).{counts('the optimum')} {_COUNTED}"
        ]
    objective = block["metric"]
    return [
        f"The search maximises the objective {objective}; the result reported is the report metric {metric} "
        f"of the candidate with the best {objective} found.",
        "",
        f"- Table maximum of {metric}{feasible}: {optimum} (top-0.1% threshold {top}; p_top of the first "
        f"table: share of seeds whose reported {metric} reaches it).",
        f"- Reachable optimum{feasible}: {_number(block['reachable_optimum'])}, the {metric} of the candidate "
        f"with the best {objective} ({_number(block['optimum'])}); a search that finds the optimum of its "
        f"objective reports it.{counts('that candidate')}",
        f"- p_top of the second table: share of seeds whose best {objective} is in the top 0.1%{feasible} by "
        f"{objective} (threshold {_number(block['top_0.1%_threshold'])}).",
        f"- {_COUNTED}",
    ]


def _seeds(summary: dict[str, Any]) -> str:
    """``10 seeds``, or ``10 seeds (hebo 5)`` where optimizers ran different numbers of seeds."""
    return seeds_text(summary.get("seeds_per_optimizer") or {"all": summary["seeds"]})


def markdown(summary: dict[str, Any]) -> str:
    """The comparison in Markdown: the report metric's table and, where the search maximised another
    metric, the objective's table; the optimum, the reachable optimum and the seeds at it."""
    measured = str((summary.get("config") or {}).get("benchmark", "")).startswith(EVALUATOR_TARGET)
    unit = ("s (measured)" if measured else "s (simulated)") if summary.get("budget_unit") == "s" else "queries"
    feasible = " of the feasible candidates" if summary.get("config", {}).get("constraints") else ""
    block = summary.get("objective")
    metric, seeds = summary["metric"], _seeds(summary)
    at_optimum = _at_optimum_cells(block)
    extra_names = (["at optimum"] if at_optimum is not None else []) + ["queries/run", "s/run"]
    extra = {}
    for label in summary["results"]:
        n = summary.get("queries_per_run", {}).get(label, {}).get("mean", math.nan)
        cells = [at_optimum.get(label, "-")] if at_optimum is not None else []
        extra[label] = cells + [f"{n:.1f}", f"{summary['seconds_per_run'][label]['mean']:.1f}"]
    report_table = _table(summary["results"], summary["optimum"], extra, extra_names, unit)
    explanation = _explanation(summary, block, at_optimum is not None, feasible)
    if measured:
        explanation = [
            f"Every candidate is trained for real; the budget counts its measured training seconds. The search "
            f"maximises {block['metric'] if block else metric}; the result reported is {metric} of the candidate "
            "with the best one found. No table: the optimum is unknown (p_top 0.00 says nothing)."
        ]
    if not block or block["metric"] == metric:
        title = f"# {_title(summary)}: best {metric} found (mean ± std over {seeds})"
        lines = [title, "", *explanation, "", *report_table]
    else:
        objective = block["metric"]
        title = f"# {_title(summary)}: {metric} of the best {objective} found (mean ± std over {seeds})"
        lines = [title, "", *explanation, "", f"## {metric} (report metric) of the candidate returned", ""]
        lines += [*report_table, "", f"## {objective} (objective, what the search maximises)", ""]
        lines += _table(block["results"], block.get("optimum"), {}, [], unit)
    for label, reason in (summary.get("not_run") or {}).items():
        lines += ["", f"Not run here: {label}: {reason}"]
    lines += _cell_ops_lines(summary.get("cell_ops"))
    ref = summary.get("reference")
    if ref:
        lines += ["", f"Reference rows, {ref['note']}:", "", "| method (published) | CIFAR-10 test |", "|---|---|"]
        lines += [f"| {name} *(published)* | {value} |" for name, value in ref["rows"].items()]
    return "\n".join(lines) + "\n"


def _cell_ops_lines(shares: dict[str, Any] | None) -> list[str]:
    """The table of parameter-free ops in the cells the runs returned (NB201 spaces)."""
    if not shares:
        return []
    lines = [
        "",
        "## Parameter-free ops in the cells returned (share of the 6 edges over all seeds)",
        "",
        "| optimizer | skip_connect | none | either |",
        "|---|---|---|---|",
    ]
    for label, block in shares.items():
        if block is None:
            lines.append(f"| {label} | - | - | - |")
            continue
        lines.append(f"| {label} | {block['skip_connect']:.2f} | {block['none']:.2f} | {block['parameter_free']:.2f} |")
    return lines


def _pyplot(path: Path) -> Any:
    """matplotlib's pyplot (Agg), or None after writing ``path``'s ``.txt`` note on the `plot` extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # matplotlib is the `plot` extra
        note = f"install matplotlib (pip install 'nars-plugin[plot]') for {path.name}\n"
        atomic_write(path.with_suffix(".txt"), note)
        return None
    return plt


def plot_best(summary: dict[str, Any], path: Path) -> None:
    """Mean best found (the report metric, solid; the objective where it differs, dashed) against the
    budget: for targets without a known optimum (evaluators that train)."""
    plt = _pyplot(path)
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    objective = summary.get("objective_mean_curves") or {}
    for label, curve in summary["mean_curves"].items():
        if curve is None:
            continue
        x = summary.get("curve_x") or np.arange(1, len(curve) + 1)
        (line,) = ax.plot(x, curve, label=f"{label}: {summary['metric']}")
        if objective.get(label) is not None:
            ax.plot(x, objective[label], linestyle="--", color=line.get_color(), alpha=0.7)
    measured = str((summary.get("config") or {}).get("benchmark", "")).startswith(EVALUATOR_TARGET)
    seconds = "seconds of training" if measured else "simulated seconds"
    ax.set_xlabel(seconds if summary.get("budget_unit") == "s" else "queries")
    block = summary.get("objective") or {}
    dashed = f" (dashed: {block['metric']})" if objective and block.get("metric") else ""
    ax.set_ylabel(f"best found: {summary['metric']}{dashed}")
    ax.set_title(f"{_title(summary)} — mean over {_seeds(summary)}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    atomic_write_figure(path, fig)


def plot_regret(summary: dict[str, Any], path: Path) -> None:
    """Mean regret (optimum - best found) against queries, log scale."""
    plt = _pyplot(path)
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, curve in summary["mean_curves"].items():
        regret = np.maximum(summary["optimum"] - np.asarray(curve, dtype=float), 1e-3)
        ax.plot(summary.get("curve_x") or np.arange(1, len(regret) + 1), regret, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("simulated seconds" if summary.get("budget_unit") == "s" else "queries")
    ax.set_ylabel(f"regret of {summary['metric']} (optimum − best found)")
    ax.set_title(f"{_title(summary)} — mean over {_seeds(summary)}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    atomic_write_figure(path, fig)
