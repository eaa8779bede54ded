"""The NAS-Bench-201 space: strings, NATS indices, NASLib tuples, exact FLOPs/params, the torch network.

The NATS index order is checked against the 200-epoch CIFAR-10 table under ``$NARS_DATA_DIR``
(default ``<repo>/../shared/data``) when it is present; the test skips otherwise.
"""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nars_plugin.errors import ConfigError, InfeasibleConstraintError, InvalidArchitectureError
from nars_plugin.space import Candidate, Categorical
from nars_plugin.spaces.nb201 import (
    DATASETS,
    EDGES,
    N_CELLS,
    NASLIB_EDGES,
    NASLIB_OPS,
    OPS,
    NB201Space,
    arch_string_to_index,
    arch_string_to_naslib_tuple,
    flops_params,
    format_arch_string,
    index_to_arch_string,
    naslib_tuple_to_arch_string,
    op_matrix,
    parse_arch_string,
)

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
# (NATS index, cell) pairs of the benchmark
KNOWN = [
    (0, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"),
    (9, "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"),
    (1651, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    (1835, "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"),
    (6111, BEST_C10),
]

SLOW = pytest.mark.slow


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space()


def uniform(op: str) -> str:
    return format_arch_string([op] * 6)


# --------------------------------------------------------------------------- #
# Exact FLOPs and parameters
# --------------------------------------------------------------------------- #


def sample_cells(seed: int = 0, n: int = 20) -> list[str]:
    rng = np.random.default_rng(seed)
    fixed = [uniform("none"), uniform("skip_connect"), uniform("nor_conv_3x3"), uniform("nor_conv_1x1"), BEST_C10]
    rows = rng.integers(0, len(OPS), size=(n - len(fixed), len(EDGES)))
    return fixed + [format_arch_string([OPS[i] for i in row]) for row in rows]


@pytest.fixture
def one_thread():
    """Real CPU forward passes on one thread (several threads crawl on a small, busy machine)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(before)


@pytest.mark.parametrize("dataset", [d if d == "cifar10" else pytest.param(d, marks=SLOW) for d in DATASETS])
def test_analytical_counts_equal_torch(dataset):
    torch = pytest.importorskip("torch")
    from nars_plugin.spaces.nb201._net import NB201Network, count_flops_torch, count_params

    num_classes, resolution = DATASETS[dataset]
    space = NB201Space(dataset=dataset)
    cells = sample_cells(seed=list(DATASETS).index(dataset))
    stats = space.statistics([space.candidate(a) for a in cells])
    exact = flops_params(op_matrix(cells), dataset)
    for i, arch in enumerate(cells):
        with torch.device("meta"):  # the counts depend on shapes only: no arithmetic needed
            net = NB201Network(arch, num_classes=num_classes)
        flops, params = count_flops_torch(net, resolution), count_params(net)
        assert (exact["flops"][i], exact["params"][i]) == (flops, params), arch
        assert (stats["flops"][i], stats["params"][i]) == (flops, params), arch
        assert exact["macs"][i] * 2 == flops


def test_best_cell_counts(one_thread):
    from nars_plugin.spaces.nb201._net import NB201Network, count_flops_torch, count_params

    stats = flops_params(op_matrix([BEST_C10]), "cifar10")
    assert int(stats["flops"][0]) == 306_545_920
    assert int(stats["params"][0]) == 1_073_466  # NAS-Bench-201 lists 1.0735 M parameters for this cell
    assert stats["flops"].dtype == np.int64
    net = NB201Network(BEST_C10)  # a real CPU network this time, in training mode
    assert (count_flops_torch(net, (3, 32, 32)), count_params(net)) == (306_545_920, 1_073_466)
    assert net.training


def test_statistics_of_all_cells(space):
    cells = space.cells()
    stats = space.statistics(cells)
    assert set(stats) == set(space.statistic_names) == {"flops", "params"}
    assert all(len(v) == N_CELLS and v.dtype == float for v in stats.values())
    # the op-free cells are the cheapest, the all-conv3x3 cell the most expensive
    index = {a: arch_string_to_index(a) for a in (uniform("none"), uniform("nor_conv_3x3"))}
    assert stats["flops"][index[uniform("none")]] == stats["flops"].min()
    assert stats["flops"][index[uniform("nor_conv_3x3")]] == stats["flops"].max()
    assert stats["params"][index[uniform("nor_conv_3x3")]] == stats["params"].max()
    # FLOPs depend only on how many 1x1 and 3x3 convolutions the cell has: 28 distinct values
    assert len(np.unique(stats["flops"])) == 28


def test_network_forward_shapes(one_thread):
    torch = one_thread
    from nars_plugin.spaces.nb201._net import NB201Network

    net = NB201Network(BEST_C10, num_classes=120).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 120)
    assert NB201Space("ImageNet16-120").network(BEST_C10).classifier.out_features == 120
    with pytest.raises(InvalidArchitectureError):
        NB201Network("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(InvalidArchitectureError):
        NB201Network(["none"] * 5)


def test_flops_params_rejects_bad_input():
    with pytest.raises(ConfigError, match="cifar10"):
        flops_params(np.zeros((1, 6), dtype=int), "imagenet")
    with pytest.raises(InvalidArchitectureError):
        flops_params(np.zeros((2, 5), dtype=int))
    with pytest.raises(InvalidArchitectureError):
        flops_params(np.full((2, 6), 5))
    with pytest.raises(InvalidArchitectureError):
        flops_params(np.full((2, 6), 0.5))
    assert flops_params(np.zeros(6, dtype=int))["flops"].shape == (1,)
    assert flops_params(np.zeros((0, 6)))["params"].shape == (0,)
    assert NB201Space().statistics([])["flops"].shape == (0,)


def test_module_does_not_import_torch():
    code = "import sys, nars_plugin.spaces.nb201 as m; m.NB201Space().statistics(m.NB201Space().cells()[:5]); "
    code += "assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- #
# Numberings
# --------------------------------------------------------------------------- #


def test_constants():
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert EDGES == ("edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2")
    assert NASLIB_OPS == ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    assert NASLIB_EDGES == ("edge_1_0", "edge_2_0", "edge_3_0", "edge_2_1", "edge_3_1", "edge_3_2")
    assert N_CELLS == 15_625


@pytest.mark.parametrize(("index", "arch"), KNOWN)
def test_known_cells(space, index, arch):
    assert arch_string_to_index(arch) == index
    assert index_to_arch_string(index) == arch
    assert space.format_arch(space.from_index(index)) == arch
    assert space.index(space.candidate(arch)) == index


def test_best_cell_naslib_tuple(space):
    # NASLib order e(1,2) e(1,3) e(1,4) e(2,3) e(2,4) e(3,4) = edge_1_0 edge_2_0 edge_3_0 edge_2_1 edge_3_1 edge_3_2
    # ops conv3x3 conv3x3 skip conv3x3 conv3x3 conv1x1 -> NASLib indices 2 2 0 2 2 3
    assert arch_string_to_naslib_tuple(BEST_C10) == (2, 2, 0, 2, 2, 3)
    assert naslib_tuple_to_arch_string((2, 2, 0, 2, 2, 3)) == BEST_C10
    assert space.to_naslib(space.candidate(BEST_C10)) == (2, 2, 0, 2, 2, 3)
    assert space.from_naslib([2, 2, 0, 2, 2, 3]) == space.candidate(BEST_C10)
    assert naslib_tuple_to_arch_string(np.array([1] * 6)) == uniform("none")


def test_round_trips_for_all_cells(space):
    cells = space.cells()
    assert len(cells) == N_CELLS == len(set(cells))
    assert np.array_equal(space.indices(cells), np.arange(N_CELLS))
    strings = [index_to_arch_string(i) for i in range(N_CELLS)]
    assert len(set(strings)) == N_CELLS
    assert [space.format_arch(c) for c in cells] == strings
    assert np.array_equal(space.indices(strings), np.arange(N_CELLS))
    for i, text in enumerate(strings):
        assert arch_string_to_index(text) == i
        assert format_arch_string(parse_arch_string(text)) == text
        t = arch_string_to_naslib_tuple(text)
        assert naslib_tuple_to_arch_string(t) == text
        assert space.to_naslib(cells[i]) == t
    tuples = {arch_string_to_naslib_tuple(s) for s in strings}
    assert len(tuples) == N_CELLS and all(len(t) == 6 and set(t) <= set(range(5)) for t in tuples)
    for i in (0, 1, 777, 15624):
        assert space.from_naslib(space.to_naslib(cells[i])) == cells[i] == space.from_index(i)
        assert space.parse_arch(space.format_arch(cells[i])) == dict(cells[i].arch)


def test_nats_order_matches_table(need_data):
    path = need_data("nb201/cifar10_test_acc_200ep.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == N_CELLS
    index = np.array([int(r["nats_index"]) for r in rows])
    archs = [r["arch"] for r in rows]
    assert np.array_equal(NB201Space().indices(archs), index)
    assert all(index_to_arch_string(int(i)) == a for i, a in zip(index, archs))
    best = max(rows, key=lambda r: float(r["test_acc_200ep"]))
    assert best["arch"] == BEST_C10 and int(best["nats_index"]) == 6111


@pytest.mark.parametrize("bad", [-1, N_CELLS, 1.0, "3", True, None])
def test_bad_index(bad, space):
    with pytest.raises(InvalidArchitectureError):
        index_to_arch_string(bad)
    with pytest.raises(InvalidArchitectureError):
        space.from_index(bad)


@pytest.mark.parametrize("bad", [(0, 1, 2), (0, 1, 2, 3, 4, 5), (0, 0, 0, 0, 0, 7), (0, 0, 0, 0, 0, -1), "012340", 5])
def test_bad_naslib_tuple(bad, space):
    with pytest.raises(InvalidArchitectureError):
        naslib_tuple_to_arch_string(bad)
    with pytest.raises(InvalidArchitectureError):
        space.from_naslib(bad)
    with pytest.raises(InvalidArchitectureError):  # among good tuples, as a table hands them over
        space.from_naslib_many([(0, 1, 2, 3, 4, 0), bad])


@pytest.mark.parametrize("entry", [True, 1.5, np.float64(2.0)])
def test_a_naslib_tuple_entry_that_is_no_integer_is_refused_by_name(entry, space):
    """Not truncated or read as 1: a bool or a float is named as the bad entry, one tuple or many."""
    bad = (0, 1, 2, 3, 4, entry)
    for call in (lambda: space.from_naslib(bad), lambda: space.from_naslib_many([(0, 0, 0, 0, 0, 0), bad])):
        with pytest.raises(InvalidArchitectureError, match=r"entry 5 is .*not an op index"):
            call()


# --------------------------------------------------------------------------- #
# Invalid strings
# --------------------------------------------------------------------------- #

INVALID = [
    ("", "empty"),
    ("   ", "empty"),
    ("|none~0|+|none~0|none~1|", "2 node group"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "4 node group"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+", "4 node group"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 edge"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|", "node 3 has 4 edge"),
    ("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_3x3'.*avg_pool_3x3"),
    ("|none~0|+|none~0|none~1|+|none~0|Skip_connect~1|none~2|", "unknown op 'Skip_connect'"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "input node must be 0"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "input node must be 1"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~02|", "input node must be 2"),
    ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "not of the form"),
    ("|none~0|+|none~0||none~1|+|none~0|none~1|none~2|", "node 2 has 3 edge"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end"),
    ("|none~0|x+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|!", "must start and end"),
    ("| none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "stray characters"),
    ("|none~0|+|none~0|none~1|+|none~0|none ~1|none~2|", "stray characters"),
    ("|none~0|,|none~0|none~1|,|none~0|none~1|none~2|", "1 node group"),
]


@pytest.mark.parametrize(("text", "problem"), INVALID)
def test_invalid_strings(text, problem, space):
    with pytest.raises(InvalidArchitectureError, match=problem) as info:
        parse_arch_string(text)
    assert "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" in (info.value.hint or "")
    assert isinstance(info.value, ValueError)
    for call in (arch_string_to_index, arch_string_to_naslib_tuple, space.parse_arch, space.candidate):
        with pytest.raises(InvalidArchitectureError):
            call(text)
    with pytest.raises(InvalidArchitectureError):
        op_matrix([BEST_C10, text])


@pytest.mark.parametrize("bad", [None, 3, b"|none~0|", ["none"] * 6])
def test_non_string_arch(bad):
    with pytest.raises(InvalidArchitectureError, match="must be a str"):
        parse_arch_string(bad)


def test_surrounding_whitespace_is_ignored():
    assert parse_arch_string(f"  {BEST_C10}\n") == parse_arch_string(BEST_C10)


def _check_parse_or_error(text: str) -> None:
    try:
        ops = parse_arch_string(text)
    except InvalidArchitectureError as exc:
        assert exc.hint and str(exc)
    else:  # a valid string: it must be the canonical form (up to surrounding whitespace)
        assert format_arch_string(ops) == text.strip()


_PIECES = st.sampled_from(["|", "+", "~", "0", "1", "2", "3", " ", *OPS, "conv", "~0|", "|+|"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=80), st.lists(_PIECES, max_size=30).map("".join)))
def test_random_text_raises_only_invalid_architecture(text):
    _check_parse_or_error(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, N_CELLS - 1), st.integers(0, 200), st.sampled_from(["delete", "insert", "replace"]), st.text())
def test_edited_valid_strings(index, where, edit, piece):
    text = index_to_arch_string(index)
    k = where % (len(text) + 1)
    if edit == "delete":
        text = text[:k] + text[k + 1 :]
    elif edit == "insert":
        text = text[:k] + piece + text[k:]
    else:
        text = text[:k] + piece + text[k + 1 :]
    _check_parse_or_error(text)


# --------------------------------------------------------------------------- #
# The space
# --------------------------------------------------------------------------- #


def test_space_structure(space):
    assert [p.name for p in space.arch_params] == list(EDGES)
    assert all(isinstance(p, Categorical) and p.choices == OPS for p in space.arch_params)
    assert space.size == space.arch_size == N_CELLS
    assert space.statistic_names == ("flops", "params")
    assert space.dataset == "cifar10" and (space.num_classes, space.resolution) == (10, 32)
    cand = space.candidate(BEST_C10)
    assert cand.arch["edge_3_0"] == "skip_connect" and cand.arch["edge_3_2"] == "nor_conv_1x1"


def test_bad_dataset():
    with pytest.raises(ConfigError, match="ImageNet16-120"):
        NB201Space(dataset="imagenet")


def test_space_with_recipe():
    space = NB201Space(recipe_params=[Categorical("epochs", (12, 200))])
    cells = space.cells()
    assert cells[0].recipe == {"epochs": 12}
    long = space.cells({"epochs": 200})
    assert long[6111] == space.from_index(6111, {"epochs": 200}) == space.candidate(BEST_C10, {"epochs": 200})
    assert space.cells() == cells and space.cells() is not space.cells()  # cached, handed out as copies
    assert space.from_naslib((2, 2, 0, 2, 2, 3), {"epochs": 200}) == long[6111]
    assert np.array_equal(space.indices(long), np.arange(N_CELLS))
    with pytest.raises(ValueError):
        space.cells({"epochs": 50})
    with pytest.raises(ValueError):
        space.from_index(0, {"lr": 0.1})
    fixed = space.fix_recipe(epochs=200)
    assert fixed.cells()[0].recipe == {"epochs": 200}
    assert NB201Space().cells()[0].recipe == {}


def test_indices_accept_mixed_inputs(space):
    best = space.candidate(BEST_C10)
    assert list(space.indices([best, BEST_C10, dict(best.arch)])) == [6111] * 3
    assert space.indices([]).shape == (0,)
    with pytest.raises(InvalidArchitectureError):
        space.index(Candidate({"edge_1_0": "none"}))
    with pytest.raises(InvalidArchitectureError):
        space.index(Candidate({**best.arch, "edge_1_0": "conv"}))
    with pytest.raises(InvalidArchitectureError):
        space.index(42)


def test_constraints(space):
    cells = space.cells()
    mask = space.feasible(cells, ["flops <= 100M", "params <= 500k"])
    stats = space.statistics(cells)
    assert np.array_equal(mask, (stats["flops"] <= 1e8) & (stats["params"] <= 5e5))
    assert 0 < mask.sum() < N_CELLS
    space.check_satisfiable(["flops <= 20M"])
    with pytest.raises(InfeasibleConstraintError, match="15566080"):
        space.check_satisfiable(["flops <= 1M"])


def test_format_arch_string_errors():
    with pytest.raises(InvalidArchitectureError):
        format_arch_string(["none"] * 5)
    with pytest.raises(InvalidArchitectureError):
        format_arch_string(["none"] * 5 + ["conv"])
    with pytest.raises(InvalidArchitectureError):
        format_arch_string({"edge_1_0": "none"})
    assert format_arch_string(dict(zip(EDGES, parse_arch_string(BEST_C10)))) == BEST_C10


def test_graph_statistics_describe_the_wiring():
    from nars_plugin.spaces.nb201 import GRAPH_STATISTICS, graph_statistics

    cells = [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|",
        "|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|",
    ]
    stats = graph_statistics(op_matrix(cells))
    assert set(stats) == set(GRAPH_STATISTICS)
    assert stats["paths"].tolist() == [4, 0, 1, 2]
    assert stats["conv_depth"].tolist() == [3, 0, 0, 2]
    assert stats["identity_path"].tolist() == [1, 0, 1, 0]


def test_graph_statistics_join_the_free_statistics_only_when_asked():
    plain, wired = NB201Space(), NB201Space(graph_statistics="true")
    assert wired.statistic_names == ("flops", "params", "paths", "conv_depth", "identity_path")
    cands = plain.sample(64, seed=0)
    assert set(wired.statistics(cands)) == set(wired.statistic_names)
    # a constraint may name them either way
    mask = plain.feasible(cands, ["conv_depth >= 2", "identity_path >= 1"])
    stats = wired.statistics(cands)
    assert mask.tolist() == ((stats["conv_depth"] >= 2) & (stats["identity_path"] >= 1)).tolist()


def test_graph_statistics_option_refuses_other_text():
    with pytest.raises(ConfigError, match="graph_statistics must be true or false, got 'maybe'"):
        NB201Space(graph_statistics="maybe")
