"""The candidate: one (architecture, recipe) pair of values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .parameters import Value

if TYPE_CHECKING:
    from .space import Space

_ENCODER = json.JSONEncoder(sort_keys=True)  # json.dumps(..., sort_keys=True) without a new encoder per call


class Candidate:
    """An (architecture, recipe) pair: two read-only name -> value mappings.

    Candidates are hashable and compare by value; :attr:`key` is a JSON string with sorted keys,
    stable across processes. Two encodings of one architecture have different keys; a space that
    knows they are one candidate says so with ``Space.canonical`` / ``Space.canonical_key``, which
    journals, caches and optimizers use.

    ``str(candidate)`` is the space's text form (:meth:`Space.format_candidate`: the arch string,
    then the recipe as ``name=value`` pairs) for a candidate a space built or a study handed out
    (:meth:`Space.bind`); a candidate made by hand prints every value as ``name=value``.
    """

    __slots__ = ("arch", "recipe", "key", "_space")

    #: Canonical JSON text of the candidate. Written on first read (a table of 50,000 rows need not
    #: pay for it), then a plain slot: optimizers read it hundreds of thousands of times per search.
    key: str
    #: The space that prints it (:meth:`Space.bind`); not part of its identity, its key or its JSON form.
    _space: Space | None

    def __init__(self, arch: Mapping[str, Value], recipe: Mapping[str, Value] | None = None):
        self.arch: Mapping[str, Value] = MappingProxyType(dict(arch))
        self.recipe: Mapping[str, Value] = MappingProxyType(dict(recipe or {}))

    def __getattr__(self, name: str) -> Any:
        """Called only for a slot not yet written: computes :attr:`key` once (no space bound: None)."""
        if name == "_space":
            return None
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

    @property
    def arch_text(self) -> str:
        """The architecture as its space writes it (``Space.format_arch``) once bound, else ``name=value`` pairs."""
        space: Space | None = self._space
        if space is not None:
            try:
                return space.format_arch(self)
            except Exception:  # noqa: BLE001 - printing must not fail; a broken format_arch gives the plain form
                pass
        return format_values(self.arch)

    @property
    def recipe_text(self) -> str:
        """The recipe as its space writes it (``Space.format_recipe``, the space's parameter order)
        once bound, else ``name=value`` pairs in this mapping's order."""
        space: Space | None = self._space
        if space is not None:
            try:
                return space.format_recipe(self)
            except Exception:  # noqa: BLE001 - printing must not fail
                pass
        return format_values(self.recipe)

    def __str__(self) -> str:
        space: Space | None = self._space
        if space is not None:
            try:
                return space.format_candidate(self)
            except Exception:  # noqa: BLE001 - as in arch_text
                pass
        return format_values(self.arch) + (f" {format_values(self.recipe)}" if self.recipe else "")


def format_values(values: Mapping[str, Value]) -> str:
    """``name=value`` pairs joined by commas (``--fix-recipe``'s syntax): ``lr=0.1,epochs=200``."""
    return ",".join(f"{name}={value}" for name, value in values.items())


def unique(cands: Sequence[Candidate]) -> list[Candidate]:
    """``cands`` without repeats (by key), in first-seen order."""
    seen: set[str] = set()
    out = []
    for c in cands:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    return out
