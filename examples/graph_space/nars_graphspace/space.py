"""A graph-NAS cell space: a 4-node DAG with an operation on each intermediate node.

Node 0 is the cell's input, node 3 its output, nodes 1 and 2 compute ``op1`` and ``op2`` on the
sum of their inputs. The six upper-triangular adjacency bits ``e01 .. e23`` say which edges
exist. Two facts make this space a good test of the :class:`~nars_plugin.space.Space` contract:

* **invalid points**: a cell whose output cannot be reached from its input is no network
  (:meth:`GraphCellSpace.is_valid` says so);
* **isomorphic encodings**: a node on no input-output path changes nothing, whatever its operation
  and edges, and the two intermediate nodes can trade places when no edge joins them, so many
  encodings describe one cell. :meth:`GraphCellSpace.canonical` prunes the dead nodes and picks the
  lexicographically smallest encoding over the node orders that keep the graph upper-triangular.

The recipe part is a learning rate on a log grid. Free statistics: ``params`` (weights of the live
operations), ``edges`` (live edges) and ``depth`` (operations on the longest input-output path),
all computed on the canonical cell, so every encoding of a cell has the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations

import numpy as np

from nars_plugin.errors import InvalidArchitectureError
from nars_plugin.space import Candidate, Categorical, Ordinal, Space

#: Operations of the intermediate nodes; the first is what a pruned (dead) node is given.
OPS = ("conv3x3", "conv1x1", "maxpool")
#: Weights of each operation at 16 channels.
OP_PARAMS = {"conv3x3": 9 * 16 * 16, "conv1x1": 16 * 16, "maxpool": 0}
#: The edges (i, j), i < j, in encoding order.
EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
INPUT, OUTPUT, INTERMEDIATE = 0, 3, (1, 2)
LEARNING_RATES = (0.025, 0.05, 0.1, 0.2)


def edge_name(i: int, j: int) -> str:
    return f"e{i}{j}"


class Cell:
    """A cell as a set of edges and the operation of each intermediate node."""

    def __init__(self, edges: set[tuple[int, int]], ops: dict[int, str]) -> None:
        self.edges, self.ops = edges, ops

    @classmethod
    def of(cls, cand: Candidate) -> Cell:
        edges = {(i, j) for i, j in EDGES if cand.arch[edge_name(i, j)]}
        return cls(edges, {k: cand.arch[f"op{k}"] for k in INTERMEDIATE})

    def arch(self) -> dict[str, object]:
        values: dict[str, object] = {edge_name(i, j): int((i, j) in self.edges) for i, j in EDGES}
        values.update({f"op{k}": self.ops[k] for k in INTERMEDIATE})
        return values

    def _reach(self, start: int, forward: bool) -> set[int]:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            for i, j in self.edges:
                src, dst = (i, j) if forward else (j, i)
                if src == node and dst not in seen:
                    seen.add(dst)
                    todo.append(dst)
        return seen

    def live(self) -> set[int]:
        """Nodes on some input-output path (empty when the output is unreachable)."""
        on_path = self._reach(INPUT, True) & self._reach(OUTPUT, False)
        return on_path if OUTPUT in on_path else set()

    def pruned(self) -> Cell:
        """The same cell without the nodes and edges on no input-output path."""
        live = self.live()
        edges = {(i, j) for i, j in self.edges if i in live and j in live}
        return Cell(edges, {k: self.ops[k] if k in live else OPS[0] for k in INTERMEDIATE})

    def relabelled(self, order: Sequence[int]) -> Cell | None:
        """The cell with intermediate node ``INTERMEDIATE[n]`` renamed ``order[n]``; None when an
        edge would then point backwards (not an upper-triangular encoding)."""
        name = {INPUT: INPUT, OUTPUT: OUTPUT, **dict(zip(INTERMEDIATE, order))}
        edges = {(name[i], name[j]) for i, j in self.edges}
        if any(i > j for i, j in edges):
            return None
        return Cell(edges, {name[k]: op for k, op in self.ops.items()})

    def encoding(self) -> tuple[int, ...]:
        """The cell as a tuple compared lexicographically: edge bits, then operation indices."""
        bits = tuple(int(e in self.edges) for e in EDGES)
        return bits + tuple(OPS.index(self.ops[k]) for k in INTERMEDIATE)

    def depth(self) -> int:
        """Operations on the longest input-output path (0 for the direct edge only)."""
        longest = {INPUT: 0}
        for j in (*INTERMEDIATE, OUTPUT):
            preds = [longest[i] + (i in INTERMEDIATE) for i, jj in self.edges if jj == j and i in longest]
            if preds:
                longest[j] = max(preds)
        return longest.get(OUTPUT, 0)


# --8<-- [start:space]
class GraphCellSpace(Space):
    """4-node DAG cells (6 edge bits, 2 operations) x a learning rate; see the module docstring."""

    def __init__(self) -> None:
        arch = [Categorical(edge_name(i, j), (0, 1)) for i, j in EDGES]
        arch += [Categorical(f"op{k}", OPS) for k in INTERMEDIATE]
        recipe = [Ordinal("lr", LEARNING_RATES, log=True)]
        super().__init__("graph-cell", arch, recipe, description="4-node DAG cells with invalid and isomorphic points")

    # -- the contract: invalid points and canonical forms ------------------ #

    def is_valid(self, cand: Candidate) -> bool:
        """A cell is valid when its output is reachable from its input."""
        return bool(Cell.of(cand).live())

    def canonical(self, cand: Candidate) -> Candidate:
        """Dead nodes pruned, then the smallest encoding over the intermediate nodes' orders."""
        cell = Cell.of(cand).pruned()
        forms = [c for c in (cell.relabelled(order) for order in permutations(INTERMEDIATE)) if c is not None]
        best = min(forms, key=Cell.encoding)
        return Candidate(best.arch(), cand.recipe)

    # -- the contract: free statistics --------------------------------------- #

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return ("params", "edges", "depth")

    def statistics(self, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        cells = [Cell.of(self.canonical(c)) for c in cands]
        live = [cell.live() for cell in cells]
        params = [sum(OP_PARAMS[cell.ops[k]] for k in INTERMEDIATE if k in alive) for cell, alive in zip(cells, live)]
        return {
            "params": np.asarray(params, dtype=float),
            "edges": np.asarray([len(cell.edges) for cell in cells], dtype=float),
            "depth": np.asarray([cell.depth() for cell in cells], dtype=float),
        }

    # -- the contract: a text syntax for architectures ------------------------ #

    def format_arch(self, cand: Candidate) -> str:
        """``edges:011001|ops:conv3x3,maxpool``: the six edge bits, then the two operations."""
        bits = "".join(str(cand.arch[edge_name(i, j)]) for i, j in EDGES)
        return f"edges:{bits}|ops:" + ",".join(cand.arch[f"op{k}"] for k in INTERMEDIATE)

    def parse_arch(self, text: str) -> dict[str, object]:
        hint = "write the cell as edges:BBBBBB|ops:OP,OP with six 0/1 edge bits (e01 e02 e03 e12 e13 e23)"
        try:
            edges_part, ops_part = text.strip().split("|")
            bits = edges_part.removeprefix("edges:")
            ops = ops_part.removeprefix("ops:").split(",")
        except ValueError:
            raise InvalidArchitectureError(f"cannot read the cell {text!r}", hint) from None
        if len(bits) != len(EDGES) or set(bits) - {"0", "1"} or len(ops) != len(INTERMEDIATE):
            raise InvalidArchitectureError(f"cannot read the cell {text!r}", hint)
        values: dict[str, object] = {edge_name(i, j): int(b) for (i, j), b in zip(EDGES, bits)}
        values.update({f"op{k}": op for k, op in zip(INTERMEDIATE, ops)})
        return values


# --8<-- [end:space]
