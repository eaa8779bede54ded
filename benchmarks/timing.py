"""Wall time of 100-query searches as a user meets them: whole `nars search` processes and searches
inside one process, on an idle machine and beside a busy loop on every core, with an empty
pretraining cache (cold) and a filled one (warm); ratios against Optuna TPE measured in the same sitting.

* **process**: the command a user types, ``nars search -b BENCH -o OPT --budget 100 --seed S --out
  DIR --no-progress``, timed from start to exit (imports, loading the table, the search, writing
  the results). Cold: a fresh empty ``NARS_CACHE_DIR`` (NARS pretrains its predictor); warm: the
  folder the cold run filled.
* **in-process**: ``create_study(bench, OPT, budget=100, seed=S).optimize()`` in a Python process
  that has loaded the benchmark; cold is the first search of a fresh process with an empty cache
  (it also pays the optimizer's imports), warm the later ones.
* **loaded**: one busy-loop process per core runs beside the measured one (``--loads idle,loaded``).
* The README's main job (``nars search --benchmark nb201-analog --optimizer nars --budget 100
  --seed 0 --out runs/demo``) is timed cold and warm as a whole process as well.

Each figure is the median over ``--repeats`` seeds (cold: one run, seed 0). The machine's other
work shows in the load average recorded with each sitting: read the ratios, not the seconds. Writes
``OUT/timing.json``, ``OUT/timing.csv`` and ``OUT/timing.md``; ``--profile`` adds a cProfile
breakdown of one warm in-process NARS search by phase.

    python benchmarks/timing.py --profile --out benchmarks/results/timing   # 14 min on a shared 2-core machine
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import json
import os
import platform
import pstats
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

C10 = "csv:{data}/nb201/cifar10_test_acc_200ep.csv"
README_MAIN_JOB = ["search", "--benchmark", "nb201-analog", "--optimizer", "nars", "--budget", "100", "--seed", "0"]

#: Phases of a NARS search: (label, functions whose cumulative time it is); "other" is the rest.
PHASES = [
    ("pretraining (once per space, then cached)", ["pretrain"]),
    ("predictor fits", ["fit"]),  # without the pretraining the first fit may start
    ("pool screening (one ensemble member)", ["screen"]),
    ("pool ranking (full ensemble)", ["_acquisition"]),
    ("stage-2 evolution", ["evolve"]),
]


def short_name(benchmark: str) -> str:
    """``C-10 table`` for the NB201 CIFAR-10 table, else the benchmark's name."""
    return "C-10 table" if benchmark.endswith("cifar10_test_acc_200ep.csv") else benchmark


def nars_command() -> list[str]:
    """The ``nars`` console script of this environment (``python -m nars_plugin.cli`` without one)."""
    script = Path(sys.executable).with_name("nars")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "nars_plugin.cli"]


@contextlib.contextmanager
def background_load(loaded: bool) -> Iterator[None]:
    """One busy-loop process per core for the duration of the block (nothing when not ``loaded``)."""
    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range((os.cpu_count() or 1) if loaded else 0)
    ]
    try:
        time.sleep(1.0 if busy else 0.0)  # let them reach the scheduler
        yield
    finally:
        for process in busy:
            process.kill()
            process.wait()


def time_process(args: list[str], cache: Path, cwd: Path) -> float:
    """Seconds of one ``nars ARGS`` process (it must succeed)."""
    env = {**os.environ, "NARS_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    proc = subprocess.run([*nars_command(), *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"nars {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def process_rows(benchmark: str, optimizers: list[str], repeats: int, queries: int, work: Path) -> list[dict]:
    """Cold and warm whole-process times of each optimizer on ``benchmark``."""
    rows = []
    for optimizer in optimizers:
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))

        def search(seed: int, optimizer: str = optimizer, cache: Path = cache) -> float:
            out = tempfile.mkdtemp(prefix="run-", dir=work)
            args = ["search", "-b", benchmark, "-o", optimizer, "--budget", str(queries), "--seed", str(seed)]
            return time_process([*args, "--out", out, "--no-progress"], cache, work)

        cold = search(0)  # fills the cache
        warm = [search(seed) for seed in range(repeats)]
        rows.append(row(benchmark, optimizer, "process", cold, warm))
        print(f"  process     {short_name(benchmark):12} {optimizer:11} cold {cold:6.2f} s, warm {warm}", flush=True)
    return rows


def inprocess_rows(benchmark: str, optimizers: list[str], repeats: int, queries: int, work: Path) -> list[dict]:
    """Cold (first search of a fresh process, empty cache) and warm in-process times, one process per optimizer."""
    rows = []
    for optimizer in optimizers:
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
        args = ["--worker", benchmark, optimizer, str(repeats), str(queries)]
        env = {**os.environ, "NARS_CACHE_DIR": str(cache)}
        proc = subprocess.run([sys.executable, __file__, *args], cwd=work, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"in-process timing of {optimizer} failed:\n{proc.stderr[-2000:]}")
        cold, *warm = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row(benchmark, optimizer, "in-process", cold, warm))
        print(f"  in-process  {short_name(benchmark):12} {optimizer:11} cold {cold:6.2f} s, warm {warm}", flush=True)
    return rows


_LOADED: dict[str, Any] = {}


def search_seconds(benchmark: str, optimizer: str, seed: int, queries: int) -> float:
    """Seconds of one search from scratch (the benchmark loaded once per process, outside the timing)."""
    from nars_plugin import create_study
    from nars_plugin.plugins import get_registry

    if benchmark not in _LOADED:
        _LOADED[benchmark] = get_registry().create_benchmark(benchmark)
    bench = _LOADED[benchmark]
    started = time.perf_counter()
    create_study(bench, optimizer, budget=queries, seed=seed, progress=False).optimize()
    return time.perf_counter() - started


def worker(benchmark: str, optimizer: str, repeats: int, queries: int) -> None:
    """The in-process measurement: a cold search and ``repeats`` warm ones (the benchmark loaded once)."""
    times = [search_seconds(benchmark, optimizer, 0, queries)]
    times += [search_seconds(benchmark, optimizer, seed, queries) for seed in range(repeats)]
    print(json.dumps(times))


def row(benchmark: str, optimizer: str, mode: str, cold: float, warm: list[float]) -> dict[str, Any]:
    return {
        "benchmark": short_name(benchmark),
        "optimizer": optimizer,
        "mode": mode,
        "cold_seconds": cold,
        "warm_seconds": warm,
        "warm_median": statistics.median(warm),
    }


def main_job_rows(repeats: int, work: Path) -> list[dict]:
    """The README's main job as a user runs it: in a new folder, cold (empty cache), then warm."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    times = []
    for _ in range(1 + repeats):
        folder = Path(tempfile.mkdtemp(prefix="demo-", dir=work))  # runs/demo must not exist yet (it would resume)
        times.append(time_process([*README_MAIN_JOB, "--out", "runs/demo", "--no-progress"], cache, folder))
    print(f"  README main job (nb201-analog, nars) cold {times[0]:6.2f} s, warm {times[1:]}", flush=True)
    return [row("README main job", "nars", "process", times[0], times[1:])]


def add_ratios(rows: list[dict]) -> None:
    """Each row's cold and warm time over Optuna TPE's in the same sitting, benchmark and mode."""
    tpe = {(r["load"], r["benchmark"], r["mode"]): r for r in rows if r["optimizer"] == "optuna-tpe"}
    for r in rows:
        base = tpe.get((r["load"], r["benchmark"], r["mode"]))
        r["warm_x_tpe"] = r["warm_median"] / base["warm_median"] if base else None
        r["cold_x_tpe"] = r["cold_seconds"] / base["cold_seconds"] if base else None


def _ours(filename: str) -> bool:
    """Whether a profiled function is nars_plugin's own (not the predictor base class's wrappers)."""
    return "nars_plugin" in filename and "predictors/base" not in filename


def _called_from(key: Any, targets: set[Any], stats: dict[Any, Any], depth: int = 3) -> bool:
    """Whether profiled function ``key`` runs inside one of ``targets``: a direct caller, or one through
    at most ``depth`` nars_plugin frames (a decorator's wrapper). Other frames are not followed: a
    profile's caller graph joins everything through ``exec`` and the import machinery."""
    callers = [c for c in stats[key][4] if c in stats]
    if any(c in targets for c in callers):
        return True
    return depth > 1 and any(_called_from(c, targets, stats, depth - 1) for c in callers if _ours(c[0]))


def profile_search(benchmark: str, seed: int, queries: int) -> dict[str, float]:
    """Seconds per phase of one warm NARS search (cProfile cumulative times; profiling adds overhead)."""
    search_seconds(benchmark, "nars", 999, queries)  # imports, pretraining
    profiler = cProfile.Profile()
    profiler.enable()
    started = time.perf_counter()
    search_seconds(benchmark, "nars", seed, queries)
    total = time.perf_counter() - started
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    phases = {"total": total}
    for label, functions in PHASES:
        # the outermost calls only: an ensemble's fit calls its members' fits, counted once through it
        counted = {key for key in stats if key[2] in functions and _ours(key[0])}
        phases[label] = sum(stats[key][3] for key in counted if not _called_from(key, counted, stats))
    phases["predictor fits"] -= phases[PHASES[0][0]]  # the first fit pretrains when nothing is cached
    phases["other (planning, pool bookkeeping, the study)"] = total - sum(v for k, v in phases.items() if k != "total")
    return phases


def markdown(report: dict[str, Any]) -> str:
    rows = report["results"]
    loads = list(dict.fromkeys(r["load"] for r in rows))

    def cell(r: dict | None, key: str, ratio: str) -> list[str]:
        if r is None:
            return ["-", "-"]
        value = r[key] if key == "cold_seconds" else r["warm_median"]
        x = r[ratio]
        return [f"{value:.2f}", f"{x:.2f}" if x is not None else "-"]

    header = ["benchmark", "optimizer", "mode"]
    for load in loads:
        header += [f"{load} warm s", "× TPE", f"{load} cold s", "× TPE"]
    lines = [
        f"# Wall time of one {report['queries']}-query search, as a user meets it",
        "",
        f"`{report['command']}`; {report['machine']}; {report['when']}. Median of {report['repeats']} seeds warm,"
        " one run cold (an empty pretraining cache). × TPE: over Optuna TPE in the same sitting, benchmark and"
        " mode. Load averages at the start of each sitting: "
        + ", ".join(f"{k} {v:.2f}" for k, v in report["load_average_at_start"].items())
        + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    keys = list(dict.fromkeys((r["benchmark"], r["optimizer"], r["mode"]) for r in rows))
    for key in keys:
        cells = list(key)
        for load in loads:
            found = next(
                (r for r in rows if (r["benchmark"], r["optimizer"], r["mode"]) == key and r["load"] == load), None
            )
            cells += cell(found, "warm_median", "warm_x_tpe") + cell(found, "cold_seconds", "cold_x_tpe")
        lines.append("| " + " | ".join(cells) + " |")
    if "nars_profile" in report:
        lines += ["", "NARS, one warm in-process search (seed 0, C-10 table) under cProfile:", ""]
        lines += ["| phase | s | share |", "|---|---|---|"]
        total = report["nars_profile"]["total"]
        lines += [f"| {k} | {v:.2f} | {v / total:.0%} |" for k, v in report["nars_profile"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        benchmark, optimizer, repeats, queries = sys.argv[2:6]
        worker(benchmark, optimizer, int(repeats), int(queries))
        return
    from nars_plugin._datafiles import data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_benchmarks = f"{C10.format(data=data_dir())},nb201-analog"
    parser.add_argument("--benchmarks", "--benchmark", default=default_benchmarks, help="comma-separated")
    parser.add_argument(
        "--optimizers", default="nars,optuna-tpe,rea", help="comma-separated (with optuna-tpe); e.g. +bananas,rs"
    )
    parser.add_argument("--modes", default="process,in-process", help="process, in-process or both")
    parser.add_argument("--loads", default="idle,loaded", help="idle, loaded (a busy loop per core) or both")
    parser.add_argument("--repeats", type=int, default=2, help="warm searches (seeds 0..N-1) per figure")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--no-main-job", action="store_true", help="leave out the README main job")
    parser.add_argument("--profile", action="store_true", help="also profile one warm NARS search by phase")
    parser.add_argument("--label", default="", help="a note for the report (e.g. the commit measured)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    benchmarks, optimizers = args.benchmarks.split(","), args.optimizers.split(",")
    modes, loads = args.modes.split(","), args.loads.split(",")

    started = time.perf_counter()
    rows: list[dict] = []
    load_average: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="nars-timing-") as tmp:
        work = Path(tmp)
        for load in loads:
            load_average[load] = os.getloadavg()[0]
            print(f"{load} (load average {load_average[load]:.2f})", flush=True)
            with background_load(load == "loaded"):
                sitting: list[dict] = []
                for benchmark in benchmarks:
                    if "process" in modes:
                        sitting += process_rows(benchmark, optimizers, args.repeats, args.queries, work)
                    if "in-process" in modes:
                        sitting += inprocess_rows(benchmark, optimizers, args.repeats, args.queries, work)
                if not args.no_main_job:
                    sitting += main_job_rows(args.repeats, work)
            rows += [{"load": load, **r} for r in sitting]
    add_ratios(rows)
    import torch

    report: dict[str, Any] = {
        "command": shlex.join(["python", "benchmarks/timing.py", *sys.argv[1:]]),
        "queries": args.queries,
        "repeats": args.repeats,
        "label": args.label,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, python {platform.python_version()}, "
        f"torch {torch.__version__}",
        "load_average_at_start": load_average,
        "seconds_taken": time.perf_counter() - started,
        "results": rows,
    }
    if args.profile:
        report["nars_profile"] = profile_search(benchmarks[0], 0, args.queries)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "timing.json").write_text(json.dumps(report, indent=2) + "\n")
    with (out / "timing.csv").open("w", newline="") as handle:
        fields = ["load", "benchmark", "optimizer", "mode", "cold_seconds", "cold_x_tpe", "warm_median", "warm_x_tpe"]
        writer = csv.DictWriter(handle, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    text = markdown(report)
    (out / "timing.md").write_text(text)
    print(text)
    print(f"({report['seconds_taken']:.0f} s)")


if __name__ == "__main__":
    main()
