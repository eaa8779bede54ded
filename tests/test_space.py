"""Parameters, joint spaces, encodings, Sobol sampling, variation and constraints (``nars_plugin.space``)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nars_plugin.errors import (
    ConfigError,
    InfeasibleConstraintError,
    InvalidArchitectureError,
    InvalidRecipeError,
    NarsError,
)
from nars_plugin.space import Candidate, Categorical, Constraint, Float, Integer, Param, Space, parse_constraints
from nars_plugin.spaces.nb201 import EDGES, OPS, NB201Space

HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mixed_space() -> Space:
    """Every parameter kind in both parts, and one single-choice (immutable) parameter."""
    return Space(
        "mixed",
        [
            Categorical("op1", ("conv", "pool", "skip")),
            Categorical("op2", ("conv", "pool", "skip", "none")),
            Integer("width", 8, 64, step=8),
            Float("ratio", 0.25, 4.0),
        ],
        [
            Float("lr", 1e-4, 0.5, log=True),
            Integer("epochs", 10, 200, step=10),
            Categorical("optim", ("sgd", "adam", "rmsprop")),
            Categorical("ema", (True, False)),
            Categorical("fixed", ("only",)),
        ],
    )


def values_of(cand: Candidate) -> dict:
    return {**cand.arch, **cand.recipe}


def same_value(param: Param, a, b) -> bool:
    if isinstance(param, Float):
        scale = max(abs(param.low), abs(param.high))
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale)
    return a == b and type(a) is type(b)


# --------------------------------------------------------------------------- #
# Categorical
# --------------------------------------------------------------------------- #


def test_categorical_validate_and_tolerant_user_strings():
    epochs = Categorical("epochs", (12, 200))
    assert epochs.validate(200) == 200
    assert epochs.validate("200") == 200 and isinstance(epochs.validate(" 200 "), int)
    flag = Categorical("ema", (True, False))
    assert flag.validate("true") is True and flag.validate("False") is False
    with pytest.raises(ValueError, match=r"'epochs'.*\[12, 200\]"):
        epochs.validate(50)
    assert epochs.default == 12 and epochs.cardinality == 2 and epochs.width == 2


def test_categorical_one_hot_round_trip():
    p = Categorical("op", ("a", "b", "c", "d"))
    block = p.encode(list(p.choices))
    assert block.shape == (4, 4)
    np.testing.assert_array_equal(block, np.eye(4))
    assert p.decode(block) == list(p.choices)
    # decode takes the nearest (largest) entry of any real vector
    assert p.decode(np.array([[0.1, 0.7, 0.3, 0.2], [-1.0, -2.0, -0.5, -3.0]])) == ["b", "c"]


def test_categorical_definition_errors():
    with pytest.raises(ConfigError, match="no choices"):
        Categorical("x", ())
    with pytest.raises(ConfigError, match="duplicate"):
        Categorical("x", ("a", "b", "a"))


def test_categorical_mutate_always_moves_and_covers_the_others():
    p = Categorical("op", ("a", "b", "c", "d"))
    rng = np.random.default_rng(0)
    seen = Counter(p.mutate("b", rng) for _ in range(400))
    assert "b" not in seen and set(seen) == {"a", "c", "d"}
    assert Categorical("one", ("x",)).mutate("x", rng) == "x"


# --------------------------------------------------------------------------- #
# Integer and Float
# --------------------------------------------------------------------------- #


def test_integer_validate():
    p = Integer("width", 8, 64, step=8)
    assert p.validate("16") == 16 and p.validate(24.0) == 24 and isinstance(p.validate(24.0), int)
    for bad in (12, 0, 72, 16.5, "wide", None):
        with pytest.raises(ValueError, match="'width'"):
            p.validate(bad)
    assert p.cardinality == 8 and p.default in range(8, 65, 8)
    with pytest.raises(ConfigError):
        Integer("bad", 0, 10, step=3)
    with pytest.raises(ConfigError):
        Integer("bad", 5, 1)


def test_integer_min_max_encoding_round_trip():
    p = Integer("width", 8, 64, step=8)
    grid = list(range(8, 65, 8))
    block = p.encode(grid)
    assert block.shape == (8, 1)
    assert block.min() == 0.0 and block.max() == 1.0
    assert np.all(np.diff(block[:, 0]) > 0)
    assert p.decode(block) == grid
    # out-of-range codes are clipped to the bounds, in-between codes go to the nearest grid point
    assert p.decode(np.array([[-3.0], [7.0], [0.5 + 0.3 / 56]])) == [8, 64, 40]
    single = Integer("one", 5, 5)
    assert single.decode(single.encode([5])) == [5]


@pytest.mark.parametrize("log", [False, True])
def test_float_validate_encode_decode(log):
    p = Float("lr", 1e-3, 10.0, log=log)
    values = [1e-3, 0.01, 0.5, 3.0, 10.0]
    block = p.encode(values)
    assert block.shape == (5, 1)
    assert block[0, 0] == pytest.approx(0.0, abs=1e-12) and block[-1, 0] == pytest.approx(1.0)
    assert np.all((block >= -1e-12) & (block <= 1 + 1e-12))
    for v, back in zip(values, p.decode(block)):
        assert back == pytest.approx(v, rel=1e-9)
    if log:  # equal steps in log space
        assert p.encode([1e-2])[0, 0] == pytest.approx(0.25)
    else:
        assert p.encode([5.0005])[0, 0] == pytest.approx(0.5)
    for bad in (-1.0, 11.0, float("nan"), float("inf"), "fast"):
        with pytest.raises(ValueError, match="'lr'"):
            p.validate(bad)
    assert p.validate("0.5") == 0.5


def test_float_definition_errors():
    with pytest.raises(ConfigError):
        Float("x", 1.0, 1.0)
    with pytest.raises(ConfigError, match="log"):
        Float("x", 0.0, 1.0, log=True)


def test_float_decode_of_the_upper_bound_is_a_valid_value():
    space = Space("f", [Categorical("op", ("a", "b"))], [Float("lr", 1e-4, 0.3, log=True), Float("m", 0.1, 0.3)])
    (cand,) = space.decode(np.ones((1, space.dim)))
    # unclipped, 0.1 + 1.0 * (0.3 - 0.1) and exp(log(0.3)) both round to 0.30000000000000004
    assert space.validate(cand) == cand
    assert cand.recipe == {"lr": 0.3, "m": 0.3}
    (low,) = space.decode(np.zeros((1, space.dim)))
    assert space.validate(low) == low
    assert low.recipe["lr"] == pytest.approx(1e-4, rel=1e-12) and low.recipe["m"] == 0.1


# --------------------------------------------------------------------------- #
# Spaces: structure, candidates, encoding
# --------------------------------------------------------------------------- #


def test_space_structure_and_encoding_layout():
    space = mixed_space()
    assert space.arch_dim == 3 + 4 + 1 + 1 and space.recipe_dim == 1 + 1 + 3 + 2 + 1
    assert space.dim == space.arch_dim + space.recipe_dim
    assert space.size is None and space.arch_size is None
    assert space.param("lr").name == "lr"
    with pytest.raises(ConfigError, match="no parameter 'nope'"):
        space.param("nope")
    with pytest.raises(ConfigError, match="duplicate"):
        Space("dup", [Categorical("x", ("a",))], [Categorical("x", ("b",))])


def test_encoding_is_one_hot_and_min_max_in_unit_interval():
    space = mixed_space()
    cands = space.sample(256, seed=5)
    matrix = space.encode(cands)
    assert matrix.shape == (256, space.dim)
    assert np.all(matrix >= -1e-12) and np.all(matrix <= 1 + 1e-12)
    offset = 0
    for p in space.params:
        block = matrix[:, offset : offset + p.width]
        if isinstance(p, Categorical):
            assert set(np.unique(block)) <= {0.0, 1.0}
            np.testing.assert_array_equal(block.sum(axis=1), 1.0)
        offset += p.width
    assert offset == space.dim
    assert space.encode([]).shape == (0, space.dim)


def test_decode_round_trip_and_errors():
    space = mixed_space()
    cands = space.sample(64, seed=11)
    back = space.decode(space.encode(cands))
    for a, b in zip(cands, back):
        for p in space.params:
            assert same_value(p, values_of(a)[p.name], values_of(b)[p.name]), p.name
    with pytest.raises(ConfigError, match="columns"):
        space.decode(np.zeros((2, space.dim + 1)))


def test_candidate_building_defaults_and_errors(tiny_space):
    cand = tiny_space.candidate({"op1": "a", "op2": "b", "width": "2"})
    assert cand.recipe == {"epochs": 12}  # the default
    assert cand.arch["width"] == 2
    assert tiny_space.candidate("op1=a, op2=b, width=2") == cand
    assert tiny_space.parse_arch(tiny_space.format_arch(cand)) == dict(cand.arch)
    with pytest.raises(InvalidRecipeError, match="unknown recipe parameter"):
        tiny_space.candidate({"op1": "a", "op2": "b", "width": 2}, {"lr": 0.1})
    with pytest.raises(InvalidRecipeError, match="'epochs'"):
        tiny_space.candidate({"op1": "a", "op2": "b", "width": 2}, {"epochs": 13})
    with pytest.raises(InvalidArchitectureError, match="missing \\['width'\\]"):
        tiny_space.candidate({"op1": "a", "op2": "b"})
    with pytest.raises(InvalidArchitectureError, match="'op1'"):
        tiny_space.candidate({"op1": "z", "op2": "b", "width": 2})
    with pytest.raises(InvalidArchitectureError, match="name=value"):
        tiny_space.candidate("op1:a")


def test_candidate_key_is_canonical():
    a = Candidate({"x": 1, "y": "b"}, {"lr": 0.1})
    b = Candidate({"y": "b", "x": 1}, {"lr": 0.1})
    assert a == b and hash(a) == hash(b) and a.key == b.key
    assert Candidate.from_dict(a.to_dict()) == a
    assert a.with_recipe(lr=0.2) != a and a.with_recipe(lr=0.2).recipe["lr"] == 0.2
    with pytest.raises(TypeError):
        a.arch["x"] = 2  # read-only


def test_a_candidate_read_back_from_a_journal_prints_its_recipe_as_the_space_orders_it():
    """Journals store candidates with sorted keys: the trajectory of a resumed search printed the
    recipe alphabetically while the uninterrupted run printed it in the space's order."""
    space = mixed_space()
    built = space.sample(3, seed=0)[0]
    read_back = space.bind(Candidate.from_dict(json.loads(json.dumps(built.to_dict(), sort_keys=True))))
    assert list(read_back.recipe) != list(built.recipe)  # the mapping order really was lost
    assert read_back.recipe_text == built.recipe_text == space.format_recipe(built)
    assert built.recipe_text.split(",")[0].startswith("lr=") and str(read_back) == str(built)
    assert Candidate({}, {"b": 1, "a": 2}).recipe_text == "b=1,a=2"  # unbound: the mapping's order


def test_enumerate_and_fix_recipe(tiny_space):
    cands = tiny_space.enumerate()
    assert len(cands) == tiny_space.size == 72
    assert len({c.key for c in cands}) == 72
    for c in cands:
        assert tiny_space.validate(c) == c
    fixed = tiny_space.fix_recipe(epochs=200)
    assert fixed.size == 36 and fixed.arch_params == tiny_space.arch_params
    assert {c.recipe["epochs"] for c in fixed.sample(40, seed=0)} == {200}
    with pytest.raises(InvalidRecipeError, match="'epochs'"):
        tiny_space.fix_recipe(epochs=7)
    with pytest.raises(InvalidRecipeError, match="no recipe parameter"):
        tiny_space.fix_recipe(batch=7)
    with pytest.raises(ConfigError, match="too large to enumerate"):
        mixed_space().enumerate()


# --------------------------------------------------------------------------- #
# Sobol sampling
# --------------------------------------------------------------------------- #


def test_sobol_same_seed_same_samples_other_seed_other_samples():
    space = mixed_space()
    a, b, c = space.sample(50, seed=3), space.sample(50, seed=3), space.sample(50, seed=4)
    assert [x.key for x in a] == [x.key for x in b]
    assert [x.key for x in a] != [x.key for x in c]
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    assert [x.key for x in space.sample(20, g1)] == [x.key for x in space.sample(20, g2)]
    assert space.sample(0, seed=1) == []


@pytest.mark.parametrize("method", ["sobol", "random"])
def test_samples_are_valid_candidates(method):
    space = mixed_space()
    cands = space.sample(300, seed=1, method=method)
    assert len(cands) == 300
    for cand in cands:
        assert space.validate(cand) == cand


def test_sobol_marginals_are_balanced():
    space = Space(
        "balance",
        [Categorical("c3", ("a", "b", "c")), Categorical("c5", tuple("vwxyz")), Integer("i4", 1, 4)],
        [Categorical("c2", (12, 200)), Categorical("c7", tuple(range(7)))],
    )
    n = 1024
    cands = space.sample(n, seed=123)
    for p in space.params:
        counts = Counter(values_of(c)[p.name] for c in cands)
        k = p.cardinality
        assert len(counts) == k, p.name
        # a scrambled Sobol net puts one point in each 1/1024 slice of every coordinate
        assert max(abs(counts[v] - n / k) for v in counts) <= 2, (p.name, counts)
    rand = space.sample(n, seed=123, method="random")
    assert {c.key for c in rand} != {c.key for c in cands}


def test_unknown_sampling_method():
    with pytest.raises(ConfigError, match="sobol"):
        mixed_space().sample(4, seed=0, method="grid")


# --------------------------------------------------------------------------- #
# Mutation and crossover
# --------------------------------------------------------------------------- #


def changed(space: Space, a: Candidate, b: Candidate) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"arch": set(), "recipe": set()}
    for part, params in (("arch", space.arch_params), ("recipe", space.recipe_params)):
        for p in params:
            if not same_value(p, getattr(a, part)[p.name], getattr(b, part)[p.name]):
                out[part].add(p.name)
    return out


@pytest.mark.parametrize("part", ["arch", "recipe", "both"])
@pytest.mark.parametrize("n", [1, 2, 3, 9])
def test_mutate_changes_exactly_n_params_of_the_part(part, n):
    space = mixed_space()
    mutable = {
        "arch": {"op1", "op2", "width", "ratio"},
        "recipe": {"lr", "epochs", "optim", "ema"},  # "fixed" has a single choice
    }
    pool = mutable["arch"] | mutable["recipe"] if part == "both" else mutable[part]
    rng = np.random.default_rng(n)
    for parent in space.sample(40, seed=n):
        child = space.mutate(parent, rng, n_changes=n, part=part)
        assert space.validate(child) == child
        diff = changed(space, parent, child)
        names = diff["arch"] | diff["recipe"]
        assert len(names) == min(n, len(pool)), (parent, child)
        assert names <= pool
        if part != "both":
            assert not diff["recipe" if part == "arch" else "arch"]


def test_mutate_bad_part_and_immutable_space():
    space = mixed_space()
    cand = space.sample(1, seed=0)[0]
    with pytest.raises(ConfigError, match="part"):
        space.mutate(cand, np.random.default_rng(0), part="weights")
    frozen = Space("frozen", [Categorical("x", ("a",))], [])
    only = frozen.candidate({"x": "a"})
    assert frozen.mutate(only, np.random.default_rng(0)) == only


def test_crossover_takes_each_param_from_a_parent():
    space = mixed_space()
    rng = np.random.default_rng(42)
    a = space.candidate(
        {"op1": "conv", "op2": "conv", "width": 8, "ratio": 0.5},
        {"lr": 0.001, "epochs": 10, "optim": "sgd", "ema": True},
    )
    b = space.candidate(
        {"op1": "skip", "op2": "none", "width": 64, "ratio": 3.0},
        {"lr": 0.2, "epochs": 200, "optim": "adam", "ema": False},
    )
    from_a = Counter()
    for _ in range(200):
        child = space.crossover(a, b, rng)
        assert space.validate(child) == child
        assert set(child.arch) == set(a.arch) and set(child.recipe) == set(a.recipe)
        for name, value in values_of(child).items():
            assert value in (values_of(a)[name], values_of(b)[name])
            from_a[name] += value == values_of(a)[name]
    for name, count in from_a.items():
        if name != "fixed":  # both parents share it
            assert 60 < count < 140, (name, count)  # each parent about half the time


# --------------------------------------------------------------------------- #
# Constraints
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "metric", "op", "bound"),
    [
        ("flops <= 100M", "flops", "<=", 100e6),
        ("latency[pixel3] < 5", "latency[pixel3]", "<", 5.0),
        ("params>=2.5k", "params", ">=", 2500.0),
        ("  flops > 1e3  ", "flops", ">", 1000.0),
        ("flops <= 1.5G", "flops", "<=", 1.5e9),
        ("acc >= -1", "acc", ">=", -1.0),
        ("latency[raspi4] <= .5", "latency[raspi4]", "<=", 0.5),
    ],
)
def test_constraint_parse(text, metric, op, bound):
    c = Constraint.parse(text)
    assert (c.metric, c.op) == (metric, op)
    assert c.bound == pytest.approx(bound)
    assert Constraint.parse(c) is c


@pytest.mark.parametrize(
    "text",
    [
        "",
        "flops",
        "flops <= ",
        "<= 5",
        "flops = 5",
        "flops == 5",
        "flops <= 5x",
        "flops <= M",
        "flops <= 5 6",
        "latency[pixel3 < 5",
        "flops <= lots",
        "5 <= flops",
    ],
)
def test_bad_constraints_are_config_errors(text):
    with pytest.raises(ConfigError, match="cannot parse constraint") as info:
        Constraint.parse(text)
    assert "flops <= 100M" in (info.value.hint or "")


def test_constraint_holds_and_parse_list():
    c = Constraint.parse("flops < 10")
    np.testing.assert_array_equal(c.holds(np.array([9.0, 10.0, 11.0])), [True, False, False])
    np.testing.assert_array_equal(Constraint.parse("flops >= 10").holds([9, 10, 11]), [False, True, True])
    assert parse_constraints(None) == []
    assert [str(x) for x in parse_constraints(["flops <= 100M", "params > 3"])] == [
        "flops <= 100000000.0",
        "params > 3.0",
    ]


@pytest.mark.parametrize("text", ["params <= 1531546", "params <= 1531549", "flops > 0.1", "latency[pixel3] < 4.25"])
def test_constraint_text_round_trips(text):
    c = Constraint.parse(text)
    assert Constraint.parse(str(c)) == c


@HYPO
@given(st.floats(-1e15, 1e15, allow_nan=False), st.sampled_from(["<=", "<", ">=", ">"]))
def test_any_constraint_text_round_trips(bound, op):
    c = Constraint("flops", op, bound)
    assert Constraint.parse(str(c)) == c


def test_feasible_mask_and_unknown_metric(tiny_space):
    cands = tiny_space.enumerate()
    mask = tiny_space.feasible(cands, ["flops <= 4"])
    flops = tiny_space.statistics(cands)["flops"]
    np.testing.assert_array_equal(mask, flops <= 4)
    assert 0 < mask.sum() < len(cands)
    assert tiny_space.feasible(cands, []).all()
    with pytest.raises(ConfigError, match="'latency'") as info:
        tiny_space.feasible(cands, ["latency <= 3"])
    assert "flops" in (info.value.hint or "")


def test_check_satisfiable_on_the_tiny_space(tiny_space):
    tiny_space.check_satisfiable(["flops <= 1"])  # (a, a, width 1) has flops 1
    with pytest.raises(InfeasibleConstraintError, match="smallest flops in space 'tiny' is 1\\b"):
        tiny_space.check_satisfiable(["flops < 1"])
    with pytest.raises(InfeasibleConstraintError, match="largest flops in space 'tiny' is 20"):
        tiny_space.check_satisfiable(["flops > 20"])
    with pytest.raises(InfeasibleConstraintError, match="together"):
        tiny_space.check_satisfiable(["flops <= 2", "flops >= 19"])
    with pytest.raises(ConfigError, match="no statistics"):
        Space("plain", [Categorical("x", ("a", "b"))]).check_satisfiable(["flops <= 1"])


def test_check_satisfiable_probes_continuous_spaces():
    class Scaled(Space):
        def statistics(self, cands):
            return {"size": np.array([c.arch["ratio"] for c in cands])}

    space = Scaled("cont", [Float("ratio", 1.0, 2.0)])
    space.check_satisfiable(["size <= 1.1"])
    with pytest.raises(InfeasibleConstraintError, match="smallest size"):
        space.check_satisfiable(["size <= 0.5"])


@pytest.fixture(scope="module")
def nb201() -> NB201Space:
    return NB201Space()


@pytest.fixture(scope="module")
def nb201_stats(nb201) -> dict[str, np.ndarray]:
    return nb201.statistics(nb201.cells())


def named_value(message: str) -> float:
    match = re.search(r"(?:smallest|largest) \w+ in space '[^']+' is ([-+0-9.eE]+)", message)
    assert match, message
    return float(match.group(1))


def test_infeasible_nb201_flops_names_the_smallest_reachable_value(nb201, nb201_stats):
    smallest = float(nb201_stats["flops"].min())
    assert 1e7 < smallest < 1e8  # a real network: a few tens of MFLOPs
    with pytest.raises(InfeasibleConstraintError) as info:
        nb201.check_satisfiable(["flops <= 1"])
    message = str(info.value)
    assert "flops <= 1" in message and "smallest flops" in message
    assert named_value(message) == smallest  # exactly, not rounded
    assert isinstance(info.value, NarsError) and info.value.hint
    nb201.check_satisfiable([f"flops <= {smallest:.0f}"])  # the smallest value itself is reachable


@pytest.mark.parametrize(
    "constraint",
    [
        "flops <= 1",
        "params <= 1",
        "flops >= 1G",
        "params >= 1G",
    ],
)
def test_following_the_infeasibility_hint_works(nb201, constraint):
    with pytest.raises(InfeasibleConstraintError) as info:
        nb201.check_satisfiable([constraint])
    c = Constraint.parse(constraint)
    relaxed = f"{c.metric} {c.op} {named_value(str(info.value))!r}"
    nb201.check_satisfiable([relaxed])


# --------------------------------------------------------------------------- #
# Property-based: random spaces and candidates
# --------------------------------------------------------------------------- #

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=6)


@st.composite
def params(draw, name: str) -> Param:
    kind = draw(st.sampled_from(["categorical", "integer", "float"]))
    if kind == "categorical":
        choices = draw(
            st.lists(st.one_of(WORDS, st.integers(-50, 50)), min_size=1, max_size=6, unique_by=lambda v: repr(v))
        )
        return Categorical(name, tuple(choices))
    if kind == "integer":
        low, step, k = draw(st.integers(-100, 100)), draw(st.integers(1, 5)), draw(st.integers(0, 20))
        return Integer(name, low, low + k * step, step)
    log = draw(st.booleans())
    low = draw(st.floats(1e-4, 1e3)) if log else draw(st.floats(-1e3, 1e3))
    width = draw(st.floats(1e-2, 1e3))
    return Float(name, low, low + width, log)


@st.composite
def spaces(draw, min_recipe: int = 0) -> Space:
    n_arch, n_recipe = draw(st.integers(1, 4)), draw(st.integers(min_recipe, 3))
    names = draw(st.lists(NAMES, min_size=n_arch + n_recipe, max_size=n_arch + n_recipe, unique=True))
    ps = [draw(params(n)) for n in names]
    return Space("random", ps[:n_arch], ps[n_arch:])


@st.composite
def value_of(draw, p: Param):
    if isinstance(p, Categorical):
        return draw(st.sampled_from(p.choices))
    if isinstance(p, Integer):
        return p.low + p.step * draw(st.integers(0, p.cardinality - 1))
    return draw(st.floats(p.low, p.high))


@st.composite
def space_and_candidate(draw, min_recipe: int = 0):
    space = draw(spaces(min_recipe))
    arch = {p.name: draw(value_of(p)) for p in space.arch_params}
    recipe = {p.name: draw(value_of(p)) for p in space.recipe_params}
    return space, space.validate(Candidate(arch, recipe))


@HYPO
@given(space_and_candidate())
def test_random_candidates_round_trip_encode_decode(pair):
    space, cand = pair
    row = space.encode([cand])
    assert row.shape == (1, space.dim)
    assert np.all(row >= -1e-9) and np.all(row <= 1 + 1e-9)
    (back,) = space.decode(row)
    assert set(back.arch) == set(cand.arch) and set(back.recipe) == set(cand.recipe)
    for p in space.params:
        assert same_value(p, values_of(back)[p.name], values_of(cand)[p.name]), p
    # the canonical JSON key survives too when the space has no real-valued parameter
    if all(not isinstance(p, Float) for p in space.params):
        assert back == cand and back.key == cand.key


@HYPO
@given(spaces(), st.integers(0, 2**31 - 1), st.integers(1, 8))
def test_decoding_any_code_gives_a_member_of_the_space(space, seed, n):
    matrix = np.random.default_rng(seed).uniform(-0.5, 1.5, (n, space.dim))
    for cand in space.decode(matrix):
        for p in space.params:
            value = values_of(cand)[p.name]
            assert p.validate(value) == value


@HYPO
@given(space_and_candidate(), st.integers(0, 2**31 - 1))
def test_random_mutations_and_crossovers_stay_in_the_space(pair, seed):
    space, cand = pair
    rng = np.random.default_rng(seed)
    child = space.mutate(cand, rng, n_changes=int(rng.integers(1, 4)))
    other = space.crossover(cand, child, rng)
    for c in (child, other):
        assert space.validate(c) == c


def bad_values(p: Param) -> st.SearchStrategy:
    if isinstance(p, Categorical):
        allowed = {str(c).strip().lower() for c in p.choices}
        return st.one_of(WORDS, st.integers(-1000, 1000)).filter(lambda v: str(v).strip().lower() not in allowed)
    if isinstance(p, Integer):
        outside = st.one_of(st.integers(max_value=p.low - 1), st.integers(min_value=p.high + 1))
        strategies = [outside, WORDS]
        if p.high > p.low:
            strategies.append(st.floats(p.low, p.high).filter(lambda v: not float(v).is_integer()))
        if p.step > 1 and p.cardinality > 1:
            strategies.append(st.integers(p.low, p.high).filter(lambda v: (v - p.low) % p.step))
        return st.one_of(*strategies)
    margin = 1e-6 * (1 + abs(p.low) + abs(p.high))
    return st.one_of(
        st.floats(max_value=p.low - margin, allow_nan=False),
        st.floats(min_value=p.high + margin, allow_nan=False),
        st.just(float("nan")),
        st.just(float("inf")),
        WORDS,
    )


@HYPO
@given(space_and_candidate(min_recipe=1), st.data())
def test_bad_recipe_values_raise_invalid_recipe_error(pair, data):
    space, cand = pair
    p = data.draw(st.sampled_from(space.recipe_params))
    bad = data.draw(bad_values(p))
    with pytest.raises(InvalidRecipeError) as info:
        space.candidate(dict(cand.arch), {**cand.recipe, p.name: bad})
    assert p.name in str(info.value)
    with pytest.raises(InvalidRecipeError):
        space.validate(Candidate(cand.arch, {**cand.recipe, p.name: bad}))


@HYPO
@given(space_and_candidate(), st.data())
def test_bad_architecture_values_raise_invalid_architecture_error(pair, data):
    space, cand = pair
    p = data.draw(st.sampled_from(space.arch_params))
    bad = data.draw(bad_values(p))
    with pytest.raises(InvalidArchitectureError, match=re.escape(repr(p.name))):
        space.validate(Candidate({**cand.arch, p.name: bad}, cand.recipe))


@HYPO
@given(st.lists(st.sampled_from(OPS), min_size=6, max_size=6))
def test_nb201_candidates_round_trip(ops):
    space = NB201Space()
    cand = space.candidate(dict(zip(EDGES, ops)))
    (back,) = space.decode(space.encode([cand]))
    assert back == cand
    assert space.candidate(space.format_arch(cand)) == cand
    assert space.encode([cand]).sum() == len(EDGES)
