"""Crash-safety harness: real ``nars search`` processes killed with SIGKILL at random points, then resumed.

For each *scenario* (a ``nars`` command line with an ``{out}`` placeholder):

1. an uninterrupted reference run writes its journal and summary;
2. the same command is started again and again on a second folder and SIGKILLed each time, at a
   seeded random point: either once the journal holds a random number of new evaluations
   ("evals" kills) or after a random delay ("time" kills, which also land in start-up, journal
   replay, mid-write and the final summary write);
3. after the last kill the command runs to the end.

Checks, after every kill and at the end:

* **nothing evaluated twice**, measured at the evaluator: every process runs with
  ``NARS_EVALUATION_LOG`` set (:mod:`nars_plugin._isolation`), so each evaluation that really ran
  leaves one line; a (candidate, fidelity) with two lines is a duplicate;
* **nothing lost**: after every kill the journal's complete records are a prefix of the reference
  run's records (same candidates, fidelities, results, in the same order), and at the end they are
  all of them; every evaluation in the audit log is in the journal;
* **same result**: the final summary (best candidate, its metrics, trajectory, optimizer report)
  equals the reference run's.

Scenarios are plain command lines, so any evaluator can be added: see :data:`TRAINING_SCENARIOS`.

Usage: ``python benchmarks/reliability/kill_harness.py [--kills N] [--only NAME] [--out DIR]``
(``run_reliability.py`` runs it with the committed settings).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nars_plugin._isolation import EVALUATION_DELAY_ENV, EVALUATION_LOG_ENV
from nars_plugin.storage import CHECK_FIELD

REPO = Path(__file__).resolve().parents[2]
DELAY = 0.02  # seconds per tabular evaluation in the kill scenarios (see Scenario.delay)
SMALL_PREDICTOR = '{"n_models": 2, "head_steps": 40, "finetune_steps": 40, "pretrain_epochs": 5}'
#: summary fields that must equal the uninterrupted run's (the rest say how this run got there)
COMPARED_SUMMARY_FIELDS = ("best", "n_evaluations", "total_cost", "failed", "trajectory", "optimizer_report")


@dataclass(frozen=True)
class Scenario:
    """One command line to kill and resume.

    Args:
        name: a short label (used as a folder name).
        args: the arguments after ``nars``; ``{out}`` is replaced by the output folder.
        kills: how many SIGKILLs to try before the final run.
        budget: the command's evaluation budget (the number of journal records to expect).
        delay: seconds each evaluation is made to last (``NARS_EVALUATION_DELAY``): a tabular query
            takes microseconds, so without it nearly every kill would land before the first or after
            the last evaluation; a training evaluator needs none (0).
        measured: evaluations report measured wall-clock seconds (real training): those fields
            (:data:`MEASURED_TIME_KEYS`) are left out when runs are compared; everything else must match.
    """

    name: str
    args: tuple[str, ...]
    kills: int
    budget: int
    delay: float = 0.0
    measured: bool = False

    @property
    def ignored(self) -> frozenset[str]:
        """Fields not compared between runs."""
        return MEASURED_TIME_KEYS if self.measured else frozenset({"time"})

    def command(self, out: Path) -> list[str]:
        return [sys.executable, "-m", "nars_plugin.cli", *(a.replace("{out}", str(out)) for a in self.args)]


def search(benchmark: str, optimizer: str, budget: int, seed: int, *extra: str) -> tuple[str, ...]:
    """The arguments of a ``nars search`` on ``benchmark``."""
    return (
        "search", "--benchmark", benchmark, "--optimizer", optimizer, "--budget", str(budget),
        "--seed", str(seed), "--out", "{out}", "--no-progress", *extra,
    )  # fmt: skip


def tabular_scenarios(kills: int, data_dir: Path | None) -> list[Scenario]:
    """rs / rea / ls / bananas / nars on nb201-analog, and rs / rea / ls on the NB201 CSV table if present."""
    predictor = ("-O", f"predictor={SMALL_PREDICTOR}")
    slow = max(1, kills // 2)  # bananas and nars refit a predictor while replaying: slower restarts
    out = [
        Scenario("analog-rs", search("nb201-analog", "rs", 60, 1), kills, 60, DELAY),
        Scenario("analog-rea", search("nb201-analog", "rea", 60, 2), kills, 60, DELAY),
        Scenario("analog-ls", search("nb201-analog", "ls", 60, 3), kills, 60, DELAY),
        Scenario(
            "analog-bananas",
            search("nb201-analog", "bananas", 30, 4, *predictor, "-O", "num_candidates=30"),
            slow,
            30,
            DELAY,
        ),
        Scenario("analog-nars", search("nb201-analog", "nars", 30, 5, *predictor), slow, 30, DELAY),
        # evaluations in a worker process (--eval-timeout): the worker must die with the killed search
        Scenario("analog-rea-timeout", search("nb201-analog", "rea", 60, 6, "--eval-timeout", "30"), kills, 60, DELAY),
    ]
    table = (data_dir / "nb201" / "cifar10_test_acc_200ep.csv") if data_dir else None
    if table is not None and table.is_file():
        for i, optimizer in enumerate(("rs", "rea", "ls")):
            spec = search(f"csv:{table}", optimizer, 60, 10 + i)
            out.append(Scenario(f"c10csv-{optimizer}", spec, kills, 60, DELAY))
    return out


def train(optimizer: str, budget: int, seed: int, *extra: str, workers: int = 0) -> tuple[str, ...]:
    """The arguments of a ``nars search`` with real training (imagenet plugin) on scikit-learn's digits."""
    return (
        "search", "--space", "fbnetv3-tiny", "--evaluator", "train", "--dataset", "digits", "--workers", str(workers),
        "--optimizer", optimizer, "--budget", str(budget), "--seed", str(seed), "--out", "{out}", "--no-progress",
        *extra,
    )  # fmt: skip


#: Real training (4-8 epochs of a tiny FBNetV3-style network per evaluation, in the search's own
#: process): kills land inside training, between epochs and checkpoints. NARS runs its early-stopping
#: round 0 here, so fidelities below the full schedule are checked too. Skipped without the extra.
TRAINING_SCENARIOS: list[Scenario] = [
    Scenario("train-digits-rs", train("rs", 8, 20), 10, 8, measured=True),
    Scenario(
        "train-digits-nars",
        train("nars", 10, 21, "-O", f"predictor={SMALL_PREDICTOR}", "-O", "init_batch=4", "-O", "batch=2"),
        10,
        10,
        measured=True,
    ),
    # batched: two candidates at a time in a local pool of two spawned training workers, each within a
    # time limit; the workers must die with the killed search, and a batch is journaled only when done
    Scenario(
        "train-digits-rs-pool",
        train("rs", 8, 22, "--parallel", "2", "--eval-timeout", "900", workers=2),
        6,
        8,
        measured=True,
    ),
]

#: The same batched search with the Ray executor on a local Ray instance started by the search
#: (skipped without Ray): a killed search takes its Ray instance and tasks with it.
RAY_SCENARIOS: list[Scenario] = [
    Scenario(
        "train-digits-rs-ray",
        train("rs", 6, 23, "--executor", "ray", "--parallel", "2", "--eval-timeout", "900"),
        4,
        6,
        measured=True,
    ),
]


def training_scenarios() -> list[Scenario]:
    """:data:`TRAINING_SCENARIOS` where the imagenet extra (timm, torchvision, scikit-learn) is installed,
    and :data:`RAY_SCENARIOS` where Ray is too."""
    import importlib.util

    needed = ("timm", "torchvision", "sklearn")
    if not all(importlib.util.find_spec(m) for m in needed):
        return []
    return TRAINING_SCENARIOS + (RAY_SCENARIOS if importlib.util.find_spec("ray") else [])


@dataclass
class ScenarioReport:
    """What one scenario showed."""

    name: str
    command: list[str]
    budget: int
    episodes: int = 0  # fresh folders killed repeatedly and then completed
    kills_tried: int = 0  # SIGKILLs sent
    kills_by_mode: dict[str, int] = field(default_factory=dict)
    kill_points: list[int] = field(default_factory=list)  # journal records found right after each kill
    runs_finished_before_kill: int = 0
    prefix_checks: int = 0  # journals checked against the reference after a kill
    prefix_violations: int = 0
    evaluations_checked: int = 0  # journal records compared with the reference at the end of each episode
    evaluations_audited: int = 0  # audit-log lines (evaluations that really ran) counted
    duplicated_evaluations: int = 0  # audit-log lines beyond the first per (candidate, fidelity)
    lost_evaluations: int = 0  # reference records missing or different at the end, or audit lines not journaled
    same_summary: bool = False
    final_returncode: int | None = None
    tracebacks: int = 0  # Python tracebacks printed by any run
    seconds: float = 0.0
    reference_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return (
            not self.problems
            and self.same_summary
            and self.duplicated_evaluations == 0
            and self.lost_evaluations == 0
            and self.prefix_violations == 0
            and self.final_returncode == 0
        )


def read_records(out: Path) -> tuple[list[dict[str, Any]], int]:
    """The journal's complete evaluation records, and how many lines were unreadable (at most a cut-off last one)."""
    path = out / "journal.jsonl"
    if not path.exists():
        return [], 0
    records, bad = [], 0
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            bad += 1
            continue
        if record.get("type") == "eval":
            records.append(record)
    return records, bad


#: Fields that hold measured wall-clock time when evaluations train for real (they differ run to run).
MEASURED_TIME_KEYS = frozenset({"time", "cost", "seconds", "total_cost"})


def without_keys(obj: Any, keys: frozenset[str]) -> Any:
    """``obj`` with every mapping entry named in ``keys`` removed, at any depth."""
    if isinstance(obj, dict):
        return {k: without_keys(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [without_keys(v, keys) for v in obj]
    return obj


def comparable(record: dict[str, Any], drop: frozenset[str] = frozenset({"time"})) -> str:
    """A journal record without its wall-clock time, its hash-chain check (which covers that time)
    and the ``drop`` fields, as canonical text."""
    return json.dumps(without_keys(record, drop | {"time", CHECK_FIELD}), sort_keys=True)


def count_records(out: Path) -> int:
    """Evaluation records in the journal (cheap: counts lines)."""
    try:
        return max(0, (out / "journal.jsonl").read_bytes().count(b"\n") - 1)
    except FileNotFoundError:
        return 0


def audit_counts(log: Path) -> Counter[str]:
    """(candidate key, fidelity) -> how many times it was really evaluated."""
    counts: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            counts[json.dumps([entry["key"], entry["fidelity"]])] += 1
    return counts


def journal_keys(records: Sequence[dict[str, Any]]) -> list[str]:
    """(candidate key, fidelity) of each record, in the audit log's form."""
    keys = []
    for r in records:
        cand = json.dumps({"arch": r["candidate"]["arch"], "recipe": r["candidate"]["recipe"]}, sort_keys=True)
        keys.append(json.dumps([cand, r.get("fidelity")]))
    return keys


def _env(scenario: Scenario, log: Path) -> dict[str, str]:
    env = {**os.environ, EVALUATION_LOG_ENV: str(log), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop(EVALUATION_DELAY_ENV, None)
    if scenario.delay:
        env[EVALUATION_DELAY_ENV] = str(scenario.delay)
    return env


#: Seconds one uninterrupted run may take: a real-training scenario (8 candidates, 2 workers) took
#: over 900 s at load 6-7 on 2 cores; a hung search still ends in an error instead of a wait.
RUN_TIMEOUT = 3600.0


def run_to_end(scenario: Scenario, out: Path, log: Path, timeout: float = RUN_TIMEOUT) -> tuple[int, str, float]:
    """Run the scenario's command to its end; ``(returncode, stderr, seconds)``."""
    started = time.monotonic()
    proc = subprocess.run(
        scenario.command(out), cwd=REPO, env=_env(scenario, log), capture_output=True, text=True, timeout=timeout
    )
    return proc.returncode, proc.stderr, time.monotonic() - started


def check_against_reference(
    report: ScenarioReport,
    reference: list[str],
    out: Path,
    log: Path,
    final: bool,
    ignored: frozenset[str] = frozenset({"time"}),
) -> None:
    """Prefix check after a kill; full check (no loss, no duplicate) at the end."""
    records, bad = read_records(out)
    texts = [comparable(r, ignored) for r in records]
    if bad > 1:
        report.problems.append(f"{bad} unreadable journal lines after a kill (at most one, the last, may be cut off)")
    report.prefix_checks += 1
    if texts != reference[: len(texts)]:
        report.prefix_violations += 1
        first = next(i for i, (a, b) in enumerate(zip(texts, reference)) if a != b) if texts else 0
        report.problems.append(f"journal differs from the reference at record {first + 1}")
    if not final:
        return
    report.evaluations_checked += len(texts)
    report.lost_evaluations += sum(1 for a, b in zip(reference, texts + [None] * len(reference)) if a != b)
    counts = audit_counts(log)
    report.evaluations_audited += sum(counts.values())
    report.duplicated_evaluations += sum(n - 1 for n in counts.values() if n > 1)
    keys = set(journal_keys(records))
    not_journaled = [k for k in counts if k not in keys]
    never_evaluated = [k for k in keys if k not in counts]
    report.lost_evaluations += len(not_journaled)
    if never_evaluated:
        report.problems.append(f"{len(never_evaluated)} journal records have no evaluation in the audit log")


def _kill_once(
    scenario: Scenario, report: ScenarioReport, out: Path, log: Path, rng: np.random.Generator
) -> bool | None:
    """Start the command and SIGKILL it at a random point; None if it finished first (its exit code checked)."""
    have = count_records(out)
    remaining = scenario.budget - have
    mode = "evals" if remaining > 0 and rng.random() < 0.6 else "time"
    target = have + int(rng.integers(1, max(2, remaining // 3 + 1)))  # 1 .. a third of what is left
    # a random moment of the rest of the run: start-up, replay, an evaluation, a journal write, the summary
    delay = float(rng.uniform(0.0, report.reference_seconds * max(0.25, remaining / scenario.budget)))
    proc = subprocess.Popen(
        scenario.command(out), cwd=REPO, env=_env(scenario, log), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    begun = time.monotonic()
    deadline = begun + 10 * report.reference_seconds + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if mode == "evals" and count_records(out) >= target:
            break
        if mode == "time" and time.monotonic() - begun >= delay:
            break
        time.sleep(0.002)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        report.kills_tried += 1
        report.kills_by_mode[mode] = report.kills_by_mode.get(mode, 0) + 1
        report.kill_points.append(len(read_records(out)[0]))
        return True
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    report.tracebacks += stderr.count("Traceback")
    report.runs_finished_before_kill += 1
    if proc.returncode != 0:
        report.problems.append(f"an unkilled run exited with {proc.returncode}: {stderr[-300:]}")
    return None


def run_scenario(scenario: Scenario, workdir: Path, seed: int = 0) -> ScenarioReport:
    """Reference run, then episodes of killed runs each ended by a full run; every check above.

    An episode starts on a fresh folder and kills the command until its journal holds the whole
    budget (or the command finished on its own), then runs it to the end and checks everything;
    episodes repeat until ``scenario.kills`` kills were sent.
    """
    started = time.monotonic()
    folder = workdir / scenario.name
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    report = ScenarioReport(scenario.name, scenario.command(Path("OUT")), scenario.budget)

    ref_out, ref_log = folder / "reference", folder / "reference-evaluations.log"
    code, stderr, report.reference_seconds = run_to_end(scenario, ref_out, ref_log)
    if code != 0:
        report.problems.append(f"reference run failed ({code}): {stderr[-500:]}")
        report.seconds = time.monotonic() - started
        return report
    ref_records, _ = read_records(ref_out)
    reference = [comparable(r, scenario.ignored) for r in ref_records]
    if len(reference) != scenario.budget or sum(audit_counts(ref_log).values()) != scenario.budget:
        report.problems.append(f"reference run has {len(reference)} records, expected {scenario.budget}")
    ref_summary = json.loads((ref_out / "summary.json").read_text())

    rng = np.random.default_rng(seed)
    report.same_summary = True
    report.final_returncode = 0
    idle = 0  # episodes in a row whose runs all finished before their kill
    while report.kills_tried < scenario.kills:
        episode = report.episodes = report.episodes + 1
        out, log = folder / f"killed-{episode}", folder / f"killed-{episode}-evaluations.log"
        sent = report.kills_tried
        for _ in range(4 * scenario.kills):  # bounded: a run that always finishes first ends the episode
            if report.kills_tried >= scenario.kills or count_records(out) >= scenario.budget:
                break
            killed = _kill_once(scenario, report, out, log, rng)
            check_against_reference(report, reference, out, log, False, scenario.ignored)
            if killed is None:
                break
        idle = idle + 1 if report.kills_tried == sent else 0
        if idle >= 3:
            report.problems.append(f"episodes {episode - 2}..{episode}: every run finished before its kill")
            break
        code, stderr, _ = run_to_end(scenario, out, log)
        report.tracebacks += stderr.count("Traceback")
        if code != 0:
            report.final_returncode = code
            report.problems.append(f"episode {episode}: final run failed ({code}): {stderr[-500:]}")
            continue
        summary = json.loads((out / "summary.json").read_text())
        same = all(
            without_keys(summary.get(k), scenario.ignored) == without_keys(ref_summary.get(k), scenario.ignored)
            for k in COMPARED_SUMMARY_FIELDS
            if k not in scenario.ignored
        )
        report.same_summary = report.same_summary and same
        if not same:
            report.problems.append(f"episode {episode}: the summary differs from the uninterrupted run's")
        check_against_reference(report, reference, out, log, True, scenario.ignored)
    if report.tracebacks:
        report.problems.append(f"{report.tracebacks} tracebacks printed")
    report.seconds = time.monotonic() - started
    return report


def run_all(scenarios: Sequence[Scenario], workdir: Path, workers: int = 1, seed: int = 0) -> list[ScenarioReport]:
    """Run scenarios (``workers`` at a time), each with its own seed derived from ``seed``."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    with ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = [pool.submit(run_scenario, s, workdir, seed + i) for i, s in enumerate(scenarios)]
        reports = []
        for job in tqdm(jobs, desc="kill scenarios", unit="scenario"):
            reports.append(job.result())
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=40, help="SIGKILLs per fast scenario (half for bananas/nars)")
    parser.add_argument("--only", help="comma list of scenario names")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", default="runs/reliability-kill", help="scratch folder (not committed)")
    parser.add_argument("--out", default=None, help="write the reports as JSON here")
    args = parser.parse_args(argv)
    data = Path(os.environ.get("NARS_DATA_DIR", REPO.parent / "shared" / "data"))
    scenarios = tabular_scenarios(args.kills, data if data.is_dir() else None) + training_scenarios()
    if args.only:
        wanted = set(args.only.split(","))
        scenarios = [s for s in scenarios if s.name in wanted]
    reports = run_all(scenarios, Path(args.workdir), args.workers)
    for r in reports:
        print(
            f"{r.name:16s} kills {r.kills_tried:3d}  checked {r.evaluations_checked:3d}  dup {r.duplicated_evaluations}"
            f"  lost {r.lost_evaluations}  same summary {r.same_summary}  {'OK' if r.survived else r.problems}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps([r.__dict__ | {"survived": r.survived} for r in reports], indent=2))
    return 0 if all(r.survived for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
