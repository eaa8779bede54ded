"""The NAS-Bench-201 cell's vocabulary and its string form: ops, edges, parse and format.

A leaf of the NB201 family: the space (:mod:`._space`) and the network (:mod:`._net`) both build on
it, and it imports neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ...errors import InvalidArchitectureError

#: The five ops, in the official NAS-Bench-201 order (the op index used by :func:`op_matrix`).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Architecture parameter names, ``edge_<to>_<from>``, in the order of the official string.
EDGES: tuple[str, ...] = ("edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2")

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
FORMAT_HINT = f"expected '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op one of {', '.join(OPS)}; e.g. '{EXAMPLE}'"

_OP_INDEX = {op: i for i, op in enumerate(OPS)}

_OP_PATTERN = "(" + "|".join(re.escape(op) for op in OPS) + ")"
_STRICT = re.compile(
    r"\|" + r"\|\+\|".join("\\|".join(f"{_OP_PATTERN}~{j}" for j in range(node)) for node in (1, 2, 3)) + r"\|"
)


# --------------------------------------------------------------------------- #
# Strings
# --------------------------------------------------------------------------- #


def _fail(problem: str, text: object) -> InvalidArchitectureError:
    return InvalidArchitectureError(f"invalid NAS-Bench-201 architecture {text!r}: {problem}", FORMAT_HINT)


@lru_cache(maxsize=65536)
def _parse_cached(text: str) -> tuple[str, ...]:
    match = _STRICT.fullmatch(text.strip())
    if match:
        return match.groups()
    raise _diagnose(text)


def parse_arch_string(text: str) -> tuple[str, ...]:
    """The six op names (in :data:`EDGES` order) of an official architecture string.

    Surrounding whitespace is ignored. Raises :class:`InvalidArchitectureError` naming what is wrong
    (number of nodes or edges, an unknown op, a wrong input-node index, stray characters).
    """
    if not isinstance(text, str):
        raise InvalidArchitectureError(
            f"a NAS-Bench-201 architecture string must be a str, got {type(text).__name__} {text!r}", FORMAT_HINT
        )
    return _parse_cached(text)


def _diagnose(text: str) -> InvalidArchitectureError:
    """The error for a string the strict pattern rejected: find the first thing that is wrong."""
    body = text.strip()
    if not body:
        return _fail("the string is empty", text)
    groups = body.split("+")
    if len(groups) != 3:
        return _fail(f"found {len(groups)} node group(s) separated by '+', a cell has 3 (nodes 1, 2 and 3)", text)
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or not group.startswith("|") or not group.endswith("|"):
            return _fail(f"node {node} group {group!r} must start and end with '|' (stray characters?)", text)
        tokens = group[1:-1].split("|")
        if len(tokens) != node:
            return _fail(f"node {node} has {len(tokens)} edge(s) {tokens}, it needs exactly {node}", text)
        for source, token in enumerate(tokens):
            op, tilde, index = token.partition("~")
            if not tilde:
                return _fail(f"edge {token!r} of node {node} is not of the form 'op~{source}'", text)
            if op not in _OP_INDEX:
                stripped = op.strip()
                if stripped in _OP_INDEX:
                    return _fail(f"stray characters around op {op!r} of node {node}", text)
                return _fail(f"unknown op {op!r} on node {node}; valid ops are {list(OPS)}", text)
            if index != str(source):
                return _fail(
                    f"edge {token!r} is edge {source + 1} of node {node}, so its input node must be "
                    f"{source} ('{op}~{source}'), got {index!r}",
                    text,
                )
    return _fail("it does not match the expected format", text)  # should not happen: the checks above cover it


def format_arch_string(ops: Sequence[str] | Mapping[str, str]) -> str:
    """The official string of six op names (in :data:`EDGES` order) or of an edge -> op mapping."""
    if isinstance(ops, Mapping):
        missing = [e for e in EDGES if e not in ops]
        if missing or len(ops) != len(EDGES):
            raise InvalidArchitectureError(
                f"a NAS-Bench-201 cell needs exactly the edges {list(EDGES)}, got {sorted(map(str, ops))}"
            )
        ops = [ops[e] for e in EDGES]
    ops = tuple(ops)
    if len(ops) != len(EDGES):
        raise InvalidArchitectureError(f"a NAS-Bench-201 cell has {len(EDGES)} edges, got {len(ops)} ops: {ops!r}")
    for op in ops:
        if op not in _OP_INDEX:
            raise InvalidArchitectureError(f"unknown NAS-Bench-201 op {op!r}", f"valid ops: {list(OPS)}")
    a, b, c, d, e, f = ops
    return f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|"
