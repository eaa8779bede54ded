"""The ``nats`` benchmark on small files in the official NATS-Bench topology format.

The files are written by :mod:`nats_fixtures` with nats_bench's own classes and writer, and read
back through nats_bench; expected numbers come from the fixture's generator, not from the backend.
"""

from __future__ import annotations

import bz2
import math
import pickle
import shutil
from pathlib import Path

import nats_fixtures as fx
import numpy as np
import pytest

from nars_plugin.errors import ConfigError, DataFileError, InvalidRecipeError
from nars_plugin.spaces.nb201 import EXAMPLE, N_CELLS, arch_string_to_index, index_to_arch_string
from nars_plugin.tabular.nb201._nats import (
    SIMPLE_DIR,
    SINGLE_FILE,
    NATSBenchmark,
    load_nats,
    nats_benchmark_factory,
)

EXAMPLE_INDEX = arch_string_to_index(EXAMPLE)  # 6111
INDICES = (0, 9, 123, EXAMPLE_INDEX, 15624)
ONLY_12 = 4242  # its file holds the 12-epoch schedule only
MISSING = 77  # no file
# data set -> (valid run, valid set, test run, test set)
SOURCES = {
    "cifar10": ("cifar10-valid", "x-valid", "cifar10", "ori-test"),
    "cifar100": ("cifar100", "x-valid", "cifar100", "x-test"),
    "ImageNet16-120": ("ImageNet16-120", "x-valid", "ImageNet16-120", "x-test"),
}


@pytest.fixture(scope="module")
def nats_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME-like folder holding the -simple folder and the single file."""
    root = tmp_path_factory.mktemp("torch_home")
    fx.write_simple_dir(root / SIMPLE_DIR, INDICES, overrides={ONLY_12: fx.arch_state(ONLY_12, schedules=(12,))})
    fx.write_single_file(root / SINGLE_FILE, INDICES[:2])
    return root


@pytest.fixture(scope="module")
def simple_dir(nats_root: Path) -> Path:
    return nats_root / SIMPLE_DIR


@pytest.fixture(scope="module")
def benches(simple_dir: Path) -> dict[str, NATSBenchmark]:
    return {ds: load_nats(str(simple_dir), dataset=ds) for ds in SOURCES}


def cand(bench: NATSBenchmark, index: int, epochs: int):
    return bench.space.from_index(index, {"epochs": epochs})


# --------------------------------------------------------------------------- #
# numbers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("dataset", list(SOURCES))
@pytest.mark.parametrize("epochs", fx.SCHEDULES)
def test_metrics_are_the_seed_means_of_the_right_runs(benches, dataset, epochs):
    bench = benches[dataset]
    valid_run, valid_set, test_run, test_set = SOURCES[dataset]
    for index in (0, EXAMPLE_INDEX):
        result = bench.evaluate(cand(bench, index, epochs))
        assert result.ok and result.fidelity is None
        m = result.metrics
        assert set(m) == set(bench.metric_names)
        assert (m["valid_acc"], m["valid_loss"]) == pytest.approx(
            fx.expected_final(index, epochs, valid_run, valid_set)
        )
        assert (m["test_acc"], m["test_loss"]) == pytest.approx(fx.expected_final(index, epochs, test_run, test_set))
        assert (m["train_acc"], m["train_loss"]) == pytest.approx(fx.expected_final(index, epochs, valid_run, "train"))
        assert m["valid_acc"] != m["test_acc"]  # no aliasing of validation and test
        times = fx.expected_times(index, epochs, valid_run)
        assert m["train_time"] == pytest.approx(times[-1]) == result.cost
        run = fx.synthetic_run(index, epochs, valid_run, fx.SEEDS[0])
        assert m["latency_ms"] == pytest.approx(run.latency * 1000)
        assert (m["flops_m"], m["params_m"]) == pytest.approx((run.flop, run.params))
        assert result.curve == pytest.approx(fx.expected_curve(index, epochs, valid_run, valid_set))
        assert len(result.curve) == epochs and result.curve[-1] == pytest.approx(m["valid_acc"])


def test_cifar10_follows_the_nb201_convention_through_the_official_api(simple_dir, benches):
    import nats_bench

    api = nats_bench.create(str(simple_dir), "tss", fast_mode=True, verbose=False)
    bench = benches["cifar10"]
    for epochs in fx.SCHEDULES:
        m = bench.evaluate(cand(bench, EXAMPLE_INDEX, epochs)).metrics
        valid = api.get_more_info(EXAMPLE_INDEX, "cifar10-valid", hp=str(epochs), is_random=False)
        test = api.get_more_info(EXAMPLE_INDEX, "cifar10", hp=str(epochs), is_random=False)
        assert m["valid_acc"] == pytest.approx(valid["valid-accuracy"])
        assert m["test_acc"] == pytest.approx(test["test-accuracy"])
        assert m["train_time"] == pytest.approx(valid["train-all-time"])
        # the test accuracy of the run that trained on the 25k split is a different number
        assert m["test_acc"] != pytest.approx(valid["test-accuracy"])
    for epoch in (1, 7, 12, 150, 200):  # curves and partial costs agree with nats_bench's per-epoch query
        info = api.get_more_info(EXAMPLE_INDEX, "cifar10-valid", iepoch=epoch - 1, hp="200", is_random=False)
        r = bench.evaluate(cand(bench, EXAMPLE_INDEX, 200), fidelity=epoch)
        assert r.curve[-1] == pytest.approx(info["valid-accuracy"], rel=1e-12)
        assert r.cost == pytest.approx(info["train-all-time"], rel=1e-12)


def test_fidelity_returns_the_objective_and_cost_at_that_epoch(benches):
    bench = benches["cifar100"]
    c = cand(bench, 123, 200)
    curve = fx.expected_curve(123, 200, "cifar100", "x-valid")
    times = fx.expected_times(123, 200, "cifar100")
    for epoch in (1, 12, 50, 199):
        r = bench.evaluate(c, fidelity=epoch)
        assert r.ok and r.fidelity == epoch and len(r.curve) == epoch
        assert r.metrics == pytest.approx({"valid_acc": curve[epoch - 1], "train_time": times[epoch - 1]})
        assert r.cost == pytest.approx(times[epoch - 1])
        assert r.curve == pytest.approx(curve[:epoch])
    full = bench.evaluate(c)
    for epoch in (200, 500):  # at or past the schedule's end: the full result
        assert bench.evaluate(c, fidelity=epoch) == full
    assert bench.evaluate(c, fidelity=0).fidelity == 1
    # epoch 12 of the 200-epoch schedule is not the 12-epoch schedule
    short = bench.evaluate(cand(bench, 123, 12))
    assert short.fidelity is None and len(short.curve) == 12
    assert short.metrics["valid_acc"] != pytest.approx(bench.evaluate(c, fidelity=12).metrics["valid_acc"])
    assert bench.max_fidelity == 200


def test_test_objective_uses_the_test_curve_and_that_runs_time(simple_dir):
    bench = load_nats(str(simple_dir), dataset="cifar10", objective="test_acc")
    r = bench.evaluate(cand(bench, 0, 200), fidelity=30)
    assert r.curve == pytest.approx(fx.expected_curve(0, 200, "cifar10", "ori-test")[:30])
    assert r.cost == pytest.approx(fx.expected_times(0, 200, "cifar10")[29])
    assert set(r.metrics) == {"test_acc", "train_time"}
    with pytest.raises(ConfigError, match="valid_acc"):
        load_nats(str(simple_dir), objective="train_loss")


def test_single_file_form_gives_the_same_numbers(nats_root, benches):
    bench = load_nats(str(nats_root / SINGLE_FILE), dataset="cifar10")
    assert bench.form == "file"
    for index in INDICES[:2]:
        for epochs in fx.SCHEDULES:
            assert bench.evaluate(cand(bench, index, epochs)) == benches["cifar10"].evaluate(cand(bench, index, epochs))
    missing = bench.evaluate(cand(bench, EXAMPLE_INDEX, 200))
    assert not missing.ok and "holds no results" in missing.error


# --------------------------------------------------------------------------- #
# missing entries and the whole table
# --------------------------------------------------------------------------- #


def test_missing_entries_are_failed_results_that_say_why(benches):
    bench = benches["cifar10"]
    r = bench.evaluate(cand(bench, MISSING, 12))
    assert not r.ok and r.cost == 0
    assert f"{MISSING:06d}.pickle.pbz2" in r.error and index_to_arch_string(MISSING) in r.error
    r = bench.evaluate(cand(bench, ONLY_12, 200))
    assert not r.ok and "no 200-epoch results" in r.error
    assert bench.evaluate(cand(bench, ONLY_12, 12)).ok


def test_files_are_read_lazily_once(simple_dir):
    bench = load_nats(str(simple_dir))
    assert bench.loaded == 1  # the first file, to learn the schedules
    bench.evaluate(cand(bench, EXAMPLE_INDEX, 12))
    assert bench.loaded == 2
    assert bench._api.arch2infos_dict == {}  # nats_bench's parsed copy is dropped
    bench.evaluate(cand(bench, EXAMPLE_INDEX, 200))
    bench.evaluate(cand(bench, EXAMPLE_INDEX, 12), fidelity=3)
    assert bench.loaded == 2


def test_whole_table(simple_dir):
    bench = load_nats(str(simple_dir), dataset="ImageNet16-120", report="test_acc")
    rows = bench.rows
    assert len(rows) == 2 * N_CELLS
    values = bench.values()
    present = np.flatnonzero(np.isfinite(values))
    expected_rows = sorted([k * N_CELLS + i for k in range(2) for i in INDICES] + [ONLY_12])
    assert present.tolist() == expected_rows
    for row in present:
        c = rows[row]
        assert bench.row_of(c) == row
        assert values[row] == bench.evaluate(c).metrics["valid_acc"]
        assert bench.cost[row] == bench.evaluate(c).cost
    finals = [fx.expected_final(i, e, "ImageNet16-120", "x-test")[0] for i in INDICES for e in fx.SCHEDULES]
    finals.append(fx.expected_final(ONLY_12, 12, "ImageNet16-120", "x-test")[0])
    assert bench.optimum("test_acc") == pytest.approx(max(finals))
    assert bench.top_threshold(0.001, "test_acc") == pytest.approx(max(finals))
    assert np.isnan(bench.values("latency_ms")[MISSING])


def test_parallel_load_all_matches_sequential(simple_dir):
    one, two = load_nats(str(simple_dir)), load_nats(str(simple_dir))
    one.load_all(workers=1)
    two.load_all(workers=2)
    for metric in one.metric_names:
        np.testing.assert_array_equal(one.values(metric), two.values(metric))
    np.testing.assert_array_equal(one.cost, two.cost)


# --------------------------------------------------------------------------- #
# options, paths and bad files
# --------------------------------------------------------------------------- #


def test_recipe_holds_the_schedules_of_the_files(simple_dir, benches):
    bench = benches["cifar10"]
    assert bench.space.param("epochs").choices == (12, 200)
    assert bench.space.name == "nb201" and bench.space.dataset == "cifar10"
    only = load_nats(str(simple_dir), epochs="12")
    assert only.space.param("epochs").choices == (12,) and only.max_fidelity == 12
    with pytest.raises(InvalidRecipeError):
        only.evaluate(cand(bench, 0, 200))
    with pytest.raises(ConfigError, match=r"\[12, 200\]"):
        load_nats(str(simple_dir), epochs=90)
    with pytest.raises(ConfigError, match="ImageNet16-120"):
        load_nats(str(simple_dir), dataset="imagenet")


def test_paths_accepted(nats_root, simple_dir):
    for path in (simple_dir, simple_dir / "meta.pickle.pbz2", nats_root):
        bench = load_nats(str(path))
        assert bench.form == "dir" and bench.path == simple_dir
    assert load_nats(str(nats_root / SINGLE_FILE)).form == "file"


def test_registered_as_nats(simple_dir):
    from nars_plugin.plugins import get_registry

    bench = get_registry().create_benchmark(f"nats:{simple_dir}", dataset="cifar100")
    assert isinstance(bench, NATSBenchmark) and bench.dataset == "cifar100"


def test_missing_path_says_what_to_get(tmp_path):
    with pytest.raises(DataFileError) as info:
        load_nats(str(tmp_path / "nowhere"))
    text = str(info.value)
    assert str(tmp_path / "nowhere") in text and SIMPLE_DIR in text and "release" in text
    with pytest.raises(DataFileError, match="meta.pickle.pbz2"):
        load_nats(str(tmp_path))  # a folder without NATS-Bench files


def test_factory_default_path(monkeypatch, tmp_path, nats_root):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(DataFileError) as info:
        nats_benchmark_factory(None)
    assert str(tmp_path / SIMPLE_DIR) in str(info.value) and "TORCH_HOME" in str(info.value)
    monkeypatch.setenv("TORCH_HOME", str(nats_root))
    assert nats_benchmark_factory(None, dataset="cifar100").path == nats_root / SIMPLE_DIR


def test_corrupt_per_architecture_file(simple_dir, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(simple_dir, folder)
    target = folder / f"{EXAMPLE_INDEX:06d}.pickle.pbz2"
    target.write_bytes(target.read_bytes()[:5000])  # truncated download
    bench = load_nats(str(folder))
    with pytest.raises(DataFileError) as info:
        bench.evaluate(cand(bench, EXAMPLE_INDEX, 200))
    assert target.name in str(info.value) and "Traceback" not in str(info.value)
    target.write_bytes(b"not bz2 at all")
    with pytest.raises(DataFileError, match=target.name):
        load_nats(str(folder)).evaluate(cand(bench, EXAMPLE_INDEX, 12))
    target.write_bytes(bz2.compress(pickle.dumps(["a list, not a dict"])))
    with pytest.raises(DataFileError, match=target.name):
        load_nats(str(folder)).evaluate(cand(bench, EXAMPLE_INDEX, 12))
    assert load_nats(str(folder)).evaluate(cand(bench, 0, 12)).ok  # the other files still work
    with pytest.raises(DataFileError, match=target.name) as info:
        load_nats(str(folder)).load_all(workers=2)  # also when worker processes read it
    assert info.value.hint


def test_corrupt_meta_and_single_file(simple_dir, nats_root, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(simple_dir, folder)
    meta = folder / "meta.pickle.pbz2"
    meta.write_bytes(meta.read_bytes()[:1000])
    with pytest.raises(DataFileError, match="meta.pickle.pbz2"):
        load_nats(str(folder))
    single = tmp_path / SINGLE_FILE
    single.write_bytes((nats_root / SINGLE_FILE).read_bytes()[:3000])
    with pytest.raises(DataFileError, match=SINGLE_FILE):
        load_nats(str(single))


def test_wrong_meta_file(tmp_path):
    channels = [":".join(str(8 * (1 + (k >> (3 * j)) % 8)) for j in range(5)) for k in range(8**5)]
    folder = fx.write_simple_dir(tmp_path / "sss", [0], meta_archs=channels)  # like the size benchmark's meta
    with pytest.raises(DataFileError, match="size"):
        load_nats(str(folder))
    shuffled = [index_to_arch_string(i) for i in range(N_CELLS)][::-1]
    folder = fx.write_simple_dir(tmp_path / "shuffled", [0], meta_archs=shuffled)
    with pytest.raises(DataFileError, match="topology order"):
        load_nats(str(folder))


def test_folder_with_meta_only(tmp_path):
    folder = fx.write_simple_dir(tmp_path / "empty", [])
    with pytest.raises(DataFileError, match="no NNNNNN"):
        load_nats(str(folder))


def test_config_and_repr(benches):
    bench = benches["cifar10"]
    config = bench.config()
    assert config["name"] == "nats" and config["objective"] == "valid_acc" and config["report"] == "test_acc"
    assert config["dataset"] == "cifar10" and config["schedules"] == [12, 200]
    assert "cifar10" in repr(bench) and math.isfinite(bench.evaluate(cand(bench, 9, 12)).cost)
