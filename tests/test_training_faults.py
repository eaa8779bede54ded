"""Long distributed runs: per-candidate time limits in batches (local pool, Ray) and failing DDP ranks.

Everything runs for real: spawned training workers, torchrun with two gloo processes on the CPU, a
local Ray instance. Faults come from the trainer's test-only ``fault`` setting (``hang``, ``oom``,
``raise``, on one rank or one learning rate). Every test trains, so all are marked slow.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
from imagenet_helpers import needs_extra, small_candidate

from nars_plugin.budget import Budget
from nars_plugin.optimizers import RandomSearch
from nars_plugin.study import JOURNAL_NAME, Study

pytestmark = [needs_extra, pytest.mark.slow]
QUICK = {"max_steps_per_epoch": 2, "batch_size": 32}
#: Seconds one candidate may train in these tests: well above a healthy tiny run on a loaded 2-core machine.
LIMIT = 90.0
#: What the tests allow beyond the limit (killing and replacing a worker, the rest of the batch).
MARGIN = 45.0


def _check_batch(evaluator, executor_name: str, limit: float = LIMIT) -> None:
    cands = [small_candidate(lr=0.05), small_candidate(lr=0.2)]
    started = time.monotonic()
    results = evaluator.evaluate_many(cands, fidelity=1, timeout=limit)
    elapsed = time.monotonic() - started
    print(f"{executor_name}: batch with a hanging candidate took {elapsed:.1f} s (limit {limit:g} s)")
    assert elapsed < limit + MARGIN
    assert results[0].ok and results[0].fidelity == 1 and len(results[0].curve) == 1, results[0].error
    assert not results[1].ok and results[1].error.startswith(f"timed out: no result after {limit:g} s")
    again = evaluator.evaluate_many([small_candidate(lr=0.1)], fidelity=1, timeout=limit)  # a fresh worker
    assert again[0].ok, again[0].error


def test_a_hanging_candidate_in_a_local_batch_is_stopped_and_the_rest_kept() -> None:
    from nars_imagenet.evaluator import TrainingEvaluator

    evaluator = TrainingEvaluator("fbnetv3-tiny", workers=2, fault="hang:0.2", **QUICK)
    try:
        _check_batch(evaluator, "local pool")
        assert evaluator.executor.replaced == 1
    finally:
        evaluator.close()


def test_a_hanging_candidate_in_a_ray_batch_is_cancelled_and_the_rest_kept() -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("needs the ray extra: pip install -e '.[ray]'")
    import ray
    from nars_imagenet.evaluator import TrainingEvaluator
    from nars_imagenet.executors import RayExecutor

    try:
        RayExecutor(num_cpus=2)
        # a Ray task's clock starts at submission and includes starting a Ray worker (torch, timm imports)
        _check_batch(TrainingEvaluator("fbnetv3-tiny", executor="ray", fault="hang:0.2", **QUICK), "ray", 2 * LIMIT)
    finally:
        ray.shutdown()


def test_the_study_journals_a_timed_out_candidate_of_a_batch_as_failed(tmp_path: Path) -> None:
    """--eval-timeout reaches batched evaluation: one candidate of the batch hangs, the search finishes."""
    from nars_imagenet.evaluator import TrainingEvaluator

    space = TrainingEvaluator("fbnetv3-tiny", workers=0).space
    first = RandomSearch(space, objective="val_top1", seed=3).ask_batch(2)[0].candidate  # the one that will hang
    evaluator = TrainingEvaluator("fbnetv3-tiny", workers=2, fault=f"hang:{first.recipe['lr']!r}", **QUICK)
    optimizer = RandomSearch(space, objective="val_top1", seed=3)
    study = Study(evaluator, optimizer, Budget(queries=2), tmp_path, progress=False, eval_timeout=LIMIT)
    started = time.monotonic()
    try:
        result = study.run()
    finally:
        evaluator.close()
    assert time.monotonic() - started < LIMIT + MARGIN
    records = [json.loads(line) for line in (tmp_path / JOURNAL_NAME).read_text().splitlines()[1:]]
    assert [r["candidate"] == first.to_dict() for r in records] == [True, False]
    assert records[0]["result"]["status"] == "failed" and "timed out" in records[0]["result"]["error"]
    assert records[1]["result"]["status"] == "ok"
    assert result.n_evaluations == 2 and result.best_candidate is not None


@pytest.mark.parametrize("fault", ["oom@1", "raise@0", "hang@1"])
def test_a_failing_ddp_rank_ends_every_rank_and_fails_only_its_candidate(fault: str) -> None:
    """torchrun, 2 gloo ranks: one rank runs out of memory, raises or hangs; the job ends within the bound."""
    if fault.startswith("oom") and Path("/proc/sys/vm/overcommit_memory").read_text().strip() != "0":
        pytest.skip("needs Linux's heuristic overcommit, which refuses an impossible allocation at once")
    from nars_imagenet.evaluator import TrainingEvaluator

    evaluator = TrainingEvaluator(
        "fbnetv3-tiny", workers=0, devices=2, device="cpu", fault=f"{fault}:0.2", collective_timeout=20, **QUICK
    )
    started = time.monotonic()
    failed = evaluator.evaluate(small_candidate(lr=0.2), fidelity=1)
    elapsed = time.monotonic() - started
    print(f"{fault}: all ranks ended {elapsed:.1f} s after the start of the job")
    rank, kind = fault.split("@")[1], fault.split("@")[0]
    expected = {"oom": "out of memory", "raise": "InjectedFault", "hang": "rank"}[kind]
    assert not failed.ok and expected in failed.error
    if kind != "hang":  # the failing rank reports itself
        assert failed.error.startswith(f"rank {rank}: ")
    assert elapsed < 120  # start-up of torch in two ranks on a loaded machine, plus the 20 s collective timeout
    if fault == "oom@1":  # the search goes on: the next candidate trains under torchrun as usual
        ok = evaluator.evaluate(small_candidate(lr=0.05), fidelity=1)
        assert ok.ok, ok.error
