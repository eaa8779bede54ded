"""Cost as the search grows: seconds per query against the number of evaluations, up to 1,000 queries.

For each benchmark and optimizer, one ``nars search`` process per budget (``--short`` and ``--queries``,
each capped by ``--cap OPT=N`` for a peer too slow to go that far), every one measured twice in the
same sitting:

* **process**: the wall time of ``nars search -b BENCH -o OPT --budget N --seed S --out DIR
  --no-progress`` from start to exit (imports, loading the table, the search, writing the results);
* **in-process**: the study's own clock, the ``time`` of each journal line (seconds from the study's
  start to the journaling of that evaluation: the optimizer's ask and tell and the table lookup).
  Differences between journal lines give the seconds per query at each point of the search
  (``--bins``, log-spaced), the last line the search's in-process total.

NARS plans its rounds for its budget, so its 100-query and 1,000-query searches are two searches;
the peers' long searches begin as their short ones (their 100-query figures are both measured and
readable from the long run). An optimizer given as ``NAME:KEY=VALUE[;KEY=VALUE]`` runs with those
settings (``-O``), reported as ``LABEL`` when given as ``LABEL=NAME:...``: by default NARS as it
is, ``nars:companion=none;batch=5`` (FBNetV3's predictor alone in rounds of 5, as before the
issue-27 search changes) and the same with ``predictor.refit_points=all`` (its refits on every
point, before the issue-27 refit cap).
NARS pretrains once per space into a fresh ``NARS_CACHE_DIR`` before the timed runs, so every timed
NARS search is warm. Benchmarks are suite labels (``nars suite --list``) or benchmark names.

Writes ``OUT/cost_growth.json`` (every run, with its journal times), ``OUT/cost_growth.md`` and
``OUT/cost_growth.png`` (seconds per query against evaluations, log-log)::

    python benchmarks/cost_growth.py --out benchmarks/results/cost-growth   # about 20 minutes on 2 quiet cores
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nars_plugin import load_study
from nars_plugin.comparison.suite import default_suite

DEFAULT_BENCHMARKS = "nb201-analog-1d,fcnet-protein_structure"
DEFAULT_OPTIMIZERS = (
    "nars,nars:companion=none;batch=5,nars:companion=none;batch=5;predictor.refit_points=all,"
    "bananas,optuna-tpe,smac,hebo"
)
DEFAULT_CAPS = "optuna-tpe=300,smac=100,hebo=20"
DEFAULT_BINS = "1,10,30,100,300,1000"


def benchmark_args(label: str) -> list[str]:
    """``nars search`` arguments of a suite label (its benchmark, options and constraints) or a benchmark name."""
    for entry in default_suite():
        if entry.label == label:
            args = ["-b", entry.benchmark]
            args += [f"-B{key}={value}" for key, value in entry.options.items()]
            return args + [f"-c{constraint}" for constraint in entry.constraints]
    return ["-b", label]


def optimizer_args(spec: str) -> tuple[str, list[str]]:
    """``[LABEL=]NAME[:KEY=VALUE[;KEY=VALUE]]`` as (name, ``-O`` arguments)."""
    head, _, settings = spec.partition(":")
    return head.rpartition("=")[2], [f"-O{item}" for item in settings.split(";") if item]


def optimizer_label(spec: str) -> str:
    """The name a spec is reported under: its ``LABEL=`` if it has one, else the spec itself."""
    head = spec.partition(":")[0]
    return head.partition("=")[0] if "=" in head else spec


def nars_command() -> list[str]:
    """The ``nars`` console script of this environment (``python -m nars_plugin.cli`` without one)."""
    script = Path(sys.executable).with_name("nars")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "nars_plugin.cli"]


def run_search(bench: list[str], optimizer: str, queries: int, seed: int, work: Path) -> dict[str, Any]:
    """One timed ``nars search`` process, its wall time and its journal's times."""
    name, settings = optimizer_args(optimizer)
    out = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    args = ["search", *bench, "-o", name, *settings, "--budget", str(queries), "--seed", str(seed)]
    started = time.perf_counter()
    done = subprocess.run([*nars_command(), *args, "--out", str(out), "--no-progress"], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"nars {shlex.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    record = load_study(out)
    times = [float(trial.elapsed or 0.0) for trial in record.trials]
    best = record.best
    found = best.result.objective(record.objective) if best and best.result and record.objective else None
    return {
        "optimizer": optimizer_label(optimizer),
        "spec": optimizer,
        "queries": queries,
        "seed": seed,
        "command": shlex.join(["nars", *args, "--out", "DIR", "--no-progress"]),
        "process_seconds": wall,
        "search_seconds": times[-1] if times else 0.0,
        "best_objective": found,
        "best_by_queries": [point.best_objective for point in record.trajectory],
        "times": times,
    }


def per_query(times: list[float], bins: list[int]) -> list[dict[str, Any]]:
    """Seconds per query between consecutive bin edges (evaluations ``a+1..b``) that the run reached."""
    rows = []
    for a, b in zip(bins, bins[1:]):
        if b > len(times):
            break
        start = times[a - 1] if a > 0 else 0.0
        rows.append({"from": a + 1, "to": b, "seconds_per_query": (times[b - 1] - start) / (b - a)})
    return rows


def measure(args: argparse.Namespace, work: Path, save: Any) -> list[dict[str, Any]]:
    caps = {name: int(n) for name, _, n in (item.partition("=") for item in args.cap.split(",") if item)}
    bins = [0, *(int(b) for b in args.bins.split(","))]
    runs: list[dict[str, Any]] = []
    for label in args.benchmarks.split(","):
        bench = benchmark_args(label)
        if any(optimizer_args(o)[0] == "nars" for o in args.optimizers.split(",")):
            run_search(bench, "nars", 20, 999, work)  # pretraining into the sitting's cache, untimed
        for optimizer in args.optimizers.split(","):
            cap = caps.get(optimizer_label(optimizer), caps.get(optimizer_args(optimizer)[0], args.queries))
            budgets = sorted({min(args.short, cap), min(args.queries, cap)})
            for queries in budgets:
                run = run_search(bench, optimizer, queries, args.seed, work)
                run.update(benchmark=label, capped=cap < args.queries, per_query=per_query(run["times"], bins))
                runs.append(run)
                save(runs)  # the report so far: an interrupted sitting keeps what it measured
                print(
                    f"{label:24} {optimizer:36} {queries:5} queries: process {run['process_seconds']:7.2f} s, "
                    f"in-process {run['search_seconds']:7.2f} s, best {run['best_objective']}",
                    flush=True,
                )
    return runs


def ratios(runs: list[dict[str, Any]], short: int, long: int) -> list[dict[str, Any]]:
    """Per benchmark and optimizer: the short and long searches' totals and the long over the short."""
    out = []
    keys = list(dict.fromkeys((r["benchmark"], r["optimizer"]) for r in runs))
    for bench, optimizer in keys:
        mine = {r["queries"]: r for r in runs if (r["benchmark"], r["optimizer"]) == (bench, optimizer)}
        first, last = mine.get(min(mine)), mine[max(mine)]
        row: dict[str, Any] = {
            "benchmark": bench,
            "optimizer": optimizer,
            "queries": last["queries"],
            "capped": last["capped"],
            "per_query": last["per_query"],
            "best_objective": last["best_objective"],
        }
        for mode in ("process", "search"):
            row[f"{mode}_short"] = first[f"{mode}_seconds"] if first["queries"] == short else None
            row[f"{mode}_long"] = last[f"{mode}_seconds"] if last["queries"] == long else None
            both = row[f"{mode}_short"] is not None and row[f"{mode}_long"] is not None
            row[f"{mode}_ratio"] = row[f"{mode}_long"] / row[f"{mode}_short"] if both else None
        if last["queries"] != long:  # capped: the seconds it took to get as far as it went
            row["process_at_cap"], row["search_at_cap"] = last["process_seconds"], last["search_seconds"]
        out.append(row)
    return out


def _span(first: int, last: int) -> str:
    return f"{first}" if first == last else f"{first}-{last}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def markdown(report: dict[str, Any]) -> str:
    short, long = report["short"], report["queries"]
    spans = [_span(a + 1, b) for a, b in zip(report["bins"], report["bins"][1:])]
    lines = [
        f"# Cost as the search grows: seconds per query, up to {long} queries",
        "",
        f"`{report['command']}`; {report['machine']}; {report['when']}; seed {report['seed']}; load average "
        f"{report['load_average'][0]:.2f} at the start, {report['load_average'][1]:.2f} at the end; "
        f"{report['seconds_taken'] / 60:.0f} minutes.",
        "",
        "In-process seconds per query over evaluations a-b (the study's clock: differences of journal"
        " times), then the totals: the search on the study's clock (in-process) and the whole `nars search`"
        f" process, at {short} and {long} queries, and {long} over {short}. A capped optimizer ran as far as"
        " its cap (its queries column) and its totals are at the cap.",
        "",
        "| benchmark | optimizer | queries | " + " | ".join(spans) + f" | in-process {short} | in-process {long}"
        f" | × | process {short} | process {long} | × |",
        "|" + "---|" * (3 + len(spans) + 6),
    ]
    for row in report["rows"]:
        by_span = {_span(p["from"], p["to"]): p["seconds_per_query"] for p in row["per_query"]}
        cells = [row["benchmark"], row["optimizer"], f"{row['queries']}" + (" (capped)" if row["capped"] else "")]
        cells += [_seconds(by_span.get(span)) for span in spans]
        for mode in ("search", "process"):
            long_value = row[f"{mode}_long"] if row[f"{mode}_long"] is not None else row.get(f"{mode}_at_cap")
            cells += [_seconds(row[f"{mode}_short"]), _seconds(long_value)]
            cells.append(f"{row[f'{mode}_ratio']:.1f}" if row[f"{mode}_ratio"] is not None else "-")
        lines.append("| " + " | ".join(cells) + " |")
    edges = [b for b in report["bins"] if b >= short]
    lines += [
        "",
        f"Best objective found (seed {report['seed']}) after as many queries, by the longest run of each:",
        "",
    ]
    lines += ["| benchmark | optimizer | " + " | ".join(map(str, edges)) + " |", "|---|---|" + "---|" * len(edges)]
    for r in report["rows"]:
        run = next(
            x
            for x in report["runs"]
            if (x["benchmark"], x["optimizer"], x["queries"]) == (r["benchmark"], r["optimizer"], r["queries"])
        )
        best = [f"{run['best_by_queries'][n - 1]:.4g}" if n <= len(run["best_by_queries"]) else "-" for n in edges]
        lines.append(f"| {r['benchmark']} | {r['optimizer']} | " + " | ".join(best) + " |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Seconds per query against evaluations (log-log), one panel per benchmark: in-process per span
    (lines), whole process per query at each budget (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = list(dict.fromkeys(r["benchmark"] for r in report["rows"]))
    fig, axes = plt.subplots(1, len(benches), figsize=(6.2 * len(benches), 4.8), squeeze=False)
    colours: dict[str, Any] = {}
    for ax, bench in zip(axes[0], benches):
        for row in (r for r in report["rows"] if r["benchmark"] == bench):
            colour = colours.setdefault(row["optimizer"], f"C{len(colours)}")
            label = row["optimizer"] + (" (capped)" if row["capped"] else "")
            for run in (r for r in report["runs"] if (r["benchmark"], r["optimizer"]) == (bench, row["optimizer"])):
                points = [((p["from"] * p["to"]) ** 0.5, p["seconds_per_query"]) for p in run["per_query"]]
                points = [(x, y) for x, y in points if y > 0]
                longest = run["queries"] == row["queries"]
                if points:
                    style = {"label": label, "markersize": 3} if longest else {"alpha": 0.5, "linewidth": 1}
                    ax.plot(*zip(*points), "-o" if longest else "--", color=colour, **style)
                ax.plot(run["queries"], run["process_seconds"] / run["queries"], "s", color=colour, fillstyle="none")
        ax.plot([], [], "s", color="grey", fillstyle="none", label="whole process / queries")
        ax.set(xscale="log", yscale="log", xlabel="evaluations", ylabel="seconds per query", title=bench)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(
        "Seconds per query: in-process over each span of evaluations (the study's clock; dashed: the short "
        "search), whole process / queries (squares)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS, help="comma-separated suite labels or names")
    parser.add_argument(
        "--optimizers", default=DEFAULT_OPTIMIZERS, help="comma-separated [LABEL=]NAME[:KEY=VALUE[;KEY=VALUE]]"
    )
    parser.add_argument("--queries", type=int, default=1000, help="the long search")
    parser.add_argument("--short", type=int, default=100, help="the short search the long one is compared with")
    parser.add_argument("--cap", default=DEFAULT_CAPS, help="OPT=N: the most queries OPT runs (a slow peer)")
    parser.add_argument("--bins", default=DEFAULT_BINS, help="evaluation counts the per-query spans end at")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nars-cost-") as tmp:
        os.environ["NARS_CACHE_DIR"] = str(Path(tmp) / "cache")  # a fresh cache, filled by the untimed run
        runs = measure(args, Path(tmp), lambda runs: write(args, runs, started, load_start, out))
    print(write(args, runs, started, load_start, out))


def write(args: argparse.Namespace, runs: list[dict[str, Any]], started: float, load_start: float, out: Path) -> str:
    """Write the report of ``runs`` (json, md, png) into ``out``; its markdown."""
    import torch

    report: dict[str, Any] = {
        "command": shlex.join(["python", "benchmarks/cost_growth.py", *sys.argv[1:]]),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, python {platform.python_version()}, "
        f"torch {torch.__version__}",
        "load_average": [load_start, os.getloadavg()[0]],
        "seconds_taken": time.perf_counter() - started,
        "seed": args.seed,
        "short": args.short,
        "queries": args.queries,
        "bins": [0, *(int(b) for b in args.bins.split(","))],
        "rows": ratios(runs, args.short, args.queries),
        "runs": runs,
    }
    (out / "cost_growth.json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    (out / "cost_growth.md").write_text(text)
    plot(report, out / "cost_growth.png")
    return text


if __name__ == "__main__":
    main()
