"""Joint (architecture, recipe) search spaces.

A :class:`Space` is an ordered list of parameters split into an *architecture*
part and a *recipe* part. A :class:`Candidate` holds one value per parameter.
The space can

* validate candidates and build them from user input (clear errors);
* encode them as fixed-length vectors (one-hot for categoricals, min-max to
  [0, 1] for numbers) and decode vectors back;
* draw scrambled, seeded Sobol samples (``scipy.stats.qmc``) mapped onto the
  parameters, or plain uniform samples;
* mutate (n changes in the architecture and/or the recipe) and cross over;
* compute *free statistics* (FLOPs, parameters, ... whatever a subclass knows)
  for many candidates at once and check resource constraints on them.

Subclasses for concrete spaces override :meth:`Space.format_arch`,
:meth:`Space.parse_arch` and :meth:`Space.statistics`.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import (
    ConfigError,
    InfeasibleConstraintError,
    InvalidArchitectureError,
    InvalidRecipeError,
)
from .keyvalue import parse_key_values

Value = Any  # str, int, float or bool: anything JSON can hold

# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #


class Param(ABC):
    """One dimension of a space. ``name`` must be unique within the space."""

    name: str

    @property
    @abstractmethod
    def width(self) -> int:
        """Length of this parameter's slice of the encoding vector."""

    @property
    @abstractmethod
    def default(self) -> Value:
        """The value used when a user leaves the parameter out."""

    @property
    def cardinality(self) -> int | None:
        """Number of distinct values, or None for a continuous parameter."""
        return None

    @abstractmethod
    def validate(self, value: Value) -> Value:
        """Return the canonical form of ``value``; raise ValueError if it is not allowed."""

    @abstractmethod
    def encode(self, values: Sequence[Value]) -> np.ndarray:
        """Encode many values into a (n, width) float array."""

    @abstractmethod
    def decode(self, block: np.ndarray) -> list[Value]:
        """Decode a (n, width) block back into the nearest valid values."""

    @abstractmethod
    def from_unit(self, u: np.ndarray) -> list[Value]:
        """Map points of [0, 1) (one per value) onto the parameter, uniformly."""

    @abstractmethod
    def mutate(self, value: Value, rng: np.random.Generator) -> Value:
        """Return a value different from ``value`` when there is one."""

    def describe(self) -> str:
        """A short human-readable description of the allowed values."""
        return repr(self)


@dataclass(frozen=True)
class Categorical(Param):
    """A choice among a fixed tuple of values (strings, ints, floats or bools)."""

    name: str
    choices: tuple[Value, ...]

    def __post_init__(self) -> None:
        if not self.choices:
            raise ConfigError(f"categorical parameter {self.name!r} has no choices")
        object.__setattr__(self, "choices", tuple(self.choices))
        if len(set(map(_json_key, self.choices))) != len(self.choices):
            raise ConfigError(f"categorical parameter {self.name!r} has duplicate choices")

    @property
    def width(self) -> int:
        return len(self.choices)

    @property
    def default(self) -> Value:
        return self.choices[0]

    @property
    def cardinality(self) -> int:
        return len(self.choices)

    def index(self, value: Value) -> int:
        """Position of ``value`` among the choices (ValueError if absent)."""
        for i, choice in enumerate(self.choices):
            if choice == value and type(choice) is type(value):
                return i
        # tolerate user strings for numeric/bool choices, e.g. "200" -> 200
        text = str(value).strip().lower()
        for i, choice in enumerate(self.choices):
            if str(choice).lower() == text:
                return i
        raise ValueError(f"{value!r} is not a choice of {self.name!r}; choose one of {list(self.choices)}")

    def validate(self, value: Value) -> Value:
        return self.choices[self.index(value)]

    def encode(self, values: Sequence[Value]) -> np.ndarray:
        out = np.zeros((len(values), self.width))
        out[np.arange(len(values)), [self.index(v) for v in values]] = 1.0
        return out

    def decode(self, block: np.ndarray) -> list[Value]:
        return [self.choices[i] for i in np.argmax(block, axis=1)]

    def from_unit(self, u: np.ndarray) -> list[Value]:
        idx = np.minimum((np.asarray(u) * len(self.choices)).astype(int), len(self.choices) - 1)
        return [self.choices[i] for i in idx]

    def mutate(self, value: Value, rng: np.random.Generator) -> Value:
        if len(self.choices) == 1:
            return self.choices[0]
        i = self.index(value)
        j = int(rng.integers(len(self.choices) - 1))
        return self.choices[j if j < i else j + 1]

    def describe(self) -> str:
        return "{" + ", ".join(map(str, self.choices)) + "}"


@dataclass(frozen=True)
class Ordinal(Categorical):
    """A choice among ordered numbers (e.g. batch size 8, 16, 32, 64), optionally on a log scale.

    Unlike :class:`Categorical` it encodes as one number, the value's position between the
    smallest and largest choice (of the logarithms with ``log=True``), so predictors see the
    order and the spacing; mutation moves to nearby values.
    """

    log: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        values = [float(v) for v in self.choices]
        if any(b <= a for a, b in zip(values, values[1:])) or (self.log and values[0] <= 0):
            raise ConfigError(
                f"ordinal parameter {self.name!r} needs increasing numbers (positive on a log scale), "
                f"got {list(self.choices)}"
            )

    @property
    def width(self) -> int:
        return 1

    def _positions(self, values: Sequence[Value]) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        lo, hi = float(self.choices[0]), float(self.choices[-1])
        if self.log:
            v, lo, hi = np.log(v), math.log(lo), math.log(hi)
        return (v - lo) / max(hi - lo, 1e-12)

    def encode(self, values: Sequence[Value]) -> np.ndarray:
        return self._positions([self.validate(v) for v in values]).reshape(-1, 1)

    def decode(self, block: np.ndarray) -> list[Value]:
        grid = self._positions(self.choices)
        nearest = np.abs(block[:, :1] - grid[None, :]).argmin(axis=1)
        return [self.choices[i] for i in nearest]

    def mutate(self, value: Value, rng: np.random.Generator) -> Value:
        n = len(self.choices)
        if n == 1:
            return self.choices[0]
        k = self.index(value)
        for _ in range(32):
            step = int(round(rng.normal(0.0, max(1.0, 0.2 * n))))
            if step != 0 and 0 <= k + step < n:
                return self.choices[k + step]
        return self.choices[(k + 1) % n]

    def describe(self) -> str:
        return "{" + ", ".join(map(str, self.choices)) + "}" + (" (ordered, log scale)" if self.log else " (ordered)")


@dataclass(frozen=True)
class Integer(Param):
    """An integer in ``[low, high]`` on a grid of ``step`` (``low`` + k * ``step``)."""

    name: str
    low: int
    high: int
    step: int = 1

    def __post_init__(self) -> None:
        if self.step < 1 or self.high < self.low or (self.high - self.low) % self.step:
            raise ConfigError(
                f"integer parameter {self.name!r}: need low <= high and (high - low) "
                f"divisible by step, got ({self.low}, {self.high}, {self.step})"
            )

    @property
    def width(self) -> int:
        return 1

    @property
    def default(self) -> Value:
        return self.low + ((self.cardinality - 1) // 2) * self.step

    @property
    def cardinality(self) -> int:
        return (self.high - self.low) // self.step + 1

    def validate(self, value: Value) -> Value:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name!r} must be an integer, got {value!r}") from None
        if not number.is_integer():
            raise ValueError(f"{self.name!r} must be an integer, got {value!r}")
        v = int(number)
        if not self.low <= v <= self.high or (v - self.low) % self.step:
            raise ValueError(f"{self.name!r}={v} is out of range; allowed: {self.describe()}")
        return v

    def encode(self, values: Sequence[Value]) -> np.ndarray:
        span = max(self.high - self.low, 1)
        return ((np.asarray(values, dtype=float) - self.low) / span).reshape(-1, 1)

    def decode(self, block: np.ndarray) -> list[Value]:
        k = np.rint(np.clip(block[:, 0], 0, 1) * (self.high - self.low) / self.step)
        return [int(self.low + int(i) * self.step) for i in k]

    def from_unit(self, u: np.ndarray) -> list[Value]:
        k = np.minimum((np.asarray(u) * self.cardinality).astype(int), self.cardinality - 1)
        return [int(self.low + int(i) * self.step) for i in k]

    def mutate(self, value: Value, rng: np.random.Generator) -> Value:
        n = self.cardinality
        if n == 1:
            return self.low
        k = (int(value) - self.low) // self.step
        scale = max(1.0, 0.2 * n)
        for _ in range(32):
            delta = int(round(rng.normal(0.0, scale)))
            if delta != 0 and 0 <= k + delta < n:
                return self.low + (k + delta) * self.step
        return self.low + ((k + 1) % n) * self.step

    def describe(self) -> str:
        suffix = f", step {self.step}" if self.step != 1 else ""
        return f"integer in [{self.low}, {self.high}{suffix}]"


@dataclass(frozen=True)
class Float(Param):
    """A real number in ``[low, high]``, optionally on a log scale (``low`` > 0)."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.log and self.low <= 0):
            raise ConfigError(
                f"float parameter {self.name!r}: need low < high (and low > 0 on a log "
                f"scale), got ({self.low}, {self.high}, log={self.log})"
            )

    @property
    def width(self) -> int:
        return 1

    @property
    def default(self) -> Value:
        return float(self._from_unit_scalar(0.5))

    def _to_unit(self, v: np.ndarray) -> np.ndarray:
        if self.log:
            return (np.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (v - self.low) / (self.high - self.low)

    def _from_unit_scalar(self, u: np.ndarray | float) -> np.ndarray:
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.log:
            values = np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            values = self.low + u * (self.high - self.low)
        return np.clip(values, self.low, self.high)  # rounding must not leave the range

    def validate(self, value: Value) -> Value:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name!r} must be a number, got {value!r}") from None
        if not math.isfinite(v) or not self.low <= v <= self.high:
            raise ValueError(f"{self.name!r}={value} is out of range; allowed: {self.describe()}")
        return v

    def encode(self, values: Sequence[Value]) -> np.ndarray:
        return self._to_unit(np.asarray(values, dtype=float)).reshape(-1, 1)

    def decode(self, block: np.ndarray) -> list[Value]:
        return [float(v) for v in self._from_unit_scalar(block[:, 0])]

    def from_unit(self, u: np.ndarray) -> list[Value]:
        return [float(v) for v in self._from_unit_scalar(u)]

    def mutate(self, value: Value, rng: np.random.Generator) -> Value:
        u = float(self._to_unit(np.asarray(float(value))))
        new = u + rng.normal(0.0, 0.15)
        new = abs(new) if new < 0 else (2.0 - new if new > 1 else new)  # reflect at the bounds
        return float(self._from_unit_scalar(new))

    def describe(self) -> str:
        return f"real in [{self.low:g}, {self.high:g}]" + (" (log scale)" if self.log else "")


def _json_key(value: Value) -> str:
    return json.dumps(value, sort_keys=True)


# --------------------------------------------------------------------------- #
# Candidates
# --------------------------------------------------------------------------- #


class Candidate:
    """An (architecture, recipe) pair: two read-only name -> value mappings.

    Candidates are hashable and compare by value; :attr:`key` is a canonical
    JSON string, stable across processes, used by journals and caches.
    """

    __slots__ = ("arch", "recipe", "_key")

    def __init__(self, arch: Mapping[str, Value], recipe: Mapping[str, Value] | None = None):
        self.arch: Mapping[str, Value] = MappingProxyType(dict(arch))
        self.recipe: Mapping[str, Value] = MappingProxyType(dict(recipe or {}))
        self._key = json.dumps({"arch": dict(self.arch), "recipe": dict(self.recipe)}, sort_keys=True)

    @property
    def key(self) -> str:
        """Canonical JSON text of the candidate."""
        return self._key

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
        return isinstance(other, Candidate) and other._key == self._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Candidate(arch={dict(self.arch)}, recipe={dict(self.recipe)})"


# --------------------------------------------------------------------------- #
# Constraints
# --------------------------------------------------------------------------- #

_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
_CONSTRAINT_RE = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][\w.\-]*(?:\[[\w.\-]+\])?)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<suffix>[kKMG]?)\s*$"
)


@dataclass(frozen=True)
class Constraint:
    """A resource constraint ``metric op bound`` such as ``flops <= 100M``."""

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str | Constraint) -> Constraint:
        """Parse ``"metric <= value"`` (ops ``<= < >= >``, suffixes k, M, G)."""
        if isinstance(text, Constraint):
            return text
        match = _CONSTRAINT_RE.match(str(text))
        if not match:
            raise ConfigError(
                f"cannot parse constraint {text!r}",
                "write it as 'METRIC <= VALUE', e.g. 'flops <= 100M' or 'latency[pixel3] < 5'",
            )
        bound = float(match["value"]) * _SUFFIX[match["suffix"]]
        return cls(match["metric"], match["op"], bound)

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Elementwise truth of the constraint on an array of metric values."""
        values = np.asarray(values, dtype=float)
        ops = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater}
        return ops[self.op](values, self.bound)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound!r}"


def parse_constraints(items: Iterable[str | Constraint] | None) -> list[Constraint]:
    """Parse a list of constraint strings (None gives an empty list)."""
    return [Constraint.parse(item) for item in (items or [])]


# --------------------------------------------------------------------------- #
# Spaces
# --------------------------------------------------------------------------- #

#: A space with at most this many candidates is enumerated exactly when checking constraints.
ENUMERATION_LIMIT = 200_000


class Space:
    """A joint search space: architecture parameters followed by recipe parameters.

    Args:
        name: registry name of the space (e.g. ``"nb201"``).
        arch_params: the architecture part.
        recipe_params: the training-recipe part (may be empty).
        description: one line for ``nars spaces``.
    """

    def __init__(
        self,
        name: str,
        arch_params: Sequence[Param],
        recipe_params: Sequence[Param] = (),
        description: str = "",
    ) -> None:
        self.name = name
        self.description = description
        self.arch_params: tuple[Param, ...] = tuple(arch_params)
        self.recipe_params: tuple[Param, ...] = tuple(recipe_params)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ConfigError(f"space {name!r} has duplicate parameter names: {names}")
        self._stats_cache: dict[str, dict[str, float]] = {}

    # -- structure ---------------------------------------------------------- #

    @property
    def params(self) -> tuple[Param, ...]:
        """All parameters, architecture first."""
        return self.arch_params + self.recipe_params

    @property
    def arch_dim(self) -> int:
        """Width of the architecture part of the encoding."""
        return sum(p.width for p in self.arch_params)

    @property
    def recipe_dim(self) -> int:
        """Width of the recipe part of the encoding."""
        return sum(p.width for p in self.recipe_params)

    @property
    def dim(self) -> int:
        """Width of the whole encoding."""
        return self.arch_dim + self.recipe_dim

    @property
    def size(self) -> int | None:
        """Number of distinct candidates, or None if a parameter is continuous."""
        total = 1
        for p in self.params:
            if p.cardinality is None:
                return None
            total *= p.cardinality
        return total

    @property
    def arch_size(self) -> int | None:
        """Number of distinct architectures, or None if continuous."""
        total = 1
        for p in self.arch_params:
            if p.cardinality is None:
                return None
            total *= p.cardinality
        return total

    def param(self, name: str) -> Param:
        """The parameter called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise ConfigError(
            f"space {self.name!r} has no parameter {name!r}",
            f"parameters: {[p.name for p in self.params]}",
        )

    def with_recipe(self, recipe_params: Sequence[Param], name: str | None = None) -> Space:
        """A copy of this space with another recipe part (same architecture part)."""
        import copy

        clone = copy.copy(self)
        clone.name = name or self.name
        clone.recipe_params = tuple(recipe_params)
        clone._stats_cache = {}
        return clone

    def fix_recipe(self, **values: Value) -> Space:
        """A copy whose listed recipe parameters can take only the given value.

        Used for architecture-only searches under a fixed training recipe.
        """
        fixed = []
        for p in self.recipe_params:
            if p.name in values:
                fixed.append(Categorical(p.name, (self._check(p, values.pop(p.name), "recipe"),)))
            else:
                fixed.append(p)
        if values:
            raise InvalidRecipeError(
                f"space {self.name!r} has no recipe parameter(s) {sorted(values)}",
                f"recipe parameters: {[p.name for p in self.recipe_params]}",
            )
        return self.with_recipe(fixed)

    # -- building and validating candidates ------------------------------- #

    def _check(self, param: Param, value: Value, part: str) -> Value:
        try:
            return param.validate(value)
        except ValueError as exc:
            cls = InvalidArchitectureError if part == "arch" else InvalidRecipeError
            raise cls(str(exc), f"allowed values of {param.name!r}: {param.describe()}") from None

    def candidate(
        self,
        arch: Mapping[str, Value] | str,
        recipe: Mapping[str, Value] | None = None,
    ) -> Candidate:
        """Build a validated candidate. ``arch`` may be the space's arch string.

        Recipe values left out take the parameter's default; unknown names are errors.
        """
        arch_values = self.parse_arch(arch) if isinstance(arch, str) else dict(arch)
        return self.validate(Candidate(arch_values, self._complete_recipe(recipe or {})))

    def _complete_recipe(self, recipe: Mapping[str, Value]) -> dict[str, Value]:
        known = {p.name for p in self.recipe_params}
        unknown = sorted(set(recipe) - known)
        if unknown:
            raise InvalidRecipeError(
                f"unknown recipe parameter(s) {unknown} for space {self.name!r}",
                f"recipe parameters: {sorted(known) or 'none'}",
            )
        return {p.name: recipe.get(p.name, p.default) for p in self.recipe_params}

    def validate(self, cand: Candidate) -> Candidate:
        """Return the canonical form of ``cand``; raise a clear error if it is not in the space."""
        for part, params, values in (
            ("arch", self.arch_params, cand.arch),
            ("recipe", self.recipe_params, cand.recipe),
        ):
            extra = sorted(set(values) - {p.name for p in params})
            missing = [p.name for p in params if p.name not in values]
            if extra or missing:
                cls = InvalidArchitectureError if part == "arch" else InvalidRecipeError
                raise cls(
                    f"{part} of candidate does not match space {self.name!r}: missing {missing}, unknown {extra}",
                    f"{part} parameters: {[p.name for p in params]}",
                )
        arch = {p.name: self._check(p, cand.arch[p.name], "arch") for p in self.arch_params}
        recipe = {p.name: self._check(p, cand.recipe[p.name], "recipe") for p in self.recipe_params}
        return Candidate(arch, recipe)

    def format_arch(self, cand: Candidate) -> str:
        """The architecture as a human-readable string (subclasses use the official syntax)."""
        return ",".join(f"{p.name}={cand.arch[p.name]}" for p in self.arch_params)

    def parse_arch(self, text: str) -> dict[str, Value]:
        """Inverse of :meth:`format_arch`; raises InvalidArchitectureError on bad input."""
        try:
            return parse_key_values(text, f"architecture item in {text!r}", separator=",")
        except ConfigError as exc:
            raise InvalidArchitectureError(
                exc.message, "write the architecture as name=value pairs separated by commas"
            ) from None

    # -- encoding ---------------------------------------------------------- #

    def encode(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Encode candidates into an (n, dim) array: architecture columns first."""
        if not cands:
            return np.zeros((0, self.dim))
        blocks = [p.encode([c.arch[p.name] for c in cands]) for p in self.arch_params]
        blocks += [p.encode([c.recipe[p.name] for c in cands]) for p in self.recipe_params]
        return np.concatenate(blocks, axis=1)

    def decode(self, matrix: np.ndarray) -> list[Candidate]:
        """Decode an (n, dim) array into the nearest candidates."""
        matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        if matrix.shape[1] != self.dim:
            raise ConfigError(f"encoding has {matrix.shape[1]} columns, space {self.name!r} needs {self.dim}")
        columns: dict[str, list[Value]] = {}
        offset = 0
        for p in self.params:
            columns[p.name] = p.decode(matrix[:, offset : offset + p.width])
            offset += p.width
        return self._assemble(columns, len(matrix))

    def _assemble(self, columns: Mapping[str, list[Value]], n: int) -> list[Candidate]:
        return [
            Candidate(
                {p.name: columns[p.name][i] for p in self.arch_params},
                {p.name: columns[p.name][i] for p in self.recipe_params},
            )
            for i in range(n)
        ]

    # -- sampling and variation ------------------------------------------- #

    def sample(self, n: int, seed: int | np.random.Generator | None = None, method: str = "sobol") -> list[Candidate]:
        """Draw ``n`` candidates: ``"sobol"`` (scrambled, seeded QMC) or ``"random"``."""
        if n <= 0:
            return []
        d = len(self.params)
        if method == "sobol":
            from scipy.stats import qmc

            sampler = qmc.Sobol(d=d, scramble=True, seed=_seed_of(seed))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # balance warning for n not a power of two
                units = sampler.random_base2(max(0, math.ceil(math.log2(n))))[:n]
        elif method == "random":
            units = np.random.default_rng(seed).random((n, d))
        else:
            raise ConfigError(f"unknown sampling method {method!r}", "use 'sobol' or 'random'")
        columns = {p.name: p.from_unit(units[:, j]) for j, p in enumerate(self.params)}
        return self._assemble(columns, n)

    def mutate(
        self,
        cand: Candidate,
        rng: np.random.Generator,
        n_changes: int = 1,
        part: str = "both",
    ) -> Candidate:
        """Change ``n_changes`` distinct parameters of ``part`` ("arch", "recipe" or "both")."""
        pool = {
            "arch": self.arch_params,
            "recipe": self.recipe_params,
            "both": self.params,
        }.get(part)
        if pool is None:
            raise ConfigError(f"unknown mutation part {part!r}", "use 'arch', 'recipe' or 'both'")
        mutable = [p for p in pool if p.cardinality is None or p.cardinality > 1]
        if not mutable:
            return cand
        chosen = rng.choice(len(mutable), size=min(n_changes, len(mutable)), replace=False)
        arch, recipe = dict(cand.arch), dict(cand.recipe)
        for i in sorted(int(j) for j in chosen):
            p = mutable[i]
            target = arch if p.name in arch else recipe
            target[p.name] = p.mutate(target[p.name], rng)
        return Candidate(arch, recipe)

    def neighbours(self, cand: Candidate, rng: np.random.Generator, numeric: int = 4) -> list[Candidate]:
        """Every candidate that differs from ``cand`` in one parameter, in parameter order.

        Categorical parameters contribute all their other values; integer and real ones
        ``numeric`` random mutations each. Constraints are not checked here.
        """
        out: dict[str, Candidate] = {}
        for p in self.params:
            if p.cardinality == 1:
                continue
            in_arch = p.name in cand.arch
            old = cand.arch[p.name] if in_arch else cand.recipe[p.name]
            if isinstance(p, Categorical):
                skip = p.index(old)
                values = [v for i, v in enumerate(p.choices) if i != skip]
            else:
                values = [p.mutate(old, rng) for _ in range(numeric)]
            for value in values:
                arch, recipe = dict(cand.arch), dict(cand.recipe)
                (arch if in_arch else recipe)[p.name] = value
                new = Candidate(arch, recipe)
                if new.key != cand.key:
                    out.setdefault(new.key, new)
        return list(out.values())

    def crossover(self, a: Candidate, b: Candidate, rng: np.random.Generator) -> Candidate:
        """Uniform crossover: each parameter comes from ``a`` or ``b`` with equal chance."""
        take_a = rng.random(len(self.params)) < 0.5
        arch, recipe = {}, {}
        for flag, p in zip(take_a, self.params):
            src = a if flag else b
            if p.name in a.arch:
                arch[p.name] = src.arch[p.name]
            else:
                recipe[p.name] = src.recipe[p.name]
        return Candidate(arch, recipe)

    def enumerate(self) -> list[Candidate]:
        """Every candidate of a finite space, in a fixed order (parameters vary last-fastest)."""
        size = self.size
        if size is None or size > ENUMERATION_LIMIT:
            raise ConfigError(f"space {self.name!r} is too large to enumerate ({size or 'infinite'})")
        grids = [_grid(p) for p in self.params]
        index = np.indices([len(g) for g in grids]).reshape(len(grids), -1).T
        columns = {p.name: [g[i] for i in index[:, j]] for j, (p, g) in enumerate(zip(self.params, grids))}
        return self._assemble(columns, len(index))

    # -- statistics and constraints --------------------------------------- #

    @property
    def statistic_names(self) -> tuple[str, ...]:
        """Names of the free statistics :meth:`statistics` returns."""
        return ()

    def statistics(self, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        """Free statistics (FLOPs, parameters, ...) of many candidates at once.

        Subclasses override this; values are arrays of length ``len(cands)``.
        """
        return {}

    def statistics_for(self, cands: Sequence[Candidate], names: Sequence[str]) -> dict[str, np.ndarray]:
        """The free statistics plus any of ``names`` the space computes only on request.

        Constraints are checked on this. Subclasses whose statistics need extra data (measured
        latencies, say) override it, so that data is read only when a constraint names it.
        """
        return self.statistics(cands)

    def feasible(self, cands: Sequence[Candidate], constraints: Sequence[Constraint | str]) -> np.ndarray:
        """Boolean mask: which candidates meet every constraint."""
        constraints = parse_constraints(constraints)
        mask = np.ones(len(cands), dtype=bool)
        if not constraints or not cands:
            return mask
        stats = self._checked_statistics(cands, constraints)
        for c in constraints:
            mask &= c.holds(stats[c.metric])
        return mask

    def _checked_statistics(
        self, cands: Sequence[Candidate], constraints: Sequence[Constraint]
    ) -> dict[str, np.ndarray]:
        stats = self.statistics_for(cands, [c.metric for c in constraints])
        for c in constraints:
            if c.metric not in stats:
                raise ConfigError(
                    f"space {self.name!r} cannot compute {c.metric!r} for a constraint",
                    f"constrain one of: {sorted(stats) or 'nothing (this space has no statistics)'}",
                )
        return stats

    def check_satisfiable(self, constraints: Sequence[Constraint | str], n_probe: int = 8192, seed: int = 0) -> None:
        """Raise InfeasibleConstraintError if no candidate meets the constraints.

        Finite spaces up to :data:`ENUMERATION_LIMIT` are checked exhaustively;
        larger ones on ``n_probe`` Sobol samples. The message names the smallest
        (or largest) value the space reaches for each violated constraint.
        """
        constraints = parse_constraints(constraints)
        if not constraints:
            return
        size = self.size
        probe = self.enumerate() if size is not None and size <= ENUMERATION_LIMIT else self.sample(n_probe, seed)
        stats = self._checked_statistics(probe, constraints)
        mask = np.ones(len(probe), dtype=bool)
        problems = []
        for c in constraints:
            ok = c.holds(stats[c.metric])
            mask &= ok
            if not ok.any():
                values = stats[c.metric]
                best = values.min() if c.op.startswith("<") else values.max()
                word = "smallest" if c.op.startswith("<") else "largest"
                problems.append(f"'{c}': the {word} {c.metric} in space {self.name!r} is {float(best)!r}")
        if problems:
            raise InfeasibleConstraintError(
                "no candidate meets the constraint(s): " + "; ".join(problems),
                "relax the bound(s) to at least the value(s) named above",
            )
        if not mask.any():
            raise InfeasibleConstraintError(
                f"each constraint alone can be met, but no candidate of {self.name!r} meets all of "
                f"{[str(c) for c in constraints]} together",
                "relax one of the bounds",
            )

    def __repr__(self) -> str:
        parts = f"{len(self.arch_params)} arch + {len(self.recipe_params)} recipe params"
        return f"<{type(self).__name__} {self.name!r}: {parts}>"


def _grid(p: Param) -> list[Value]:
    if isinstance(p, Categorical):
        return list(p.choices)
    if isinstance(p, Integer):
        return list(range(p.low, p.high + 1, p.step))
    raise ConfigError(f"parameter {p.name!r} is continuous and cannot be enumerated")


def _seed_of(seed: int | np.random.Generator | None) -> int | None:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31))
    return seed
