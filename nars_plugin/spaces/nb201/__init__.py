"""The NAS-Bench-201 family's space side, in one place: the cell space and its string / index /
NASLib numberings (``_space``), the real network it describes (``_net``, imported only when asked
for: it needs torch), the zero-cost proxies on that network (``_proxies``) and the measured
latencies per device (``_latency``). The NB201 tables are in :mod:`nars_plugin.tabular.nb201`.

It may import the core's lower layers (``space``, ``parameters``, ``errors``, ``settings``), never
the plugin host.
"""

from __future__ import annotations

from typing import Any

from ._cell import EDGES, EXAMPLE, OPS, format_arch_string, parse_arch_string
from ._latency import (
    NB201_DEVICES,
    check_devices,
    device_of,
    latency_metric,
    load_nb201_latency,
    nb201_latency,
    parse_devices,
)
from ._proxies import PROXIES, ProxyCache, nb201_proxy, parse_proxies
from ._space import (
    DATASETS,
    GRAPH_STATISTICS,
    N_CELLS,
    NASLIB_EDGES,
    NASLIB_OPS,
    NB201Space,
    arch_string_to_index,
    arch_string_to_naslib_tuple,
    flops_params,
    graph_statistics,
    index_to_arch_string,
    naslib_tuple_to_arch_string,
    op_matrix,
)

_NETWORK_NAMES = ("NB201Network", "NB201Cell", "ResNetBlock", "count_flops_torch", "count_params")


def __getattr__(name: str) -> Any:
    """The network classes, imported on first use (they need torch; the space does not)."""
    if name in _NETWORK_NAMES:
        from . import _net

        return getattr(_net, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "EDGES",
    "EXAMPLE",
    "GRAPH_STATISTICS",
    "NASLIB_EDGES",
    "NASLIB_OPS",
    "NB201_DEVICES",
    "N_CELLS",
    "OPS",
    "PROXIES",
    "NB201Space",
    "ProxyCache",
    "arch_string_to_index",
    "arch_string_to_naslib_tuple",
    "check_devices",
    "device_of",
    "flops_params",
    "format_arch_string",
    "graph_statistics",
    "index_to_arch_string",
    "latency_metric",
    "load_nb201_latency",
    "naslib_tuple_to_arch_string",
    "nb201_latency",
    "nb201_proxy",
    "op_matrix",
    "parse_arch_string",
    "parse_devices",
    "parse_proxies",
    *_NETWORK_NAMES,
]
