"""Registers the ``graph-cell`` space and benchmark through nars-plugin's hooks (the entry point)."""

from __future__ import annotations

from nars_plugin import hookimpl

from .benchmark import graph_cell_benchmark
from .space import GraphCellSpace


@hookimpl
def nars_register_spaces(registry) -> None:
    registry.add_space("graph-cell", GraphCellSpace, "graph example: 4-node DAG cells x learning rate")


@hookimpl
def nars_register_benchmarks(registry) -> None:
    registry.add_benchmark("graph-cell", graph_cell_benchmark, "graph example: synthetic table over graph-cell")
