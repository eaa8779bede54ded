"""``nars compare``: every optimizer x every seed on one benchmark, with tables and a regret plot.

Each run is an ordinary resumable :class:`~nars_plugin.study.Study` with its journal in
``OUT/runs/<label>/seed<k>/``, so an interrupted comparison picks up where it stopped. Runs go
to worker processes (one torch thread each); results do not depend on the number of workers.

Modules: :mod:`.spec` (optimizer specs), :mod:`.tasks` (the typed task and outcome of one run),
:mod:`.runner` (worker processes, resuming; :func:`~.runner.create_search` has
:mod:`nars_plugin.assembly` build the search of one optimizer and seed),
:mod:`.aggregate` (statistics), :mod:`.references` (published numbers), :mod:`.report`
(Markdown, JSON, plot) and :mod:`.run` (:func:`compare`, which ties them together);
:mod:`.suite` and :mod:`.leaderboard` run several comparisons and rank the optimizers across them
(``nars suite``).

Layering: this package is above :mod:`nars_plugin.assembly` (which builds every search) and below
:mod:`nars_plugin.api`; it never imports ``api``. Names starting with ``_`` are internal to it.

Optimizer specs: ``NAME``, or ``LABEL=NAME(key=value;key=value)`` for a variant, e.g.
``nars-std=nars(fixed_recipe=training=standard)``.

Budgets: queries (``budget``), simulated seconds (``budget_seconds``: each query costs what the
benchmark says, e.g. its training time), or both (a run stops at the first limit). A seconds-only
budget is reported at 10%, 25%, 50% and 100% of it; like the study loop, a query asked before a
checkpoint counts at that checkpoint even when its cost runs past it.

Objective and report metric: a search maximises the benchmark's *objective*; the figure reported
for a run is the benchmark's *report* metric of the candidate the search returns (its best
objective). For ``nb201-paper``, the 200-epoch CIFAR-10 test accuracy of the architecture with
the best 12-epoch validation accuracy found. Any tabular benchmark can name its report metric
(``report=`` option of ``csv``, ``nb201-paper``, ``nb201-schedule``, ``nats``). Where the two
differ, the table maximum of the report metric may be out of reach of a search on the
objective; the *reachable optimum* is the report metric of the candidate with the best objective
(of the feasible part) of the table.

Outputs (values at full precision):

``summary.json``
    ``{label: {budget: {"mean", "std", "p_top"}}}`` for every optimizer: the report metric's
    best-so-far at each budget point (the budget as a string); ``p_top`` is the share of seeds in
    the top 0.1% of the (feasible) table by the report metric. Beside the labels, one more key,
    ``"@objective"`` (no label can be it), holds the objective's side::

        {"metric": objective, "report_metric": report metric,
         "optimum": best objective of the table, "top_0.1%_threshold": of the objective,
         "report_table_maximum": best report metric of the table,
         "reachable_optimum": report metric of the best-objective candidate,
         "results": {label: {budget: {"mean", "std", "p_top"}}},    # objective; p_top by objective
         "at_optimum": {label: {budget: seeds whose best objective is the optimum}},
         "seeds": {label: number of seeds}}

    It is written when the two metrics are the same too (then ``results`` repeats the report
    tables). An optimizer whose runs do not record the objective (another library's runner, when
    the metrics differ) has None in ``results`` and ``at_optimum``; values a benchmark cannot
    give (no table) are None.
``details.json``
    Configuration (``seeds``: the count, or counts per label with ``"*"`` the default), the
    seeds each optimizer ran (``seeds_per_optimizer``; ``seeds`` is the largest), the report
    metric's optimum, median and top-0.1% threshold, run times, queries per run, the mean
    best-so-far curves of the report metric (``mean_curves``) and, where the objective is another
    metric, of the objective (``objective_mean_curves``; None for an optimizer whose runs do not
    record it), the objective's scale (``objective_reference``: ``metric``, ``optimum``, ``median``
    and the report metric's ``reachable_optimum``; what a suite's normalised regret is measured
    against, :mod:`.leaderboard`) and the reference rows.
``summary.md``
    The tables (with the objective's table and the reachable optimum where the metrics differ,
    and the seeds at the optimum at the last budget), with published reference rows where they
    apply, clearly marked as not our runs; decimals adapt so that different means print differently.
``regret.png``
    Mean regret of the report metric against its table maximum.
"""

from __future__ import annotations

from .aggregate import SECONDS_MARKS, Targets, checkpoints, checkpoints_seconds, summarise
from .references import REFERENCE_NOTE, REFERENCES, reference_key
from .report import OBJECTIVE_KEY, decimals, details_json, markdown, plot_regret, summary_json, write_reports
from .run import compare
from .runner import cached_benchmark, create_search, finished_run, run_all, run_one
from .spec import OptimizerSpec, Seeds, parse_seeds, seed_counts, split_optimizers
from .tasks import RunOutcome, RunTask

__all__ = [
    "OBJECTIVE_KEY",
    "REFERENCES",
    "REFERENCE_NOTE",
    "SECONDS_MARKS",
    "OptimizerSpec",
    "RunOutcome",
    "RunTask",
    "Seeds",
    "Targets",
    "cached_benchmark",
    "checkpoints",
    "checkpoints_seconds",
    "compare",
    "create_search",
    "decimals",
    "details_json",
    "finished_run",
    "markdown",
    "parse_seeds",
    "plot_regret",
    "reference_key",
    "run_all",
    "run_one",
    "seed_counts",
    "split_optimizers",
    "summarise",
    "summary_json",
    "write_reports",
]
