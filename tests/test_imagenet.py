"""The imagenet adapter: FBNetV3 space and FLOPs, timm model, trainer (single, DDP, resume, NaN), data, evaluator.

Counting tests need only numpy; everything that builds or trains a model needs the ``imagenet`` extra
(timm, torchvision, scikit-learn) and is skipped, with the reason, where it is absent. Training runs are
tiny (digits, a few steps) so the whole file takes well under two minutes on two cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from imagenet_helpers import QUIET, SMALL_ARCH, needs_extra, small_candidate
from nars_imagenet.arch import NetworkSpec, count, make_divisible
from nars_imagenet.published import PUBLISHED
from nars_imagenet.space import fbnetv3_space, fbnetv3_tiny_space

from nars_plugin._ray_cluster import LOOPBACK
from nars_plugin.errors import DataFileError, InfeasibleConstraintError
from nars_plugin.space import Candidate

REPO = Path(__file__).resolve().parents[1]
# --------------------------------------------------------------------------- counting (no torch needed)


def test_make_divisible_follows_fbnet_rounding() -> None:
    assert [make_divisible(v) for v in (16, 20, 36, 100, 4, 92.0)] == [16, 24, 40, 104, 8, 96]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_models_reproduce_their_figures(name: str) -> None:
    model = PUBLISHED[name]
    counts = count(model.spec)
    assert counts.macs / 1e6 == pytest.approx(model.mflops, rel=0.01)
    assert counts.params / 1e6 == pytest.approx(model.mparams, rel=0.01)


def test_space_matches_the_design_table_and_constrains_flops() -> None:
    space = fbnetv3_space()
    assert space.param("resolution").describe() == "integer in [224, 272, step 8]"
    assert space.param("s6_channels").describe() == "integer in [180, 224, step 4]"
    assert space.param("weight_decay").describe() == "real in [7e-06, 2.1e-05]"
    assert {p.name for p in space.recipe_params} == {
        "optimizer", "lr", "weight_decay", "mixup", "dropout", "drop_path", "ema", "epochs",
    }  # fmt: skip
    cands = space.sample(64, seed=3)
    stats = space.statistics(cands)
    assert stats["flops"].min() > 300e6 and stats["flops"].max() < 4e9
    mask = space.feasible(cands, ["flops <= 1G"])
    assert 0 < mask.sum() < len(cands)
    assert np.all(stats["flops"][mask] <= 1e9)
    with pytest.raises(InfeasibleConstraintError, match="smallest flops"):
        space.check_satisfiable(["flops <= 10M"], n_probe=256)


def test_stage_layout_of_a_candidate() -> None:
    space = fbnetv3_tiny_space()
    spec = space.network(small_candidate())
    assert isinstance(spec, NetworkSpec) and spec.in_channels == 1 and spec.num_classes == 10
    assert [(b.stride, b.se, b.out_channels) for b in spec.blocks] == [(1, False, 8), (2, False, 16), (2, True, 24)]


# --------------------------------------------------------------------------- model (timm)


@needs_extra
def test_built_models_match_analytical_counts_for_sampled_candidates() -> None:
    import torch
    from nars_imagenet.model import build_model, measured_counts
    from timm.models._efficientnet_blocks import InvertedResidual, SqueezeExcite

    torch.set_num_threads(1)
    checked = 0
    for space, n in ((fbnetv3_tiny_space(), 6), (fbnetv3_space(), 2)):
        for cand in space.sample(n, seed=11):
            spec = space.network(cand)
            model = build_model(spec)
            macs, params = measured_counts(model, spec.resolution, spec.in_channels)
            expected = count(spec)
            assert macs == pytest.approx(expected.macs, rel=0.01)
            assert params == pytest.approx(expected.params, rel=0.01)
            assert any(isinstance(m, InvertedResidual) for m in model.modules())
            assert any(isinstance(m, SqueezeExcite) for m in model.modules())
            checked += 1
    assert checked == 8


@needs_extra
def test_published_model_with_padding_overrides_builds_to_its_counts() -> None:
    import torch
    from nars_imagenet.model import build_model, measured_counts

    torch.set_num_threads(1)
    spec = PUBLISHED["FBNetV3-A"].spec
    macs, params = measured_counts(build_model(spec), spec.resolution)
    assert (macs, params) == (count(spec).macs, count(spec).params)


# --------------------------------------------------------------------------- trainer


def _train(tmp: Path | None, recipe: dict | None = None, **settings: object):
    from nars_imagenet.data import load_digits_bundle
    from nars_imagenet.trainer import TrainSettings, train

    cand = Candidate(SMALL_ARCH, {**QUIET, **(recipe or {})})  # unvalidated: lets a test ask for absurd values
    spec = fbnetv3_tiny_space().network(cand)
    options = {"batch_size": 32, "num_workers": 0, "warmup_epochs": 0.5, "threads": 1, "max_steps_per_epoch": 4}
    options.update(settings)
    stop_after = options.pop("stop_after", None)
    return train(spec, cand.recipe, load_digits_bundle(spec.resolution), TrainSettings(**options), stop_after, tmp)


@needs_extra
def test_training_steps_learn_and_checkpoint_resumes_exactly(tmp_path: Path) -> None:
    import torch

    plain = _train(None, {"lr": 0.2}, max_steps_per_epoch=25)
    assert plain.status == "ok" and len(plain.curve) == 4 and plain.epochs_run == 4
    assert plain.train_loss[-1] < plain.train_loss[0]
    assert max(plain.curve) > 30.0  # chance is 10%
    full = _train(tmp_path / "full", {"ema": True, "mixup": 0.2, "dropout": 0.1, "drop_path": 0.1})
    assert full.status == "ok" and len(full.curve) == 4
    part = _train(tmp_path / "part", {"ema": True, "mixup": 0.2, "dropout": 0.1, "drop_path": 0.1}, stop_after=2)
    assert part.curve == full.curve[:2]
    resumed = _train(tmp_path / "part", {"ema": True, "mixup": 0.2, "dropout": 0.1, "drop_path": 0.1})
    assert resumed.resumed_from == 2
    assert resumed.curve == pytest.approx(full.curve) and resumed.train_loss == pytest.approx(full.train_loss)
    a = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


@needs_extra
def test_diverging_recipe_becomes_a_failed_result() -> None:
    outcome = _train(None, {"lr": 1e6, "optimizer": "sgd"}, nan_check_every=1)
    assert outcome.status == "failed" and outcome.error.startswith("diverged")
    result = outcome.to_result(None, 4)
    assert not result.ok and "NaN" in result.error and result.objective("val_top1") == -np.inf


@needs_extra
@pytest.mark.skipif(
    not Path("/proc/sys/vm/overcommit_memory").is_file()
    or Path("/proc/sys/vm/overcommit_memory").read_text().strip() != "0",
    reason="needs Linux's heuristic overcommit, which refuses an impossible allocation at once",
)
def test_candidate_too_big_for_memory_becomes_a_failed_result() -> None:
    from dataclasses import replace

    from nars_imagenet.data import load_digits_bundle
    from nars_imagenet.trainer import TrainSettings, train

    cand = small_candidate()
    spec = replace(fbnetv3_tiny_space().network(cand), num_features=2**38)  # a head of ~100 TB
    outcome = train(spec, cand.recipe, load_digits_bundle(spec.resolution), TrainSettings(num_workers=0))
    assert outcome.status == "failed" and outcome.error.startswith("out of memory")
    assert not outcome.to_result(None, 8).ok


@pytest.mark.slow
@needs_extra
def test_two_process_gloo_ddp_matches_one_process(tmp_path: Path) -> None:
    """torchrun with 2 CPU processes == 1 process accumulating the same 2 micro-batches (BN is per process)."""
    import torch

    cand_file = tmp_path / "cand.json"
    cand_file.write_text(json.dumps(small_candidate().to_dict()))
    common = ["train", "--candidate", str(cand_file), "--dataset", "digits", "-E", "batch_size=32",
              "-E", "max_steps_per_epoch=5", "-E", "warmup_epochs=0.5"]  # fmt: skip
    env_cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    two = subprocess.run(
        [*env_cmd, "-m", "nars_plugin.cli", *common, "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-2000:]
    one = subprocess.run(
        [sys.executable, "-m", "nars_plugin.cli", *common, "-E", "micro_batches=2", "--out", str(tmp_path / "one")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr[-2000:]
    assert "validation curve" in one.stdout
    (ddp_file,) = (tmp_path / "ddp").glob("*/checkpoint.pt")  # one folder per candidate
    (one_file,) = (tmp_path / "one").glob("*/checkpoint.pt")
    a, b = torch.load(ddp_file, weights_only=True), torch.load(one_file, weights_only=True)
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    weights = [k for k in a["model"] if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(weights) > 20
    for k in weights:
        assert torch.allclose(a["model"][k], b["model"][k], atol=1e-4), k
    result = json.loads((tmp_path / "ddp" / "result.json").read_text())
    assert result["status"] == "ok" and result["metrics"]["epochs"] == 4


# --------------------------------------------------------------------------- data


def _write_image_folder(root: Path, classes: int = 2, per_class: int = 8) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", per_class), ("val", per_class // 2)):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 60, (24, 20, 3)) + 160 * c
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")


@needs_extra
def test_image_folder_trains_through_the_evaluator(tmp_path: Path) -> None:
    from nars_imagenet.data import load_image_folder
    from nars_imagenet.evaluator import TrainingEvaluator

    _write_image_folder(tmp_path / "imgs")
    bundle = load_image_folder(tmp_path / "imgs", 16)
    image, label = bundle.train[0]
    assert tuple(image.shape) == (3, 16, 16) and bundle.num_classes == 2 and label == 0
    evaluator = TrainingEvaluator(
        "fbnetv3-tiny", dataset=str(tmp_path / "imgs"), workers=0, batch_size=8, num_workers=0, threads=1,
        warmup_epochs=0.5,
    )  # fmt: skip
    result = evaluator.evaluate(small_candidate(epochs=4), fidelity=2)
    assert result.ok, result.error
    assert result.fidelity == 2 and len(result.curve) == 2 and 0 <= result.metrics["val_top1"] <= 100
    with pytest.raises(DataFileError, match="no val/ subfolder"):
        (tmp_path / "bad" / "train").mkdir(parents=True)
        load_image_folder(tmp_path / "bad", 16)


# --------------------------------------------------------------------------- evaluator, executors, search


@pytest.mark.slow
@needs_extra
def test_local_pool_gives_the_same_results_as_in_process() -> None:
    from nars_imagenet.evaluator import TrainingEvaluator

    cands = [small_candidate(lr=0.05), small_candidate(optimizer="rmsprop", lr=0.02, ema=True)]
    settings = {"max_steps_per_epoch": 3, "batch_size": 32}
    pooled = TrainingEvaluator("fbnetv3-tiny", workers=2, **settings)
    try:
        in_pool = pooled.evaluate_many(cands, fidelity=2)
    finally:
        pooled.close()
    in_process = TrainingEvaluator("fbnetv3-tiny", workers=0, **settings).evaluate_many(cands, fidelity=2)
    assert [r.curve for r in in_pool] == [r.curve for r in in_process]
    assert all(r.ok and r.fidelity == 2 for r in in_pool)


@pytest.mark.slow
@needs_extra
def test_search_with_real_training_resumes_from_the_journal(tmp_path: Path, cli) -> None:
    out = tmp_path / "search"
    args = ["search", "--space", "fbnetv3-tiny", "--evaluator", "train", "--dataset", "digits", "--optimizer",
            "rs", "--workers", "0", "--parallel", "2", "-E", "max_steps_per_epoch=2", "--out", str(out),
            "--no-progress"]  # fmt: skip
    code, _, err = cli([*args, "--budget", "2"], timeout=300)
    assert code == 0, err
    code, out_text, err = cli([*args, "--budget", "4"], timeout=300)
    assert code == 0, err
    assert "4 (2 replayed from the journal)" in out_text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_evaluations"] == 4 and summary["best"]["objective"] > 0
    assert summary["config"]["evaluator"]["parallel"] == 2
    assert len(list((out / "checkpoints").iterdir())) == 4


@pytest.mark.slow
@needs_extra
def test_cli_errors_for_training_evaluators(tmp_path: Path, cli) -> None:
    code, _, err = cli(["search", "--space", "nb201", "--evaluator", "train", "--budget", "1", "--out", tmp_path])
    assert code == 2 and "error:" in err and "Traceback" not in err
    code, _, err = cli(["search", "--space", "fbnetv3-tiny", "--evaluator", "train", "--dataset", tmp_path / "no",
                        "--budget", "1", "--out", tmp_path / "s"])  # fmt: skip
    assert code == 2 and "neither 'digits' nor a folder" in err
    code, _, err = cli(["train", "--candidate", tmp_path / "none.json", "--dataset", "digits"])
    assert code == 2 and "cannot read candidate file" in err
    code, _, err = cli(["search", "--evaluator", "trian", "--space", "fbnetv3-tiny", "--budget", "1", "--out", "x"])
    assert code == 2 and "did you mean 'train'" in err


@needs_extra
@pytest.mark.slow
def test_ray_executor_on_a_local_instance_matches_local_results() -> None:
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install -e '.[ray]'")
    from nars_imagenet.evaluator import TrainingEvaluator
    from nars_imagenet.executors import RayExecutor

    cands = [small_candidate(lr=0.05), small_candidate(lr=0.2)]
    settings = {"max_steps_per_epoch": 3, "batch_size": 32}
    try:
        RayExecutor(num_cpus=2)
        assert [node["NodeManagerAddress"] for node in ray.nodes()] == [LOOPBACK]  # nothing on other addresses
        on_ray = TrainingEvaluator("fbnetv3-tiny", executor="ray", **settings).evaluate_many(cands, fidelity=2)
    finally:
        ray.shutdown()
    local = TrainingEvaluator("fbnetv3-tiny", workers=0, **settings).evaluate_many(cands, fidelity=2)
    assert all(r.ok for r in on_ray)
    assert [r.curve for r in on_ray] == [r.curve for r in local]
