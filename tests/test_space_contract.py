"""The space contract (invalid points, canonical forms), tested on the graph example plugin.

``examples/graph_space`` is a separate distribution (``nars-graphspace``) installed for real with
pip into a temporary folder; its ``nars_plugin`` entry point registers the ``graph-cell`` space
(4-node DAG cells: a quarter of the encodings are invalid, and isomorphic encodings abound) and
the ``graph-cell`` table. The tests run the example's own conformance module, then search the
table with every built-in optimizer and count the evaluator's real calls by canonical form.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, QUICK_PREDICTOR, install_package, path_with

from nars_plugin.budget import Budget
from nars_plugin.errors import ConfigError, InfeasibleConstraintError
from nars_plugin.evaluation import Result
from nars_plugin.plugins import get_registry
from nars_plugin.settings import RunContext
from nars_plugin.space import Candidate, Categorical, Integer, Ordinal, Space
from nars_plugin.study import Study

PACKAGE = EXAMPLES / "graph_space"

#: Optimizer -> (budget, settings): small budgets and predictors keep these quick.
SEARCHES = {
    "rs": (40, {}),
    "rea": (40, {}),
    "ls": (40, {}),
    "optuna-tpe": (20, {}),
    "bananas": (20, {"predictor": {"n_models": 1, "hidden": 16, "embed": 8, "head_steps": 10, "finetune_steps": 10}}),
    "nars": (20, {"predictor": QUICK_PREDICTOR, "pool_size": 2000}),
}


@pytest.fixture(scope="module")
def graph_site(tmp_path_factory):
    site = install_package(PACKAGE, tmp_path_factory)
    sys.path.insert(0, str(site))
    get_registry(refresh=True)
    yield site
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.startswith("nars_graphspace")]:
        del sys.modules[name]
    get_registry(refresh=True)


@pytest.fixture(scope="module")
def graph_bench(graph_site):
    return get_registry().create_benchmark("graph-cell")


class CountingEvaluator:
    """The real benchmark, with a record of every candidate it was asked to evaluate."""

    def __init__(self, benchmark) -> None:
        self.benchmark = benchmark
        self.calls: list[Candidate] = []

    def __getattr__(self, name):
        return getattr(self.benchmark, name)

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        self.calls.append(cand)
        return self.benchmark.evaluate(cand, fidelity)


def test_the_example_passes_its_conformance_suites(graph_site, tmp_path):
    """The plugin author's own test module (nars_plugin.testing's suites), run as its author would."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PACKAGE / "tests")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path_with(graph_site)},
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_the_table_holds_every_valid_encoding(graph_bench):
    space = graph_bench.space
    assert len(graph_bench.rows) < space.size, "invalid points have no row"
    assert space.valid_mask(graph_bench.rows).all()
    forms = space.unique_canonical(graph_bench.rows)
    assert len(forms) < len(graph_bench.rows) / 3, "most rows are isomorphic encodings of fewer cells"
    acc = dict(zip((c.key for c in graph_bench.rows), graph_bench.values()))
    by_form = collections.defaultdict(set)
    for cand in graph_bench.rows:
        by_form[space.canonical_key(cand)].add(acc[cand.key])
    assert all(len(values) == 1 for values in by_form.values()), "isomorphic encodings read one accuracy"


@pytest.mark.parametrize("optimizer", list(SEARCHES))
def test_no_invalid_point_and_no_candidate_paid_twice(graph_bench, optimizer, tmp_path):
    space = graph_bench.space
    queries, settings = SEARCHES[optimizer]
    budget = Budget(queries=queries)
    opt = get_registry().create_optimizer(
        optimizer, space, RunContext(objective="acc", seed=0, budget=budget), settings
    )
    evaluator = CountingEvaluator(graph_bench)
    result = Study(evaluator, opt, budget, out_dir=tmp_path, progress=False).run()
    assert result.n_evaluations == queries and result.best_result is not None
    invalid = [space.format_arch(c) for c in evaluator.calls if not space.is_valid(c)]
    assert not invalid, f"{optimizer} evaluated invalid points {invalid}"
    paid = collections.Counter(space.canonical_key(c) for c in evaluator.calls)
    assert len(evaluator.calls) == queries and max(paid.values()) == 1, f"{optimizer} paid twice for one cell"
    # the study evaluates, journals and tells the canonical form
    assert all(space.canonical(c) == c for c in evaluator.calls)
    records = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    journaled = [Candidate.from_dict(r["candidate"]) for r in records if r.get("type") == "eval"]
    assert [c.key for c in journaled] == [c.key for c in evaluator.calls]
    assert all(space.canonical(p.candidate) == p.candidate for p, _ in opt.history)


def test_a_non_canonical_proposal_is_answered_from_the_cache(graph_bench):
    """Two encodings of one cell, proposed one after the other: evaluated (and paid) once."""
    from nars_plugin.optimizers.base import Optimizer, Proposal

    space = graph_bench.space
    one = space.candidate("edges:100010|ops:conv1x1,maxpool", {"lr": 0.1})
    two = space.candidate("edges:010001|ops:conv3x3,conv1x1", {"lr": 0.1})
    third = space.candidate("edges:001000|ops:conv3x3,conv3x3", {"lr": 0.1})

    class Scripted(Optimizer):
        name = "scripted"
        script = [one, two, third]

        def ask(self) -> Proposal:
            return Proposal(self.script[min(len(self.history), len(self.script) - 1)])

    opt = Scripted(space, objective="acc")
    evaluator = CountingEvaluator(graph_bench)
    result = Study(evaluator, opt, Budget(queries=2), progress=False).run()
    assert [space.format_arch(c) for c in evaluator.calls] == [space.format_arch(two), space.format_arch(third)]
    assert result.n_evaluations == 2 and len(opt.history) == 3  # the repeat was told, free
    assert opt.history[1][0].candidate == space.canonical(one) and opt.history[1][1] == opt.history[0][1]


# --------------------------------------------------------------------------- #
# The contract on a space built here: validity in every producer of candidates
# --------------------------------------------------------------------------- #


class EvenSpace(Space):
    """Two integers whose sum must be even (half of the grid is invalid); ``a`` and ``b`` commute."""

    def __init__(self) -> None:
        super().__init__("even", [Integer("a", 0, 9), Integer("b", 0, 9)], [Categorical("k", (3, 5, 7))])

    def is_valid(self, cand: Candidate) -> bool:
        return (cand.arch["a"] + cand.arch["b"]) % 2 == 0

    def canonical(self, cand: Candidate) -> Candidate:
        a, b = sorted((cand.arch["a"], cand.arch["b"]))
        return Candidate({"a": a, "b": b}, cand.recipe)


def test_every_producer_of_candidates_skips_invalid_points():
    space, rng = EvenSpace(), np.random.default_rng(0)
    for method in ("sobol", "random"):
        drawn = space.sample(50, seed=1, method=method)
        assert len(drawn) == 50 and space.valid_mask(drawn).all()
    assert [c.key for c in space.sample(50, seed=1)] == [c.key for c in space.sample(50, seed=1)]
    every = space.enumerate()
    assert len(every) == 150 and space.valid_mask(every).all()
    assert len(space.unique_canonical(every)) == 3 * (15 + 15)  # a <= b, same parity
    parent = space.candidate({"a": 2, "b": 4}, {"k": 5})
    mutants = [space.mutate(parent, rng, 1) for _ in range(30)]
    assert space.valid_mask(mutants).all() and any(m != parent for m in mutants)
    hood = space.neighbours(parent, rng)
    assert hood and space.valid_mask(hood).all()
    other = space.candidate({"a": 1, "b": 3}, {"k": 7})
    children = [space.crossover(parent, other, rng) for _ in range(30)]
    assert space.valid_mask(children).all()
    assert not space.feasible([space.candidate({"a": 1, "b": 2})], [])[0]


def test_a_space_without_valid_points_is_a_clear_error():
    class Nothing(EvenSpace):
        def is_valid(self, cand: Candidate) -> bool:
            return False

    with pytest.raises(ConfigError, match="none of .* sampled points is valid"):
        Nothing().sample(4, seed=0)
    with pytest.raises(InfeasibleConstraintError, match="no valid candidate"):
        Nothing().check_satisfiable(["a <= 3"])


def test_numeric_choices_compare_by_value():
    k = Categorical("k", (3, 5, 7))
    assert k.validate(3.0) == 3 and type(k.validate(3.0)) is int
    assert k.validate(np.int64(5)) == 5 and k.validate("7") == 7
    lr = Ordinal("lr", (0.01, 0.1))
    assert lr.validate(np.float64(0.1)) == 0.1 and type(lr.validate(np.float64(0.1))) is float
    with pytest.raises(ValueError, match="is not a choice"):
        k.validate(4.0)
    flag = Categorical("flag", (True, False))
    with pytest.raises(ValueError, match="is not a choice"):
        flag.validate(1)  # a bool choice is not the number 1
    space = EvenSpace()
    assert space.candidate({"a": 2.0, "b": 4}, {"k": 3.0}).recipe["k"] == 3
