"""NB201 cells trained for real (the ``nb201-digits`` space of the train evaluator) and ``nars compare``
over that evaluator: a held-out test split, real training on digits, seconds budgets of measured training.

Needs the ``imagenet`` extra (skipped with the reason where it is absent). Each training is one epoch of a
small network on scikit-learn's digits: seconds. DARTS and GDAS on the same space are in
``test_naslib_bridge.py`` (they need NASLib).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagenet_helpers import needs_extra

from nars_plugin.errors import ConfigError
from nars_plugin.spaces.nb201 import EXAMPLE, NB201Space


@needs_extra
def test_the_digits_test_split_leaves_the_validation_images_as_they_were() -> None:
    from nars_imagenet.data import load_digits_bundle

    plain, held_out = load_digits_bundle(8), load_digits_bundle(8, test_fraction=0.2)
    assert plain.test is None and held_out.test is not None
    assert (plain.val.tensors[0] == held_out.val.tensors[0]).all()  # type: ignore[attr-defined]
    sizes = [len(held_out.train), len(held_out.val), len(held_out.test)]  # type: ignore[arg-type]
    assert sum(sizes) == len(plain.train) + len(plain.val) == 1797 and sizes[1] == sizes[2] == 359


@needs_extra
def test_nb201_digits_cells_train_for_real_and_report_test_accuracy() -> None:
    import torch
    from nars_imagenet.evaluator import TrainingEvaluator
    from nars_imagenet.nb201 import nb201_train_space

    space = nb201_train_space(epochs=1)
    assert isinstance(space, NB201Space) and not space.recipe_params
    cand = space.validate(space.candidate(space.parse_arch(EXAMPLE), {}))
    net = space.network(cand).build()
    assert net.stem[0].weight.shape == (16, 1, 3, 3) and len(net.cells) == 3 * 2 + 2  # 2 cells a stage, 2 blocks
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    evaluator = TrainingEvaluator(space, workers=0, test=True)
    assert evaluator.report_metric == "test_top1" and evaluator.max_fidelity == 1
    first, again = evaluator.evaluate(cand), evaluator.evaluate(cand)
    assert first.ok, first.error
    assert first.metrics["val_top1"] > 40 and first.metrics["test_top1"] > 40  # one real epoch (chance: 10)
    assert first.cost > 0 and len(first.curve or []) == 1
    assert again.metrics == {**first.metrics, "seconds": again.metrics["seconds"]}  # the same seed, the same result


def test_nb201_digits_space_options_are_checked() -> None:
    from nars_imagenet.jobs import make_space

    space = make_space("nb201-digits", {"cells_per_stage": 1, "epochs": 2, "resolution": 8})
    assert space.options() == {"cells_per_stage": 1, "epochs": 2, "resolution": 8}
    with pytest.raises(ConfigError, match="epochs must be an integer >= 1"):
        make_space("nb201-digits", {"epochs": 0})


@needs_extra
def test_compare_over_the_train_evaluator_with_seconds_of_training(tmp_path: Path) -> None:
    from nars_plugin.assembly import evaluator_target
    from nars_plugin.comparison import compare, split_optimizers

    target, options = evaluator_target("train", "nb201-digits", {"epochs": 1}, {"dataset": "digits", "test": True})
    summary = compare(
        target, split_optimizers("rs,rea"), seeds=1, budget=None, budget_seconds=2.0, out=tmp_path, workers=1,
        bench_options=options, progress=False,
    )  # fmt: skip
    assert summary["metric"] == "test_top1" and summary["objective"]["metric"] == "val_top1"
    details = json.loads((tmp_path / "details.json").read_text())
    for label in ("rs", "rea"):
        run = json.loads((tmp_path / "runs" / label / "seed0" / "summary.json").read_text())
        assert run["total_cost"] >= 2.0  # stops once the measured training seconds reach the budget
        assert 0 < summary["results"][label]["2"]["mean"] <= 100
        shares = details["cell_ops"][label]
        assert 0 <= shares["parameter_free"] <= 1 and len(shares["cells"]) == 1
    assert (tmp_path / "best.png").is_file() and not (tmp_path / "regret.png").exists()
    text = (tmp_path / "summary.md").read_text()
    assert "train on nb201-digits epochs=1 (dataset=digits, test=True)" in text and "s (measured)" in text
    assert "Parameter-free ops in the cells returned" in text


def test_evaluator_options_of_compare_need_an_evaluator(tmp_path: Path, cli) -> None:
    code, _, err = cli(["compare", "--space", "nb201-digits", "--out", tmp_path / "x"])
    assert code != 0 and "--space belongs to an evaluator" in err and "--evaluator" in err
