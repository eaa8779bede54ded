"""``graph-cell``: a small deterministic tabular benchmark over :class:`GraphCellSpace`.

Every valid encoding is a row, isomorphic ones included, as in real graph-NAS tables. The
accuracy is a deterministic function of the *canonical* cell and the learning rate, so every
encoding of one cell reads the same values; invalid points have no row (querying one is a failed
evaluation, the way a table of trained networks has nothing for a cell that is no network).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from nars_plugin.space import Candidate
from nars_plugin.tabular import TabularBenchmark

from .space import INTERMEDIATE, Cell, GraphCellSpace

#: What each live operation adds to the accuracy.
OP_GAIN = {"conv3x3": 2.5, "conv1x1": 1.5, "maxpool": 0.4}


def accuracy(space: GraphCellSpace, cand: Candidate) -> float:
    """Synthetic test accuracy: live operations and depth help, the learning rate is best at 0.1,
    plus a fixed pseudo-random offset per canonical cell (a hash of its key, no generator state)."""
    form = space.canonical(cand)
    cell = Cell.of(form)
    live = cell.live()
    value = 85.0 + sum(OP_GAIN[cell.ops[k]] for k in INTERMEDIATE if k in live) + 0.8 * cell.depth()
    value -= 3.0 * math.log(form.recipe["lr"] / 0.1) ** 2
    digest = hashlib.sha256(form.arch_key.encode("utf-8")).digest()
    return round(value + (digest[0] / 255.0 - 0.5), 4)


def graph_cell_benchmark() -> TabularBenchmark:
    """Every valid encoding x learning rate, with accuracy, parameters and a simulated cost."""
    space = GraphCellSpace()
    rows = space.enumerate()  # valid points only, every encoding
    acc = np.array([accuracy(space, c) for c in rows])
    params = space.statistics(rows)["params"]
    cost = 60.0 + params / 64.0  # GPU-seconds: larger cells train longer
    return TabularBenchmark(
        "graph-cell",
        space,
        rows,
        {"acc": acc, "params": params},
        objective="acc",
        cost=cost,
        description="graph example plugin: synthetic table over every valid 4-node cell encoding",
        info={"plugin": "nars-graphspace"},
    )
