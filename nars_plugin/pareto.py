"""Accuracy-cost Pareto fronts and their 2-D hypervolume.

A point is ``(cost, accuracy)``: lower cost (latency, FLOPs) and higher accuracy are better. The
hypervolume of a set of points with respect to a reference point ``(cost_ref, accuracy_ref)`` is
the area of the region that the points dominate and that dominates the reference: points with
cost above ``cost_ref`` or accuracy below ``accuracy_ref`` add nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ConfigError


def pareto_front(cost: Sequence[float], accuracy: Sequence[float]) -> np.ndarray:
    """The non-dominated points, an (m, 2) array of (cost, accuracy) sorted by increasing cost.

    A point is dominated when another one has lower-or-equal cost and higher-or-equal accuracy and
    differs in one of them; duplicates are kept once.
    """
    c = np.asarray(cost, dtype=float).ravel()
    a = np.asarray(accuracy, dtype=float).ravel()
    if c.shape != a.shape:
        raise ConfigError(f"pareto_front needs as many costs as accuracies, got {c.size} and {a.size}")
    ok = np.isfinite(c) & np.isfinite(a)
    c, a = c[ok], a[ok]
    order = np.lexsort((-a, c))  # by cost, best accuracy first among equal costs
    front: list[tuple[float, float]] = []
    best = -np.inf
    for i in order:
        if a[i] > best:
            front.append((float(c[i]), float(a[i])))
            best = a[i]
    return np.array(front, dtype=float).reshape(-1, 2)


def hypervolume(cost: Sequence[float], accuracy: Sequence[float], reference: tuple[float, float]) -> float:
    """Area dominated by the points and bounded by ``reference = (cost_ref, accuracy_ref)``."""
    cost_ref, acc_ref = float(reference[0]), float(reference[1])
    front = pareto_front(cost, accuracy)
    inside = front[(front[:, 0] <= cost_ref) & (front[:, 1] >= acc_ref)]
    if not len(inside):
        return 0.0
    # between consecutive front costs the best accuracy reached so far is the last point's
    right = np.append(inside[1:, 0], cost_ref)
    return float(np.sum((right - inside[:, 0]) * (inside[:, 1] - acc_ref)))
