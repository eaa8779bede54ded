"""The SMAC3 and HEBO peers (issue 16): mapping, seeding, replay, constraints, their plugins' status.

SMAC3 is in the ``dev`` extra, so its tests run in every test run. HEBO runs in a worker environment
of its own (``nars hebo install``); its tests skip where none is found, unless
``NARS_REQUIRE_HEBO=1`` (set by CI, which builds one), where they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import keys, run, toy_bench
from test_optuna_tpe import MixedEvaluator, mixed_space

from nars_plugin.api import create_study
from nars_plugin.budget import Budget
from nars_plugin.errors import ConfigError, UnknownNameError
from nars_plugin.optimizers import hebo as hebo_module
from nars_plugin.plugins import get_registry
from nars_plugin.settings import RunContext
from nars_plugin.space import Candidate
from nars_plugin.testing import OptimizerConformance

REQUIRE_HEBO = os.environ.get("NARS_REQUIRE_HEBO") == "1"


@pytest.fixture
def need_smac():
    pytest.importorskip("smac", reason="SMAC3 is the `smac` extra (also in `dev`)")


@pytest.fixture
def need_hebo():
    state = hebo_module.status()
    if state is not None:
        if REQUIRE_HEBO:
            pytest.fail(f"NARS_REQUIRE_HEBO=1 but {state[0]} ({state[1]})")
        pytest.skip(f"no HEBO worker environment: {state[0]} ({state[1]})")


def smac_opt(space, seed=0, budget=20, **settings):
    return get_registry().create_optimizer(
        "smac", space, RunContext(objective="acc", seed=seed, budget=Budget(queries=budget)), settings
    )


# --- mapping ------------------------------------------------------------------


def test_smac_maps_every_parameter_kind_onto_configspace(need_smac):
    import ConfigSpace as cs

    opt = smac_opt(mixed_space())
    hps = {hp.name: hp for hp in opt.config_space.values()}
    assert isinstance(hps["op"], cs.CategoricalHyperparameter) and list(hps["op"].choices) == [0, 1, 2]
    # width 8..64 step 8: its 8 grid positions
    assert isinstance(hps["width"], cs.UniformIntegerHyperparameter) and (hps["width"].lower, hps["width"].upper) == (
        0,
        7,
    )
    assert isinstance(hps["lr"], cs.UniformFloatHyperparameter) and hps["lr"].log


def test_hebo_design_space_of_every_parameter_kind():
    from nars_plugin.space import Integer, Ordinal

    params = {p["name"]: p for p in map(hebo_module.design_parameter, mixed_space().params)}
    assert params["op"] == {"name": "op", "type": "cat", "categories": [0, 1, 2]}
    assert params["width"] == {"name": "width", "type": "int", "lb": 0, "ub": 7}
    assert params["lr"]["type"] == "pow" and params["lr"]["lb"] == 1e-4
    assert hebo_module.design_parameter(Ordinal("depth", (1, 2, 4)))["type"] == "int"
    assert hebo_module.design_parameter(Integer("n", 3, 9)) == {"name": "n", "type": "int", "lb": 3, "ub": 9}


def test_positions_round_trip_for_every_parameter_kind():
    from nars_plugin.optimizers.peer import candidate_from_positions, positions_of

    space = mixed_space()
    for cand in space.sample(20, seed=0):
        assert candidate_from_positions(space, positions_of(space, cand)) == cand


# --- SMAC3 behind ask/tell ------------------------------------------------------


def test_smac_learns_on_a_mixed_space(need_smac):
    study = create_study(MixedEvaluator(), "smac", budget=30, seed=0, progress=False)
    result = study.optimize()
    assert result.best_result.metrics["acc"] > 91.0  # the optimum is 92; random search's median best ~90.8
    assert study.optimizer.report()["random_fallbacks"] == 0


def interrupted_then_resumed(name: str, bench, seed: int, budget: int, stop_after: int, out) -> list[str]:
    """A study stopped after ``stop_after`` results (as a killed process leaves its journal), then
    resumed from the journal in a new study; the candidate keys of the finished search."""
    study = create_study(bench, name, budget=budget, seed=seed, storage=out, progress=False)
    for _ in range(stop_after):
        trial = study.ask()
        study.tell(trial, bench.evaluate(trial.candidate, trial.fidelity))
    del study  # no close(): the journal is all that is left
    resumed = create_study(bench, name, budget=budget, seed=seed, storage=out, progress=False)
    result = resumed.optimize()
    assert result.replayed == stop_after and result.evaluated_now == budget - stop_after
    return keys(resumed.optimizer)


def test_smac_same_seed_same_search_and_resume_after_an_interruption(need_smac, tmp_path):
    bench = toy_bench()
    whole, _ = run("smac", bench, seed=4, budget=16)
    assert interrupted_then_resumed("smac", bench, 4, 16, 7, tmp_path / "a") == keys(whole)


def test_smac_proposals_do_not_depend_on_pythonhashseed(need_smac, tmp_path):
    """SMAC's local search collects start points in a set; the wrapper orders them."""
    script = (
        "import json, sys\n"
        "from nars_plugin.api import create_study\n"
        "from nars_plugin.plugins import get_registry\n"
        "b = get_registry().create_benchmark('nb201-analog')\n"
        "s = create_study(b, 'smac', budget=20, seed=1, progress=False)\n"
        "s.optimize()\n"
        "print(json.dumps([t.candidate.key for t in s.trials]))\n"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "NARS_BLOCK_PLUGINS": "imagenet,naslib"}
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1]


def test_smac_under_a_constraint_proposes_only_feasible_candidates(need_smac):
    bench = toy_bench()
    opt, result = run("smac", bench, seed=2, budget=10, constraints=["flops <= 4"])
    assert bench.space.feasible([p.candidate for p, _ in opt.history], ["flops <= 4"]).all()
    assert result.n_evaluations == 10
    crashed = [v for v in opt.smac.runhistory.values() if v.status.name == "CRASHED"]
    assert crashed, "a tight constraint should have rejected some of SMAC's proposals"


def test_smac_leaves_the_hosts_logging_and_disk_alone(need_smac, tmp_path, monkeypatch):
    import logging

    monkeypatch.chdir(tmp_path)
    handlers = list(logging.getLogger().handlers)
    opt = smac_opt(mixed_space())
    folder = opt._folder.name
    assert logging.getLogger().handlers == handlers
    assert list(tmp_path.iterdir()) == []  # nothing written to the working folder (no smac3_output/)
    del opt
    import gc

    gc.collect()
    assert not os.path.exists(folder)


def test_smac_bad_setting_and_missing_package_are_clear_errors(need_smac, monkeypatch):
    with pytest.raises(ConfigError, match="retrain_after"):
        smac_opt(mixed_space(), retrain_after=0)
    monkeypatch.setitem(sys.modules, "smac", None)
    with pytest.raises(ConfigError, match="SMAC3") as info:
        smac_opt(mixed_space())
    assert "nars-plugin[smac]" in info.value.hint


# --- the plugins' status ----------------------------------------------------------


@pytest.fixture
def fresh_registry():
    """The registry built again after the test (which changed what the plugins find)."""
    yield
    get_registry(refresh=True)


def test_hebo_without_a_worker_is_listed_inactive_and_named_in_the_error(fresh_registry, monkeypatch, tmp_path):
    monkeypatch.delenv(hebo_module.WORKER_PYTHON_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no worker environment built there
    find_spec = hebo_module.importlib.util.find_spec
    monkeypatch.setattr(
        hebo_module.importlib.util, "find_spec", lambda name, *a: None if name == "hebo" else find_spec(name, *a)
    )
    registry = get_registry(refresh=True)
    assert registry.plugins["hebo"].status.startswith("inactive: HEBO 0.3.6 cannot share this environment")
    assert "nars hebo install" in registry.plugins["hebo"].hint
    assert "hebo" not in registry.names("optimizer")
    with pytest.raises(UnknownNameError, match="plugin 'hebo', which is inactive") as info:
        registry.get("optimizer", "hebo")
    assert "nars hebo install" in info.value.hint


def test_a_named_worker_python_that_does_not_exist_is_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv(hebo_module.WORKER_PYTHON_ENV, str(tmp_path / "nope" / "python"))
    reason, fix = hebo_module.status() or ("", "")
    assert "does not exist" in reason and "nars hebo install" in fix


def test_a_worker_that_is_not_hebos_stops_with_its_message(tmp_path):
    """A worker python without HEBO: the error carries the worker's own message, not a hang."""
    worker = hebo_module.HEBOWorker(sys.executable)
    if hebo_module.importlib.util.find_spec("hebo") is None:
        with pytest.raises(ConfigError, match="HEBO failed during 'init': ModuleNotFoundError"):
            worker.start([{"name": "x", "type": "num", "lb": 0.0, "ub": 1.0}], seed=0)
    worker.close()


# --- HEBO in its worker ------------------------------------------------------------


def test_hebo_same_seed_same_search_and_resume_after_an_interruption(need_hebo, tmp_path):
    bench = toy_bench()
    whole, _ = run("hebo", bench, seed=3, budget=12)
    assert whole.report()["hebo"] == "0.3.6"
    assert interrupted_then_resumed("hebo", bench, 3, 12, 8, tmp_path / "a") == keys(whole)


def test_hebo_under_a_constraint_and_with_failures(need_hebo):
    bench = toy_bench()
    opt, result = run("hebo", bench, seed=2, budget=10, constraints=["flops <= 4"])
    assert bench.space.feasible([p.candidate for p, _ in opt.history], ["flops <= 4"]).all()
    assert result.n_evaluations == 10
    assert opt.penalty(1.0) < min(opt.told_values)  # what HEBO is told for an infeasible sample


def test_a_hebo_batch_is_tried_in_the_order_of_a_single_suggestion():
    """HEBO puts its most uncertain point first in a batch of more than 2 and its best-predicted second;
    taken first, a constrained search evaluated the most uncertain point after every fit. They go last."""
    from nars_plugin.optimizers.hebo_worker import try_order

    assert try_order(["uncertain", "best-mean", "pareto-a", "pareto-b"]) == [
        "pareto-a",
        "pareto-b",
        "best-mean",
        "uncertain",
    ]
    assert try_order(["a", "b"]) == ["a", "b"] and try_order(["a"]) == ["a"]  # no forced picks below 3


# SMAC's conformance runs with every registered optimizer's in tests/test_conformance.py; HEBO's needs
# its worker environment (need_hebo), so it runs here.


class TestHEBOConformance(OptimizerConformance):
    budget = 10

    @pytest.fixture
    def benchmark(self, need_hebo):
        return toy_bench()

    @pytest.fixture
    def optimizer(self):
        return "hebo"


def test_candidate_positions_of_an_adopted_fallback_are_told_back(need_smac):
    """With one draw per proposal the fallback fills in, and SMAC hears of its results."""
    bench = toy_bench()
    opt, result = run("smac", bench, seed=5, budget=12, max_tries=1, constraints=["flops <= 4"])
    assert result.n_evaluations == 12 and len(set(keys(opt))) == 12
    assert isinstance(opt.history[0][0].candidate, Candidate)
    assert len([v for v in opt.smac.runhistory.values() if v.status.name == "SUCCESS"]) >= 12
