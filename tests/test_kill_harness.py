"""The crash-safety harness of ``benchmarks/reliability`` on a few kill points, and proof that its checks bite.

The full run (hundreds of kill points over every optimizer) is ``benchmarks/reliability/run_reliability.py``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "kill_harness", REPO_ROOT / "benchmarks" / "reliability" / "kill_harness.py"
)
harness = importlib.util.module_from_spec(_spec)
sys.modules["kill_harness"] = harness  # dataclasses look their module up there
_spec.loader.exec_module(harness)


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario",
    [
        harness.Scenario("rs", harness.search("nb201-analog", "rs", 20, 7), kills=4, budget=20, delay=0.02),
        harness.Scenario(
            "rea-worker",
            harness.search("nb201-analog", "rea", 20, 8, "--eval-timeout", "30"),
            kills=3,
            budget=20,
            delay=0.02,
        ),
    ],
    ids=lambda s: s.name,
)
def test_killed_searches_lose_and_repeat_nothing(tmp_path, scenario):
    report = harness.run_scenario(scenario, tmp_path, seed=3)
    assert report.survived, report.problems
    assert report.kills_tried == scenario.kills and report.prefix_checks >= scenario.kills
    assert report.evaluations_checked == scenario.budget * report.episodes
    assert report.evaluations_audited == scenario.budget * report.episodes  # each evaluation ran once
    assert report.duplicated_evaluations == 0 and report.lost_evaluations == 0 and report.same_summary


@pytest.mark.slow
@pytest.mark.skipif(not harness.training_scenarios(), reason="needs the imagenet extra: pip install -e '.[imagenet]'")
def test_a_killed_batched_training_search_loses_and_repeats_nothing(tmp_path):
    """Two candidates at a time in a pool of two spawned training workers, killed twice and resumed."""
    args = harness.train("rs", 4, 24, "--parallel", "2", "--eval-timeout", "600", workers=2)
    scenario = harness.Scenario("pool", args, kills=2, budget=4, measured=True)
    report = harness.run_scenario(scenario, tmp_path, seed=5)
    assert report.survived, report.problems
    assert report.kills_tried == 2 and report.duplicated_evaluations == 0 and report.lost_evaluations == 0


def _finished_run(tmp_path: Path) -> tuple[list[str], Path, Path]:
    scenario = harness.Scenario("ref", harness.search("nb201-analog", "rs", 12, 1), kills=0, budget=12)
    out, log = tmp_path / "ref", tmp_path / "ref.log"
    code, stderr, _ = harness.run_to_end(scenario, out, log)
    assert code == 0, stderr
    records, _ = harness.read_records(out)
    return [harness.comparable(r) for r in records], out, log


def test_checks_catch_a_duplicate_a_lost_and_a_changed_record(tmp_path):
    reference, out, log = _finished_run(tmp_path)
    clean = harness.ScenarioReport("clean", [], 12)
    harness.check_against_reference(clean, reference, out, log, final=True)
    assert (clean.duplicated_evaluations, clean.lost_evaluations, clean.prefix_violations) == (0, 0, 0)

    # an evaluation that ran twice: its audit line appears twice
    dup_log = tmp_path / "dup.log"
    lines = log.read_text().splitlines()
    dup_log.write_text("\n".join([*lines, lines[3]]) + "\n")
    dup = harness.ScenarioReport("dup", [], 12)
    harness.check_against_reference(dup, reference, out, dup_log, final=True)
    assert dup.duplicated_evaluations == 1

    # a record missing from the journal (evaluated, never written)
    lost_out = tmp_path / "lost"
    shutil.copytree(out, lost_out)
    journal = (lost_out / "journal.jsonl").read_text().splitlines()
    (lost_out / "journal.jsonl").write_text("\n".join(journal[:-1]) + "\n")
    lost = harness.ScenarioReport("lost", [], 12)
    harness.check_against_reference(lost, reference, lost_out, log, final=True)
    assert lost.lost_evaluations == 2  # one reference record missing, one audited evaluation not journaled

    # a record whose result differs from the uninterrupted run's
    changed_out = tmp_path / "changed"
    shutil.copytree(out, changed_out)
    record = json.loads(journal[2])
    record["result"]["metrics"]["accuracy"] += 1.0
    (changed_out / "journal.jsonl").write_text("\n".join([*journal[:2], json.dumps(record), *journal[3:]]) + "\n")
    changed = harness.ScenarioReport("changed", [], 12)
    harness.check_against_reference(changed, reference, changed_out, log, final=True)
    assert changed.prefix_violations == 1 and changed.lost_evaluations == 1
