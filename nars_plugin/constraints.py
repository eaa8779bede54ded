"""The constraint language: ``metric op bound`` such as ``flops <= 100M`` or ``latency[pixel3] < 5``.

Bounds take the suffixes ``k``/``K`` (thousand), ``M`` (million) and ``G`` (billion). A space checks
constraints on its free statistics (:meth:`nars_plugin.space.Space.feasible`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

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
        truth: np.ndarray = ops[self.op](values, self.bound)
        return truth

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound!r}"


def constraint_list(items: str | Constraint | Iterable[str | Constraint] | None) -> list[str | Constraint]:
    """``items`` as a list of constraints: one string or Constraint is one constraint, None none."""
    if items is None:
        return []
    if isinstance(items, (str, Constraint)):
        return [items]
    if not isinstance(items, Iterable):
        raise ConfigError(
            f"constraints must be a list of strings, got {type(items).__name__} {items!r}",
            "e.g. constraints=['flops <= 100M', 'latency[pixel3] < 5']",
        )
    return list(items)


def parse_constraints(items: str | Constraint | Iterable[str | Constraint] | None) -> list[Constraint]:
    """Parse constraint strings: a list of them, or one (None gives an empty list)."""
    return [Constraint.parse(item) for item in constraint_list(items)]
