"""``nb201-analog``: AnalogNAS-Bench as a joint architecture x training-recipe benchmark.

The PyPI package ``analog-nasbench`` ships, for all 15,625 NAS-Bench-201 cells
on CIFAR-10, the test accuracy of each cell under several training methods and
deployment targets (AnalogNAS-Bench, arXiv 2506.18495). Here the **recipe** is
the training method and the user picks the **deployment target**; each
(recipe, target) pair maps to the column that measured it:

================  ===========================  ==========================================
target            recipe ``training``          table column
================  ===========================  ==========================================
``fp32``          ``standard``                 ``baseline_accuracy`` (digital, full precision)
``int8``          ``standard``                 ``ptq_accuracy`` (post-training int8 quantization)
``int8``          ``qat``                      ``qat_accuracy`` (quantization-aware training)
``analog_0s``     ``standard``                 ``noisy_accuracy`` (digitally trained weights on
                                               the simulated noisy PCM crossbar, no drift)
``analog_0s``     ``analog``                   ``analog_accuracy`` (hardware-aware training,
                                               same crossbar)
``analog_60s``    ``standard`` / ``analog``    ``baseline_drift_60`` / ``analog_drift_60``
``analog_1h``     ``standard`` / ``analog``    ``baseline_drift_3600`` / ``analog_drift_3600``
``analog_1d``     ``standard`` / ``analog``    ``baseline_drift_86400`` / ``analog_drift_86400``
``analog_30d``    ``standard`` / ``analog``    ``baseline_drift_2592000`` / ``analog_drift_2592000``
================  ===========================  ==========================================

Combinations the table lacks (e.g. quantization-aware training deployed on
analog hardware, or hardware-aware training evaluated in fp32) are not offered:
the recipe parameter of each target lists only the measured methods. Drift
columns are means over repeated noisy inferences; their spread is returned as
``accuracy_std``. The table has no training times, so a query's cost is 0 and
searches on it are budgeted in queries.

The data file is a pickle inside the installed package, read with a restricted
unpickler that builds only plain records (the package's own loader imports
``pkg_resources``, which recent setuptools no longer ship).
"""

from __future__ import annotations

import importlib.util
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataFileError
from ...settings import resolve, setting
from ...space import Categorical
from ...spaces.nb201 import NB201Space
from ...spaces.nb201._proxies import zero_cost_setting
from ..base import TabularBenchmark

#: target -> {training recipe: column of the AnalogNAS-Bench table}
TARGETS: dict[str, dict[str, str]] = {
    "fp32": {"standard": "baseline_accuracy"},
    "int8": {"standard": "ptq_accuracy", "qat": "qat_accuracy"},
    "analog_0s": {"standard": "noisy_accuracy", "analog": "analog_accuracy"},
    "analog_60s": {"standard": "baseline_drift_60", "analog": "analog_drift_60"},
    "analog_1h": {"standard": "baseline_drift_3600", "analog": "analog_drift_3600"},
    "analog_1d": {"standard": "baseline_drift_86400", "analog": "analog_drift_86400"},
    "analog_30d": {"standard": "baseline_drift_2592000", "analog": "analog_drift_2592000"},
}
DEFAULT_TARGET = "analog_1d"
TARGET_HELP = {
    "fp32": "digital full-precision inference",
    "int8": "int8 digital inference",
    "analog_0s": "analog PCM crossbar, right after programming",
    "analog_60s": "analog crossbar after 60 s of conductance drift",
    "analog_1h": "analog crossbar after 1 hour of drift",
    "analog_1d": "analog crossbar after 1 day of drift",
    "analog_30d": "analog crossbar after 30 days of drift",
}


@dataclass(frozen=True)
class AnalogSettings:
    """Options of ``nb201-analog``."""

    target: str = setting(
        DEFAULT_TARGET,
        "deployment target: fp32 or int8 digital inference, analog_* an analog crossbar 0 s to 30 days after "
        "programming (TARGET_HELP in nars_plugin/tabular/nb201/_analog.py)",
        choices=tuple(TARGETS),
    )
    dataset: str = setting("cifar10", "data set (the table has CIFAR-10 only)", choices=("cifar10",))
    zero_cost: str | None = zero_cost_setting()


class _Record:
    """Stand-in for the package's record classes: only stores attributes."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "analognasbench.data" and name in ("Architecture", "DriftMeasurement"):
            return _Record
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the AnalogNAS-Bench data file")


def data_file() -> Path:
    """Path of ``data.anb`` inside the installed ``analog-nasbench`` package."""
    spec = importlib.util.find_spec("analognasbench")
    if spec is None or spec.origin is None:
        raise DataFileError(
            "the analog-nasbench package is not installed",
            "pip install analog-nasbench (a dependency of nars-plugin)",
        )
    path = Path(spec.origin).parent / "data.anb"
    if not path.is_file():
        raise DataFileError(f"{path} is missing from the analog-nasbench package", "reinstall analog-nasbench")
    return path


@lru_cache(maxsize=2)
def load_table(path: str | None = None) -> dict[str, Any]:
    """Read the table: NASLib op-index tuples and one (mean, std) array pair per column."""
    file = Path(path) if path else data_file()
    try:
        with open(file, "rb") as fh:
            raw = _RestrictedUnpickler(fh).load()
        keys = list(raw)
        columns: dict[str, np.ndarray] = {}
        stds: dict[str, np.ndarray] = {}
        records = [vars(raw[k]) for k in keys]
        for column in sorted({c for mapping in TARGETS.values() for c in mapping.values()}):
            # a measurement record (value, uncertainty) or a plain number
            values = [vars(v) if isinstance(v, _Record) else {"value": v} for v in (r[column] for r in records)]
            columns[column] = np.array([v["value"] for v in values], dtype=float)
            stds[column] = np.array([v.get("uncertainty", 0.0) for v in values], dtype=float)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DataFileError(
            f"cannot read the AnalogNAS-Bench table {file}: {type(exc).__name__}: {exc}",
            "reinstall analog-nasbench (pip install --force-reinstall analog-nasbench)",
        ) from None
    if len(keys) != 15625:
        raise DataFileError(f"{file} holds {len(keys)} cells, expected 15625", "reinstall analog-nasbench")
    return {"keys": keys, "columns": columns, "stds": stds, "file": str(file)}


def load_analog(settings: AnalogSettings | None = None, **options: Any) -> TabularBenchmark:
    """The ``nb201-analog`` benchmark for one deployment target (see :data:`TARGETS`); its options
    are :class:`AnalogSettings` (``settings``, or by name: ``load_analog(target="analog_1d")``)."""
    config = resolve(AnalogSettings, settings, options, "benchmark 'nb201-analog'", "nars benchmarks nb201-analog")
    target, zero_cost = config.target, config.zero_cost
    recipes = TARGETS[target]
    table = load_table()
    space = NB201Space(dataset="cifar10", recipe_params=[Categorical("training", tuple(recipes))], zero_cost=zero_cost)
    rows, accuracy, spread = [], [], []
    for recipe, column in recipes.items():
        rows += space.from_naslib_many(table["keys"], {"training": recipe})
        accuracy.append(table["columns"][column])
        spread.append(table["stds"][column])
    return TabularBenchmark(
        name="nb201-analog",
        space=space,
        rows=rows,
        columns={"accuracy": np.concatenate(accuracy), "accuracy_std": np.concatenate(spread)},
        objective="accuracy",
        description=f"AnalogNAS-Bench CIFAR-10, target {target}: {TARGET_HELP[target]}",
        info={"target": target, "columns": recipes},
    )
