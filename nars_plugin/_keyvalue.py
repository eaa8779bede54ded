"""The one parser of ``KEY=VALUE`` text: ``-O``/``-B``/``-E``/``--recipe`` options, compare specs, arch strings.

Every place that reads settings or values from text goes through :func:`parse_key_values` and
:func:`parse_scalar`, so ``3``, ``0.5``, ``true`` and ``pixel3`` mean the same everywhere. Typed
conversion (a flag, a number in a range) is the job of :mod:`nars_plugin.settings`; this module
only splits text and guesses the scalar type of a bare value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigError

Scalar = bool | int | float | str

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_scalar(text: str) -> Scalar:
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"true"``/``"false"`` -> bool, anything else stays text."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_key_values(
    items: Iterable[str] | str | Mapping[str, Any] | None,
    what: str = "option",
    separator: str | None = None,
    convert: bool = True,
) -> dict[str, Any]:
    """``["a=1", "b=x"]`` (or ``"a=1,b=x"`` with ``separator=","``) -> ``{"a": 1, "b": "x"}``.

    A mapping is returned as a plain dict unchanged. ``what`` names the option in errors
    (``--opt``, ``optimizer spec 'nars(...)'``); ``convert=False`` keeps values as text.
    """
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    if isinstance(items, str):
        items = items.split(separator) if separator else [items]
    out: dict[str, Any] = {}
    for item in items:
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {item.strip()!r} is not KEY=VALUE", f"write it as {what} name=value")
        out[key.strip()] = parse_scalar(value.strip()) if convert else value.strip()
    return out


def as_flag(value: bool | int | str, name: str = "setting") -> bool:
    """A boolean given as a bool or as text (``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``).

    Other text, or a number other than 0 and 1, is a ConfigError naming ``name``.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text not in TRUE_WORDS + FALSE_WORDS:
            raise ConfigError(f"{name} must be true or false, got {value!r}", f"pass {name}=true or {name}=false")
        return text in TRUE_WORDS
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise ConfigError(f"{name} must be true or false, got {value!r}", f"pass {name}=true or {name}=false")
