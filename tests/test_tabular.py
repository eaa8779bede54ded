"""Tabular backends: ``nb201-analog`` (embedded AnalogNAS-Bench) and ``csv:PATH``.

The expected nb201-analog numbers are read here straight from the package's pickle with a small
restricted unpickler of this test's own, and mapped to cells with NASLib's conventions written out
below, independently of ``nars_plugin.tabular.nb201._analog``.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import BEST_C10

from nars_plugin.errors import ConfigError, DataFileError, NarsError
from nars_plugin.plugins import get_registry
from nars_plugin.spaces.nb201 import NB201Space, arch_string_to_index
from nars_plugin.tabular.base import TabularBenchmark
from nars_plugin.tabular.csv_table import load_csv
from nars_plugin.tabular.nb201._analog import load_analog

# (deployment target, training recipe) -> the AnalogNAS-Bench column that measured it
COLUMN = {
    ("fp32", "standard"): "baseline_accuracy",
    ("int8", "standard"): "ptq_accuracy",
    ("int8", "qat"): "qat_accuracy",
    ("analog_0s", "standard"): "noisy_accuracy",
    ("analog_0s", "analog"): "analog_accuracy",
    ("analog_60s", "standard"): "baseline_drift_60",
    ("analog_60s", "analog"): "analog_drift_60",
    ("analog_1h", "standard"): "baseline_drift_3600",
    ("analog_1h", "analog"): "analog_drift_3600",
    ("analog_1d", "standard"): "baseline_drift_86400",
    ("analog_1d", "analog"): "analog_drift_86400",
    ("analog_30d", "standard"): "baseline_drift_2592000",
    ("analog_30d", "analog"): "analog_drift_2592000",
}
TARGETS = sorted({t for t, _ in COLUMN})

# NASLib's NAS-Bench-201 conventions: op index -> op, and tuple position -> (to node, from node)
NASLIB_OP_NAMES = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGE_NODES = ((1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2))
BEST_C10_NASLIB = (2, 2, 0, 2, 2, 3)


def naslib_to_arch(t: tuple[int, ...]) -> str:
    op = {edge: NASLIB_OP_NAMES[i] for edge, i in zip(NASLIB_EDGE_NODES, t)}
    return f"|{op[1, 0]}~0|+|{op[2, 0]}~0|{op[2, 1]}~1|+|{op[3, 0]}~0|{op[3, 1]}~1|{op[3, 2]}~2|"


class Plain:
    """Holds whatever attributes the pickle restores."""

    def __setstate__(self, state):
        self.__dict__.update(state)


class OnlyRecords(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "analognasbench.data" and name in ("Architecture", "DriftMeasurement"):
            return Plain
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def measured(entry, column: str) -> tuple[float, float]:
    """(value, spread) of one column of one raw entry: drift columns are (value, uncertainty) records."""
    cell = getattr(entry, column)
    if isinstance(cell, Plain):
        return float(cell.value), float(cell.uncertainty)
    return float(cell), 0.0


@pytest.fixture(scope="module")
def raw() -> dict:
    spec = importlib.util.find_spec("analognasbench")
    if spec is None or spec.origin is None:
        pytest.skip("the analog-nasbench package is not installed")
    with open(Path(spec.origin).parent / "data.anb", "rb") as fh:
        table = OnlyRecords(fh).load()
    assert len(table) == 15625
    return table


@pytest.fixture(scope="module")
def analog() -> dict[str, TabularBenchmark]:
    return {target: load_analog(target=target) for target in TARGETS}


def cand(bench: TabularBenchmark, arch: str, training: str):
    return bench.space.candidate(arch, {"training": training})


# --------------------------------------------------------------------------- #
# nb201-analog
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("target", "recipes"),
    [
        ("fp32", ("standard",)),
        ("int8", ("standard", "qat")),
        ("analog_0s", ("standard", "analog")),
        ("analog_1d", ("standard", "analog")),
        ("analog_30d", ("standard", "analog")),
    ],
)
def test_each_target_offers_only_the_measured_recipes(analog, target, recipes):
    bench = analog[target]
    (training,) = bench.space.recipe_params
    assert training.name == "training" and set(training.choices) == set(recipes)
    assert len(bench.rows) == 15625 * len(recipes)
    assert {c.recipe["training"] for c in bench.rows} == set(recipes)
    assert len({c.key for c in bench.rows}) == len(bench.rows)
    for other in {"standard", "qat", "analog"} - set(recipes):
        with pytest.raises(NarsError, match="training"):
            cand(bench, BEST_C10, other)
    assert bench.objective == "accuracy" and bench.metric_names == ["accuracy", "accuracy_std"]
    assert bench.config()["target"] == target
    assert np.all(bench.cost == 0.0)


@pytest.mark.parametrize(("target", "training"), sorted(COLUMN))
def test_best_c10_cell_has_the_raw_value_of_the_mapped_column(analog, raw, target, training):
    assert naslib_to_arch(BEST_C10_NASLIB) == BEST_C10
    value, spread = measured(raw[BEST_C10_NASLIB], COLUMN[target, training])
    result = analog[target].evaluate(cand(analog[target], BEST_C10, training))
    assert result.ok
    assert result.metrics["accuracy"] == value
    assert result.metrics["accuracy_std"] == spread


@pytest.mark.parametrize(("target", "training"), [("analog_1d", "standard"), ("analog_1d", "analog"), ("int8", "qat")])
def test_whole_columns_match_the_raw_table(analog, raw, target, training):
    bench = analog[target]
    expected = {naslib_to_arch(key): measured(entry, COLUMN[target, training]) for key, entry in raw.items()}
    assert len(expected) == 15625
    rows = [i for i, c in enumerate(bench.rows) if c.recipe["training"] == training]
    assert len(rows) == 15625
    values, spreads = bench.values("accuracy"), bench.values("accuracy_std")
    for i in rows:
        value, spread = expected[bench.space.format_arch(bench.rows[i])]
        assert (values[i], spreads[i]) == (value, spread), bench.space.format_arch(bench.rows[i])


def test_random_cells_match_the_raw_table(analog, raw):
    keys = random.Random(5).sample(sorted(raw), 40)
    for key in keys:
        arch = naslib_to_arch(key)
        for (target, training), column in COLUMN.items():
            result = analog[target].evaluate(cand(analog[target], arch, training))
            assert result.metrics["accuracy"] == measured(raw[key], column)[0], (arch, target, training)


def test_unknown_target_lists_the_targets():
    with pytest.raises(ConfigError, match="benchmark 'nb201-analog' setting target must be one of") as info:
        load_analog(target="fp16")  # the options are checked by AnalogSettings, as on the command line
    for target in TARGETS:
        assert target in info.value.hint
    with pytest.raises(ConfigError, match="cifar10"):
        load_analog(dataset="cifar100")


def test_registry_builds_nb201_analog_with_options():
    bench = get_registry().create_benchmark("nb201-analog", target="int8")
    assert bench.config()["target"] == "int8"
    assert bench.space.param("training").choices == ("standard", "qat")
    default = get_registry().create_benchmark("nb201-analog")
    assert default.config()["target"] == "analog_1d"


def test_fp32_accuracy_ranks_like_the_nb201_table(analog, c10_csv):
    """An independent check of the cell mapping: fp32 accuracy agrees with NAS-Bench-201's 200-epoch table."""
    from scipy.stats import spearmanr

    reference = np.empty(15625)
    with open(c10_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            reference[int(row["nats_index"])] = float(row["test_acc_200ep"])
    bench = analog["fp32"]
    indices = bench.space.indices(bench.rows)
    rho = spearmanr(bench.values(), reference[indices]).statistic
    assert rho > 0.95, rho


# --------------------------------------------------------------------------- #
# csv: the real 200-epoch CIFAR-10 table
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def c10(c10_csv) -> TabularBenchmark:
    return load_csv(str(c10_csv))


def test_real_csv_table(c10, c10_csv):
    assert len(c10.rows) == 15625
    assert c10.objective == c10.report == "test_acc_200ep"  # the only metric, found without being named
    assert c10.metric_names == ["test_acc_200ep"]  # nats_index is an index, not a metric
    assert c10.optimum() == 94.3733
    assert c10.top_threshold(1 / 15625) == 94.3733
    result = c10.evaluate(c10.space.candidate(BEST_C10))
    assert result.metrics == {"test_acc_200ep": 94.3733} and result.cost == 0.0
    assert c10.config()["rows"] == 15625 and c10.config()["file"] == str(c10_csv.resolve())
    assert isinstance(c10.space, NB201Space) and c10.space.recipe_params == ()


def test_real_csv_rows_follow_the_file(c10, c10_csv):
    with open(c10_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    values = c10.values()
    for i in random.Random(0).sample(range(len(rows)), 200):
        assert c10.space.format_arch(c10.rows[i]) == rows[i]["arch"]
        assert values[i] == float(rows[i]["test_acc_200ep"])
        assert arch_string_to_index(rows[i]["arch"]) == int(rows[i]["nats_index"])


# --------------------------------------------------------------------------- #
# csv: small tables written here
# --------------------------------------------------------------------------- #

A = BEST_C10
B = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
C = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_recipe_columns_make_a_joint_benchmark(tmp_path):
    path = write(
        tmp_path,
        "arch,epochs,lr,acc\n"
        f"{A},200,0.1,94.0\n{A},12,0.1,80.5\n{A},200,0.01,93.0\n{B},200,0.1,10.0\n{C},12,0.01,55.0\n",
    )
    bench = load_csv(str(path), recipe="epochs, lr")
    epochs, lr = bench.space.recipe_params
    assert (epochs.name, epochs.choices) == ("epochs", (12, 200))
    assert (lr.name, lr.choices) == ("lr", (0.01, 0.1))
    assert bench.metric_names == ["acc"] and bench.objective == "acc"
    assert len(bench.rows) == 5
    get = bench.space.candidate
    assert bench.evaluate(get(A, {"epochs": 12, "lr": 0.1})).metrics == {"acc": 80.5}
    assert bench.evaluate(get(A, {"epochs": "200", "lr": "0.01"})).metrics == {"acc": 93.0}
    missing = bench.evaluate(get(B, {"epochs": 12, "lr": 0.1}))
    assert not missing.ok and "no entry" in missing.error
    with pytest.raises(NarsError, match="'lr'"):
        get(A, {"epochs": 12, "lr": 0.5})
    assert bench.optimum() == 94.0
    assert bench.config()["recipe_columns"] == ["epochs", "lr"]


def test_cost_column(tmp_path):
    path = write(tmp_path, f"arch,acc,gpu_s\n{A},94.0,3600\n{B},10.0,60.5\n")
    bench = load_csv(str(path), cost="gpu_s")
    assert bench.metric_names == ["acc"]
    assert bench.evaluate(bench.space.candidate(A)).cost == 3600.0
    assert bench.evaluate(bench.space.candidate(B)).cost == 60.5
    without = load_csv(str(path), objective="acc")
    assert without.metric_names == ["acc", "gpu_s"] and without.evaluate(without.space.candidate(A)).cost == 0.0
    bad = write(tmp_path, f"arch,acc,gpu_s\n{A},94.0,soon\n", "bad.csv")
    with pytest.raises(DataFileError, match="'gpu_s'"):
        load_csv(str(bad), cost="gpu_s")


def test_several_metrics_need_an_objective(tmp_path):
    path = write(tmp_path, f"id,arch,acc,loss,latency\n1,{A},94.0,0.2,5\n2,{B},10.0,2.3,1\n")
    with pytest.raises(ConfigError, match="several metric columns") as info:
        load_csv(str(path))
    assert "objective" in info.value.hint
    for name in ("acc", "loss", "latency"):
        assert name in str(info.value)
    assert "id" not in str(info.value).split("several metric columns")[1]
    bench = load_csv(str(path), objective="loss", report="acc")
    assert bench.objective == "loss" and bench.report == "acc"
    assert bench.metric_names == ["acc", "latency", "loss"]
    assert bench.evaluate(bench.space.candidate(B)).metrics == {"acc": 10.0, "loss": 2.3, "latency": 1.0}
    with pytest.raises(ConfigError, match="no metric 'speed'"):
        load_csv(str(path), objective="speed")
    via_registry = get_registry().create_benchmark(f"csv:{path}", objective="acc")
    assert via_registry.objective == "acc" and via_registry.optimum() == 94.0


def test_missing_values_and_empty_columns(tmp_path):
    path = write(tmp_path, f"arch,acc,notes\n{A},94.0,\n{B},,\n{C},NaN,\n")
    bench = load_csv(str(path))
    assert bench.objective == "acc" and bench.metric_names == ["acc"]  # the empty column is left out
    assert math.isnan(bench.evaluate(bench.space.candidate(B)).metrics["acc"])
    assert bench.optimum() == 94.0


def test_other_arch_column_name(tmp_path):
    path = write(tmp_path, f"cell,acc\n{A},94.0\n")
    bench = load_csv(str(path), arch_column="cell")
    assert bench.evaluate(bench.space.candidate(A)).metrics == {"acc": 94.0}
    with pytest.raises(DataFileError, match="no column 'arch'"):
        load_csv(str(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"arch,acc\n{A},94\n{B},x\n", "line 3, column 'acc': 'x' is not a number"),
        (f"arch,acc\n{A},94\n{B},1\n{A},93\n", "line 4: duplicate row .* \\(first on line 2\\)"),
        (f"arch,acc\n{A},94,1\n", "line 2 has 3 fields"),
        ("", "is empty"),
        (f"arch,acc\n{A},-inf\n", "infinite"),
        (f"arch,acc\n{A}x,94\n", "line 2: invalid NAS-Bench-201 architecture"),
    ],
)
def test_malformed_tables_are_data_file_errors(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(DataFileError, match=expected):
        load_csv(str(path))


def test_csv_path_errors(tmp_path):
    with pytest.raises(ConfigError, match="needs a path"):
        load_csv(None)
    with pytest.raises(DataFileError, match="does not exist"):
        load_csv(str(tmp_path / "absent.csv"))
    with pytest.raises(DataFileError, match="is not a file"):
        load_csv(str(tmp_path))
