"""An example third-party nars-plugin plugin: a graph-NAS cell space with invalid points and
isomorphic encodings, and a small tabular benchmark over it."""

from .benchmark import graph_cell_benchmark
from .space import GraphCellSpace

__all__ = ["GraphCellSpace", "graph_cell_benchmark"]
__version__ = "0.1.0"
