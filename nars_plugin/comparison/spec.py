"""Optimizer specs of a comparison (``NAME`` or ``LABEL=NAME(key=value;key=value)``) and its seed counts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .._keyvalue import parse_key_values
from ..errors import ConfigError
from ..settings import recipe_values

_SPEC_RE = re.compile(r"^\s*(?:(?P<label>[\w.\-]+)=)?(?P<name>[\w.\-:]+)\s*(?:\((?P<args>.*)\))?\s*$")


#: The word of the spec syntax for the recipe values a run holds fixed: ``nars(fixed_recipe=training=standard)``.
FIXED_RECIPE = "fixed_recipe"


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a comparison: a label, a registered name, settings and, apart from them, the
    recipe values its runs hold fixed (part of their :class:`~nars_plugin.settings.RunContext`)."""

    label: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    fixed_recipe: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, kind: str = "optimizer") -> OptimizerSpec:
        """Parse ``NAME`` or ``LABEL=NAME(key=value;key=value)`` (``kind`` names it in errors); for an
        optimizer, ``fixed_recipe=K=V,...`` among the values is the run's fixed recipe, not a setting."""
        match = _SPEC_RE.match(text)
        if not match:
            raise ConfigError(f"cannot parse {kind} spec {text!r}", "write NAME or LABEL=NAME(key=value;key=value)")
        settings = parse_key_values(match["args"] or "", f"{kind} setting in {text!r}:", separator=";")
        fixed = recipe_values(settings.pop(FIXED_RECIPE, None)) if kind == "optimizer" else {}
        return cls(match["label"] or match["name"], match["name"], settings, fixed)


def split_optimizers(text: str, kind: str = "optimizer") -> list[OptimizerSpec]:
    """Split a comma-separated list of specs (commas inside parentheses stay); the same syntax
    names predictors in ``nars predictor-eval --predictors`` (``kind="predictor"``)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    specs = [OptimizerSpec.parse(p, kind) for p in parts if p.strip()]
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"duplicate {kind} labels in {labels}", "give variants labels: LABEL=NAME(...)")
    return specs


#: Seeds of a comparison: one count for every optimizer, or counts per label with ``"*"`` as the
#: default (``{"*": 10, "hebo": 5}``: HEBO 5 seeds, the others 10). Seeds are 0..count-1.
Seeds: TypeAlias = int | Mapping[str, int]

_SEEDS_HINT = "write N, or N,LABEL=M for other counts per optimizer (e.g. 10,hebo=5)"


def parse_seeds(text: str) -> Seeds:
    """``--seeds`` text: ``10`` -> 10; ``10,hebo=5`` -> ``{"*": 10, "hebo": 5}``."""
    counts: dict[str, int] = {}
    for part in (p.strip() for p in str(text).split(",")):
        label, _, number = part.rpartition("=")
        key = label.strip() or "*"
        try:
            value = int(number)
        except ValueError:
            raise ConfigError(f"cannot read seed count {part!r} in --seeds {text!r}", _SEEDS_HINT) from None
        if key in counts:
            raise ConfigError(f"--seeds {text!r} gives {key if key != '*' else 'the default'} twice", _SEEDS_HINT)
        counts[key] = value
    return counts["*"] if set(counts) == {"*"} else counts


def seed_counts(optimizers: Sequence[OptimizerSpec], seeds: Seeds) -> dict[str, int]:
    """Label -> number of seeds; a clear error for a count below 1, an unknown label or no count."""
    given: Mapping[str, int] = {"*": seeds} if isinstance(seeds, int) else seeds
    labels = [spec.label for spec in optimizers]
    unknown = sorted(set(given) - set(labels) - {"*"})
    if unknown:
        compared = ", ".join(labels)
        raise ConfigError(f"seed counts for optimizers not compared: {', '.join(unknown)}", f"labels: {compared}")
    counts = {}
    for label in labels:
        count = given.get(label, given.get("*"))
        if count is None:
            raise ConfigError(f"no seed count for {label!r}", _SEEDS_HINT + " ('*' is the default in a mapping)")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"seeds: the count of {label!r} must be an integer >= 1, not {count!r}", _SEEDS_HINT)
        counts[label] = count
    return counts


def seeds_text(counts: Mapping[str, int]) -> str:
    """``10 seeds`` or ``10 seeds (hebo 5)``: the most common count, then the others by label."""
    values = list(counts.values())
    if not values:
        return "0 seeds"
    common = max(sorted(set(values), reverse=True), key=values.count)
    others = ", ".join(f"{label} {n}" for label, n in counts.items() if n != common)
    return f"{common} seeds" + (f" ({others})" if others else "")
