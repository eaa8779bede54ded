"""``nars compare``: specs, the summary files, determinism over worker counts, resuming, errors.

Runs use the embedded ``nb201-analog`` table (no data download) with small budgets; NARS
runs with a small predictor so the tests check the plumbing, not search quality.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from nars_plugin.comparison import (
    OBJECTIVE_KEY,
    OptimizerSpec,
    checkpoints,
    compare,
    decimals,
    markdown,
    reference_key,
    split_optimizers,
    summarise,
    summary_json,
)
from nars_plugin.errors import ConfigError, UnknownNameError

SMALL_NARS = 'nars(predictor={"n_models": 2, "hidden": 32, "embed": 16, "head_steps": 20, "finetune_steps": 20})'


def test_spec_parsing():
    assert OptimizerSpec.parse("rea") == OptimizerSpec("rea", "rea", {})
    spec = OptimizerSpec.parse("nars-std=nars(fixed_recipe=training=standard;batch=4)")
    assert (spec.label, spec.name) == ("nars-std", "nars")
    assert spec.settings == {"batch": 4} and spec.fixed_recipe == {"training": "standard"}  # the run's, apart
    with pytest.raises(ConfigError, match="(?i)key=value"):
        OptimizerSpec.parse("nars(batch)")
    with pytest.raises(ConfigError, match="cannot parse"):
        OptimizerSpec.parse("a b c")
    parts = split_optimizers("rs, " + SMALL_NARS + ",x=rea(population=5)")
    assert [p.label for p in parts] == ["rs", "nars", "x"]
    assert parts[1].settings["predictor"].startswith("{")


def test_checkpoints():
    assert checkpoints(100) == [10, 25, 50, 100]
    assert checkpoints(12) == [10, 12]
    assert checkpoints(300) == [10, 25, 50, 100, 250, 300]
    assert checkpoints(5) == [5]


@pytest.fixture(scope="module")
def small_comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    specs = split_optimizers(f"rs,rea,{SMALL_NARS}")
    summary = compare("nb201-analog", specs, seeds=2, budget=12, out=out, workers=1, progress=False)
    return out, specs, summary


def test_summary_files(small_comparison):
    out, _, summary = small_comparison
    table = json.loads((out / "summary.json").read_text())
    objective = table.pop(OBJECTIVE_KEY)
    assert list(table) == ["rs", "rea", "nars"]
    # one metric here: the objective's block repeats the report tables and adds the seeds at the optimum
    assert objective["metric"] == objective["report_metric"] == summary["metric"]
    assert objective["results"] == table
    assert objective["reachable_optimum"] == objective["report_table_maximum"] == summary["optimum"]
    assert objective["seeds"] == {"rs": 2, "rea": 2, "nars": 2}
    for label, per_budget in table.items():
        finals = [
            json.loads((out / "runs" / label / f"seed{k}" / "summary.json").read_text())["best"]["report"]
            for k in range(2)
        ]
        assert objective["at_optimum"][label]["12"] == sum(v == summary["optimum"] for v in finals)
        assert list(per_budget) == ["10", "12"]
        for stats in per_budget.values():
            assert set(stats) == {"mean", "std", "p_top"}
            assert 10 <= stats["mean"] <= summary["optimum"] and stats["std"] >= 0 and 0 <= stats["p_top"] <= 1
        assert per_budget["12"]["mean"] >= per_budget["10"]["mean"], f"{label}: best-so-far cannot fall"
    details = json.loads((out / "details.json").read_text())
    assert details["config"]["seeds"] == 2 and details["config"]["budget"] == 12
    assert set(details["seconds_per_run"]) == {"rs", "rea", "nars"}
    assert len(details["mean_curves"]["rea"]) == 12
    md = (out / "summary.md").read_text()
    assert "| nars |" in md and "12 queries" in md and "published" not in md
    assert (out / "regret.png").stat().st_size > 5000
    assert len(list((out / "runs").glob("*/seed*/journal.jsonl"))) == 6


def test_rerun_replays_every_run_and_is_independent_of_workers(small_comparison, tmp_path):
    out, specs, first = small_comparison
    again = compare("nb201-analog", specs, seeds=2, budget=12, out=out, workers=1, progress=False)
    assert again["results"] == first["results"]
    fresh = compare("nb201-analog", specs[:2], seeds=2, budget=12, out=tmp_path, workers=1, progress=False)
    for label in ("rs", "rea"):
        assert fresh["results"][label] == first["results"][label], "1 worker and 2 workers must agree"


def test_reference_rows_for_the_cifar10_table(c10_csv, tmp_path):
    from nars_plugin.comparison import cached_benchmark

    spec = f"csv:{c10_csv}"
    assert reference_key(spec, cached_benchmark(spec, {}), "auto") == "nb201-c10"
    assert reference_key("nb201-analog", cached_benchmark("nb201-analog", {}), "auto") is None
    with pytest.raises(ConfigError, match="unknown reference"):
        reference_key(spec, cached_benchmark(spec, {}), "imagenet")
    summary = compare(spec, split_optimizers("rs"), seeds=1, budget=10, out=tmp_path, workers=1, progress=False)
    md = (tmp_path / "summary.md").read_text()
    assert summary["reference"]["key"] == "nb201-c10"
    assert "REA *(published)* | 93.92 ± 0.30" in md and "not our runs" in md


def test_bad_comparisons(tmp_path):
    with pytest.raises(UnknownNameError, match="nope"):
        compare("nb201-analog", split_optimizers("nope"), seeds=1, budget=5, out=tmp_path)
    with pytest.raises(ConfigError, match="seeds"):
        compare("nb201-analog", split_optimizers("rs"), seeds=0, budget=5, out=tmp_path)
    assert not (tmp_path / "summary.json").exists()


def test_a_spec_can_fix_the_recipe(tmp_path):
    """``rs-std=rs(fixed_recipe=training=standard)`` searches architectures under that recipe only
    (the benchmark script's architecture-only rows depend on it)."""
    compare(
        "nb201-analog",
        split_optimizers("rs,rs-std=rs(fixed_recipe=training=standard)"),
        seeds=1,
        budget=12,
        out=tmp_path,
        bench_options={"target": "analog_1d"},
        progress=False,
    )

    def recipes(label):
        journal = (tmp_path / "runs" / label / "seed0" / "journal.jsonl").read_text().splitlines()
        return {json.loads(line)["candidate"]["recipe"]["training"] for line in journal if '"type": "eval"' in line}

    assert recipes("rs-std") == {"standard"}
    assert recipes("rs") == {"standard", "analog"}, "without fixed_recipe both training methods are drawn"


def test_cli_compare(cli, tmp_path):
    code, out, err = cli(
        ["compare", "--optimizers", "rs,rea", "--seeds", "2", "--budget", "10", "--out", tmp_path, "--no-progress"]
    )
    assert code == 0, err
    assert "| rea |" in out and (tmp_path / "summary.json").is_file()
    code, _, err = cli(["compare", "--optimizers", "rs,bogus", "--seeds", "1", "--budget", "5", "--out", tmp_path])
    assert code == 2 and "bogus" in err and "Traceback" not in err


def test_constrained_comparison_measures_against_the_feasible_part(tmp_path):
    """Under constraints the optimum and the top-0.1% threshold (p_top) are those of the feasible cells."""
    from nars_plugin.plugins import get_registry

    bench = get_registry().create_benchmark("nb201-analog", target="fp32")
    limit = "flops <= 50M"
    summary = compare(
        "nb201-analog",
        split_optimizers("rs"),
        seeds=2,
        budget=5,
        out=tmp_path,
        constraints=[limit],
        bench_options={"target": "fp32"},
        workers=1,
        progress=False,
    )
    feasible = bench.values()[bench.space.feasible(bench.rows, [limit])]
    k = max(1, int(np.ceil(0.001 * len(feasible))))
    assert summary["optimum"] == pytest.approx(feasible.max())
    assert feasible.max() < bench.values().max(), "the limit should exclude the unconstrained optimum"
    assert summary["top_0.1%_threshold"] == pytest.approx(np.sort(feasible)[::-1][k - 1])
    assert "top 0.1% of the feasible candidates" in (tmp_path / "summary.md").read_text()


# --------------------------------------------------------------------------- #
# objective and report metric
# --------------------------------------------------------------------------- #

#: Searched on the 12-epoch CIFAR-10 test accuracy, reported on the 200-epoch one; the limit keeps the
#: 729 cells without a convolution (3 ops on 6 edges), four of which tie on the best 12-epoch accuracy.
OBJECTIVE, REPORT, LIMIT = "test_acc_12ep", "test_acc_200ep", "flops <= 16M"
TWO_METRICS = {"objective": OBJECTIVE, "report": REPORT}


@pytest.fixture(scope="module")
def two_metric_csv(c10_csv, tmp_path_factory):
    """The NB201 CIFAR-10 table with three metrics of the real data: 12-epoch CIFAR-10 test accuracy,
    12-epoch CIFAR-100 validation accuracy and 200-epoch CIFAR-10 test accuracy."""
    short = c10_csv.parent / "acc_12ep.csv"
    if not short.is_file():
        pytest.skip(f"{short} is absent (set NARS_DATA_DIR)")
    with open(short, newline="") as fh:
        first = list(csv.DictReader(fh))
    with open(c10_csv, newline="") as fh:
        full = {r["arch"]: r["test_acc_200ep"] for r in csv.DictReader(fh)}
    path = tmp_path_factory.mktemp("table") / "two_metrics.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arch", OBJECTIVE, "c100_valid_acc_12ep", REPORT])
        for row in first:
            writer.writerow([row["arch"], row["c10_test_acc_12ep"], row["c100_valid_acc_12ep"], full[row["arch"]]])
    return path


def _table(path, objective=OBJECTIVE, feasible=lambda arch: True):
    """arch -> (objective, report) of the rows ``feasible`` keeps, read with the csv module."""
    with open(path, newline="") as fh:
        return {r["arch"]: (float(r[objective]), float(r[REPORT])) for r in csv.DictReader(fh) if feasible(r["arch"])}


def _no_convolution(arch):
    return "conv" not in arch


def _arch_string(arch):
    """The NB201 string of a journal's ``edge_i_j`` dict (node i's inputs from nodes 0..i-1)."""
    return "+".join("|" + "|".join(f"{arch[f'edge_{i}_{j}']}~{j}" for j in range(i)) + "|" for i in (1, 2, 3))


@pytest.fixture(scope="module")
def two_metric_comparison(two_metric_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    summary = compare(
        f"csv:{two_metric_csv}",
        split_optimizers("rs,rea,ls"),
        seeds=4,
        budget=50,
        out=out,
        bench_options=TWO_METRICS,
        constraints=[LIMIT],
        workers=1,
        progress=False,
    )
    return out, summary


def test_objective_and_report_are_both_reported(two_metric_csv, two_metric_comparison):
    """summary.json keeps the report metric per optimizer and budget; ``@objective`` holds the objective's
    statistics, the reachable optimum and the seeds at it, all recomputed here from the table and journals."""
    out, summary = two_metric_comparison
    table = _table(two_metric_csv, feasible=_no_convolution)
    assert len(table) == 729
    best_objective = max(o for o, _ in table.values())
    tied = [r for o, r in table.values() if o == best_objective]
    reachable, report_max = max(tied), max(r for _, r in table.values())
    assert len(tied) == 4 and reachable < report_max, "the data should make the two optima differ"
    saved = json.loads((out / "summary.json").read_text())
    block = saved.pop(OBJECTIVE_KEY)
    assert block["metric"] == OBJECTIVE and block["report_metric"] == REPORT
    assert block["optimum"] == best_objective and block["top_0.1%_threshold"] == best_objective  # 1 of 729
    assert block["reachable_optimum"] == reachable and block["report_table_maximum"] == report_max
    assert summary["optimum"] == report_max and block["seeds"] == {"rs": 4, "rea": 4, "ls": 4}
    assert list(saved) == ["rs", "rea", "ls"]
    reached_somewhere = 0
    for label in saved:
        finals = {b: [] for b in (10, 25, 50)}
        for seed in range(4):
            journal = (out / "runs" / label / f"seed{seed}" / "journal.jsonl").read_text().splitlines()
            evals = [json.loads(line) for line in journal if '"type": "eval"' in line]
            incumbent = (-np.inf, np.nan)
            for n, record in enumerate(evals, start=1):
                value = table[_arch_string(record["candidate"]["arch"])]
                incumbent = value if value[0] > incumbent[0] else incumbent
                if n in finals:
                    finals[n].append(incumbent)
        for b, values in finals.items():
            objective, report = np.array(values).T
            assert set(saved[label][str(b)]) == {"mean", "std", "p_top"}
            assert saved[label][str(b)]["mean"] == pytest.approx(report.mean(), abs=1e-12)
            assert saved[label][str(b)]["std"] == pytest.approx(report.std(), abs=1e-12)
            assert saved[label][str(b)]["p_top"] == np.mean(report >= report_max)
            stats = block["results"][label][str(b)]
            assert stats["mean"] == pytest.approx(objective.mean(), abs=1e-12)
            assert stats["p_top"] == np.mean(objective >= best_objective)
            assert block["at_optimum"][label][str(b)] == int(np.sum(objective == best_objective))
        reached_somewhere += block["at_optimum"][label]["50"]
    assert 0 < reached_somewhere < 12, "some seeds should reach the optimum and some not"
    md = (out / "summary.md").read_text()
    assert f"## {REPORT} (report metric)" in md and f"## {OBJECTIVE} (objective" in md
    assert f"Table maximum of {REPORT} of the feasible candidates: {report_max:.4f}" in md
    assert f"Reachable optimum of the feasible candidates: {reachable:.4f}" in md
    ls_row = next(line for line in md.splitlines() if line.startswith("| ls |"))
    assert f"| {block['at_optimum']['ls']['50']}/4 |" in ls_row
    assert summary_json(summary) == {**saved, OBJECTIVE_KEY: block}


def test_value_at_best_breaks_ties_on_the_report(two_metric_csv):
    """The reachable optimum is the report metric of the best-objective row; among tied rows, the highest."""
    from nars_plugin.comparison import cached_benchmark

    objective = "c100_valid_acc_12ep"
    bench = cached_benchmark(f"csv:{two_metric_csv}", {"objective": objective, "report": REPORT})
    table = _table(two_metric_csv, objective)
    best = max(o for o, _ in table.values())
    tied = sorted(r for o, r in table.values() if o == best)
    assert len(tied) == 2 and tied[0] < tied[1]
    assert bench.value_at_best() == tied[1] == bench.value_at_best(REPORT, objective)
    assert bench.value_at_best(objective, objective) == best
    feasible = _table(two_metric_csv, objective, _no_convolution)
    best = max(o for o, _ in feasible.values())
    assert bench.value_at_best(constraints=[LIMIT]) == max(r for o, r in feasible.values() if o == best)


def test_runs_without_an_objective_curve_degrade(two_metric_csv):
    """A runner of another library returns only the report curve (as NASLib's does): its rows of the
    objective's table and its seeds at the optimum are marked unknown, the other optimizers' are not."""
    from nars_plugin.comparison import RunOutcome, cached_benchmark

    bench = cached_benchmark(f"csv:{two_metric_csv}", TWO_METRICS)
    best = bench.optimum(OBJECTIVE)
    specs = [OptimizerSpec("ours", "rs"), OptimizerSpec("other", "naslib:re")]
    runs = [
        RunOutcome("ours", 0, [90.0, 91.0], 1.0, 2, None, objective_curve=[80.0, best]),
        *(RunOutcome("other", s, [90.0 + s, 91.0 + s], 1.0, 2, None) for s in range(2)),
    ]
    summary = summarise(bench, specs, runs, 2, (), None)
    assert summary["results"]["other"]["2"]["mean"] == 91.5
    block = summary["objective"]
    assert block["results"]["other"] is None and block["at_optimum"] == {"ours": {"2": 1}, "other": None}
    assert block["results"]["ours"]["2"] == {"mean": best, "std": 0.0, "p_top": 1.0}
    md = markdown(summary)
    assert "| other | - |\n" in md and "| 1/1 |" in md


def test_decimals_separate_the_rows():
    assert decimals([[93.37, 93.12]], 2) == 2
    assert decimals([[93.371, 93.374], [1.0]], 2) == 3
    assert decimals([[93.37, 93.37 + 1e-12]], 2) == 2, "float noise is not a difference"
    assert decimals([[0.61231, 0.61234]], 4) == 5
    assert decimals([[1.0, 1.000004]], 2) == 6
    assert decimals([[1.0, 1.0000001]], 2) == 2, "values equal to six decimals count as equal"
