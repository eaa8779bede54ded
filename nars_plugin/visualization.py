"""Plots of one search, under the names Optuna's ``optuna.visualization.matplotlib`` uses.

Each function takes a :class:`~nars_plugin.study.Study`, a search read back by
:func:`~nars_plugin.load_study`, or the search's folder, and returns the matplotlib Axes (or the
Figure, for several panels). ``path=`` also saves the figure as a PNG (written atomically; the
figure is then closed, the returned object still holds it)::

    from nars_plugin import visualization

    visualization.plot_optimization_history("runs/demo", path="runs/demo/history.png")
    visualization.plot_pareto_front(study, "flops")        # objective against FLOPs, feasible front marked

* :func:`plot_optimization_history`: the objective of every trial and the best so far;
* :func:`plot_pareto_front`: the objective against a resource metric (a constrained one by
  default), the constraint's bound, and the Pareto front of the trials that meet every constraint;
* :func:`plot_slice`: the objective against each parameter (architecture choices and recipe values);
* :func:`plot_intermediate_values`: the learning curves, where the evaluator returns them.

``nars plot DIR`` writes all that apply for one search folder. matplotlib is the ``plot`` extra.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._safe_files import atomic_write_figure
from .api import StudyRecord, load_study
from .constraints import Constraint, parse_constraints
from .errors import ConfigError
from .pareto import pareto_front
from .space import Categorical, Space, Value
from .study import COMPLETE, PRUNED, Study, Trial, require_extra, trial_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .api import StudyRecord

    #: What the plotting functions take: a study, a search read back, or its folder.
    Searched = Study | StudyRecord | str | os.PathLike[str]

#: Resource metrics tried, in this order, for a Pareto front when no constraint names one.
RESOURCE_METRICS = ("latency", "latency_ms", "flops", "params")

__all__ = [
    "RESOURCE_METRICS",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_pareto_front",
    "plot_slice",
    "resource_metric",
]


@dataclass
class _Search:
    """What the plots read of a study or of a search read back."""

    source: Study | StudyRecord
    trials: list[Trial]
    objective: str
    space: Space | None
    constraints: list[Constraint]
    title: str

    def complete(self) -> list[Trial]:
        """The successful full-fidelity trials (the ones a best and a front are taken from)."""
        return [t for t in self.trials if self.source.trial_state(t) == COMPLETE]


def _search(source: Searched) -> _Search:
    if isinstance(source, (str, os.PathLike)):
        source = load_study(source)
    if not isinstance(source, (Study, StudyRecord)):
        raise ConfigError(
            f"cannot plot {type(source).__name__}",
            "pass a Study, a StudyRecord (nars_plugin.load_study) or a search folder",
        )
    if not source.objective_name:
        raise ConfigError("the search names no objective metric", "plot a folder written by nars search / create_study")
    optimizer, bench, seed = source.describe()
    constraints = parse_constraints(source.identity().get("constraints") or [])
    title = f"{optimizer} on {bench}, seed {seed}"
    return _Search(source, source.trials, source.objective_name, source.space, constraints, title)


def _pyplot() -> Any:
    return require_extra("matplotlib.pyplot", "plot", "plotting")


def _axes(ax: Axes | None, size: tuple[float, float] = (6.4, 4.2)) -> Axes:
    if ax is not None:
        return ax
    _, new = _pyplot().subplots(figsize=size)
    return new  # type: ignore[no-any-return]


def _finish(
    ax: Axes, xlabel: str, ylabel: str, title: str, path: str | os.PathLike[str] | None, legend: bool = True
) -> None:
    """Label, grid and legend (where it has entries) of a plot; saved to ``path`` when one is given."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(loc="best", fontsize=8)
    if path is not None:
        atomic_write_figure(path, ax.get_figure())


def _no_trials(search: _Search, what: str) -> ConfigError:
    return ConfigError(f"{search.title}: no {what} to plot", "plot a search with at least one successful evaluation")


def plot_optimization_history(
    study: Searched, *, path: str | os.PathLike[str] | None = None, ax: Axes | None = None
) -> Axes:
    """The objective of every trial against its number, and the best value so far (a step line).

    Trials stopped early (reduced fidelity) are drawn apart, failed ones as crosses along the bottom.
    """
    search = _search(study)
    if not search.trials:
        raise _no_trials(search, "trials")
    ax = _axes(ax)
    states = [search.source.trial_state(t) for t in search.trials]
    numbers = np.array([t.number for t in search.trials])
    values = np.array([trial_value(t, search.objective) for t in search.trials])
    full = np.array([s == COMPLETE for s in states])
    pruned = np.array([s == PRUNED for s in states])
    ax.scatter(numbers[full], values[full], s=16, color="tab:blue", label=f"{search.objective} of a trial")
    if pruned.any():
        ax.scatter(
            numbers[pruned], values[pruned], s=16, marker="^", color="tab:gray", label="stopped early (fewer epochs)"
        )
    best = np.fmax.accumulate(np.where(full, values, -np.inf))
    shown = np.isfinite(best)
    ax.step(numbers[shown], best[shown], where="post", color="tab:red", label="best so far")
    failed = ~np.isfinite(values)
    if failed.any():
        ax.plot(
            numbers[failed],
            np.full(failed.sum(), np.nanmin(values) if np.isfinite(values).any() else 0.0),
            "x",
            color="black",
            clip_on=False,
            label=f"failed ({int(failed.sum())})",
        )
    _finish(ax, "trial", search.objective, f"Optimization history: {search.title}", path)
    return ax


def resource_metric(study: Searched) -> str | None:
    """The metric a Pareto front is drawn against by default: the first constrained one, else the
    first of :data:`RESOURCE_METRICS` the results or the space's statistics hold (None: none)."""
    search = _search(study)
    if search.constraints:
        return search.constraints[0].metric
    measured = set().union(*(t.result.metrics for t in search.trials if t.result is not None))
    free = set(search.space.statistic_names) if search.space is not None else set()
    return next((m for m in RESOURCE_METRICS if m in measured or m in free), None)


def _metric_values(search: _Search, trials: Sequence[Trial], metric: str) -> np.ndarray:
    """``metric`` of each trial: from its result where measured, else the space's free statistics."""
    measured = [t.result.metrics.get(metric) if t.result is not None else None for t in trials]
    if all(v is not None for v in measured):
        return np.asarray(measured, dtype=float)
    space = search.space
    stats = space.statistics_for([t.candidate for t in trials], [metric]) if space is not None else {}
    if metric not in stats:
        have = sorted(set().union(*(t.result.metrics for t in trials if t.result is not None)))
        free = ", ".join(space.statistic_names) if space is not None else "none: the space is not registered here"
        raise ConfigError(
            f"{search.title}: neither the results nor the space give {metric!r}",
            f"choose a measured metric ({', '.join(have)}) or a statistic of the space ({free})",
        )
    return np.array([float(v) if v is not None else s for v, s in zip(measured, stats[metric])])


def plot_pareto_front(
    study: Searched,
    metric: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The objective against a resource metric (lower is better: FLOPs, params, latency) for every
    successful full-fidelity trial, with the Pareto front of those that meet every constraint.

    ``metric`` defaults to :func:`resource_metric` (the first constrained metric). A constraint on
    ``metric`` is drawn as its bound with the excluded side shaded; trials that break any constraint
    are grey crosses. The values come from the results where measured, else from the space's free
    statistics (``Space.statistics_for``).
    """
    search = _search(study)
    metric = metric or resource_metric(search.source)
    if metric is None:
        raise ConfigError(
            f"{search.title}: no resource metric to plot the objective against",
            "name one: plot_pareto_front(study, 'flops') / nars plot DIR --metric NAME",
        )
    trials = search.complete()
    if not trials:
        raise _no_trials(search, "successful full-fidelity trials")
    x = _metric_values(search, trials, metric)
    y = np.array([trial_value(t, search.objective) for t in trials])
    feasible = np.ones(len(trials), dtype=bool)
    for constraint in search.constraints:
        values = x if constraint.metric == metric else _metric_values(search, trials, constraint.metric)
        feasible &= constraint.holds(values)
    ax = _axes(ax)
    label = "trial meeting the constraints" if search.constraints else "trial"
    ax.scatter(x[feasible], y[feasible], s=16, color="tab:blue", label=label)
    if (~feasible).any():
        ax.scatter(x[~feasible], y[~feasible], s=18, marker="x", color="tab:gray", label="trial breaking a constraint")
    if feasible.any():
        front = pareto_front(x[feasible].tolist(), y[feasible].tolist())
        ax.step(front[:, 0], front[:, 1], where="post", color="tab:orange", linewidth=1.5)
        ax.scatter(
            front[:, 0], front[:, 1], s=36, color="tab:orange", edgecolor="black", zorder=3, label="Pareto front"
        )
        best = int(np.argmax(np.where(feasible, y, -np.inf)))
        ax.scatter([x[best]], [y[best]], s=160, marker="*", color="tab:red", edgecolor="black", zorder=4, label="best")
    if np.all(x > 0) and x.max() > 100 * x.min():  # sizes spread over decades (FC-Net's parameters)
        ax.set_xscale("log")
    for constraint in (c for c in search.constraints if c.metric == metric):
        ax.axvline(
            constraint.bound,
            color="tab:red",
            linestyle="--",
            linewidth=1,
            label=f"{metric} {constraint.op} {constraint.bound:g}",
        )
        low, high = ax.get_xlim()
        if constraint.op.startswith("<"):
            ax.axvspan(constraint.bound, max(high, constraint.bound), color="tab:red", alpha=0.06)
        else:
            ax.axvspan(min(low, constraint.bound), constraint.bound, color="tab:red", alpha=0.06)
        ax.set_xlim(low, high)
    if np.nanmax(np.abs(x)) >= 1e4:  # FLOPs, parameters: 50M rather than 0.5 x 1e8
        ax.xaxis.set_major_formatter(require_extra("matplotlib.ticker", "plot", "plotting").EngFormatter())
    _finish(ax, metric, search.objective, f"Pareto front: {search.title}", path)
    return ax


def _is_number(value: Value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def plot_slice(
    study: Searched, params: Sequence[str] | None = None, *, path: str | os.PathLike[str] | None = None
) -> Figure:
    """The objective against each parameter, one panel per parameter (architecture, then recipe),
    coloured by trial number. A categorical parameter gets one column per value (a per-op view of an
    NB201 edge); ``params`` picks the panels (default: every parameter that takes two values or more)."""
    search = _search(study)
    trials = search.complete()
    if not trials:
        raise _no_trials(search, "successful full-fidelity trials")
    values: dict[str, list[Value]] = {}
    for trial in trials:
        for name, value in [*trial.candidate.arch.items(), *trial.candidate.recipe.items()]:
            values.setdefault(name, []).append(value)
    unknown = sorted(set(params or ()) - set(values))
    if unknown:
        raise ConfigError(f"{search.title}: no parameter {unknown}", f"parameters: {', '.join(values)}")
    names = list(params) if params else [n for n, v in values.items() if len(set(map(repr, v))) > 1]
    if not names:
        raise ConfigError(f"{search.title}: every trial has the same parameters", "plot a search that tried several")
    choices = _choices(search.space)
    plt = _pyplot()
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    fig, grid = plt.subplots(
        rows, columns, figsize=(3.2 * columns, 3.1 * rows), squeeze=False, sharey=True, layout="constrained"
    )
    y = np.array([trial_value(t, search.objective) for t in trials])
    number = np.array([t.number for t in trials])
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(trials))
    points = None
    for ax, name in zip(grid.flat, names):
        column = values[name]
        if all(_is_number(v) for v in column) and len(set(column)) > 6:
            x = np.asarray(column, dtype=float)
        else:
            order = [c for c in choices.get(name, ()) if c in column] or sorted(set(column), key=repr)
            order += [v for v in dict.fromkeys(column) if v not in order]
            x = np.array([order.index(v) for v in column]) + jitter
            ax.set_xticks(range(len(order)))
            ax.set_xticklabels([str(v) for v in order], rotation=30, ha="right", fontsize=7)
            ax.set_xlim(-0.6, len(order) - 0.4)
        points = ax.scatter(x, y, c=number, cmap="viridis", s=12, vmin=number.min(), vmax=number.max())
        ax.set_title(name, fontsize=9)
        ax.grid(True, alpha=0.3)
    for ax in grid[:, 0]:
        ax.set_ylabel(search.objective)
    for ax in list(grid.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"Slice plot: {search.title}", fontsize=10)
    if points is not None:
        fig.colorbar(points, ax=grid.ravel().tolist(), label="trial", shrink=0.8)
    if path is not None:
        atomic_write_figure(path, fig, own_layout=True)
    return fig  # type: ignore[no-any-return]


def _choices(space: Space | None) -> dict[str, tuple[Value, ...]]:
    """Each categorical parameter's values in the order the space declares them."""
    if space is None:
        return {}
    return {p.name: p.choices for p in space.params if isinstance(p, Categorical)}


def plot_intermediate_values(
    study: Searched, *, path: str | os.PathLike[str] | None = None, ax: Axes | None = None
) -> Axes:
    """The learning curve (objective after each epoch) of every trial whose result has one; curves of
    trials stopped early end at their fidelity."""
    search = _search(study)
    curved = [t for t in search.trials if t.result is not None and t.result.curve]
    if not curved:
        raise ConfigError(
            f"{search.title}: no trial has a learning curve",
            "intermediate values need an evaluator that returns curves (nats:PATH, a training evaluator)",
        )
    ax = _axes(ax)
    counts = {COMPLETE: 0, PRUNED: 0}
    for trial in curved:
        state = search.source.trial_state(trial)
        curve = np.asarray(trial.result.curve, dtype=float)  # type: ignore[union-attr]
        early = state == PRUNED
        counts[PRUNED if early else COMPLETE] += 1
        ax.plot(
            np.arange(1, len(curve) + 1),
            curve,
            color="tab:gray" if early else "tab:blue",
            alpha=0.8 if early else 0.6,
            linewidth=0.8,
            zorder=3 if early else 2,  # the short curves on top of the full ones
        )
    handles = [
        _pyplot().Line2D([], [], color="tab:blue", label=f"full schedule ({counts[COMPLETE]})"),
        _pyplot().Line2D([], [], color="tab:gray", label=f"stopped early ({counts[PRUNED]})"),
    ]
    ax.legend(handles=[h for h, n in zip(handles, counts.values()) if n], loc="best", fontsize=8)
    ax.xaxis.set_major_locator(require_extra("matplotlib.ticker", "plot", "plotting").MaxNLocator(integer=True))
    _finish(ax, "epoch", search.objective, f"Intermediate values: {search.title}", path, legend=False)
    return ax


def plot_all(study: Searched, out: str | os.PathLike[str], metric: str | None = None) -> dict[str, Path | str]:
    """Write every plot that applies to one search into ``out`` (what ``nars plot`` does).

    Returns file name -> the path written, or why that plot does not apply: ``pareto.png`` needs a
    resource metric (``metric``, else :func:`resource_metric`) and ``intermediate.png`` learning
    curves; ``history.png`` and ``slice.png`` are always drawn. A ``metric`` given that cannot be
    plotted is an error, raised before any file is written.
    """
    search = _search(study)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    source = search.source
    plots: list[tuple[str, Callable[[Path], object]]] = [
        ("pareto.png", lambda path: plot_pareto_front(source, metric, path=path)),
        ("history.png", lambda path: plot_optimization_history(source, path=path)),
        ("slice.png", lambda path: plot_slice(source, path=path)),
        ("intermediate.png", lambda path: plot_intermediate_values(source, path=path)),
    ]
    done: dict[str, Path | str] = {}
    for name, draw in plots:
        try:
            draw(folder / name)
            done[name] = folder / name
        except ConfigError as exc:
            if name == "history.png" or (name == "pareto.png" and metric):
                raise
            done[name] = str(exc).removeprefix(f"{search.title}: ")
    return done
