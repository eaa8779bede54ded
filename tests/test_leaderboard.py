"""The leaderboard's scales (issue 27): ranked on the objective every optimizer maximises, the report
metric's regret beside it from the reachable optimum, seed counts in the board, table statistics over
distinct canonical candidates, and a leaderboard rebuilt from committed ``details.json`` files alone.

The suite here is two benchmarks over one CSV table of 313 NB201 cells whose objective (``valid``)
is not its report metric (``test``): the cell with the best ``valid`` is not the one with the best
``test``, so the reachable optimum is below the report metric's table maximum.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata

from nars_plugin.comparison import split_optimizers
from nars_plugin.comparison.leaderboard import (
    leaderboard,
    markdown,
    normalised_regret,
    read_comparison,
    report_regret,
    upgrade,
)
from nars_plugin.comparison.suite import SuiteEntry, rebuild_leaderboard, run_suite
from nars_plugin.errors import ConfigError
from nars_plugin.spaces.nb201 import index_to_arch_string

CELLS = range(0, 15625, 50)
SECONDS = 300.0


def table(path: Path) -> dict[str, np.ndarray]:
    """Write the table and return its columns: ``valid`` and ``test`` disagree on the best cell."""
    index = np.array(CELLS)
    valid = 60 + 30 * ((index * 7919) % 15625) / 15625  # one cell per value: no ties
    test = valid + 3 * np.sin(index)  # the best test cell is not the best valid one
    cost = 10.0 + index % 7
    rows = ["arch,valid,test,cost"]
    rows += [
        f"{index_to_arch_string(int(i))},{v!r},{t!r},{c!r}"
        for i, v, t, c in zip(index.tolist(), valid.tolist(), test.tolist(), cost.tolist())
    ]
    path.write_text("\n".join(rows) + "\n")
    return {"valid": valid, "test": test}


def median(values: np.ndarray) -> float:
    """The table's median as the leaderboard counts it: the k-th best value, k = ceil(n / 2)."""
    return float(np.sort(values)[::-1][math.ceil(len(values) / 2) - 1])


def entries(csv: Path) -> list[SuiteEntry]:
    options = {"objective": "valid", "report": "test", "cost": "cost"}
    return [
        SuiteEntry("valid-test", f"csv:{csv}", budget_seconds=SECONDS, options=options),
        SuiteEntry("test-test", f"csv:{csv}", budget_seconds=SECONDS, options={**options, "objective": "test"}),
    ]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """rs, rea and ls (ls with 2 seeds, the others 3) on both benchmarks, run once."""
    root = tmp_path_factory.mktemp("board")
    columns = table(root / "cells.csv")
    out = root / "suite"
    board = run_suite(entries(root / "cells.csv"), split_optimizers("rs,rea,ls"), {"*": 3, "ls": 2}, out, workers=1)
    return root, out, board, columns


def test_the_objective_is_ranked_and_the_report_regret_is_measured_from_the_reachable_optimum(suite):
    _, out, board, columns = suite
    valid, test = columns["valid"], columns["test"]
    reachable = float(test[np.argmax(valid)])
    assert reachable < test.max(), "the table must tell the reachable optimum from the table maximum"
    summary = json.loads((out / "valid-test" / "summary.json").read_text())
    details = json.loads((out / "valid-test" / "details.json").read_text())
    assert details["objective_reference"] == pytest.approx(
        {"metric": "valid", "optimum": valid.max(), "median": median(valid), "reachable_optimum": reachable}
    )
    assert board["metrics"]["valid-test"] == {"objective": "valid", "report": "test"}
    last = f"{SECONDS:g}"
    for label in ("rs", "rea", "ls"):
        found = summary["@objective"]["results"][label][last]["mean"]
        expected = (valid.max() - found) / (valid.max() - median(valid))
        assert board["normalised_regret"]["valid-test"]["100%"][label] == pytest.approx(expected)
        reported = summary[label][last]["mean"]
        expected = (reachable - reported) / (reachable - median(test))
        assert board["report_regret"]["valid-test"]["100%"][label] == pytest.approx(expected)
        # where the objective is the report metric, both regrets are one number
        same = board["normalised_regret"]["test-test"]["100%"][label]
        assert board["report_regret"]["test-test"]["100%"][label] == pytest.approx(same)
    for fraction in board["fractions"]:
        regret = board["normalised_regret"]["valid-test"][fraction]
        ranks = board["ranks"][fraction]["valid-test"]
        assert list(ranks.values()) == rankdata([regret[o] for o in ranks]).tolist()


def test_the_report_metric_does_not_move_the_ranks(suite):
    """Swapping two optimizers' report curves changes their report regret, not their ranks."""
    _, out, board, _ = suite
    comparisons = {b: read_comparison(out / b) for b in board["benchmarks"]}
    curves = comparisons["valid-test"]["mean_curves"]
    curves["rs"], curves["ls"] = curves["ls"], curves["rs"]
    swapped = leaderboard(comparisons)
    assert swapped["ranks"]["100%"]["valid-test"] == board["ranks"]["100%"]["valid-test"]
    assert swapped["report_regret"]["valid-test"]["100%"]["rs"] == pytest.approx(
        board["report_regret"]["valid-test"]["100%"]["ls"]
    )


def test_the_board_shows_the_seeds_each_optimizer_ran(suite):
    _, out, board, _ = suite
    assert board["seeds"] == {b: {"rs": 3, "rea": 3, "ls": 2} for b in ("valid-test", "test-test")}
    text = (out / "leaderboard.md").read_text()
    assert "| optimizer | seeds |" in text and "| ls | 2 |" in text and "| rs | 3 |" in text
    assert "valid-test (valid; test)" in text and "| test-test |" in text  # the metrics where they differ
    comparisons = {b: read_comparison(out / b) for b in board["benchmarks"]}
    comparisons["test-test"]["seeds_per_optimizer"]["ls"] = 3
    assert "| ls | 2-3 |" in markdown(leaderboard(comparisons))


def test_an_optimizer_that_does_not_record_the_objective_is_not_ranked(suite):
    _, out, board, _ = suite
    comparisons = {b: read_comparison(out / b) for b in board["benchmarks"]}
    comparisons["valid-test"]["objective_mean_curves"]["rea"] = None
    partial = leaderboard(comparisons)
    assert partial["optimizers"] == ["rs", "ls"] and partial["partial"] == ["rea"]
    assert "Not ranked (missing from some benchmark, or not recording the objective there): rea." in markdown(partial)


def legacy(folder: Path, wrong_median: float) -> None:
    """Make a comparison folder look as an older version wrote it, with a median of another count."""
    details = json.loads((folder / "details.json").read_text())
    del details["objective_reference"]
    details.pop("objective_mean_curves", None)
    details["median"] = wrong_median
    (folder / "details.json").write_text(json.dumps(details))
    shutil.rmtree(folder / "runs")  # nothing to run from: the rebuild reads the reports only


def test_a_leaderboard_is_rebuilt_from_older_details_without_running_anything(suite, tmp_path, cli):
    root, out, board, columns = suite
    copy = tmp_path / "suite"
    shutil.copytree(out, copy)
    for bench in board["benchmarks"]:
        legacy(copy / bench, wrong_median=float(np.mean(columns["test"])))
    (copy / "leaderboard.md").unlink()
    with pytest.raises(ConfigError, match="does not record the objective's optimum and median") as info:
        leaderboard({b: read_comparison(copy / b) for b in board["benchmarks"]})
    assert "--leaderboard-only" in info.value.hint
    rebuilt = rebuild_leaderboard(entries(root / "cells.csv"), copy)
    for key in ("normalised_regret", "report_regret"):
        for bench in board["benchmarks"]:
            for fraction in board["fractions"]:
                assert rebuilt[key][bench][fraction] == pytest.approx(board[key][bench][fraction])
    assert rebuilt["average_rank"] == board["average_rank"] and rebuilt["seeds"] == board["seeds"]
    assert (copy / "leaderboard.md").read_text() == markdown(rebuilt)
    assert not list(copy.rglob("journal.jsonl"))

    suite_file = tmp_path / "suite.toml"
    suite_file.write_text(
        "".join(
            f'[[benchmark]]\nlabel = "{e.label}"\nbenchmark = "{e.benchmark}"\nbudget_seconds = {SECONDS}\n'
            f"options = {{ {', '.join(f'{k} = {json.dumps(v)}' for k, v in e.options.items())} }}\n\n"
            for e in entries(root / "cells.csv")
        )
    )
    code, stdout, err = cli(["suite", "--suite", suite_file, "--out", copy, "--leaderboard-only"])
    assert code == 0, err
    assert "| ls | 2 |" in stdout and "leaderboard.md" in stdout
    code, _, err = cli(["suite", "--suite", suite_file, "--out", tmp_path / "empty", "--leaderboard-only"])
    assert code == 2 and "no comparison of the suite is in" in err


def test_an_older_details_needs_the_objective_at_each_fraction(suite):
    """A query budget reports the objective at 10, 25, ... queries: 10% of 20 queries is none of them."""
    root, out, _, _ = suite
    from nars_plugin.comparison.runner import cached_benchmark

    entry = entries(root / "cells.csv")[0]
    bench = cached_benchmark(entry.benchmark, dict(entry.options))
    details = {"benchmark": entry.benchmark, "metric": "test", "median": 0.0, "curve_x": list(range(1, 21))}
    details["mean_curves"] = {"rs": [70.0] * 20}
    summary = {"@objective": {"results": {"rs": {"10": {"mean": 71.0}, "20": {"mean": 72.0}}}}}
    with pytest.raises(ConfigError, match="10% of the budget is none of them"):
        upgrade(details, summary, bench, [])


def test_an_upgrade_counts_distinct_canonical_candidates():
    """The rebuilt median is the table's over distinct canonical candidates, not over its rows."""
    from conftest import tiny_accuracy
    from test_contracts import SymmetricTiny

    from nars_plugin.tabular.base import TabularBenchmark

    space = SymmetricTiny()
    rows = space.enumerate()
    acc = np.array([tiny_accuracy(space.canonical(c)) for c in rows])
    bench = TabularBenchmark("sym", space, rows, {"acc": acc}, objective="acc")
    by_rows = median(acc)
    details = {"benchmark": "sym", "metric": "acc", "optimum": acc.max(), "median": by_rows, "curve_x": [1, 2]}
    details["mean_curves"] = {"rs": [90.0, 95.0]}
    upgraded = upgrade(details, {}, bench, [])
    distinct = median(np.array([acc[i] for i in bench.distinct]))
    assert upgraded["median"] == distinct != by_rows
    assert upgraded["objective_reference"]["median"] == distinct
    expected = (acc.max() - 95.0) / (acc.max() - distinct)
    assert normalised_regret(upgraded, 1.0)["rs"] == pytest.approx(expected)
    assert report_regret(upgraded, 1.0)["rs"] == pytest.approx(expected)


def test_a_rerun_method_joins_the_board_from_another_folder(suite, tmp_path, cli):
    """``--merge``: rs rerun (the same seeds) and rea added under another label, in a second folder, join
    the committed suite's board without rerunning ls or rea; the folders' files stay as they are."""
    root, out, board, _ = suite
    other = tmp_path / "rerun"
    rerun = run_suite(entries(root / "cells.csv"), split_optimizers("rs,evo=rea"), {"*": 2, "rs": 3}, other, workers=1)
    before = {p: p.read_bytes() for p in out.rglob("details.json")}
    merged = rebuild_leaderboard(entries(root / "cells.csv"), out, merge=[other])
    assert {p: p.read_bytes() for p in out.rglob("details.json")} == before
    assert all(seeds == {"rs": 3, "rea": 3, "ls": 2, "evo": 2} for seeds in merged["seeds"].values())
    assert merged["config"]["merged_from"] == [str(other)]
    regret, rerun_regret, board_regret = (b["normalised_regret"] for b in (merged, rerun, board))
    for bench in board["benchmarks"]:
        for fraction in board["fractions"]:
            assert regret[bench][fraction]["rs"] == rerun_regret[bench][fraction]["rs"]
            assert regret[bench][fraction]["ls"] == board_regret[bench][fraction]["ls"]

    details = other / "valid-test" / "details.json"
    changed = json.loads(details.read_text())
    changed["config"]["budget_seconds"] = 2 * SECONDS
    details.write_text(json.dumps(changed))
    with pytest.raises(ConfigError, match=r"not the same comparison as the suite's \(config.budget_seconds differ\)"):
        rebuild_leaderboard(entries(root / "cells.csv"), out, merge=[other])
    code, _, err = cli(["suite", "--out", out, "--merge", other])
    assert code == 2 and "--merge" in err and "--leaderboard-only" in err


def test_more_seeds_run_elsewhere_pool_with_the_suite_s_seeds(suite, tmp_path, cli):
    """``--first-seed``: rs seeds 3-4 run in another folder and merged with the suite's seeds 0-2 give
    the board of rs run with seeds 0-4 at once; seeds that partly overlap are an error."""
    root, out, _, _ = suite
    suite_file = entries(root / "cells.csv")
    more = tmp_path / "more"
    run_suite(suite_file, split_optimizers("rs"), 2, more, workers=1, first_seed=3)
    assert sorted(p.name for p in (more / "valid-test" / "runs" / "rs").iterdir()) == ["seed3", "seed4"]
    whole = run_suite(
        suite_file, split_optimizers("rs,rea,ls"), {"*": 5, "rea": 3, "ls": 2}, tmp_path / "whole", workers=1
    )
    pooled = rebuild_leaderboard(suite_file, out, merge=[more])
    assert all(seeds["rs"] == 5 for seeds in pooled["seeds"].values())
    for bench in whole["benchmarks"]:
        for fraction in whole["fractions"]:
            for label in ("rs", "rea", "ls"):
                assert pooled["normalised_regret"][bench][fraction][label] == pytest.approx(
                    whole["normalised_regret"][bench][fraction][label]
                )
    with pytest.raises(ConfigError, match=r"ran rs with seeds 3, 4, the suite with 0, 1, 2, 3, 4: some in both"):
        rebuild_leaderboard(suite_file, out, merge=[more, more])  # pooled once, then half of it again
    code, stdout, err = cli(
        [
            "compare",
            "-b",
            f"csv:{root / 'cells.csv'}",
            "--optimizers",
            "rs",
            "-B",
            "objective=valid",
            "--seeds",
            "1",
            "--first-seed",
            "7",
            "--budget",
            "5",
            "--out",
            tmp_path / "one",
            "--no-progress",
        ]
    )
    assert code == 0, err
    assert [p.name for p in (tmp_path / "one" / "runs" / "rs").iterdir()] == ["seed7"]
    code, _, err = cli(
        [
            "compare",
            "-b",
            f"csv:{root / 'cells.csv'}",
            "-B",
            "objective=valid",
            "--optimizers",
            "rs",
            "--first-seed",
            "-1",
            "--budget",
            "5",
            "--out",
            tmp_path / "bad",
            "--no-progress",
        ]
    )
    assert code == 2 and "the first seed is -1" in err and "0 or more" in err
