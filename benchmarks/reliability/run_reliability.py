"""The reliability report: crash safety, fuzzing, corrupt state, untrusted files, failing evaluations.

Runs, in this order:

1. the kill harness (:mod:`kill_harness`): every tabular scenario killed ``--kills`` times with
   SIGKILL (half as often for bananas and nars), resumed and checked;
2. the fuzz suite (``tests/test_fuzz.py``) under the hypothesis profile ``reliability``, counting the
   cases run and the bad inputs among them per target;
3. the corrupt-state, failing-evaluation and untrusted-file test files (pass counts);
4. the cost of the per-evaluation time limit: the same 300-query random search on nb201-analog
   with evaluations in this process and in a worker process (``eval_timeout``), as a ratio;
5. Ray across nodes with a node lost (``tests/test_ray_cluster.py``): a three-node cluster on the
   loopback address, a worker node SIGKILLed mid-run under ``nars compare`` and under a training
   search; the figures each test prints.

Writes ``benchmarks/reliability/results.json``, ``REPORT.md`` and ``kill_points.png``.

    nice -n 10 python benchmarks/reliability/run_reliability.py
    nice -n 10 python benchmarks/reliability/run_reliability.py --only train-digits-rs-pool  # rerun one scenario
    nice -n 10 python benchmarks/reliability/run_reliability.py --only ray-nodes  # rerun section 5 only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import kill_harness  # noqa: E402 - the harness lives beside this script

TEST_FILES = {
    "corrupt state (real processes)": "tests/test_corrupt_state.py",
    "failing evaluations (raise / hang / NaN / crash)": "tests/test_failing_evaluations.py",
    "untrusted files and output containment": "tests/test_untrusted_files.py",
    "journal repair and refusal (study level)": "tests/test_study.py",
}


def run_pytest(target: str, env: dict[str, str] | None = None, options: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run one test file (with pytest ``options``); its counts from the JUnit XML, and its output."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", f"--junitxml={xml}"]
            + [*options, target],
            cwd=REPO,
            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
            capture_output=True,
            text=True,
        )
        suite = ET.parse(xml).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    counts["seconds"] = round(time.monotonic() - started, 1)
    counts["returncode"] = proc.returncode
    counts["stdout"] = proc.stdout
    return counts


#: The node-loss tests and the prefix of the figures line each prints.
RAY_NODES_TESTS = "tests/test_ray_cluster.py"
RAY_NODES_PREFIX = "node-loss figures: "


def _without_output(counts: dict[str, Any]) -> dict[str, Any]:
    """``counts`` with the output dropped, or cut to its tail where the tests failed."""
    stdout = counts.pop("stdout")
    if counts["returncode"] != 0:
        counts["output_tail"] = stdout[-2000:]
    return counts


def ray_node_loss() -> dict[str, Any]:
    """Run the node-loss tests (slow marker, output shown) and read their figures lines."""
    counts = run_pytest(RAY_NODES_TESTS, options=("-s", "-m", "slow"))
    stdout = counts.pop("stdout")
    counts["scenarios"] = [
        json.loads(line.split(RAY_NODES_PREFIX, 1)[1]) for line in stdout.splitlines() if RAY_NODES_PREFIX in line
    ]
    counts["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if counts["returncode"] != 0:
        counts["output_tail"] = stdout[-2000:]
    return counts


def time_limit_overhead(queries: int = 300) -> dict[str, float]:
    """Seconds of one random search with evaluations in process and in a time-limited worker."""
    from nars_plugin import create_study

    out: dict[str, float] = {}
    for label, timeout in (("in_process", None), ("worker_process", 60.0)):
        best = []
        for _ in range(3):
            study = create_study("nb201-analog", "rs", budget=queries, seed=0, progress=False, eval_timeout=timeout)
            started = time.perf_counter()
            study.optimize()
            best.append(time.perf_counter() - started)
        out[label] = min(best)
    out["queries"] = queries
    out["ratio"] = out["worker_process"] / out["in_process"]
    out["worker_ms_per_evaluation"] = 1000 * (out["worker_process"] - out["in_process"]) / queries
    return out


def plot_kill_points(reports: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(reports) + 1.6))
    for row, r in enumerate(reports):
        points = [p / r["budget"] for p in r["kill_points"]]
        jitter = [row + 0.25 * ((i * 0.618) % 1 - 0.5) for i in range(len(points))]
        ax.scatter(points, jitter, s=9, alpha=0.6)
    ax.set_yticks(range(len(reports)), [f"{r['name']} ({r['kills_tried']})" for r in reports], fontsize=8)
    ax.set_xlabel("journal records when SIGKILL landed (fraction of the budget)")
    lost = sum(r["lost_evaluations"] for r in reports)
    twice = sum(r["duplicated_evaluations"] for r in reports)
    ax.set_title(f"Where the kills landed (after resuming: {lost} lost, {twice} evaluated twice)", fontsize=9)
    ax.set_xlim(-0.03, 1.03)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict[str, Any]) -> str:
    kill = results["kill_harness"]
    total = kill["totals"]
    ray = results.get("ray_nodes")
    lines = [
        "# Reliability report",
        "",
        f"Written by `benchmarks/reliability/run_reliability.py` on {results['machine']} "
        f"({results['date']}, {results['seconds_total']:.0f} s in all, `nice -n 10` on a shared 2-core machine).",
        *[
            f"Scenarios {', '.join(f'`{n}`' for n in r['scenarios'])} were run again on {r['date']} "
            f"(`run_reliability.py --only {','.join(r['scenarios'])}`, {r['seconds']} s); their rows and the "
            "totals below are from that run."
            for r in results.get("reruns", [])
        ],
        "",
        "## Figures",
        "",
        "| figure | value |",
        "|---|---|",
        f"| SIGKILLs sent to real `nars search` processes (kill points) | **{total['kills_tried']}** |",
        f"| kill points survived (resumed to the uninterrupted result) | **{total['kills_survived']}** |",
        f"| killed-and-resumed episodes checked end to end | {total['episodes']} |",
        f"| journal prefix checks right after a kill | {total['prefix_checks']} |",
        f"| evaluations compared with the uninterrupted runs | {total['evaluations_checked']} |",
        f"| evaluations counted at the evaluator (audit log) | {total['evaluations_audited']} |",
        f"| evaluations run twice | **{total['duplicated_evaluations']}** |",
        f"| evaluations lost | **{total['lost_evaluations']}** |",
        f"| fuzz cases run (hypothesis) | **{results['fuzz']['cases']}** |",
        f"| bad inputs among them, each a clear error (no traceback, no summary.json) | **{results['fuzz']['bad']}** |",
        f"| reliability tests passed (corrupt state, failing evaluations, untrusted files, journal) | "
        f"{results['tests_passed']} of {results['tests_run']} |",
        f"| time-limit worker, cost per evaluation against in-process | "
        f"{results['time_limit']['ratio']:.1f}x ({results['time_limit']['worker_ms_per_evaluation']:.2f} ms "
        "per evaluation) |",
        *(
            [f"| Ray worker nodes SIGKILLed mid-run, survived (section 5) | **{ray['passed']}** of {ray['tests']} |"]
            if ray
            else []
        ),
        "",
        "## 1. Crash safety (SIGKILL at random points)",
        "",
        "Each scenario is a real `nars search` command line. An uninterrupted reference run comes first; "
        "then episodes on fresh folders: the command is started and SIGKILLed at a seeded random point "
        "(60 %: once the journal holds a random number of new evaluations; 40 %: after a random delay, which "
        "also lands in start-up, journal replay, mid-write and the summary write), restarted, killed again, "
        "... and finally run to the end. Every evaluation sleeps "
        f"{kill_harness.DELAY} s (`NARS_EVALUATION_DELAY`, as training would take time) so kills land inside "
        "evaluations and at every evaluation count. After every kill the journal's complete records must be "
        "a prefix of the reference run's; at the end all of them, the audit log (`NARS_EVALUATION_LOG`, "
        "written by the process that ran each evaluation) must hold each (candidate, fidelity) exactly once, "
        "and the summary (best, metrics, trajectory, optimizer report) must equal the reference's.",
        "",
        "| scenario | budget | kills | by count / by time | episodes | prefix checks | evaluations checked "
        "| run twice | lost | same summary | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in kill["scenarios"]:
        modes = f"{r['kills_by_mode'].get('evals', 0)} / {r['kills_by_mode'].get('time', 0)}"
        lines.append(
            f"| {r['name']} | {r['budget']} | {r['kills_tried']} | {modes} | {r['episodes']} | "
            f"{r['prefix_checks']} | {r['evaluations_checked']} | {r['duplicated_evaluations']} | "
            f"{r['lost_evaluations']} | {'yes' if r['same_summary'] else 'NO'} | {r['seconds']:.0f} |"
        )
    lines += ["", "Commands (OUT = the scenario's folder):", ""]
    data = str(Path(os.environ.get("NARS_DATA_DIR", REPO.parent / "shared" / "data")).resolve())
    shown = [(r["name"], " ".join(r["command"][3:]).replace(data, "../shared/data")) for r in kill["scenarios"]]
    lines += [f"- `{name}`: `nars {command}`" for name, command in shown]
    lines += [
        "",
        "![kill points](kill_points.png)",
        "",
        "The `train-digits-*` scenarios train for real (imagenet plugin: a tiny FBNetV3-style network on "
        "scikit-learn's digits, 4-8 epochs per evaluation, NARS with early stopping at reduced fidelity) and "
        "need no delay: kills land inside training. They run where the `imagenet` extra is installed "
        "(`TRAINING_SCENARIOS` in `kill_harness.py`). `train-digits-rs-pool` evaluates two candidates at a time "
        "in a local pool of two spawned training workers under `--eval-timeout` (the workers must die with the "
        "killed search); `train-digits-rs-ray` does the same with the Ray executor on a local Ray instance "
        "that the search starts and that dies with it (`RAY_SCENARIOS`, where Ray is installed).",
        "",
        f"SIGKILLs per tabular scenario this run: {kill.get('kills_per_fast_scenario', 30)} (half for bananas "
        "and nars); the training scenarios have fixed counts.",
        "",
    ]
    batched = [r for r in kill["scenarios"] if r["name"].endswith(("-pool", "-ray"))]
    if any(r["duplicated_evaluations"] for r in batched):
        lines += [
            "**Open gap (batched searches):** "
            + ", ".join(f"{r['name']} ran {r['duplicated_evaluations']}" for r in batched)
            + " evaluation(s) twice. A batch's results reach the study together but are journaled one by "
            "one; a kill between two of those appends loses the finished, unjournaled results of the batch, "
            "and the resumed search evaluates them again (the candidate's checkpoint from the first run is "
            "reused, so no finished epoch is retrained, but the evaluation counts as run twice). The "
            "one-at-a-time path keeps such a result in `.pending-result.json` until it is journaled; batches "
            "need the same (the study's code, left to the study refactoring under way).",
            "",
        ]
    lines += [
        "",
        "## 2. Fuzzing (hypothesis, profile `reliability`)",
        "",
        "| target | cases run | bad inputs | what is checked |",
        "|---|---|---|---|",
    ]
    what = {
        "arch_strings": "NB201 and name=value strings: a candidate that round-trips, or InvalidArchitectureError",
        "recipe_values": "any value for categorical/integer/float recipe parameters: in range, or InvalidRecipeError",
        "constraints": "constraint expressions: parsed and satisfiable, or ConfigError / InfeasibleConstraintError",
        "cli_search": "`nars search` argv in process: exit 0/1, or exit 2 with `error:`, no traceback, no summary.json",
        "cli_other": "`nars query/compare/predictor-eval/...` argv: exit 2 with `error:`, never a traceback",
        "csv_files": "CSV tables (missing/extra columns, bad values, duplicates, empty, binary): a benchmark or "
        "DataFileError",
        "csv_cli": "the same files through `nars search -b csv:FILE`: no traceback, no summary.json on error",
        "journal_cuts": "a journal cut at any byte: resumed to the same result, a warning when a line was torn",
    }
    for target, c in results["fuzz"]["targets"].items():
        lines.append(f"| {target} | {c['cases']} | {c['bad']} | {what.get(target, '')} |")
    lines += [
        f"| **total** | **{results['fuzz']['cases']}** | **{results['fuzz']['bad']}** | "
        f"{results['fuzz']['pytest']['passed']} of {results['fuzz']['pytest']['tests']} fuzz tests passed |",
        "",
        "The only YAML the project reads is a NASLib config (`nars naslib --config`, through fvcore's "
        "`CfgNode.load_cfg`, i.e. `yaml.safe_load`), which needs NASLib; it is not fuzzed here.",
        "",
        "## 3. Other reliability tests",
        "",
        "| tests | passed | of | seconds |",
        "|---|---|---|---|",
    ]
    for name, c in results["tests"].items():
        lines.append(f"| {name} (`{TEST_FILES[name]}`) | {c['passed']} | {c['tests']} | {c['seconds']} |")
    lines += [
        "",
        "## Bugs these checks found (all fixed on this branch)",
        "",
        "- `nars search -O population=abc` (any optimizer setting of the wrong type) and `--seed -2` ended in "
        "a Python traceback; both are now `error:` lines with a hint (found by the command-line fuzzer).",
        "- Regularized evolution could pick a failed candidate as a tournament's parent when every drawn member "
        "had failed, local search could climb from a failed start, and NARS could name a candidate whose "
        "evaluation failed as a family's model; none of them can now.",
        "- `summary.json`/`trajectory.csv` were written through a fixed temporary name, so a symbolic link "
        "planted at `OUT/summary.json.tmp` made the study write outside `--out`; results are now written "
        "through exclusive temporary files, and a linked journal or lock file is refused.",
        "- `nars compare --optimizers '..=rs'` put its runs in `OUT/seed0` instead of under `OUT/runs/`; "
        "labels now map to one plain folder name each.",
        "- An evaluation worker (with `--eval-timeout`) outlived a killed search and could finish an evaluation "
        "the resumed search ran again; workers now die with their search (Linux `PR_SET_PDEATHSIG`).",
        "- The first full harness run measured 1 evaluation run twice in 30 kills of the worker scenario: the "
        "search was killed after its worker finished an evaluation but before the result was journaled. The "
        "worker now keeps its latest result in `OUT/.pending-result.json` (fsynced) until it is journaled, "
        "and a resumed search takes it from there; the run above measures 0.",
    ]
    t = results["time_limit"]
    lines += [
        "",
        "## 4. Cost of the per-evaluation time limit",
        "",
        f"The same {t['queries']}-query random search on nb201-analog, best of 3: "
        f"{t['in_process']:.3f} s with evaluations in this process, {t['worker_process']:.3f} s with "
        f"`eval_timeout` (evaluations in a worker process): **{t['ratio']:.1f}x**, "
        f"{t['worker_ms_per_evaluation']:.2f} ms more per evaluation — nothing next to a training run, "
        "and the tabular fast path (no time limit) keeps evaluating in process.",
        "",
    ]
    if "ray_nodes" in results:
        lines += ray_nodes_markdown(results["ray_nodes"])
    return "\n".join(lines)


def ray_nodes_markdown(ray: dict[str, Any]) -> list[str]:
    """Section 5: the node-loss scenarios on a Ray cluster."""
    commands = {
        "compare": "`nars compare -b nb201-analog --optimizers nars,rea --seeds 3 --budget 60 --executor ray "
        "--address 127.0.0.1:PORT`",
        "train": "`nars search --space fbnetv3-tiny --evaluator train --dataset digits --optimizer rs --budget 2 "
        "--parallel 2 --executor ray --address 127.0.0.1:PORT -E max_steps_per_epoch=12 -E batch_size=32`",
    }
    lines = [
        "## 5. Ray across nodes: a node lost mid-run",
        "",
        f"`{RAY_NODES_TESTS}` ({ray['date']}, {ray['seconds']:g} s, {ray['passed']} of {ray['tests']} tests "
        "passed): `ray.cluster_utils.Cluster` starts a head with no "
        "CPUs and two worker nodes of one CPU each on this machine, every node bound to 127.0.0.1 (the test "
        "checks that no process of the cluster listens on any other address). The driver is a separate `nars` "
        "process given `--address 127.0.0.1:PORT`. Once the second worker node is seen running work (a run "
        "whose folder lock its worker holds; a candidate training there), all its processes are SIGKILLed "
        "(`remove_node(allow_graceful=False)`). Ray runs the lost task again on the node left (`max_retries` "
        "3): a comparison's run resumes from its journal, a training job from its last checkpoint. Checked: "
        "every run and evaluation present (nothing lost), each journal holds each evaluation once and the lost "
        "run's journal at the loss is a prefix of its final one (nothing run twice), and the trajectories "
        "(comparison) and learning curves (training) equal those of a local run.",
        "",
        "| scenario | command | in flight on the lost node | lost at | ended at | runs | evaluations | lost "
        "| run twice | same as local |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in ray["scenarios"]:  # a test prints its line only once every check has held
        lines.append(
            f"| {f['scenario']} | {commands.get(f['scenario'], '')} | {f['in_flight']} | {f['lost_at']:.1f} s | "
            f"{f['ended_at']:.1f} s | {f['runs']} | {f['evaluations']} | 0 | 0 | yes |"
        )
    return [*lines, ""]


def write_outputs(results: dict[str, Any], out: Path) -> None:
    """Write results.json, REPORT.md and kill_points.png into ``out``, and print the report."""
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "REPORT.md").write_text(markdown(results))
    plot_kill_points(results["kill_harness"]["scenarios"], out / "kill_points.png")
    print(markdown(results))


def kill_totals(reports: list[dict[str, Any]]) -> dict[str, int]:
    """The kill harness's figures summed over its scenarios."""
    keys = ("kills_tried", "episodes", "prefix_checks", "evaluations_checked", "evaluations_audited")
    totals = {k: sum(r[k] for r in reports) for k in (*keys, "duplicated_evaluations", "lost_evaluations")}
    totals["kills_survived"] = sum(r["kills_tried"] for r in reports if r["survived"])
    return totals


def rerun_scenarios(
    names: list[str], scenarios: list[kill_harness.Scenario], workdir: Path, workers: int, out: Path
) -> int:
    """Run the named kill scenarios again and put their rows into ``out/results.json`` (the rest is kept)."""
    results = json.loads((out / "results.json").read_text())
    known = {s.name: s for s in scenarios}
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"error: unknown scenario(s) {unknown}; choose from {sorted(known)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    runs = kill_harness.run_all([known[n] for n in names], workdir, workers)
    fresh = [r.__dict__ | {"survived": r.survived} for r in runs]
    rows = {r["name"]: r for r in fresh}
    kill = results["kill_harness"]
    kill["scenarios"] = [rows.pop(r["name"], r) for r in kill["scenarios"]] + list(rows.values())
    kill["totals"] = kill_totals(kill["scenarios"])
    results.setdefault("reruns", []).append(
        {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "scenarios": names,
            "seconds": round(time.monotonic() - started),
        }
    )
    write_outputs(results, out)
    return 0 if all(r["survived"] for r in fresh) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30, help="SIGKILLs per fast scenario (half for bananas, nars)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", default=str(REPO / "runs" / "reliability"), help="scratch folder")
    parser.add_argument("--out", default=str(HERE), help="where results.json, REPORT.md, kill_points.png go")
    parser.add_argument("--render-only", action="store_true", help="rewrite REPORT.md and the plot from results.json")
    parser.add_argument(
        "--only",
        help="comma list of kill scenarios to run again (ray-nodes: section 5); their rows in the existing "
        "results.json are replaced (dated in REPORT.md) and everything else is kept",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    out = Path(args.out)
    if args.render_only:
        results = json.loads((out / "results.json").read_text())
        (out / "REPORT.md").write_text(markdown(results))
        plot_kill_points(results["kill_harness"]["scenarios"], out / "kill_points.png")
        return 0
    workdir = Path(args.workdir)

    data = Path(os.environ.get("NARS_DATA_DIR", REPO.parent / "shared" / "data"))
    scenarios = kill_harness.tabular_scenarios(args.kills, data if data.is_dir() else None)
    scenarios += kill_harness.training_scenarios()
    only = args.only.split(",") if args.only else []
    if "ray-nodes" in only:
        results = json.loads((out / "results.json").read_text())
        results["ray_nodes"] = ray_node_loss()
        write_outputs(results, out)
        only.remove("ray-nodes")
        if results["ray_nodes"]["returncode"] != 0:
            return 1
    if only:
        return rerun_scenarios(only, scenarios, workdir, args.workers, out)
    if args.only:
        return 0
    reports = [r.__dict__ | {"survived": r.survived} for r in kill_harness.run_all(scenarios, workdir, args.workers)]
    totals = kill_totals(reports)

    counts_file = workdir / "fuzz_counts.json"
    workdir.mkdir(parents=True, exist_ok=True)
    fuzz_env = {"NARS_FUZZ_PROFILE": "reliability", "NARS_FUZZ_COUNTS": str(counts_file)}
    fuzz_pytest = _without_output(run_pytest("tests/test_fuzz.py", fuzz_env))
    targets = json.loads(counts_file.read_text())
    fuzz = {
        "targets": targets,
        "cases": sum(c["cases"] for c in targets.values()),
        "bad": sum(c["bad"] for c in targets.values()),
        "pytest": fuzz_pytest,
    }
    tests = {name: _without_output(run_pytest(path)) for name, path in TEST_FILES.items()}

    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} Linux, {os.cpu_count()} cores, Python {platform.python_version()}",
        "kill_harness": {
            "scenarios": reports,
            "totals": totals,
            "delay_seconds": kill_harness.DELAY,
            "kills_per_fast_scenario": args.kills,
        },
        "fuzz": fuzz,
        "tests": tests,
        "tests_run": sum(c["tests"] for c in tests.values()),
        "tests_passed": sum(c["passed"] for c in tests.values()),
        "time_limit": time_limit_overhead(),
        "ray_nodes": ray_node_loss(),
    }
    results["seconds_total"] = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(results, out)
    ok = (
        all(r["survived"] for r in reports)
        and fuzz_pytest["returncode"] == 0
        and all(c["returncode"] == 0 for c in tests.values())
        and results["ray_nodes"]["returncode"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
