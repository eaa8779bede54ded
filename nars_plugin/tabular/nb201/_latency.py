"""``nb201-latency``: NAS-Bench-201 CIFAR-10 accuracy with measured device latencies, for
hardware-aware search.

Objective: the CIFAR-10 200-epoch test accuracy of each cell (``test_acc_200ep``, from
``nb201/cifar10_test_acc_200ep.csv``). The option ``device`` (default ``pixel3``, one of the 27
settings of :data:`nars_plugin.spaces.nb201._latency.NB201_DEVICES`) picks the latency that becomes a metric
(``latency_ms``) and a free statistic of the space (``latency[<device>]``), so NARS pretrains its
predictor on it next to FLOPs and parameters. Constraints may name any device::

    nars search -b nb201-latency -B device=pixel3 -o nars --budget 100 -c 'latency[pixel3] <= 5' --out runs/x

Both tables are read from ``$NARS_DATA_DIR`` (default ``../shared/data``) at run time. A query
costs nothing (the table has no training times), so searches are budgeted in queries.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from ..._datafiles import data_file
from ...errors import ConfigError, DataFileError
from ...settings import setting
from ...spaces.nb201 import N_CELLS, NB201Space
from ...spaces.nb201._latency import check_devices, latency_metric
from ..base import TabularBenchmark

ACCURACY_FILE = "nb201/cifar10_test_acc_200ep.csv"
ACCURACY_COLUMN = "test_acc_200ep"
DEFAULT_DEVICE = "pixel3"


@dataclass(frozen=True)
class LatencyBenchmarkSettings:
    """Options of ``nb201-latency``."""

    device: str = setting(DEFAULT_DEVICE, "device whose measured latency is a metric and statistic (27, e.g. pixel3)")
    dataset: str = setting("cifar10", "data set (latency is measured for CIFAR-10 only)", choices=("cifar10",))


def load_accuracy(path: str | None = None) -> np.ndarray:
    """CIFAR-10 200-epoch test accuracy (%) of every cell, in NATS index order."""
    file = data_file(ACCURACY_FILE, "NAS-Bench-201 CIFAR-10 200-epoch accuracy", path)
    with open(file, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if "nats_index" not in header or ACCURACY_COLUMN not in header:
            raise DataFileError(f"{file} lacks nats_index or {ACCURACY_COLUMN}", f"its columns are {header}")
        pairs = [(int(r["nats_index"]), float(r[ACCURACY_COLUMN])) for r in reader]
    values = np.full(N_CELLS, np.nan)
    for index, value in pairs:
        values[index] = value
    if len(pairs) != N_CELLS or np.isnan(values).any():
        raise DataFileError(f"{file} does not hold all {N_CELLS} cells", "restore the original file")
    return values


def load_nb201_latency_benchmark(device: str = DEFAULT_DEVICE, dataset: str = "cifar10") -> TabularBenchmark:
    """The ``nb201-latency`` benchmark: CIFAR-10 accuracy, latency on ``device`` as metric and statistic."""
    if dataset != "cifar10":
        raise ConfigError(f"nb201-latency has CIFAR-10 data only, not {dataset!r}", "drop the dataset option")
    (device,) = check_devices([str(device)])
    space = NB201Space(dataset="cifar10", latency=device)
    rows = space.cells()
    accuracy = load_accuracy()
    latency = space.statistics(rows)[latency_metric(device)]
    return TabularBenchmark(
        name="nb201-latency",
        space=space,
        rows=rows,
        columns={ACCURACY_COLUMN: accuracy, "latency_ms": latency},
        objective=ACCURACY_COLUMN,
        description=f"NB201 CIFAR-10 200-epoch test accuracy, latency measured on {device}",
        info={"device": device, "accuracy_file": ACCURACY_FILE, "latency_file": "nb201/latency_ms.csv"},
    )
