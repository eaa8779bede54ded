"""The FBNetV3 predictor on both routes, same cells: NASLib's side against ours.

``nars_naslib.predictor.NARSPredictor`` (fitted and queried on NASLib NB201 graphs, as NASLib's
``PredictorEvaluator`` does) against the registered ``fbnetv3`` (``nars predictor-eval --predictors
fbnetv3``), seed 0, trained on 32 random cells of the CIFAR-10 table, scored on 500 others. Needs
NASLib (``nars naslib install``); run from the repository root::

    OMP_NUM_THREADS=1 ../naslib-venv/bin/python benchmarks/naslib_predictor_parity.py
"""

from __future__ import annotations

import time

import numpy as np
import torch
from nars_naslib.predictor import NARSPredictor
from naslib.search_spaces import NasBench201SearchSpace

from nars_plugin.plugins import get_registry
from nars_plugin.predictors import create_predictor
from nars_plugin.predictors.evaluation import rank_metrics

TABLE = "csv:../shared/data/nb201/cifar10_test_acc_200ep.csv"


def main() -> None:
    torch.set_num_threads(1)
    bench = get_registry().create_benchmark(TABLE)
    y = bench.values()
    perm = np.random.default_rng(0).permutation(len(y))
    test, train = perm[:500], perm[500:532]

    def graph(i: int) -> NasBench201SearchSpace:
        g = NasBench201SearchSpace()
        g.set_op_indices(list(bench.space.to_naslib(bench.rows[i])))
        return g

    started = time.perf_counter()
    bridge = NARSPredictor(seed=0)
    bridge.fit([graph(i) for i in train], y[train])
    on_graphs = bridge.query([graph(i) for i in test])
    bridge_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours = create_predictor("fbnetv3", bench.space, 0).fit([bench.rows[i] for i in train], y[train])
    on_rows = ours.predict([bench.rows[i] for i in test])
    ours_seconds = time.perf_counter() - started
    for name, members, predicted, seconds in (
        ("NASLib route (NARSPredictor)", bridge.settings["n_models"], on_graphs, bridge_seconds),
        ("our route (fbnetv3)", ours.config.n_models, on_rows, ours_seconds),
    ):
        metrics = {k: round(v, 4) for k, v in rank_metrics(y[test], predicted).items()}
        print(f"{name}: n_models {members}, {metrics}, {seconds:.1f} s")
    print("identical predictions:", bool(np.array_equal(on_graphs, on_rows)))


if __name__ == "__main__":
    main()
