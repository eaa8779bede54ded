"""Measured inference latencies of NAS-Bench-201 cells, as constraint metrics and free statistics.

``../shared/data/nb201/latency_ms.csv`` (under ``$NARS_DATA_DIR``) holds the latency in
milliseconds of all 15,625 cells on 27 device settings (:data:`NB201_DEVICES`: GPUs at batch
1/32/256, server CPUs, phones, an FPGA, Eyeriss and a Raspberry Pi 4; sources in the README beside
the file). A cell's latency is a property of its architecture alone, so it is a *free statistic*:
a table lookup, no training. Spaces name it ``latency[<device>]``, e.g. the constraint
``latency[pixel3] <= 5``.

The table is read lazily, once per process, and only when a latency is asked for.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..._datafiles import data_file
from ...errors import ConfigError, DataFileError, UnknownNameError

#: The table's file, relative to the data folder.
NB201_LATENCY_FILE = "nb201/latency_ms.csv"
#: The 27 device settings of the NB201 latency table, in column order.
NB201_DEVICES: tuple[str, ...] = (
    "1080ti_1",
    "1080ti_256",
    "1080ti_32",
    "2080ti_1",
    "2080ti_256",
    "2080ti_32",
    "essential_ph_1",
    "eyeriss",
    "fpga",
    "gold_6226",
    "gold_6240",
    "pixel2",
    "pixel3",
    "raspi4",
    "samsung_a50",
    "samsung_s7",
    "silver_4114",
    "silver_4210r",
    "titan_rtx_1",
    "titan_rtx_256",
    "titan_rtx_32",
    "titanx_1",
    "titanx_256",
    "titanx_32",
    "titanxp_1",
    "titanxp_256",
    "titanxp_32",
)
#: Why other NB201 data sets have no latency here.
CIFAR10_ONLY_HINT = "the latency table measured CIFAR-10 networks (32x32 input, 10 classes); use dataset=cifar10"
_METRIC_RE = re.compile(r"^latency\[(?P<device>[^\]]*)\]$")


def latency_metric(device: str) -> str:
    """The statistic name of a device's latency, ``latency[<device>]``."""
    return f"latency[{device}]"


def device_of(metric: str) -> str | None:
    """The device of a ``latency[<device>]`` metric name, or None for any other name."""
    match = _METRIC_RE.match(metric)
    return match["device"] if match else None


def check_devices(devices: Iterable[str], known: Sequence[str] = NB201_DEVICES) -> list[str]:
    """Validate device names; an unknown one raises :class:`UnknownNameError` listing the known ones."""
    out = []
    for device in devices:
        if device not in known:
            raise UnknownNameError(
                f"unknown latency device {device!r}",
                f"measured devices ({len(known)}): {', '.join(known)}",
            )
        out.append(device)
    return out


def parse_devices(option: str | Sequence[str] | bool | None) -> list[str]:
    """``"pixel3"``, ``"pixel3,fpga"``, ``"all"`` or a list -> validated device names (None, False: none)."""
    if option is None or option is False or option == "":
        return []
    if option is True:  # ``latency=true`` on the command line: which devices is not said
        raise ConfigError("latency=true names no device", "name the devices: latency=pixel3,fpga or latency=all")
    text = option.split(",") if isinstance(option, str) else [str(s) for s in option]
    items = [s.strip() for s in text if s.strip()]
    if items == ["all"]:
        return list(NB201_DEVICES)
    return check_devices(items)


def load_nb201_latency(path: str | Path | None = None) -> np.ndarray:
    """The (15,625, 27) latency matrix in ms, rows in NATS index order, columns :data:`NB201_DEVICES`.

    ``path`` defaults to ``$NARS_DATA_DIR/nb201/latency_ms.csv``; a missing or malformed file
    raises :class:`DataFileError` naming it. Read once per file and process.
    """
    return _read_latency(str(data_file(NB201_LATENCY_FILE, "NAS-Bench-201 latency table", path).resolve()))


@lru_cache(maxsize=4)
def _read_latency(file: str) -> np.ndarray:
    try:
        with open(file, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"cannot read {file}: {exc}", "check the file (a CSV with a header row)") from None
    missing = [d for d in NB201_DEVICES if d not in header]
    if "nats_index" not in header or missing:
        raise DataFileError(
            f"{file} lacks column(s) {(['nats_index'] if 'nats_index' not in header else []) + missing}",
            f"expected nats_index, arch and the 27 device columns {list(NB201_DEVICES)}",
        )
    index_col = header.index("nats_index")
    cols = [header.index(d) for d in NB201_DEVICES]
    try:
        index = np.array([int(r[index_col]) for r in rows])
        values = np.array([[float(r[c]) for c in cols] for r in rows])
    except (ValueError, IndexError) as exc:
        raise DataFileError(f"{file} holds a malformed row: {exc}", "every row needs an index and 27 numbers") from None
    if len(index) != 15625 or not np.array_equal(np.sort(index), np.arange(15625)):
        raise DataFileError(f"{file} does not hold exactly the 15,625 NB201 cells", "restore the original file")
    matrix = np.empty_like(values)
    matrix[index] = values
    matrix.flags.writeable = False
    return matrix


def nb201_latency(indices: np.ndarray, devices: Sequence[str], path: str | Path | None = None) -> dict[str, np.ndarray]:
    """``latency[<device>]`` -> latencies (ms) of the cells with the given NATS indices."""
    devices = check_devices(devices)
    table = load_nb201_latency(path)
    rows = np.asarray(indices, dtype=np.int64)
    return {latency_metric(d): table[rows, NB201_DEVICES.index(d)] for d in devices}
