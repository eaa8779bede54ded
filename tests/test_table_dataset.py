"""The free statistics follow the data set a table names (issue 27): a ``csv`` table's ``dataset``
column or file name sets the space's ``dataset`` option (FLOPs and parameters, which NARS pretrains
its predictor on), a ``dataset=`` option overrides it, and the run identity records it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nars_plugin import create_study
from nars_plugin.errors import DataFileError, JournalError
from nars_plugin.spaces.nb201 import flops_params, index_to_arch_string, op_matrix
from nars_plugin.storage import JOURNAL_NAME
from nars_plugin.tabular.csv_table import load_csv

CELLS = range(0, 15625, 250)


def write_table(path: Path, dataset_column: list[str] | None = None) -> Path:
    """A small NB201 table (63 cells, one metric); with ``dataset_column``, a ``dataset`` column too."""
    header = "arch,acc" + (",dataset" if dataset_column else "")
    rows = [
        f"{index_to_arch_string(i)},{50 + (i % 97) / 2}"
        + (f",{dataset_column[n % len(dataset_column)]}" if dataset_column else "")
        for n, i in enumerate(CELLS)
    ]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.mark.parametrize(
    ("name", "dataset"),
    [
        ("cifar100_test_acc.csv", "cifar100"),
        ("ImageNet16-120-valid.csv", "ImageNet16-120"),
        ("nb201.imagenet16-120.csv", "ImageNet16-120"),
        ("cifar10_test_acc_200ep.csv", "cifar10"),  # cifar10 is not read inside cifar100, nor the reverse
        ("table.csv", "cifar10"),  # names none: the space's default
        ("cifar10_vs_cifar100.csv", "cifar10"),  # names two: the default, nothing guessed
        ("mycifar100.csv", "cifar10"),  # not a word of its own
    ],
)
def test_the_file_name_sets_the_free_statistics(tmp_path, name, dataset):
    bench = load_csv(str(write_table(tmp_path / name)))
    assert bench.space.dataset == dataset
    assert bench.space.options()["dataset"] == dataset
    stats = bench.space.statistics(bench.rows)
    expected = flops_params(op_matrix(bench.rows), dataset)
    assert np.array_equal(stats["params"], expected["params"]) and np.array_equal(stats["flops"], expected["flops"])
    if dataset != "cifar10":  # the statistics a CIFAR-10 default would have given differ
        assert not np.array_equal(stats["params"], flops_params(op_matrix(bench.rows), "cifar10")["params"])
        assert f"free statistics of {dataset} (from its file name)" in bench.description


def test_a_dataset_column_names_it_and_is_no_metric(tmp_path):
    bench = load_csv(str(write_table(tmp_path / "table.csv", ["cifar100"])))
    assert bench.space.dataset == "cifar100" and bench.metric_names == ["acc"]
    assert "(from its 'dataset' column)" in bench.description
    # the column wins over the file name
    assert load_csv(str(write_table(tmp_path / "ImageNet16-120.csv", ["cifar100"]))).space.dataset == "cifar100"


def test_a_dataset_column_that_names_several_or_an_unknown_one_is_refused(tmp_path):
    with pytest.raises(DataFileError, match=r"several data sets in its 'dataset' column: \['cifar10', 'cifar100'\]"):
        load_csv(str(write_table(tmp_path / "mixed.csv", ["cifar10", "cifar100"])))
    with pytest.raises(DataFileError, match="names 'cifar10-valid', which the space does not know") as info:
        load_csv(str(write_table(tmp_path / "valid.csv", ["cifar10-valid"])))
    assert "dataset=NAME" in info.value.hint and "cifar100" in info.value.hint


def test_the_user_overrides_what_the_table_names(tmp_path):
    named = write_table(tmp_path / "cifar100_test.csv")
    assert load_csv(str(named), dataset="ImageNet16-120").space.dataset == "ImageNet16-120"
    broken = write_table(tmp_path / "broken.csv", ["cifar10-valid"])
    bench = load_csv(str(broken), dataset="cifar10")  # the option wins, so the column is not read
    assert bench.space.dataset == "cifar10" and bench.metric_names == ["acc"]
    ignored = write_table(tmp_path / "cifar100_ignored.csv", ["cifar10-valid"])
    assert load_csv(str(ignored), ignore=("dataset",)).space.dataset == "cifar100"  # ignored: the file name


def test_the_run_identity_records_the_tables_data_set(tmp_path):
    """A search on a CIFAR-100 table records cifar100 statistics, and a journal written with CIFAR-10's
    (what the default was before) is not resumed under the new default."""
    table = str(write_table(tmp_path / "cifar100_test.csv"))
    out = tmp_path / "run"
    create_study(load_csv(table), "rs", budget=4, seed=0, storage=out, progress=False).optimize()
    header = json.loads((out / JOURNAL_NAME).read_text().splitlines()[0])
    assert header["config"]["space"]["options"]["dataset"] == "cifar100"
    old = tmp_path / "old"
    create_study(load_csv(table, dataset="cifar10"), "rs", budget=4, seed=0, storage=old, progress=False).optimize()
    with pytest.raises(JournalError, match="dataset"):
        create_study(load_csv(table), "rs", budget=4, seed=0, storage=old, progress=False).optimize()


def test_a_journal_that_does_not_record_space_options_keeps_the_statistics_it_was_run_with(tmp_path):
    """Written before space options were recorded, a search on a CIFAR-100 table used CIFAR-10's
    statistics (the default then): it is not taken for a search under the new default."""
    from test_run_identity import _as_written_before_space_options

    table = str(write_table(tmp_path / "cifar100_test.csv"))
    assert load_csv(table).legacy_space_options["dataset"] == "cifar10"
    assert load_csv(str(write_table(tmp_path / "cifar10_test.csv"))).legacy_space_options is None
    old = tmp_path / "old"
    create_study(load_csv(table, dataset="cifar10"), "rs", budget=4, seed=0, storage=old, progress=False).optimize()
    _as_written_before_space_options(old)
    with pytest.raises(JournalError, match="dataset"):
        create_study(load_csv(table), "rs", budget=4, seed=0, storage=old, progress=False).optimize()
