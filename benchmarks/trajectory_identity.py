"""Same searches, byte for byte, before and after a refactoring (issue 26's acceptance).

Runs the searches below with the code of two git revisions (each in a temporary worktree, in its own
``python -m nars_plugin.cli`` processes, one shared predictor cache), removes the fields that say when
(``time``, and each line's ``check`` sum, which covers it) from every journal line and compares the
rest byte for byte, as ``cmp`` would:

* nars, bananas, rea and ls, seeds 0-2, 100 queries on the NB201 CIFAR-10 table (``csv:``);
* nars, seed 0, 100 queries on ``nb201-analog`` and on ``nb201-paper``.

Usage: ``python benchmarks/trajectory_identity.py --before REV [--after HEAD] [--out DIR]``
(``NARS_DATA_DIR`` or ``--data`` names the folder holding ``nb201/cifar10_test_acc_200ep.csv``).
It prints one line per search and writes ``identity.md`` to ``--out``; exit status 1 if any differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIME_FIELDS = ("time", "check")


def searches(table: Path) -> dict[str, list[str]]:
    """Name -> ``nars search`` arguments of every search compared."""
    out = {
        f"c10-{optimizer}-{seed}": ["-b", f"csv:{table}", "-o", optimizer, "--seed", str(seed)]
        for optimizer in ("nars", "bananas", "rea", "ls")
        for seed in range(3)
    }
    out["analog-nars-0"] = ["-b", "nb201-analog", "-o", "nars", "--seed", "0"]
    out["paper-nars-0"] = ["-b", "nb201-paper", "-o", "nars", "--seed", "0"]
    return out


def without_time(journal: Path) -> bytes:
    """The journal with the fields that say when removed, one sorted JSON object per line."""
    lines = []
    for line in journal.read_text().splitlines():
        record = json.loads(line)
        for key in TIME_FIELDS:
            record.pop(key, None)
        lines.append(json.dumps(record, sort_keys=True))
    return ("\n".join(lines) + "\n").encode()


def run_all(checkout: Path, out: Path, table: Path, cache: Path, workers: int) -> None:
    """Every search with the code in ``checkout`` (a worktree), journals in ``out/NAME``."""
    env = {**os.environ, "PYTHONPATH": f"{checkout}{os.pathsep}{checkout / 'adapters'}", "NARS_CACHE_DIR": str(cache)}
    env["OMP_NUM_THREADS"] = "1"

    def one(item: tuple[str, list[str]]) -> None:
        name, args = item
        command = [sys.executable, "-m", "nars_plugin.cli", "search", *args, "--budget", "100"]
        command += ["--out", str(out / name), "--no-progress"]
        subprocess.run(command, cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, searches(table).items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision of the code before")
    parser.add_argument("--after", default="HEAD", help="git revision of the code after (default HEAD)")
    parser.add_argument("--data", default=os.environ.get("NARS_DATA_DIR", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--workers", type=int, default=2, help="searches at a time")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "layout"))
    args = parser.parse_args(argv)
    table = Path(args.data) / "nb201" / "cifar10_test_acc_200ep.csv"
    if not table.is_file():
        parser.error(f"no NB201 CIFAR-10 table at {table}: pass --data or set NARS_DATA_DIR")
    with tempfile.TemporaryDirectory(prefix="nars-identity-") as tmp:
        work, cache = Path(tmp), Path(tmp) / "cache"
        runs = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            checkout = work / f"code-{label}"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(checkout), rev], cwd=REPO, check=True)
            try:
                run_all(checkout, work / label, table, cache, args.workers)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=REPO, check=False)
            runs[label] = work / label
        rows, differ = [], 0
        for name in searches(table):
            a, b = (without_time(runs[label] / name / "journal.jsonl") for label in ("before", "after"))
            same = a == b
            differ += not same
            evaluations = len(a.splitlines()) - 1  # the first line is the header
            rows.append(f"| {name} | {evaluations} | {'identical' if same else 'DIFFERENT'} |")
            print(f"{name:16s} {'identical' if same else 'DIFFERENT'}")
    before = subprocess.run(["git", "rev-parse", "--short", args.before], cwd=REPO, capture_output=True, text=True)
    after = subprocess.run(["git", "rev-parse", "--short", args.after], cwd=REPO, capture_output=True, text=True)
    report = [
        f"# Journals before ({before.stdout.strip()}) and after ({after.stdout.strip()}), time fields aside",
        "",
        f"`python benchmarks/trajectory_identity.py --before {args.before} --after {args.after}`",
        "",
        "| search | evaluations | journal |",
        "|---|---|---|",
        *rows,
        "",
    ]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "identity.md").write_text("\n".join(report))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
