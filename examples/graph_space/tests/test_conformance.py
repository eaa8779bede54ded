"""How a plugin author checks a space, a benchmark and an optimizer with nars-plugin's conformance suites.

Each class subclasses one suite of :mod:`nars_plugin.testing` and provides its fixtures; pytest then
runs every check of the suite on this plugin's components. Run it with the package installed::

    pip install -e examples/graph_space
    pytest examples/graph_space/tests
"""

from __future__ import annotations

import pytest
from nars_graphspace import GraphCellSpace, graph_cell_benchmark

from nars_plugin.plugins import get_registry
from nars_plugin.testing import BenchmarkConformance, OptimizerConformance, SpaceConformance


@pytest.fixture(scope="module")
def table():
    return graph_cell_benchmark()


class TestGraphCellSpace(SpaceConformance):
    """Sampling, encoding, mutation, neighbours, enumeration, is_valid, canonical and statistics."""

    @pytest.fixture
    def space(self):
        return GraphCellSpace()


class TestGraphCellBenchmark(BenchmarkConformance):
    """Finite, repeatable answers, identical for every encoding of one cell."""

    @pytest.fixture
    def benchmark(self, table):
        return table


class TestEvolutionOnGraphCells(OptimizerConformance):
    """A built-in optimizer on this space: no repeats (by canonical form), no invalid points, constraints."""

    budget = 15

    @pytest.fixture
    def benchmark(self, table):
        return table

    @pytest.fixture
    def optimizer(self):
        return "rea"


def test_registered_through_the_entry_point():
    registry = get_registry()
    assert registry.get("space", "graph-cell").plugin == "graphspace"
    assert registry.get("benchmark", "graph-cell").plugin == "graphspace"


def test_the_space_has_invalid_points_and_isomorphic_encodings():
    space = GraphCellSpace()
    # the output hangs off node 2, which nothing feeds: no path from the input
    dead = space.candidate("edges:000001|ops:conv3x3,conv3x3", {"lr": 0.1})
    assert not space.is_valid(dead)
    # node 1 on the path, or node 2 on the path: one cell, one canonical form
    one = space.candidate("edges:100010|ops:conv1x1,maxpool", {"lr": 0.1})
    two = space.candidate("edges:010001|ops:maxpool,conv1x1", {"lr": 0.1})
    assert one != two and space.canonical(one) == space.canonical(two)
