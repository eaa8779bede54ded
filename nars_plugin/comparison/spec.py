"""Optimizer specs of a comparison: ``NAME`` or ``LABEL=NAME(key=value;key=value)``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..keyvalue import parse_key_values

_SPEC_RE = re.compile(r"^\s*(?:(?P<label>[\w.\-]+)=)?(?P<name>[\w.\-:]+)\s*(?:\((?P<args>.*)\))?\s*$")


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a comparison: a label, a registered name and settings."""

    label: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, kind: str = "optimizer") -> OptimizerSpec:
        """Parse ``NAME`` or ``LABEL=NAME(key=value;key=value)`` (``kind`` names it in errors)."""
        match = _SPEC_RE.match(text)
        if not match:
            raise ConfigError(f"cannot parse {kind} spec {text!r}", "write NAME or LABEL=NAME(key=value;key=value)")
        settings = parse_key_values(match["args"] or "", f"{kind} setting in {text!r}:", separator=";")
        return cls(match["label"] or match["name"], match["name"], settings)


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
