"""The predictor owns its torch thread count: set around its own work, the caller's restored after.

Torch's default (one thread per core) made the small tensors of a search many times slower beside
other jobs (issue 25); the predictor now runs them with ``threads`` (default 1) and leaves the rest
of the process as the user set it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import torch
from conftest import build_tiny_bench

from nars_plugin import create_study
from nars_plugin.candidate import Candidate
from nars_plugin.predictors import torch_threads
from nars_plugin.predictors.fbnetv3 import NARSPredictor

QUICK = {"n_models": 2, "pretrain_samples": 64, "pretrain_epochs": 1, "head_steps": 5, "finetune_steps": 5}


@pytest.fixture
def caller_threads() -> Iterator[int]:
    """The caller's own thread count for the test: 3 (not torch's default, not the predictor's 1)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(saved)


class RecordingPredictor(NARSPredictor):
    """The FBNetV3 predictor, noting the torch thread count each time it encodes candidates (which
    pretraining, fitting and predicting all do)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[int] = []

    def _tensors(self, cands: Sequence[Candidate]) -> tuple[Any, Any]:
        self.seen.append(torch.get_num_threads())
        return super()._tensors(cands)


def test_torch_threads_sets_the_count_inside_and_restores_it_after_an_error_too(caller_threads: int) -> None:
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == caller_threads
    with pytest.raises(RuntimeError, match="inside"), torch_threads(2):
        assert torch.get_num_threads() == 2
        raise RuntimeError("inside")
    assert torch.get_num_threads() == caller_threads
    with torch_threads(None):
        assert torch.get_num_threads() == caller_threads


@pytest.mark.parametrize(("threads", "inside"), [({}, 1), ({"threads": 2}, 2), ({"threads": "auto"}, 3)])
def test_the_predictor_works_in_its_own_thread_count(caller_threads: int, threads: dict, inside: int) -> None:
    bench = build_tiny_bench()
    cands = bench.space.enumerate()[:20]
    predictor = RecordingPredictor(bench.space, seed=0, **QUICK, **threads)
    predictor.fit(cands, [float(i % 7) for i in range(len(cands))])  # pretrains first
    predictor.predict(bench.space.enumerate())
    predictor.screen(bench.space.enumerate())
    assert len(predictor.seen) >= 4  # pretraining, fit, predict, screen
    assert set(predictor.seen) == {inside}
    assert torch.get_num_threads() == caller_threads


@pytest.mark.parametrize("optimizer", ["nars", "bananas"])
def test_a_search_leaves_the_callers_thread_count_alone(caller_threads: int, optimizer: str) -> None:
    settings = {f"predictor.{k}": v for k, v in QUICK.items()}
    study = create_study(build_tiny_bench(), optimizer, budget=14, seed=0, progress=False, settings=settings)
    study.optimize()
    assert study.optimizer.predictor.config.threads == 1
    assert torch.get_num_threads() == caller_threads


def test_threads_is_listed_but_not_part_of_the_journal_identity(tmp_path) -> None:
    """The thread count changes how fast a search goes, not its results: a journal written with one
    value resumes under another."""
    settings = {f"predictor.{k}": v for k, v in QUICK.items()}
    first = create_study(build_tiny_bench(), "nars", budget=12, storage=tmp_path, progress=False, settings=settings)
    best = first.optimize().best_result
    assert "threads" not in first.optimizer.settings()["predictor"]
    journal = (tmp_path / "journal.jsonl").read_text()
    again = create_study(
        build_tiny_bench(),
        "nars",
        budget=12,
        storage=tmp_path,
        progress=False,
        settings={**settings, "predictor.threads": 2},
    )
    assert again.optimizer.predictor.config.threads == 2
    assert again.optimize().best_result == best
    assert (tmp_path / "journal.jsonl").read_text() == journal  # replayed: nothing evaluated again


def test_compare_in_this_process_gives_the_callers_thread_count_back(caller_threads: int, tmp_path) -> None:
    """``workers=1`` runs the comparison in the caller's process with one torch thread, and hands the
    caller's own count back afterwards (worker processes of ours keep one thread for good)."""
    from nars_plugin import compare

    summary = compare("nb201-analog", "rs", seeds=1, budget=5, out=tmp_path, workers=1, progress=False)
    assert summary["rs"]
    assert torch.get_num_threads() == caller_threads
