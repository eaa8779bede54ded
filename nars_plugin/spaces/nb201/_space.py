"""The NAS-Bench-201 search space: 15,625 cells, 6 edges x 5 ops.

Architecture strings use the official syntax ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: the three
``+``-separated groups are nodes 1, 2 and 3 of the cell, and ``op~j`` is the op on the edge from node
``j``. The architecture parameters are named after the edges (:data:`EDGES`, ``edge_<i>_<j>`` = into
node ``i`` from node ``j``) in that string order.

Three numberings of the cells are supported and round-trip exactly:

* the official string (:func:`parse_arch_string`, :func:`format_arch_string`);
* the NAS-Bench-201 / NATS-Bench "tss" index 0..15,624 (:func:`arch_string_to_index`,
  :func:`index_to_arch_string`). NAS-Bench-201 enumerated the cells in lexicographic order (edges in
  string order, the first edge varying slowest; ops in :data:`OPS` order), then shuffled that list
  with Python's ``random.seed(88); random.shuffle(...)``; the index is the position after the shuffle.
  The permutation is rebuilt here the same way (the Mersenne Twister and ``shuffle`` are stable
  across Python versions) and checked against known cells;
* NASLib's op-index tuples (:func:`naslib_tuple_to_arch_string`): op indices of
  :data:`NASLIB_OPS`, edges in NASLib's order (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) (1-based nodes,
  node 1 = cell input), i.e. :data:`NASLIB_EDGES`.

FLOPs and parameters (:func:`flops_params`) are those of the real network
(:class:`nars_plugin.spaces.nb201._net.NB201Network`), computed analytically: "flops" is what
``torch.utils.flop_counter.FlopCounterMode`` counts for one image (2 x the multiply-accumulates of the
convolutions and the classifier; BatchNorm, pooling and additions count zero), "params" the trainable
parameters. This module does not import torch.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..._keyvalue import as_flag
from ...errors import ConfigError, InvalidArchitectureError
from ...space import Candidate, Categorical, Space, Value
from ._cell import _OP_INDEX, _STRICT, EDGES, EXAMPLE, OPS, format_arch_string, parse_arch_string
from ._latency import CIFAR10_ONLY_HINT, device_of, latency_metric, load_nb201_latency, nb201_latency, parse_devices
from ._proxies import PROXIES, ProxyCache, nb201_proxy, parse_proxies

__all__ = [
    "OPS",
    "EDGES",
    "NASLIB_OPS",
    "NASLIB_EDGES",
    "DATASETS",
    "N_CELLS",
    "NB201Space",
    "parse_arch_string",
    "format_arch_string",
    "arch_string_to_index",
    "index_to_arch_string",
    "naslib_tuple_to_arch_string",
    "arch_string_to_naslib_tuple",
    "op_matrix",
    "flops_params",
]

#: NASLib's op list: a NASLib tuple holds indices into this.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: The edge of each position of a NASLib tuple: NASLib edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4).
NASLIB_EDGES: tuple[str, ...] = ("edge_1_0", "edge_2_0", "edge_3_0", "edge_2_1", "edge_3_1", "edge_3_2")
#: Data sets of the benchmark: name -> (number of classes, input resolution).
DATASETS: dict[str, tuple[int, int]] = {"cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}
#: Number of cells.
N_CELLS = len(OPS) ** len(EDGES)

_NODE_OF_EDGE = tuple((int(e.split("_")[1]), int(e.split("_")[2])) for e in EDGES)
# weight of each edge's op index in the lexicographic code (the first edge varies slowest)
_RADIX = len(OPS) ** np.arange(len(EDGES) - 1, -1, -1, dtype=np.int64)
# NASLib tuple position k holds the edge at EDGES position _NASLIB_POS[k]
_NASLIB_POS = np.array([EDGES.index(e) for e in NASLIB_EDGES])
# our op index -> NASLib op index, and back
_TO_NASLIB_OP = np.array([NASLIB_OPS.index(op) for op in OPS])
_FROM_NASLIB_OP = np.array([OPS.index(op) for op in NASLIB_OPS])

_SHUFFLE_SEED = 88  # the seed NAS-Bench-201 shuffled its list of cells with
# known (index, cell) pairs of the benchmark, checked when the permutation is built
_KNOWN = (
    (0, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"),
    (6111, EXAMPLE),
)


# --------------------------------------------------------------------------- #
# Indices (NATS-Bench "tss" order)
# --------------------------------------------------------------------------- #


@lru_cache(maxsize=1)
def _permutation() -> tuple[np.ndarray, np.ndarray]:
    """(lexicographic code of each NATS index, NATS index of each lexicographic code)."""
    order = list(range(N_CELLS))
    random.Random(_SHUFFLE_SEED).shuffle(order)
    code_of_index = np.array(order, dtype=np.int64)
    index_of_code = np.empty(N_CELLS, dtype=np.int64)
    index_of_code[code_of_index] = np.arange(N_CELLS, dtype=np.int64)
    for index, text in _KNOWN:
        match = _STRICT.fullmatch(text)
        assert match is not None, text  # _KNOWN holds well-formed cell strings
        code = int(np.dot(_RADIX, [_OP_INDEX[op] for op in match.groups()]))
        if code_of_index[index] != code:  # pragma: no cover - only if Python's random module changed
            raise RuntimeError("the NAS-Bench-201 index permutation could not be rebuilt on this Python")
    code_of_index.flags.writeable = False
    index_of_code.flags.writeable = False
    return code_of_index, index_of_code


def _codes(matrix: np.ndarray) -> np.ndarray:
    return matrix.astype(np.int64) @ _RADIX


def _matrix_of_codes(codes: np.ndarray) -> np.ndarray:
    return (np.asarray(codes, dtype=np.int64)[:, None] // _RADIX) % len(OPS)


def _check_index(index: Any) -> int:
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise InvalidArchitectureError(
            f"a NAS-Bench-201 index must be an integer, got {type(index).__name__} {index!r}",
            f"use 0 .. {N_CELLS - 1}",
        )
    if not 0 <= int(index) < N_CELLS:
        raise InvalidArchitectureError(f"NAS-Bench-201 index {index} is out of range", f"use 0 .. {N_CELLS - 1}")
    return int(index)


def arch_string_to_index(text: str) -> int:
    """The NAS-Bench-201 / NATS-Bench tss index (0 .. 15,624) of an official string."""
    ops = parse_arch_string(text)
    code = sum(int(w) * _OP_INDEX[op] for w, op in zip(_RADIX, ops))
    return int(_permutation()[1][code])


def index_to_arch_string(index: int) -> str:
    """The official string of the cell with NAS-Bench-201 / NATS-Bench tss index ``index``."""
    code = int(_permutation()[0][_check_index(index)])
    return format_arch_string([OPS[i] for i in _matrix_of_codes(np.array([code]))[0]])


# --------------------------------------------------------------------------- #
# NASLib tuples
# --------------------------------------------------------------------------- #


def _naslib_matrix(tuples: Sequence[Any]) -> np.ndarray:
    """NASLib op-index tuples as one (n, 6) matrix; a bad tuple raises :func:`_naslib_row`'s error.

    Checked as one array where every entry is a plain integer (not a bool, not a float), else tuple by
    tuple, so the error names the first bad tuple and entry.
    """
    try:
        if all(type(v) is int or isinstance(v, np.integer) for t in tuples for v in t):
            matrix = np.asarray(tuples, dtype=np.int64)
            if matrix.shape == (len(tuples), len(EDGES)) and ((matrix >= 0) & (matrix < len(OPS))).all():
                return matrix
    except (TypeError, ValueError):  # a tuple that is not iterable, or tuples of unequal length
        pass
    return np.array([_naslib_row(t) for t in tuples], dtype=np.int64).reshape(len(tuples), len(EDGES))


def _naslib_row(t: Any) -> np.ndarray:
    try:
        values = list(t)
    except TypeError:
        values = None
    if values is None or len(values) != len(EDGES):
        raise InvalidArchitectureError(
            f"a NASLib NAS-Bench-201 tuple has {len(EDGES)} op indices, got {t!r}",
            f"NASLib op indices: {dict(enumerate(NASLIB_OPS))}",
        )
    row = np.empty(len(EDGES), dtype=np.int64)
    for k, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < len(OPS):
            raise InvalidArchitectureError(
                f"NASLib tuple {t!r}: entry {k} is {v!r}, not an op index 0..{len(OPS) - 1}",
                f"NASLib op indices: {dict(enumerate(NASLIB_OPS))}",
            )
        row[k] = int(v)
    return row


def naslib_tuple_to_arch_string(t: Sequence[int]) -> str:
    """The official string of a NASLib op-index tuple (see :data:`NASLIB_OPS`, :data:`NASLIB_EDGES`)."""
    row = _naslib_row(t)
    ours = np.empty(len(EDGES), dtype=np.int64)
    ours[_NASLIB_POS] = _FROM_NASLIB_OP[row]
    return format_arch_string([OPS[i] for i in ours])


def arch_string_to_naslib_tuple(text: str) -> tuple[int, ...]:
    """The NASLib op-index tuple of an official string (inverse of :func:`naslib_tuple_to_arch_string`)."""
    ours = np.array([_OP_INDEX[op] for op in parse_arch_string(text)])
    return tuple(int(v) for v in _TO_NASLIB_OP[ours[_NASLIB_POS]])


# --------------------------------------------------------------------------- #
# Op matrices, FLOPs and parameters
# --------------------------------------------------------------------------- #


def _ops_of(item: Any) -> tuple[str, ...] | list[Any]:
    if isinstance(item, Candidate):
        arch = item.arch
        try:
            return [arch[e] for e in EDGES]
        except KeyError:
            raise InvalidArchitectureError(
                f"candidate {item!r} is not a NAS-Bench-201 cell", f"its architecture needs the edges {list(EDGES)}"
            ) from None
    if isinstance(item, str):
        return parse_arch_string(item)
    if isinstance(item, Mapping):
        return parse_arch_string(format_arch_string(item))
    raise InvalidArchitectureError(
        f"cannot read a NAS-Bench-201 cell from {type(item).__name__} {item!r}",
        "pass Candidates, official architecture strings or edge -> op mappings",
    )


def op_matrix(cells: Iterable[Candidate | str | Mapping[str, str]]) -> np.ndarray:
    """An (n, 6) int array of :data:`OPS` indices, columns in :data:`EDGES` order.

    ``cells`` may hold Candidates of an NB201 space, official strings or edge -> op mappings.
    """
    index = _OP_INDEX
    flat: list[int] = []
    n = 0
    for item in cells:
        try:
            flat.extend([index[op] for op in _ops_of(item)])
        except (KeyError, TypeError):
            raise InvalidArchitectureError(
                f"{item!r} holds an op that is not a NAS-Bench-201 op", f"valid ops: {list(OPS)}"
            ) from None
        n += 1
    return np.array(flat, dtype=np.int64).reshape(n, len(EDGES))


def _dataset(dataset: str) -> tuple[int, int]:
    if dataset not in DATASETS:
        raise ConfigError(f"unknown NAS-Bench-201 data set {dataset!r}", f"choose one of {list(DATASETS)}")
    return DATASETS[dataset]


@lru_cache(maxsize=8)
def _cost_tables(dataset: str) -> dict[str, tuple[int, np.ndarray]]:
    """Per statistic: (cost of the fixed skeleton, cost of one edge's op in all 15 cells, per op)."""
    num_classes, resolution = _dataset(dataset)
    base, cells_per_stage, stages = 16, 5, 3
    stage_channels = [base * 2**s for s in range(stages)]
    stage_pixels = [(resolution // 2**s) ** 2 for s in range(stages)]

    # stem conv + BN
    macs = 3 * base * 9 * resolution**2
    params = 3 * base * 9 + 2 * base
    # reduction blocks: conv_a (3x3, stride 2) + BN, conv_b (3x3) + BN, shortcut conv 1x1 after the pooling
    for s in range(1, stages):
        c_in, c_out, pixels = stage_channels[s - 1], stage_channels[s], stage_pixels[s]
        weights = 9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out
        macs += weights * pixels
        params += weights + 2 * (2 * c_out)
    # last BN + classifier
    c_last = stage_channels[-1]
    macs += c_last * num_classes
    params += 2 * c_last + c_last * num_classes + num_classes

    op_macs = np.zeros(len(OPS), dtype=np.int64)
    op_params = np.zeros(len(OPS), dtype=np.int64)
    for op, kernel in (("nor_conv_1x1", 1), ("nor_conv_3x3", 3)):
        i = _OP_INDEX[op]
        op_macs[i] = cells_per_stage * sum(kernel**2 * c * c * p for c, p in zip(stage_channels, stage_pixels))
        op_params[i] = cells_per_stage * sum(kernel**2 * c * c + 2 * c for c in stage_channels)
    for table in (op_macs, op_params):
        table.flags.writeable = False
    return {"macs": (macs, op_macs), "flops": (2 * macs, 2 * op_macs), "params": (params, op_params)}


#: The wiring statistics of :func:`graph_statistics`.
GRAPH_STATISTICS: tuple[str, ...] = ("paths", "conv_depth", "identity_path")
#: The four input-to-output paths of a cell, as column indices into :data:`EDGES`.
_PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))


def graph_statistics(op_indices: np.ndarray) -> dict[str, np.ndarray]:
    """How the cells are wired (float arrays, one value per cell of an (n, 6) :func:`op_matrix`).

    * ``paths``: input-to-output paths with no ``none`` edge (0-4);
    * ``conv_depth``: the most convolutions along one such path (0-3);
    * ``identity_path``: 1 where one such path is all ``skip_connect`` (a residual shortcut).
    """
    matrix = np.atleast_2d(np.asarray(op_indices))
    none, skip = OPS.index("none"), OPS.index("skip_connect")
    conv = np.isin(matrix, [OPS.index("nor_conv_1x1"), OPS.index("nor_conv_3x3")])
    alive = [np.all(matrix[:, list(p)] != none, axis=1) for p in _PATHS]
    depth = [np.where(a, conv[:, list(p)].sum(axis=1), 0) for a, p in zip(alive, _PATHS)]
    identity = [a & np.all(matrix[:, list(p)] == skip, axis=1) for a, p in zip(alive, _PATHS)]
    return {
        "paths": np.sum(alive, axis=0).astype(float),
        "conv_depth": np.max(depth, axis=0).astype(float),
        "identity_path": np.any(identity, axis=0).astype(float),
    }


def flops_params(op_indices: np.ndarray, dataset: str = "cifar10") -> dict[str, np.ndarray]:
    """Exact "flops", "macs" and "params" (int64 arrays) of the NB201 networks of many cells.

    Args:
        op_indices: an (n, 6) array of :data:`OPS` indices (see :func:`op_matrix`); a single row of 6
            is accepted too.
        dataset: one of :data:`DATASETS` (sets the classifier size and the input resolution).
    """
    tables = _cost_tables(dataset)
    matrix = np.asarray(op_indices)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != len(EDGES):
        raise InvalidArchitectureError(f"op indices must have shape (n, {len(EDGES)}), got {matrix.shape}")
    if not matrix.size:
        matrix = matrix.astype(np.int64)
    elif not np.issubdtype(matrix.dtype, np.integer) or matrix.min() < 0 or matrix.max() >= len(OPS):
        raise InvalidArchitectureError(f"op indices must be integers 0..{len(OPS) - 1}", f"ops: {list(OPS)}")
    return {name: fixed + per_op[matrix].sum(axis=1) for name, (fixed, per_op) in tables.items()}


# --------------------------------------------------------------------------- #
# The space
# --------------------------------------------------------------------------- #


class NB201Space(Space):
    """NAS-Bench-201 cells (six :class:`Categorical` edge parameters over :data:`OPS`) plus a recipe part.

    Args:
        dataset: ``cifar10``, ``cifar100`` or ``ImageNet16-120``: the network's classifier and input
            resolution, hence its FLOPs and parameters.
        recipe_params: the training-recipe part.
        name: registry name.
        description: one line for ``nars spaces``.
        latency: devices whose measured latency (``latency[<device>]``, ms, from
            :mod:`nars_plugin.spaces.nb201._latency`) joins the free statistics, so predictor pretraining uses it:
            ``"pixel3"``, ``"pixel3,fpga"``, ``"all"`` or None. Constraints may name any device's
            latency either way; the table is read only when one is needed.
        graph_statistics: add the cell's wiring (:func:`graph_statistics`: ``paths``,
            ``conv_depth``, ``identity_path``) to the free statistics, so the pretrained
            predictor's encoder learns where a cell has its shortcut and how deep it is.
        zero_cost: zero-cost proxies of the untrained network (:mod:`nars_plugin.spaces.nb201._proxies`:
            ``synflow``, ``jacob_cov``; comma-separated or a sequence) to add to the free
            statistics. They are computed on the real network once per cell and cached on disk
            (first use: a progress bar; about 0.05 s per cell for synflow, 0.5 s for jacob_cov).
            Constraints may name them either way.
    """

    def __init__(
        self,
        dataset: str = "cifar10",
        recipe_params: Sequence[Any] = (),
        name: str = "nb201",
        description: str = "NAS-Bench-201 cells: 6 edges x 5 ops (15,625), exact FLOPs/params",
        latency: str | Sequence[str] | bool | None = None,
        graph_statistics: bool | str = False,
        zero_cost: str | Sequence[str] | None = None,
    ) -> None:

        self.graph_statistics = as_flag(graph_statistics, "graph_statistics")
        self.zero_cost: tuple[str, ...] = parse_proxies(zero_cost)
        self.num_classes, self.resolution = _dataset(dataset)
        self.dataset = dataset
        self.latency_devices: tuple[str, ...] = tuple(parse_devices(latency))
        if self.latency_devices:
            if dataset != "cifar10":
                raise ConfigError(
                    f"latency of NB201 cells is measured for cifar10 only, not {dataset!r}", CIFAR10_ONLY_HINT
                )
            load_nb201_latency()  # a missing table is an error now, not in the middle of a search
        super().__init__(name, [Categorical(e, OPS) for e in EDGES], recipe_params, description)
        self._cells_cache: dict[str, list[Candidate]] = {}

    def options(self) -> dict[str, Any]:
        """The data set and the optional free statistics (latency devices, graph statistics, proxies)."""
        return {
            "dataset": self.dataset,
            "latency": list(self.latency_devices),
            "graph_statistics": self.graph_statistics,
            "zero_cost": list(self.zero_cost),
        }

    # -- strings ------------------------------------------------------------ #

    def format_arch(self, cand: Candidate) -> str:
        """The official string, e.g. ``|nor_conv_3x3~0|+|...|+|...|``."""
        return format_arch_string([OPS[i] for i in op_matrix([cand])[0]])

    def parse_arch(self, text: str) -> dict[str, Value]:
        """Edge -> op of an official string (InvalidArchitectureError on bad input)."""
        return dict(zip(EDGES, parse_arch_string(text)))

    # -- numberings --------------------------------------------------------- #

    def _recipe(self, recipe: Mapping[str, Value] | None) -> dict[str, Value]:
        completed = self._complete_recipe(recipe or {})
        return {p.name: self._check(p, completed[p.name], "recipe") for p in self.recipe_params}

    def _from_rows(self, rows: np.ndarray, recipe: Mapping[str, Value] | None) -> list[Candidate]:
        full = self._recipe(recipe)
        return [Candidate(dict(zip(EDGES, (OPS[i] for i in row))), full) for row in rows.tolist()]

    def index(self, cand: Candidate | str | Mapping[str, str]) -> int:
        """The NAS-Bench-201 / NATS-Bench tss index of a candidate (or string, or edge -> op mapping)."""
        return int(self.indices([cand])[0])

    def indices(self, cands: Iterable[Candidate | str | Mapping[str, str]]) -> np.ndarray:
        """The NAS-Bench-201 / NATS-Bench tss indices of many candidates (int64 array)."""
        indices: np.ndarray = _permutation()[1][_codes(op_matrix(cands))]
        return indices

    def from_index(self, index: int, recipe: Mapping[str, Value] | None = None) -> Candidate:
        """The candidate of NATS index ``index`` (recipe values left out take their defaults)."""
        code = _permutation()[0][_check_index(index)]
        return self._from_rows(_matrix_of_codes(np.array([code])), recipe)[0]

    def to_naslib(self, cand: Candidate | str | Mapping[str, str]) -> tuple[int, ...]:
        """NASLib's op-index tuple of a candidate."""
        row = op_matrix([cand])[0]
        return tuple(int(v) for v in _TO_NASLIB_OP[row[_NASLIB_POS]])

    def from_naslib(self, t: Sequence[int], recipe: Mapping[str, Value] | None = None) -> Candidate:
        """The candidate of a NASLib op-index tuple."""
        return self.from_naslib_many([t], recipe)[0]

    def from_naslib_many(
        self, tuples: Sequence[Sequence[int]], recipe: Mapping[str, Value] | None = None
    ) -> list[Candidate]:
        """The candidates of many NASLib op-index tuples (each checked as :meth:`from_naslib` checks one)."""
        matrix = _naslib_matrix(tuples)
        ours = np.empty_like(matrix)
        ours[:, _NASLIB_POS] = _FROM_NASLIB_OP[matrix]
        return self._from_rows(ours, recipe)

    def cells(self, recipe: Mapping[str, Value] | None = None) -> list[Candidate]:
        """All 15,625 cells in NATS index order, with ``recipe`` (defaults filled in). Cached."""
        full = self._recipe(recipe)
        key = repr(sorted(full.items()))
        cached = self._cells_cache.get(key)
        if cached is None:
            cached = self._from_rows(_matrix_of_codes(_permutation()[0]), full)
            self._cells_cache[key] = cached
        return list(cached)

    def with_recipe(self, recipe_params: Sequence[Any], name: str | None = None) -> Space:
        clone = super().with_recipe(recipe_params, name)
        assert isinstance(clone, NB201Space)  # the base class copies the space, keeping its class
        clone._cells_cache = {}
        return clone

    # -- statistics --------------------------------------------------------- #

    @property
    def statistic_names(self) -> tuple[str, ...]:
        graph = GRAPH_STATISTICS if self.graph_statistics else ()
        return ("flops", "params", *graph, *self.zero_cost, *(latency_metric(d) for d in self.latency_devices))

    def statistics(self, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        """Exact FLOPs (as FlopCounterMode counts them, one image) and parameters of the NB201 network,
        plus the measured latency (ms) on each device of ``latency``.

        FLOPs and parameters are float64 arrays holding exact integers.
        """
        return self.statistics_for(cands, ())

    def statistics_for(self, cands: Sequence[Candidate], names: Sequence[str]) -> dict[str, np.ndarray]:
        """:meth:`statistics` plus the latency of every device named ``latency[<device>]`` in ``names``."""

        matrix = op_matrix(cands)
        stats = flops_params(matrix, self.dataset)
        out = {name: stats[name].astype(float) for name in ("flops", "params")}
        if self.graph_statistics or any(name in GRAPH_STATISTICS for name in names):
            out.update(graph_statistics(matrix))
        proxies = [*self.zero_cost, *(n for n in names if n in PROXIES and n not in self.zero_cost)]
        if proxies:
            out.update(self.proxy_statistics(matrix, proxies))
        devices = list(self.latency_devices)
        devices += [d for d in map(device_of, names) if d is not None and d not in devices]
        if devices:
            if self.dataset != "cifar10":
                raise ConfigError(
                    f"latency of NB201 cells is measured for cifar10 only, not {self.dataset!r}", CIFAR10_ONLY_HINT
                )
            out.update(nb201_latency(_permutation()[1][_codes(matrix)], devices))
        return out

    def proxy_statistics(self, matrix: np.ndarray, proxies: Sequence[str]) -> dict[str, np.ndarray]:
        """Zero-cost proxies of the cells in ``matrix`` (rows of op indices), from the on-disk cache
        (:class:`~nars_plugin.spaces.nb201._proxies.ProxyCache`), computing the missing ones."""

        arches = [format_arch_string([OPS[i] for i in row]) for row in matrix]
        key = f"nb201 {self.dataset} C16 N5 classes={self.num_classes} resolution={self.resolution}"
        out = {}
        for proxy in proxies:

            def compute(arch: str, proxy: str = proxy) -> float:
                return nb201_proxy(arch, proxy, num_classes=self.num_classes, resolution=self.resolution)

            out[proxy] = ProxyCache(key, proxy).get(arches, compute)
        return out

    def network(self, cand: Candidate | str | Mapping[str, str]) -> Any:
        """The PyTorch :class:`~nars_plugin.spaces.nb201._net.NB201Network` of a candidate (imports torch)."""
        from ._net import NB201Network

        return NB201Network([OPS[i] for i in op_matrix([cand])[0]], num_classes=self.num_classes)
