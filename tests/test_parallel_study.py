"""Studies that evaluate batches side by side (``evaluator.parallel``) search exactly as sequential ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import FAST

from nars_plugin.budget import Budget
from nars_plugin.evaluation import Evaluator, Result
from nars_plugin.optimizers import RandomSearch
from nars_plugin.optimizers.nars import NARS
from nars_plugin.space import Candidate
from nars_plugin.study import Study


class Batched(Evaluator):
    """Answers from another evaluator, ``parallel`` proposals at a time, recording each batch size."""

    name = "batched"

    def __init__(self, inner: Evaluator, parallel: int) -> None:
        self.inner, self.parallel = inner, parallel
        self.space, self.objective, self.max_fidelity = inner.space, inner.objective, inner.max_fidelity
        self.batches: list[int] = []

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        self.batches.append(1)
        return self.inner.evaluate(cand, fidelity)

    def evaluate_many(self, cands: Sequence[Candidate], fidelity: int | None = None) -> list[Result]:
        self.batches.append(len(cands))
        return [self.inner.evaluate(c, fidelity) for c in cands]


def _journal(folder: Path) -> list[tuple[str, object]]:
    lines = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    return [(json.dumps(r["candidate"], sort_keys=True), r["fidelity"]) for r in lines if r.get("type") == "eval"]


@pytest.mark.parametrize(
    ("cls", "settings"), [(RandomSearch, {}), (NARS, {"init_batch": 6, "batch": 4, **FAST["nars"]})]
)
def test_parallel_batches_give_the_sequential_search(tmp_path: Path, tiny_bench, cls, settings) -> None:
    budget = Budget(queries=18)
    runs = {}
    for parallel in (1, 3):
        evaluator = Batched(tiny_bench, parallel)
        optimizer = cls(tiny_bench.space, objective="acc", seed=4, budget=budget, **settings)
        out = tmp_path / f"p{parallel}"
        Study(evaluator, optimizer, budget, out_dir=out, progress=False).run()
        runs[parallel] = (_journal(out), evaluator.batches)
    assert runs[1][0] == runs[3][0] and len(runs[1][0]) == 18
    assert max(runs[1][1]) == 1 and max(runs[3][1]) == 3


def test_parallel_study_resumes_from_its_journal(tmp_path: Path, tiny_bench) -> None:
    def run(queries: int) -> tuple[int, int]:
        evaluator = Batched(tiny_bench, 4)
        optimizer = RandomSearch(tiny_bench.space, objective="acc", seed=2)
        result = Study(evaluator, optimizer, Budget(queries=queries), out_dir=tmp_path, progress=False).run()
        return result.replayed, result.evaluated_now

    assert run(6) == (0, 6)
    assert run(10) == (6, 4)
