"""The hardware-aware one-shot optimizers ``proxylessnas`` and ``single-path-nas`` on ``fbnetv3-tiny``,
and the per-device latency statistic of the FBNetV3 spaces they read.

Real supernets and real training on digits, at tiny sizes (a few steps per epoch): seconds per run.
Needs the ``imagenet`` extra (skipped with the reason where it is absent).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli
from imagenet_helpers import needs_extra

from nars_plugin.comparison.tasks import RunTask
from nars_plugin.errors import ConfigError
from nars_plugin.testing import RunnerConformance

METHODS = ("proxylessnas", "single-path-nas")
#: Below the median modelled pixel3 latency of fbnetv3-tiny's candidates (4.56 ms): it binds.
CONSTRAINT = "latency[pixel3] <= 4.4"
QUICK = {"epochs": 2, "max_steps_per_epoch": 4, "batch_size": 32, "fixed_recipe": {"epochs": 4}}


def _evaluator() -> object:
    from nars_imagenet.evaluator import TrainingEvaluator
    from nars_imagenet.space import fbnetv3_tiny_space

    return TrainingEvaluator(space=fbnetv3_tiny_space(latency="pixel3"), workers=0, max_steps_per_epoch=2, test=True)


@needs_extra
class TestOneShotConformance(RunnerConformance):
    @pytest.fixture
    def evaluator(self):
        return _evaluator()

    @pytest.fixture(params=METHODS)
    def optimizer(self, request):
        return request.param

    @pytest.fixture
    def constraint(self):
        return CONSTRAINT

    @pytest.fixture
    def settings(self):
        return {k: v for k, v in QUICK.items() if k != "fixed_recipe"}


def _task(method: str, out, constraints=(CONSTRAINT,), **settings) -> RunTask:
    return RunTask(
        benchmark="train",
        bench_options={},
        optimizer=method,
        label=method,
        settings={**{k: v for k, v in QUICK.items() if k != "fixed_recipe"}, **settings},
        seed=0,
        budget=None,
        budget_seconds=30.0,
        constraints=tuple(constraints),
        out=str(out),
        fixed_recipe=QUICK["fixed_recipe"],
    )


@needs_extra
@pytest.mark.parametrize("method", METHODS)
def test_the_constraint_binds_and_the_latency_reported_is_the_spaces(method, tmp_path):
    from nars_imagenet.oneshot import search

    evaluator = _evaluator()
    found = search(method, evaluator, _task(method, tmp_path))
    cand = evaluator.space.validate(evaluator.space.candidate(found["candidate"]["arch"], found["candidate"]["recipe"]))
    stat = evaluator.space.statistics([cand])["latency[pixel3]"][0]
    assert found["latency_ms"] == pytest.approx(stat) and stat <= 4.4 and found["feasible"]
    assert cand.recipe["epochs"] == 4  # the run's fixed recipe; the rest the space's defaults
    loose = search(method, evaluator, _task(method, tmp_path, constraints=("latency[pixel3] <= 100",)))
    assert not loose["projected"]


@needs_extra
def test_a_search_needs_a_latency_target_and_says_how_to_give_one(tmp_path):
    from nars_imagenet.evaluator import TrainingEvaluator
    from nars_imagenet.oneshot import search
    from nars_imagenet.space import fbnetv3_tiny_space

    evaluator = _evaluator()
    with pytest.raises(ConfigError, match="latency device and target") as err:
        search("proxylessnas", evaluator, _task("proxylessnas", tmp_path, constraints=()))
    assert "latency[pixel3]" in str(err.value.hint)
    with pytest.raises(ConfigError, match="unknown latency device"):
        search("proxylessnas", evaluator, _task("proxylessnas", tmp_path, device="pixel9", target=4.0))
    with pytest.raises(ConfigError, match="macro"):
        search("single-path-nas", evaluator, _task("single-path-nas", tmp_path, macro="s2_kernel=3"))
    with pytest.raises(ConfigError, match="temperature"):
        search("single-path-nas", evaluator, _task("single-path-nas", tmp_path, temperature=0))
    with pytest.raises(ConfigError, match="no architecture of the supernet meets"):
        search("proxylessnas", evaluator, _task("proxylessnas", tmp_path, constraints=("latency[pixel3] <= 1",)))
    plain = TrainingEvaluator(space=fbnetv3_tiny_space(), workers=0)  # no latency statistic asked for
    with pytest.raises(ConfigError, match="cannot compute 'latency.pixel3.'"):
        search("proxylessnas", plain, _task("proxylessnas", tmp_path))


@needs_extra
def test_one_shot_methods_say_where_they_run(tmp_path):
    from nars_imagenet.oneshot import unavailable

    from nars_plugin.assembly import optimizer_unavailable

    assert unavailable(_evaluator()) is None
    for method in METHODS:
        assert "--evaluator train" in str(optimizer_unavailable(method, object()))
    args = ["search", "--evaluator", "train", "--space", "fbnetv3-tiny", "-o", "proxylessnas", "--budget", "2"]
    rc, _, err = run_cli([*args, "--out", tmp_path / "run"], cwd=tmp_path)
    assert rc != 0 and "runs through `nars compare`" in err and "--optimizers" in err


@needs_extra
def test_nars_optimizers_lists_both_with_their_settings(tmp_path):
    rc, out, err = run_cli(["optimizers"], cwd=tmp_path)
    assert rc == 0, err
    assert {"proxylessnas", "single-path-nas"} <= {line.split()[0] for line in out.splitlines() if line.strip()}
    for method, own in (("proxylessnas", "train_portion"), ("single-path-nas", "temperature")):
        rc, out, err = run_cli(["optimizers", method], cwd=tmp_path)
        assert rc == 0, err
        assert all(name in out for name in ("latency_weight", "supernet_share", "macro", own)), out


@needs_extra
def test_fbnetv3_spaces_offer_modelled_latency_per_device():
    from nars_imagenet.latency import DEVICE_COEFFICIENTS
    from nars_imagenet.space import fbnetv3_space, fbnetv3_tiny_space

    space = fbnetv3_tiny_space(latency="pixel3,fpga")
    assert space.statistic_names == ("flops", "params", "latency[pixel3]", "latency[fpga]")
    assert space.options() == {"latency": "pixel3,fpga"} and fbnetv3_tiny_space().options() == {}
    cands = space.sample(64, seed=0)
    stats = space.statistics(cands)
    assert (stats["latency[pixel3]"] > 0).all() and np.corrcoef(stats["flops"], stats["latency[pixel3]"])[0, 1] > 0.5
    assert len(fbnetv3_space(latency="all").statistic_names) == 2 + len(DEVICE_COEFFICIENTS)
    with pytest.raises(ConfigError, match="unknown latency device"):
        fbnetv3_tiny_space(latency="pixel9")


@needs_extra
def test_the_committed_device_coefficients_are_the_fit_of_the_fbnet_measurements(need_data):
    from nars_imagenet.latency import DEVICE_COEFFICIENTS, fit_device_coefficients

    need_data("fbnet/latency_ms_5000.csv")
    fitted = fit_device_coefficients()
    assert fitted.keys() == DEVICE_COEFFICIENTS.keys()
    for device, values in fitted.items():
        assert values == pytest.approx(DEVICE_COEFFICIENTS[device], rel=1e-4, abs=1e-9), device


@needs_extra
def test_the_supernets_latency_is_the_models_latency_of_the_architecture_they_select():
    import torch
    from nars_imagenet.oneshot import ProxylessSupernet, SinglePathSupernet, StageChoices
    from nars_imagenet.space import fbnetv3_tiny_space

    space = fbnetv3_tiny_space(latency="pixel3")
    choices = StageChoices(space, {}, "pixel3")
    torch.manual_seed(0)
    single = SinglePathSupernet(choices, 1.0)
    chosen, scores = single.scores()
    latency = single(torch.randn(2, 1, 16, 16))[1].detach()
    assert float(latency) == pytest.approx(choices.latency(chosen))
    assert float(latency) == pytest.approx(space.statistics([choices.candidate(chosen)])["latency[pixel3]"][0])
    assert all(set(s) == set(paths) for s, paths in zip(scores, choices.paths))  # every path has a score
    proxyless = ProxylessSupernet(choices)
    picked = [paths[-1] for paths in choices.paths]
    with torch.no_grad():
        for alpha, paths in zip(proxyless.alphas, choices.paths):
            alpha[len(paths) - 1] = 50.0  # all the probability on the last path
    table = [torch.tensor([choices.path_latency(s, p) for p in paths]) for s, paths in enumerate(choices.paths)]
    assert float(proxyless.expected_latency(table).detach()) == pytest.approx(choices.latency(picked), rel=1e-5)
