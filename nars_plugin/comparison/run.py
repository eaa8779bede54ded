"""``compare``: plan the runs, run them, aggregate and write the reports."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._safe_files import output_folder
from ..assembly import EVALUATOR_TARGET, check_budget_runs_out, check_optimizer_settings
from ..budget import Budget
from ..errors import ConfigError
from .aggregate import cell_op_shares, summarise
from .references import reference_key
from .report import write_reports
from .runner import cached_benchmark, not_runnable, plan_runs, run_all
from .spec import OptimizerSpec, Seeds, seed_counts, seeds_text


def compare(
    benchmark: str,
    optimizers: Sequence[OptimizerSpec],
    seeds: Seeds,
    budget: int | None,
    out: str | os.PathLike[str],
    bench_options: dict[str, Any] | None = None,
    constraints: Sequence[str] = (),
    workers: int | None = None,
    reference: str | None = "auto",
    progress: bool | None = None,
    budget_seconds: float | None = None,
    executor: str = "local",
    address: str | None = None,
    desc: str | None = None,
    first_seed: int = 0,
) -> dict[str, Any]:
    """Run the comparison and write ``summary.json``, ``details.json``, ``summary.md`` and ``regret.png``
    (``best.png`` where the target has no known optimum: an evaluator that trains).

    ``benchmark``: a registered benchmark, or an evaluator with its space
    (:func:`~nars_plugin.assembly.evaluator_target`; its ``workers`` default to 0 here: every run
    trains its candidates in its own process, and the runs go side by side).
    ``budget`` counts queries, ``budget_seconds`` simulated seconds (give one or both); an evaluator
    that trains counts the measured seconds of its training runs.
    ``executor``/``address``: where the runs go (:func:`~nars_plugin.comparison.runner.run_all`).
    ``seeds``: a count for every optimizer, or counts per label (:data:`~.spec.Seeds`), from seed
    ``first_seed`` on (more seeds of a finished comparison run elsewhere, then joined to it by
    ``nars suite --leaderboard-only --merge``).
    ``desc``: what the progress display calls it (default ``compare BENCHMARK``); the optimizers'
    labels and seed counts follow.
    Returns the summary: ``results`` (the report metric's tables of ``summary.json``),
    ``objective`` (its ``"@objective"`` block) plus the details.
    """
    counts = seed_counts(optimizers, seeds)
    plan = Budget(queries=budget, seconds=budget_seconds)  # a clear error for a missing or non-positive budget
    for spec in optimizers:  # a bad setting fails here, not in every worker
        check_optimizer_settings(spec.name, spec.settings)
    bench_options = dict(bench_options or {})
    if benchmark.startswith(EVALUATOR_TARGET):
        bench_options["options"] = {"workers": 0, **dict(bench_options.get("options") or {})}
    bench = cached_benchmark(benchmark, bench_options)
    not_run = not_runnable(optimizers, bench)
    optimizers = [spec for spec in optimizers if spec.label not in not_run]
    if not optimizers:
        raise ConfigError(f"no optimizer of the comparison can run here: {not_run}", "add one that can")
    check_budget_runs_out(plan, bench)
    bench.space.check_satisfiable(constraints)
    out = output_folder(out)
    if first_seed < 0:
        raise ConfigError(f"the first seed is {first_seed}", "give a seed of 0 or more")
    tasks = plan_runs(
        benchmark, bench_options, optimizers, counts, budget, budget_seconds, constraints, out, first_seed
    )
    shown = benchmark if not benchmark.startswith("csv:") else "csv:" + Path(benchmark).name
    if benchmark.startswith(EVALUATOR_TARGET):
        shown = f"{benchmark.removeprefix(EVALUATOR_TARGET)} on {bench.space.name}"
    name = desc or f"compare {shown}"
    labels = ", ".join(spec.label for spec in optimizers)
    runs = run_all(tasks, workers, progress, executor, address, f"{name} ({labels} x {seeds_text(counts)})")
    summary = summarise(
        bench, optimizers, runs, budget, constraints, reference_key(benchmark, bench, reference), budget_seconds
    )
    summary["not_run"] = not_run
    shares = cell_op_shares(bench.space, optimizers, runs)
    if shares is not None:
        summary["cell_ops"] = shares
    summary["config"] = {
        "benchmark": benchmark,
        "bench_options": bench_options,
        "optimizers": [s.__dict__ for s in optimizers],
        "seeds": seeds if isinstance(seeds, int) else dict(seeds),
        "first_seed": first_seed,
        "budget": budget,
        "budget_seconds": budget_seconds,
        "constraints": list(constraints),
    }
    write_reports(summary, out)
    return summary
