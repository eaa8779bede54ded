"""The candidate: one (architecture, recipe) pair of values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from .parameters import Value

_ENCODER = json.JSONEncoder(sort_keys=True)  # json.dumps(..., sort_keys=True) without a new encoder per call


class Candidate:
    """An (architecture, recipe) pair: two read-only name -> value mappings.

    Candidates are hashable and compare by value; :attr:`key` is a JSON string with sorted keys,
    stable across processes. Two encodings of one architecture have different keys; a space that
    knows they are one candidate says so with ``Space.canonical`` / ``Space.canonical_key``, which
    journals, caches and optimizers use.
    """

    __slots__ = ("arch", "recipe", "key")

    #: Canonical JSON text of the candidate. Written on first read (a table of 50,000 rows need not
    #: pay for it), then a plain slot: optimizers read it hundreds of thousands of times per search.
    key: str

    def __init__(self, arch: Mapping[str, Value], recipe: Mapping[str, Value] | None = None):
        self.arch: Mapping[str, Value] = MappingProxyType(dict(arch))
        self.recipe: Mapping[str, Value] = MappingProxyType(dict(recipe or {}))

    def __getattr__(self, name: str) -> str:
        """Called only for a slot not yet written: computes :attr:`key` once."""
        if name != "key":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.key = _ENCODER.encode({"arch": dict(self.arch), "recipe": dict(self.recipe)})
        return self.key

    @property
    def arch_key(self) -> str:
        """Canonical JSON text of the architecture part alone."""
        return json.dumps(dict(self.arch), sort_keys=True)

    def to_dict(self) -> dict[str, dict[str, Value]]:
        """Plain-dict form, for JSON."""
        return {"arch": dict(self.arch), "recipe": dict(self.recipe)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        """Inverse of :meth:`to_dict`."""
        return cls(data["arch"], data.get("recipe") or {})

    def with_recipe(self, **recipe: Value) -> Candidate:
        """A copy with some recipe values replaced."""
        return Candidate(self.arch, {**self.recipe, **recipe})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Candidate) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Candidate(arch={dict(self.arch)}, recipe={dict(self.recipe)})"


def unique(cands: Sequence[Candidate]) -> list[Candidate]:
    """``cands`` without repeats (by key), in first-seen order."""
    seen: set[str] = set()
    out = []
    for c in cands:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    return out
