"""Helpers for scripts that drive NASLib's ``Trainer`` themselves (NARS inside NASLib).

A search with NARS as a NASLib optimizer on one of our NB201 tables::

    from nars_naslib.trainer import limit_threads, report_of, trainer_config
    from nars_naslib.dataset_api import make_dataset_api
    from nars_naslib.optimizer import NARS            # imports NASLib, with the bridge's shims
    from naslib.defaults.trainer import Trainer
    from naslib.search_spaces import NasBench201SearchSpace
    from nars_plugin.plugins import get_registry

    limit_threads(1)
    bench = get_registry().create_benchmark("csv:../shared/data/nb201/cifar10_test_acc_200ep.csv")
    api = make_dataset_api(bench, "cifar10")
    config = trainer_config("runs/nars-in-naslib", epochs=100, seed=0)
    optimizer = NARS(config)
    optimizer.adapt_search_space(NasBench201SearchSpace(), dataset_api=api)
    trainer = Trainer(optimizer, config, lightweight_output=True)
    trainer.search()
    trainer.evaluate(dataset_api=api)   # NASLib's TEST_ACCURACY: the table's *objective* column
    print(report_of(optimizer, bench))  # the benchmark's report metric for the found cell
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nars_plugin.tabular.base import TabularBenchmark

from .dataset_api import graph_to_candidate, nb201_space


def limit_threads(threads: int = 1) -> None:
    """Limit torch's intra-op threads (NASLib's graphs and our predictor train tiny models; many
    threads only contend on a loaded machine: 30 NARS queries took 238 s with the default against
    53 s with one thread)."""
    import torch

    torch.set_num_threads(max(1, int(threads)))


def trainer_config(
    save: str | Path, epochs: int, seed: int = 0, dataset: str = "cifar10", optimizer: str = "nars", **search: Any
) -> Any:
    """NASLib's config node for ``Trainer(optimizer, config)``: ``search.epochs`` queries, ``search.seed``.

    It also makes ``save/search``, where ``Trainer.search()`` writes ``model_final.pth`` when it
    ends (without the folder NASLib fails there, after the whole search). ``search`` overrides
    NASLib's NB201 search defaults (:data:`.runner.SEARCH_DEFAULTS`).
    """
    from .runner import search_config

    config = search_config(optimizer, seed, epochs, dataset, save, search)
    (Path(save) / "search").mkdir(parents=True, exist_ok=True)
    return config


def predictor_evaluator_config(
    save: str | Path,
    train_sizes: Sequence[int] = (20, 50),
    test_size: int = 100,
    seed: int = 0,
    dataset: str = "cifar10",
) -> Any:
    """NASLib's config node for ``PredictorEvaluator(predictor, config)`` (what NASLib's
    ``predictor_config.yaml`` holds): ``train_sizes`` random training sets (one ``single`` experiment,
    or ``vary_train_size`` for several), each scored on one random test set of ``test_size`` cells.
    ``fidelity`` is NB201's 200 epochs (read only by NASLib's learning-curve predictors)."""
    from fvcore.common.config import CfgNode  # type: ignore[import-untyped]  # NASLib's config class

    sizes = [int(n) for n in train_sizes]
    return CfgNode(
        {
            "experiment_type": "single" if len(sizes) == 1 else "vary_train_size",
            "train_size_single": sizes[-1],
            "train_size_list": sizes,
            "test_size": int(test_size),
            "fidelity_single": 200,
            "fidelity_list": [200],
            "max_hpo_time": 0,
            "dataset": dataset,
            "uniform_random": True,
            "save": str(save),
            "seed": int(seed),
            "search": {"seed": int(seed)},
        },
        new_allowed=True,
    )


def report_of(optimizer: Any, benchmark: TabularBenchmark, recipe: dict[str, Any] | None = None) -> dict[str, Any]:
    """The found cell (``optimizer.get_final_architecture()``) with the benchmark's own metrics.

    NASLib's ``Trainer.evaluate()`` returns ``Metric.TEST_ACCURACY``, which NASLib reads from the
    validation field: on a table built by :func:`.dataset_api.make_dataset_api` that is the
    benchmark's *objective* column. This gives the *report* metric (e.g. the 200-epoch test
    accuracy) instead, looked up in our table.
    """
    cand = graph_to_candidate(optimizer.get_final_architecture(), nb201_space(benchmark), recipe)
    row = benchmark.row_of(cand)
    return {
        "arch": benchmark.space.format_arch(cand),
        "benchmark": benchmark.name,
        "objective": benchmark.objective,
        "objective_value": float(benchmark.values(benchmark.objective)[row]),
        "report_metric": benchmark.report,
        "report": float(benchmark.values(benchmark.report)[row]),
    }
