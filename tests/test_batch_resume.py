"""A batched study killed between the journal lines of one batch evaluates none of that batch again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

from conftest import REPO_ROOT

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from conftest import build_tiny_bench
    from nars_plugin import create_study
    from nars_plugin.evaluation import Evaluator
    from nars_plugin.storage import Journal

    class Batched(Evaluator):
        name, parallel = "batched", 4

        def __init__(self, inner):
            self.inner, self.space, self.objective = inner, inner.space, inner.objective

        def evaluate(self, cand, fidelity=None):
            return self.inner.evaluate(cand, fidelity)

        def evaluate_many(self, cands, fidelity=None):
            with open(sys.argv[2], "a") as log:
                log.writelines(c.key + "\\n" for c in cands)
            return [self.inner.evaluate(c, fidelity) for c in cands]

    kill_at = int(sys.argv[3])
    append = Journal.append
    def append_then_maybe_die(self, record):
        append(self, record)
        if record.get("n") == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # between two journal lines of one batch
    Journal.append = append_then_maybe_die
    create_study(Batched(build_tiny_bench()), "rs", budget=12, seed=3, storage=sys.argv[1]).optimize()
    """
)


def test_batch_results_survive_a_kill_between_journal_lines(tmp_path):
    script = tmp_path / "batched.py"
    script.write_text(SCRIPT.format(tests=str(REPO_ROOT / "tests")))
    out, log = tmp_path / "run", tmp_path / "evaluated.log"

    def run(kill_at: int) -> int:
        cmd = [sys.executable, str(script), str(out), str(log), str(kill_at)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300).returncode

    assert run(6) == -signal.SIGKILL  # batch 2 (records 5-8) evaluated, 2 of its 4 results journaled
    assert len(log.read_text().splitlines()) == 8 and (out / ".pending-batch.json").is_file()
    assert run(-1) == 0
    evaluated = log.read_text().splitlines()
    assert len(evaluated) == 12 and len(set(evaluated)) == 12, "a candidate was evaluated twice"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_evaluations"] == 12 and summary["recovered_from_killed_worker"] == 2
    assert not (out / ".pending-batch.json").exists()
