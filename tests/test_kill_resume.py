"""A real `nars search` killed with SIGKILL at several points resumes without repeating anything."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BUDGET = 40
# a small predictor keeps the NARS runs to seconds; the test is about the journal, not search quality
EXTRA = {"nars": ["-O", 'predictor={"n_models": 2, "head_steps": 40, "finetune_steps": 40, "pretrain_epochs": 5}']}


def _cmd(table: Path, out: Path, optimizer: str) -> list[str]:
    return [
        sys.executable, "-m", "nars_plugin.cli", "search", "--benchmark", f"csv:{table}", "--optimizer", optimizer,
        "--budget", str(BUDGET), "--seed", "3", "--out", str(out), "--no-progress", *EXTRA.get(optimizer, []),
    ]  # fmt: skip


def _eval_lines(out: Path) -> list[dict]:
    path = out / "journal.jsonl"
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line cut off by the kill; the study repairs it
            records.append(json.loads(line))
    return [r for r in records if r.get("type") == "eval"]


def _tiny_table(tmp_path: Path) -> Path:
    """A 3,125-row NB201 CSV written by the test (first 5 ops on 5 edges x all ops on the last)."""
    from nars_plugin.spaces.nb201 import N_CELLS, index_to_arch_string

    path = tmp_path / "table.csv"
    lines = ["arch,acc"]
    for i in range(0, N_CELLS, 5):
        lines.append(f"{index_to_arch_string(i)},{(i * 7919) % 1000 / 10:.1f}")
    path.write_text("\n".join(lines) + "\n")
    return path


# NARS in five real subprocesses (predictor training in each) is a slow test; rs and rea check the journal quickly
@pytest.mark.parametrize("optimizer", ["rs", "rea", pytest.param("nars", marks=pytest.mark.slow)])
def test_sigkill_at_several_points_then_resume(tmp_path: Path, optimizer: str) -> None:
    table = _tiny_table(tmp_path)
    reference = tmp_path / "reference"
    subprocess.run(_cmd(table, reference, optimizer), check=True, capture_output=True, timeout=300)
    expected = json.loads((reference / "summary.json").read_text())["best"]

    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kill_points = []
    for target in (1, 10, 25):  # kill once the journal holds at least `target` evaluations
        proc = subprocess.Popen(
            _cmd(table, out, optimizer), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        deadline = time.time() + 60
        while proc.poll() is None and len(_eval_lines(out)) < target and time.time() < deadline:
            time.sleep(0.001)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kill_points.append(len(_eval_lines(out)))
        proc.wait()
    assert kill_points, "the search finished before any kill; the test did not exercise resume"
    done = subprocess.run(_cmd(table, out, optimizer), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = _eval_lines(out)
    keys = [json.dumps(r["candidate"], sort_keys=True) for r in records]
    assert len(records) == BUDGET
    assert len(set(keys)) == len(keys), "a candidate was evaluated twice"
    assert json.loads((out / "summary.json").read_text())["best"] == expected
