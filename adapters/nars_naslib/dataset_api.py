"""A NASLib NAS-Bench-201 ``dataset_api`` built from one of our tabular benchmarks.

NASLib's ``NasBench201SearchSpace.query(metric, dataset, dataset_api=...)`` reads
``dataset_api["nb201_data"][arch_string][key][field][epoch]``, with ``key`` ``"cifar10-valid"`` for
``dataset="cifar10"`` (NASLib's mapping) and the data set's name otherwise. What each NASLib metric
reads, and what it holds in the api built here (on both NASLib's Develop and master branches):

===================  ===============================  ==============================================
NASLib metric        field read                       value in this api
===================  ===============================  ==============================================
VAL_ACCURACY         ``eval_acc1es[-1]``              the benchmark's **objective** column
TEST_ACCURACY        ``eval_acc1es[-1]`` (the same!)  the same objective value: NASLib aliases
                                                      "test" to the validation field; this bridge
                                                      never reports it as a test accuracy
TRAIN_ACCURACY       ``train_acc1es[-1]``             NaN: not in our tables
TRAIN/VAL/TEST_LOSS  ``train_losses``/``eval_losses`` NaN: not in our tables
TRAIN_TIME, HP       ``cost_info``                    the benchmark's cost (GPU-seconds; 0 if none)
RAW                  the whole entry                  the entry
===================  ===============================  ==============================================

``dataset_api["nars"]`` records the benchmark, the objective and report columns and this mapping,
so a result file says what its numbers are. Results we report (``nars compare``) are looked up in
our own table under the benchmark's *report* metric, never through NASLib's TEST_ACCURACY.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nars_plugin.errors import ConfigError, DataFileError
from nars_plugin.space import Candidate
from nars_plugin.spaces.nb201 import N_CELLS, NB201Space
from nars_plugin.tabular.base import TabularBenchmark

#: NASLib's data-set key for each data set name it accepts.
NASLIB_DATASET_KEYS: dict[str, str] = {
    "cifar10": "cifar10-valid",
    "cifar100": "cifar100",
    "ImageNet16-120": "ImageNet16-120",
}
NOT_IN_TABLE = math.nan


def naslib_dataset_key(dataset: str) -> str:
    """The key NASLib's NB201 query reads for ``dataset`` (``cifar10`` -> ``cifar10-valid``)."""
    if dataset not in NASLIB_DATASET_KEYS:
        raise ConfigError(
            f"NASLib's NAS-Bench-201 has no data set {dataset!r}", f"use one of {list(NASLIB_DATASET_KEYS)}"
        )
    return NASLIB_DATASET_KEYS[dataset]


def _dataset_mismatch(benchmark: str, measured: str, dataset: str) -> ConfigError:
    """The error for a NASLib ``dataset`` other than the ``measured`` one of ``benchmark``'s numbers."""
    return ConfigError(
        f"benchmark {benchmark!r} holds {measured} numbers; NASLib's dataset {dataset!r} would file them "
        f"as {dataset} results",
        f"set dataset: {measured} (NASLib config) / pass dataset={measured!r}, or use a {dataset} table",
    )


def check_dataset(benchmark: TabularBenchmark, dataset: str) -> None:
    """Refuse a NASLib ``dataset`` other than the one the benchmark's numbers were measured on."""
    naslib_dataset_key(dataset)
    measured = getattr(benchmark.space, "dataset", None)
    if measured is not None and measured != dataset:
        raise _dataset_mismatch(benchmark.name, measured, dataset)


def check_api_dataset(dataset_api: Mapping[str, Any], dataset: str) -> None:
    """:func:`check_dataset` for a ``dataset_api`` made by :func:`make_dataset_api` (others pass):
    what an optimizer's ``adapt_search_space`` checks before a search starts."""
    made = dataset_api.get("nars") if isinstance(dataset_api, Mapping) else None
    if not isinstance(made, Mapping) or "dataset" not in made:
        return
    naslib_dataset_key(dataset)
    if made["dataset"] != dataset:
        raise _dataset_mismatch(made["benchmark"], made["dataset"], dataset)


class _CellEntry(dict[str, Any]):
    """One cell's entry of the api: NASLib reads ``entry[dataset_key]``; another data set's key is
    the clear error of :func:`check_dataset` (NASLib's own optimizers check nothing before querying),
    not a bare ``KeyError`` deep in NASLib."""

    benchmark: str
    measured: str

    def __missing__(self, key: str) -> Any:
        asked = {v: k for k, v in NASLIB_DATASET_KEYS.items()}.get(key, key)
        raise _dataset_mismatch(self.benchmark, self.measured, asked)


def check_fidelity(fidelity: Any) -> None:
    """Refuse a NASLib ``search.fidelity`` (an epoch index) that a table of final values cannot answer.

    Our tables hold one value per cell (the objective after full training), so only ``-1`` (the
    last epoch) reads it; NASLib's ``runners/nas/discrete_config.yaml`` has ``fidelity: 108``
    (a NAS-Bench-101 epoch count), which would end in an ``IndexError`` inside NASLib.
    """
    if fidelity is None or int(fidelity) in (-1, 0):
        return
    raise ConfigError(
        f"search.fidelity {fidelity}: a tabular benchmark holds one value per cell (after full training), "
        f"not a learning curve to read epoch {fidelity} of",
        "set search.fidelity: -1 (the table's value), or drop --benchmark to query NASLib's own NB201 data",
    )


def nb201_space(benchmark: TabularBenchmark) -> NB201Space:
    """The benchmark's space, which must be NAS-Bench-201's (NASLib's NasBench201SearchSpace)."""
    space = benchmark.space
    if not isinstance(space, NB201Space):
        raise ConfigError(
            f"benchmark {benchmark.name!r} is on space {space.name!r}; NASLib's NasBench201SearchSpace needs nb201",
            "use an nb201 benchmark (csv:..., nats:..., nb201-analog)",
        )
    return space


def nb201_rows(benchmark: TabularBenchmark, recipe: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Architecture string -> table row, for the benchmark's rows with ``recipe`` (all 15,625 cells).

    A joint benchmark (architecture x recipe) needs ``recipe`` to pick one recipe: NASLib's NB201
    space has no recipe.
    """
    space = benchmark.space
    if space.name != "nb201" and not isinstance(space, NB201Space):
        raise ConfigError(
            f"benchmark {benchmark.name!r} is on space {space.name!r}; NASLib's NasBench201SearchSpace needs nb201",
            "use an nb201 benchmark (csv:..., nats:..., nb201-analog)",
        )
    recipe = dict(recipe or {})
    names = [p.name for p in space.recipe_params]
    if sorted(recipe) != sorted(names):
        choices = {p.name: list(getattr(p, "choices", ())) for p in space.recipe_params}
        raise ConfigError(
            f"benchmark {benchmark.name!r} has recipe parameters {names}, got recipe {recipe}",
            f"NASLib's NB201 space has no recipe: fix one value of each (choices: {choices})",
        )
    rows: dict[str, int] = {}
    for i, cand in enumerate(benchmark.rows):
        if all(cand.recipe.get(k) == v for k, v in recipe.items()):
            rows[space.format_arch(cand)] = i
    if len(rows) != N_CELLS:
        raise DataFileError(
            f"benchmark {benchmark.name!r} has {len(rows)} of the {N_CELLS} NAS-Bench-201 cells for recipe {recipe}",
            "NASLib's optimizers may sample any cell: use a table with every cell",
        )
    return rows


def make_dataset_api(
    benchmark: TabularBenchmark, dataset: str = "cifar10", recipe: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """NASLib's NB201 ``dataset_api`` holding exactly ``benchmark``'s numbers (see the module table).

    ``dataset`` must be the data set the benchmark measured (its space's ``dataset``); a query for
    another data set (a NASLib config's ``dataset``) is the same clear error, not a ``KeyError``.
    """
    check_dataset(benchmark, dataset)
    key = naslib_dataset_key(dataset)
    objective = benchmark.values(benchmark.objective)
    entries: dict[str, Any] = {}
    for arch, row in nb201_rows(benchmark, recipe).items():
        entry = _CellEntry(
            {
                key: {
                    "eval_acc1es": [float(objective[row])],
                    "train_acc1es": [NOT_IN_TABLE],
                    "eval_losses": [NOT_IN_TABLE],
                    "train_losses": [NOT_IN_TABLE],
                    "cost_info": {"train_time": float(benchmark.cost[row])},
                }
            }
        )
        entry.benchmark, entry.measured = benchmark.name, dataset
        entries[arch] = entry
    return {
        "nb201_data": entries,
        "nars": {
            "benchmark": benchmark.name,
            "dataset": dataset,
            "dataset_key": key,
            "recipe": dict(recipe or {}),
            "eval_acc1es": f"benchmark objective {benchmark.objective!r} (NASLib VAL_ACCURACY and TEST_ACCURACY)",
            "train_acc1es": "not in the table (NaN)",
            "losses": "not in the table (NaN)",
            "cost_info.train_time": "benchmark cost, GPU-seconds",
            "report_metric": benchmark.report,
        },
    }


def naslib_tuple(graph: Any) -> tuple[int, ...]:
    """The NASLib op-index tuple of a NASLib NB201 graph."""
    return tuple(int(i) for i in graph.get_hash())


def graph_to_candidate(graph: Any, space: NB201Space, recipe: Mapping[str, Any] | None = None) -> Candidate:
    """Our candidate for a NASLib NB201 graph."""
    return space.from_naslib(naslib_tuple(graph), recipe)


def candidate_to_graph(cand: Candidate, space: NB201Space, template: Any) -> Any:
    """A new NASLib graph (a clone of the empty ``template``) set to ``cand``'s cell."""
    graph = template.clone()
    graph.set_op_indices(list(space.to_naslib(cand)))
    return graph
