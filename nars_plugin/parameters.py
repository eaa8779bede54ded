"""Parameter types: one dimension of a search space each.

:class:`Categorical` (a choice among values), :class:`Ordinal` (a choice among ordered numbers),
:class:`Integer` (a grid of integers) and :class:`Float` (a real interval, optionally on a log scale).
Each validates user values, encodes many values at once into a block of the encoding vector, decodes
blocks back, maps uniform points of [0, 1) onto itself (for QMC sampling) and mutates a value.
"""

from __future__ import annotations

import json
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

Value = Any  # str, int, float or bool: anything JSON can hold


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
        """Return ``value`` in its normal form (a declared choice, an int, a float); raise ValueError
        if it is not allowed."""

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
        """Position of ``value`` among the choices (ValueError if absent).

        A value matches a choice of the same type and value; numbers match by value (``3.0`` and
        ``numpy.int64(3)`` are the choice ``3``, a bool is never a number) and user strings match
        the choice they spell (``"200"`` is ``200``).
        """
        for i, choice in enumerate(self.choices):
            if choice == value and type(choice) is type(value):
                return i
        if is_number(value):
            for i, choice in enumerate(self.choices):
                if is_number(choice) and choice == value:
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
        unit: np.ndarray
        if self.log:
            unit = (np.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        else:
            unit = (v - self.low) / (self.high - self.low)
        return unit

    def _from_unit_scalar(self, u: np.ndarray | float) -> np.ndarray:
        unit = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.log:
            values = np.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        else:
            values = self.low + unit * (self.high - self.low)
        clipped: np.ndarray = np.clip(values, self.low, self.high)  # rounding must not leave the range
        return clipped

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


def is_number(value: object) -> bool:
    """True for ints and floats (numpy's too), False for bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_integer(value: object) -> bool:
    """True for ints (numpy's too), False for bools, floats and strings."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
