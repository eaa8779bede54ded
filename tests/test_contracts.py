"""Contracts an outsider can follow (issue 26): space options on the command line, cache answers
for canonical duplicates in the journal, and table statistics over distinct architectures."""

from __future__ import annotations

import json

import pytest
from conftest import TinySpace, build_tiny_bench

from nars_plugin.space import Candidate


def test_space_options_on_the_command_line(cli, c10_csv, tmp_path):
    """``--space-option/-S KEY=VALUE`` (repeatable) reaches the space of a benchmark that passes options on."""
    out = tmp_path / "s"
    args = ["search", "-b", f"csv:{c10_csv}", "-S", "graph_statistics=true", "-S", "dataset=cifar100"]
    code, _, err = cli([*args, "-o", "rs", "--budget", "3", "--out", out, "--no-progress"])
    assert code == 0, err
    options = json.loads((out / "summary.json").read_text())["config"]["space"]["options"]
    assert options["graph_statistics"] is True and options["dataset"] == "cifar100"


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["-S", "colour=red"], "unknown setting 'colour'", "graph_statistics"),
        (["-S", "dataset=cifar10", "-B", "dataset=cifar100"], "dataset given both as --bench-opt and as", "once"),
        (["-S", "graph_statistics"], "--space-option 'graph_statistics' is not KEY=VALUE", "name=value"),
    ],
)
def test_bad_space_options_are_clear_errors(cli, c10_csv, tmp_path, args, message, hint):
    code, _, err = cli(
        ["query", "-b", f"csv:{c10_csv}", *args, "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    )
    assert code == 2 and "Traceback" not in err, err
    assert f"error: {message}" in err and hint in err.split("hint:")[1]


def test_a_benchmark_with_its_own_space_refuses_space_options(cli, tmp_path):
    code, _, err = cli(["search", "-b", "nb201-analog", "-S", "zero_cost=synflow", "--budget", "2", "--out", tmp_path])
    assert code == 2 and "benchmark 'nb201-analog' builds its own space and takes no --space-option" in err
    assert "--bench-opt" in err
    code, _, err = cli(["search", "-e", "train", "-S", "x=1", "--budget", "2", "--out", tmp_path])
    assert code == 2 and "error: --space-option needs --space" in err


# --- answers from the cache for canonical duplicates, in the journal --- #


class SymmetricTiny(TinySpace):
    """The tiny space with op1 and op2 interchangeable: (b, a) and (a, b) are one candidate."""

    def canonical(self, cand):
        first, second = sorted((cand.arch["op1"], cand.arch["op2"]))
        return Candidate({**cand.arch, "op1": first, "op2": second}, dict(cand.recipe))


def echo_search(first, other):
    """Random search that proposes ``first``, then after 3 answers ``first`` again and then ``other``
    (another encoding of it): two proposals the study answers from its cache."""
    from nars_plugin.optimizers import RandomSearch
    from nars_plugin.optimizers.base import Proposal

    class EchoSearch(RandomSearch):
        name = "echo"

        def ask(self):
            told = len(self.history)
            script = {0: first, 3: first, 4: other}
            return Proposal(script[told]) if told in script else super().ask()

    return EchoSearch


def journal_lines(folder):
    return [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]


def test_cache_answers_are_journaled_counted_and_replayed_once(tmp_path):
    from nars_plugin import create_study, load_study

    bench = build_tiny_bench(SymmetricTiny())
    first = bench.space.candidate({"op1": "a", "op2": "b", "width": 2}, {"epochs": 12})
    other = bench.space.candidate({"op1": "b", "op2": "a", "width": 2}, {"epochs": 12})
    optimizer = echo_search(first, other)
    study = create_study(bench, optimizer, budget=4, seed=0, storage=tmp_path, progress=False)
    result = study.optimize()
    study.close()
    assert (result.n_evaluations, result.cache_hits) == (4, 2)
    cached = [r for r in journal_lines(tmp_path) if r["type"] == "cached"]
    assert [(r["after"], r["candidate"]) for r in cached] == [(3, first.to_dict()), (3, first.to_dict())]
    assert "proposed" not in cached[0] and cached[1]["proposed"] == other.to_dict()
    assert json.loads((tmp_path / "summary.json").read_text())["cache_hits"] == 2
    record = load_study(tmp_path)
    assert (len(record.trials), record.cache_hits) == (4, 2)

    before = (tmp_path / "journal.jsonl").read_text()
    again = create_study(bench, optimizer, budget=6, seed=0, storage=tmp_path, progress=False)
    result = again.optimize()
    again.close()
    assert (result.n_evaluations, result.replayed, result.cache_hits) == (6, 4, 2)
    lines = journal_lines(tmp_path)
    assert (tmp_path / "journal.jsonl").read_text().startswith(before), "a resumed search appends only"
    assert sum(r["type"] == "cached" for r in lines) == 2, "the replay met its cache answers in the journal"
    assert sum(r["type"] == "eval" for r in lines) == 6


def test_a_search_without_cache_answers_journals_none(tmp_path):
    from nars_plugin import create_study

    study = create_study("nb201-analog", "rs", budget=5, seed=0, storage=tmp_path, progress=False)
    assert study.optimize().cache_hits == 0
    study.close()
    assert [r["type"] for r in journal_lines(tmp_path)] == ["header"] + ["eval"] * 5


# --- table statistics count distinct canonical candidates --- #


def test_table_statistics_count_distinct_canonical_candidates():
    """A table holding both encodings of each symmetric candidate: its median, top threshold and optimum
    are those of one row per candidate, not of the rows."""
    import math

    import numpy as np
    from conftest import tiny_accuracy

    from nars_plugin.tabular.base import TabularBenchmark

    space = SymmetricTiny()
    rows = space.enumerate()
    acc = np.array([tiny_accuracy(space.canonical(c)) for c in rows])  # one class, one answer
    bench = TabularBenchmark("sym", space, rows, {"acc": acc}, objective="acc")
    classes = {space.canonical_key(c): a for c, a in zip(rows, acc)}
    assert len(bench.distinct) == len(classes) < len(rows)
    for fraction in (0.5, 0.1):
        k = max(1, math.ceil(fraction * len(classes)))
        assert bench.top_threshold(fraction) == sorted(classes.values(), reverse=True)[k - 1]
    k_rows = max(1, math.ceil(0.5 * len(rows)))
    assert bench.top_threshold(0.5) != sorted(acc, reverse=True)[k_rows - 1], "the rows' median would differ"
    assert bench.optimum() == max(classes.values())
    feasible = [space.canonical_key(c) for c in rows if space.statistics([c])["flops"][0] <= 6]
    expected = sorted({key: classes[key] for key in feasible}.values(), reverse=True)
    assert bench.top_threshold(0.5, constraints=["flops <= 6"]) == expected[math.ceil(0.5 * len(expected)) - 1]
