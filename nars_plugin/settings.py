"""Typed settings: one declaration per optimizer, benchmark, space or predictor.

A declaration is a frozen dataclass whose fields are made with :func:`setting` (or
:func:`nested` for a group of settings of another declaration)::

    from dataclasses import dataclass
    from nars_plugin.settings import setting

    @dataclass(frozen=True)
    class GreedySettings:
        width: int = setting(8, "candidates tried per step", low=1)
        share: float = setting(0.5, "share of random candidates", low=0, high=1)
        mode: str = setting("fast", "how candidates are ranked", choices=("fast", "exact"))
        steps: int | None = setting(None, "most steps", none="auto", low=1)
        verbose: bool = setting(False, "print every step")

    class Greedy(Optimizer[GreedySettings]):  # a component is typed by its declaration: the base
        name = "greedy"                       # class parses the settings into ``self.config``, a
                                              # GreedySettings (``self.config.width`` is an int)

    registry.add_benchmark("my-table", load_table, "...", settings=TableSettings)  # a factory: the
    # registry calls it with the parsed values as keyword arguments

A class that derives from :class:`Configured` (optimizers, predictors) names its declaration once,
as the type argument of its base class (``Optimizer[GreedySettings]``); the class attribute
``Settings`` is set from it (a class may still set ``Settings = ...`` itself, as older plugins do).
A loader function takes its declaration's defaults through :func:`resolve` instead of repeating
them in its signature.

What a run gives a component besides its settings (the objective, the seed, the constraints, the
budget, the full fidelity, a fixed recipe) is the :class:`RunContext`, a separate typed object: a
setting can never be confused with it.

That one declaration drives

* **parsing**: values arrive typed from Python or as text (``-O``/``-B``, compare specs, guessed
  scalars from :func:`nars_plugin._keyvalue.parse_key_values`). Field types: ``bool`` (any word
  :func:`~nars_plugin._keyvalue.as_flag` takes), ``int``, ``float`` (with ``low``/``high``
  bounds), ``str`` (with ``choices``), ``tuple[str, ...]`` (text split at ``separator``), ``X |
  None`` (the words ``none`` and the field's own ``none`` word, e.g. ``auto`` or ``off``, give
  None) and nested declarations (a mapping, its JSON text, or ``group.name=value``; a nested name
  that no other setting uses may also be given bare: ``pretrain=false`` for
  ``predictor.pretrain=false``);
* **validation**: an unknown name is a :class:`~nars_plugin.errors.ConfigError` listing the valid
  names with a did-you-mean; bad text names the setting and the type it needs; checks across
  fields go in the dataclass's ``__post_init__``;
* **plugin choices** (:func:`choice`): a setting that names a registered plugin of a kind and
  carries that plugin's own settings (``predictor=gp``, ``predictor.n_estimators=300``, or
  ``predictor='{"name": "gp", ...}'``); they are checked against the chosen plugin's declaration;
* **listing**: :func:`describe` (``nars optimizers NAME``, ``nars benchmarks NAME``);
* **identity**: :func:`identity`, what a journal records (None written as its word, e.g. ``auto``).

A declaration may set ``budget_dependent: ClassVar[str]`` (why the plan depends on the budget):
optimizers record the budget in their identity, so a journal resumes only under the same budget.
One may set ``extra_options: ClassVar[str]`` (who takes them): names it does not declare are then
passed on instead of refused (``csv:`` passes them to its space).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import operator
import types
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from ._keyvalue import as_flag, parse_key_values, parse_scalar
from .constraints import Constraint, parse_constraints
from .errors import ConfigError, option
from .parameters import is_integer

if TYPE_CHECKING:
    from .budget import Budget

_KEY = "nars_setting"
S = TypeVar("S")
NONE_WORDS = ("none",)


@dataclass(frozen=True)
class Spec:
    """What a field declares besides its type and default."""

    doc: str
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    none: str = "none"
    separator: str = ","
    plugin: str | None = None  # a choice field: the plugin kind it names (``predictor``)
    #: True: journals record it; False: it changes how fast a run goes, never its results, and journals
    #: leave it out; "changed": journals record it only where it differs from its owner's default
    recorded: bool | Literal["changed"] = True


@dataclass(frozen=True)
class Choice:
    """A registered plugin picked by name with its settings (the values given, typed), e.g.
    ``Choice("gp", {"restarts": 2})``; the value of a :func:`choice` field.

    ``make`` is the plugin's factory, which the plugin host resolved from the name (:func:`parse`
    binds every choice it returns): a component calls it and never looks the name up. It takes no
    part in comparisons or the journal identity.
    """

    name: str
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    make: Callable[..., Any] | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Resolved:
    """What the plugin host answers for a name: its settings declaration (None: not declared), the
    factory that makes it, and the plugin that registered it."""

    settings: type | None
    make: Callable[..., Any]
    plugin: str = "?"


#: ``(kind, name) -> Resolved``: how names of plugins become factories. The plugin host installs it
#: (``nars_plugin`` does on import, with :func:`nars_plugin.plugins.resolve`); this module and the
#: components below the host never import the registry.
Resolver = Callable[[str, str], Resolved]
_resolver: list[Resolver] = []


def install_resolver(resolver: Resolver) -> None:
    """Make ``resolver`` the one that turns plugin names into factories (the host's, at import)."""
    _resolver[:] = [resolver]


def resolve_plugin(kind: str, name: str) -> Resolved:
    """The registered ``kind`` called ``name``, resolved by the installed host (an UnknownNameError
    lists the registered ones)."""
    if not _resolver:
        raise ConfigError(
            f"cannot resolve {kind} {name!r}: no plugin host is installed",
            "import nars_plugin (its plugin host resolves plugin names) before parsing settings",
        )
    return _resolver[0](kind, name)


def bind(kind: str, picked: Choice) -> Choice:
    """``picked`` with its factory resolved (itself when it has one already)."""
    if picked.make is not None:
        return picked
    return dataclasses.replace(picked, make=resolve_plugin(kind, picked.name).make)


def setting(
    default: Any,
    doc: str,
    *,
    low: float | None = None,
    high: float | None = None,
    high_open: bool = False,
    choices: Sequence[Any] | None = None,
    none: str = "none",
    separator: str = ",",
    recorded: bool | Literal["changed"] = True,
) -> Any:
    """A declared setting: its default, a one-line doc, optional bounds (``high_open``: the high bound
    is excluded) or choices; ``none`` is the word that means None (``auto``, ``off``); ``separator``
    splits the text of a ``tuple[str, ...]`` setting; ``recorded=False`` for a setting that changes
    only how fast a run goes (a thread count): :func:`identity` leaves it out, so a journal resumes
    under another value. ``recorded="changed"`` for a setting added to a declaration whose journals
    exist, whose default leaves their searches as they were (its doc says up to where): recorded only
    where it differs from its owner's default, so those journals still match."""
    choices = tuple(choices) if choices is not None else None
    spec = Spec(doc, low, high, high_open, choices, none, separator, recorded=recorded)
    return dataclasses.field(default=default, metadata={_KEY: spec})


def nested(cls: type, doc: str, **overrides: Any) -> Any:
    """A group of settings of another declaration ``cls``, with this owner's own defaults ``overrides``."""
    return dataclasses.field(default=cls(**overrides), metadata={_KEY: Spec(doc)})


def choice(kind: str, default: str, doc: str, **defaults: Any) -> Any:
    """A setting that picks a registered plugin of ``kind`` (``"predictor"``) by name, ``default``
    unless given; ``defaults`` are this owner's own settings of the default plugin (they do not
    carry over when another plugin is picked). Its value is a :class:`Choice`; a field typed
    ``Choice | None`` also takes ``none`` (no plugin: its value is None)."""
    return dataclasses.field(default=Choice(default, defaults), metadata={_KEY: Spec(doc, plugin=kind)})


def plugin_settings(kind: str, name: str) -> type | None:
    """The settings declaration of the registered ``kind`` called ``name`` (an UnknownNameError lists
    the registered ones)."""
    return resolve_plugin(kind, name).settings


@dataclass(frozen=True)
class Declared:
    """One field of a declaration, with its type resolved."""

    name: str
    kind: str  # bool, int, float, str, list, nested or choice
    optional: bool
    default: Any
    spec: Spec
    group: type | None = None  # the declaration of a nested field


def is_declaration(cls: Any) -> bool:
    """Whether ``cls`` is a settings declaration (a dataclass class)."""
    return isinstance(cls, type) and dataclasses.is_dataclass(cls)


@cache
def declared(cls: Any) -> tuple[Declared, ...]:
    """The fields of a declaration, in order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(_KEY) or Spec("")
        hint = hints[f.name]
        args = typing.get_args(hint)
        optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
        if optional:
            rest = [a for a in args if a is not type(None)]
            hint = rest[0] if len(rest) == 1 else hint
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"setting {cls.__name__}.{f.name} has no default")
        if spec.plugin is not None:
            out.append(Declared(f.name, "choice", optional, default, spec))
            continue
        if is_declaration(hint):
            out.append(Declared(f.name, "nested", optional, default, spec, hint))
            continue
        kind = {bool: "bool", int: "int", float: "float", str: "str"}.get(hint)
        if kind is None and typing.get_origin(hint) is tuple:
            kind = "list"
        if kind is None:
            raise TypeError(f"setting {cls.__name__}.{f.name} has a type settings cannot parse: {hint!r}")
        out.append(Declared(f.name, kind, optional, default, spec))
    return tuple(out)


def names(cls: type) -> list[str]:
    """Every name a user may set: the fields, and ``group.name`` for nested ones."""
    out = []
    for d in declared(cls):
        out.append(d.name)
        group = _group(d)
        if group is not None:
            out += [f"{d.name}.{n}" for n in names(group)]
    return out


def _group(d: Declared) -> type | None:
    """The declaration of a field's settings: a nested field's, or a choice's default plugin's."""
    if d.kind == "choice":
        return plugin_settings(str(d.spec.plugin), d.default.name)
    return d.group


# -- parsing ------------------------------------------------------------------ #


def parse(cls: type, values: Any = None, owner: str = "", command: str = "") -> Any:
    """An instance of declaration ``cls`` from ``values`` (a mapping of typed or text values, or an
    instance of ``cls``, returned as it is), checked against the declaration.

    ``owner`` names what the settings belong to in errors (``optimizer 'nars'``); ``command`` is
    the command that lists them (``nars optimizers nars``).
    """
    if isinstance(values, cls):
        return values
    given, _ = split(cls, values or {}, owner, command)
    for d in declared(cls):  # every choice arrives with its factory (given ones were bound by _pick)
        if d.kind == "choice" and d.name not in given and isinstance(d.default, Choice):
            given[d.name] = bind(str(d.spec.plugin), d.default)
    return cls(**given)


def split(
    cls: type, values: Mapping[str, Any], owner: str = "", command: str = "", prefix: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(declared values converted, names the declaration passes on)``; unknown names are an error
    unless the declaration has ``extra_options``. ``prefix`` (``predictor.``) names a nested group in errors."""
    fields = {d.name: d for d in declared(cls)}
    aliases = _aliases(cls)
    top: dict[str, Any] = {}
    deeper: dict[str, dict[str, Any]] = {}
    extra: dict[str, Any] = {}
    for key, value in values.items():
        head, dot, rest = key.partition(".")
        if key in fields:
            top[key] = value
        elif dot and head in fields and (fields[head].kind == "choice" or fields[head].group is not None):
            deeper.setdefault(head, {})[rest] = value
        elif key in aliases:
            deeper.setdefault(aliases[key], {})[key] = value
        elif getattr(cls, "extra_options", None):
            extra[key] = value
        else:
            close = [prefix + n for n in names(cls) + list(aliases)]
            raise unknown_setting(prefix + key, _valid_text(cls, prefix), owner, command, close)
    out = {
        name: convert(fields[name], value, owner, prefix)
        for name, value in top.items()
        if fields[name].kind != "choice"
    }
    for field in fields.values():
        if field.kind == "choice" and (field.name in top or field.name in deeper):
            value, more = top.get(field.name), deeper.pop(field.name, {})
            if field.name in top and _means_none(field, value):
                if more:
                    raise ConfigError(
                        f"{owner + ' ' if owner else ''}setting {prefix}{field.name} is {field.spec.none}, yet its "
                        f"settings {sorted(more)} are given",
                        f"leave them out, or name a {field.spec.plugin} as {prefix}{field.name}",
                    )
                out[field.name] = None
                continue
            out[field.name] = _pick(field, value, more, owner, command, prefix)
    for name, more in deeper.items():
        field = fields[name]
        assert field.group is not None
        start = as_kwargs(out.get(name, field.default))
        given, _ = split(field.group, more, owner, command, f"{prefix}{name}.")
        out[name] = field.group(**{**start, **given})
    return out, extra


def _pick(field: Declared, value: Any, more: Mapping[str, Any], owner: str, command: str, prefix: str) -> Choice:
    """A choice field's value from its text/mapping/Choice ``value`` (None: not given) and its
    ``field.NAME`` settings ``more``, checked against the chosen plugin's declaration."""
    default: Choice = field.default
    kind = str(field.spec.plugin)
    where = f"{owner} setting {prefix}{field.name}" if owner else f"setting {prefix}{field.name}"
    given: dict[str, Any] = {}
    if value is None:
        name = default.name
    elif isinstance(value, Choice):
        name, given = value.name, dict(value.settings)
    elif isinstance(value, Mapping) or (isinstance(value, str) and value.strip().startswith("{")):
        given = read_mapping(value, where, prefix + field.name)
        name = str(given.pop("name", default.name))
    elif isinstance(value, str) and value.strip() and "=" not in value:
        name = value.strip()
    elif isinstance(value, str) and "=" in value:
        key = value.partition("=")[0].strip()
        raise ConfigError(
            f"{where} must name a registered {kind}, got {value!r}",
            f"set its settings as {prefix}{field.name}.{key}=... or {prefix}{field.name}='{{\"{key}\": ...}}'",
        )
    else:
        raise _bad(where, value, f"the name of a registered {kind} (`nars {kind}s` lists them)", prefix + field.name)
    start = dict(default.settings) if name == default.name else {}
    values = {**start, **given, **more}
    resolved = resolve_plugin(kind, name)
    declaration = resolved.settings
    if declaration is None:
        if values:
            raise ConfigError(f"{where}: {kind} {name!r} declares no settings, got {sorted(values)}", "leave them out")
        return Choice(name, {}, resolved.make)
    typed, _ = split(declaration, values, owner or f"{kind} {name!r}", f"nars {kind}s {name}", f"{prefix}{field.name}.")
    return Choice(name, typed, resolved.make)


def _valid_text(cls: type, prefix: str = "") -> list[str]:
    """The valid names for an error: top-level ones, each group as ``group.NAME: a, b, ...``."""
    out = []
    for d in declared(cls):
        group = _group(d)
        text = f" ({prefix}{d.name}.NAME, or NAME alone: {', '.join(names(group))})" if group else ""
        if d.kind == "choice":
            kind = d.spec.plugin
            text = f" (a {kind} name; {prefix}{d.name}.NAME sets its settings, `nars {kind}s` lists them)"
        out.append(prefix + d.name + text)
    return out


def _aliases(cls: type) -> dict[str, str]:
    """Nested names usable bare (no top-level setting or other group uses them): name -> group."""
    top = {d.name for d in declared(cls)}
    seen: dict[str, list[str]] = {}
    for d in declared(cls):
        group = _group(d)
        if group is not None:
            for n in names(group):
                seen.setdefault(n, []).append(d.name)
    return {n: groups[0] for n, groups in seen.items() if len(groups) == 1 and n not in top and "." not in n}


def _means_none(field: Declared, value: Any) -> bool:
    """Whether ``value`` is None or the word for it, and the field may be None."""
    return field.optional and (value is None or (isinstance(value, str) and value.strip().lower() in _nones(field)))


def convert(field: Declared, value: Any, owner: str = "", prefix: str = "") -> Any:
    """One value (typed, text, or a guessed scalar) as the field's type; a ConfigError names the field
    (as ``prefix + name``) and the type it needs."""
    name = prefix + field.name
    where = f"{owner} setting {name}" if owner else f"setting {name}"
    if _means_none(field, value):
        return None
    if field.kind == "choice":
        return _pick(field, value, {}, owner, "", prefix)
    if field.kind == "nested":
        assert field.group is not None
        if isinstance(value, field.group):
            return value
        mapping = read_mapping(value, where, name)
        return field.group(**{**as_kwargs(field.default), **split(field.group, mapping, owner, "", name + ".")[0]})
    if field.kind == "bool":
        try:
            return as_flag(value, name)
        except ConfigError as exc:
            raise ConfigError(f"{owner} setting {exc.message}" if owner else exc.message, exc.hint) from None
    if field.kind == "list":
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(field.spec.separator) if s.strip())
        if isinstance(value, Sequence):
            return tuple(str(v).strip() for v in value)
        raise _bad(where, value, f"text (items separated by {field.spec.separator!r})", name)
    if field.kind == "str":
        text = _as_text(value)
        if text is None:
            raise _bad(where, value, "text", name)
        if field.spec.choices is not None and text not in field.spec.choices:
            pick = " or ".join(f"{name}={c}" for c in field.spec.choices)
            raise ConfigError(f"{where} must be one of {list(field.spec.choices)}, got {value!r}", f"pass {pick}")
        return text
    number = _as_number(value, field.kind)
    if number is None:
        kind = ("an integer" if field.kind == "int" else "a number") + _range_text(field.spec)
        raise ConfigError(f"{where} must be {kind}, got {value!r}", f"pass {name}=N with N {kind}")
    if field.spec.choices is not None and number not in field.spec.choices:
        raise ConfigError(
            f"{where} must be one of {list(field.spec.choices)}, got {value!r}",
            "pass " + " or ".join(f"{name}={c}" for c in field.spec.choices),
        )
    if not _in_range(number, field.spec):
        raise ConfigError(
            f"{where} must be{_range_text(field.spec)}, got {value!r}", f"pass {name}=N with N{_range_text(field.spec)}"
        )
    return number


def _nones(field: Declared) -> tuple[str, ...]:
    return (*NONE_WORDS, field.spec.none)


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    return None


def _as_number(value: Any, kind: str) -> int | float | None:
    if isinstance(value, str):
        value = parse_scalar(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            return None
        return int(value)
    return float(value)


def _in_range(value: float, spec: Spec) -> bool:
    above = spec.high is not None and (value >= spec.high if spec.high_open else value > spec.high)
    return not (spec.low is not None and value < spec.low) and not above


def _range_text(spec: Spec) -> str:
    if spec.low is not None and spec.high is not None:
        return f" in [{spec.low:g}, {spec.high:g}{')' if spec.high_open else ']'}"
    if spec.low is not None:
        return f" >= {spec.low:g}"
    if spec.high is not None:
        return f" {'<' if spec.high_open else '<='} {spec.high:g}"
    return ""


def _bad(where: str, value: Any, expected: str, name: str) -> ConfigError:
    return ConfigError(f"{where} must be {expected}, got {value!r}", f"pass {name}=VALUE with VALUE {expected}")


def read_mapping(value: Any, where: str = "settings", name: str = "settings") -> dict[str, Any]:
    """A mapping given as a dict or as JSON text (``'{"n_models": 3}'``, as the command line passes it)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(
                f"{where} {value!r} is not JSON", f"write e.g. {name}='{{\"n_models\": 3}}' or {name}.n_models=3"
            ) from None
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {value!r}", f"write e.g. {name}='{{\"n_models\": 3}}'")
    return dict(value)


def unknown_setting(
    name: str, valid: Sequence[str], owner: str = "", command: str = "", candidates: Sequence[str] | None = None
) -> ConfigError:
    """The error for a setting nobody declared: the valid names and the closest of ``candidates``
    (default: ``valid``)."""
    where = f" for {owner}" if owner else ""
    close = difflib.get_close_matches(name, list(candidates or valid), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    hint += f"valid settings: {', '.join(valid) if valid else 'none'}"
    if command:
        hint += f" (`{command}` describes them)"
    return ConfigError(f"unknown setting {name!r}{where}", hint)


# -- values, identity, listing ------------------------------------------------ #


def as_kwargs(obj: Any) -> dict[str, Any]:
    """The values of a declaration instance by name (nested groups stay instances)."""
    return {d.name: getattr(obj, d.name) for d in declared(obj.__class__)}


def identity(obj: Any, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a journal records: every declared value that can change results (not those declared
    ``recorded=False``, nor those declared ``recorded="changed"`` at their default: the owner's
    ``defaults`` where it has its own, else the declared one), JSON-ready (None as its word, lists
    as lists)."""
    out: dict[str, Any] = {}
    for d in declared(obj.__class__):
        value = getattr(obj, d.name)
        if d.spec.recorded == "changed" and value == (defaults or {}).get(d.name, d.default):
            continue
        if d.spec.recorded:
            out[d.name] = _plain(d, value)
    return out


def _plain(d: Declared, value: Any) -> Any:
    if value is None:
        return d.spec.none
    if d.kind == "nested":
        return identity(value)
    if d.kind == "choice":
        return choice_identity(d, value)
    if d.kind == "list":
        return list(value)
    return value


def choice_identity(d: Declared, value: Choice) -> dict[str, Any]:
    """A choice's journal record: every setting of the chosen plugin, and its name unless it is the
    default (so a journal written before the field could name another plugin still matches)."""
    declaration = plugin_settings(str(d.spec.plugin), value.name)
    default = value.name == d.default.name
    owners = d.default.settings if default else None  # the owner's own defaults of its default plugin
    full = identity(parse(declaration, dict(value.settings)), owners) if declaration is not None else {}
    return full if default else {"name": value.name, **full}


def type_text(d: Declared) -> str:
    """``int >= 1``, ``flag``, ``one of a|b``, ``float in [0, 1] or auto``, ..."""
    if d.kind == "nested":
        text = "settings"
    elif d.kind == "choice":
        text = f"{d.spec.plugin} name"
    elif d.spec.choices is not None:
        text = "one of " + "|".join(str(c) for c in d.spec.choices)
    elif d.kind == "bool":
        text = "flag"
    elif d.kind == "list":
        text = f"list ({d.spec.separator!r}-separated)"
    elif d.kind == "str":
        text = "text"
    else:
        text = d.kind + _range_text(d.spec)
    return f"{text} or {d.spec.none}" if d.optional else text


def describe(cls: type | None, prefix: str = "") -> list[str]:
    """One line per setting (nested ones as ``group.name``): name, type, default and doc."""
    if cls is None:
        return ["settings: not declared (passed to the factory as given)"]
    rows = []
    for d in declared(cls):
        if d.kind == "nested":
            rows.append((prefix + d.name, "settings", "", d.spec.doc))
            nested_rows = describe_rows(d.group, prefix + d.name + ".", d.default)
            rows += nested_rows
            continue
        if d.kind == "choice":
            kind, name = d.spec.plugin, d.default.name
            doc = f"{d.spec.doc} (any of `nars {kind}s`; {d.name}.NAME=VALUE sets its settings)"
            rows.append((prefix + d.name, type_text(d), name, doc))
            group = _group(d)
            if group is not None:
                rows += describe_rows(group, f"{prefix}{d.name}.", parse(group, dict(d.default.settings)))
            continue
        rows.append((prefix + d.name, type_text(d), _show(_plain(d, d.default)), d.spec.doc))
    return _table(rows, getattr(cls, "budget_dependent", None), getattr(cls, "extra_options", None))


def describe_rows(cls: Any, prefix: str, current: Any) -> list[tuple[str, str, str, str]]:
    """Rows of a nested group, with the owner's defaults (``current``)."""
    rows = []
    for d in declared(cls):
        value = _plain(d, getattr(current, d.name))
        rows.append((prefix + d.name, type_text(d), _show(value), d.spec.doc))
    return rows


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "(none)"
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _table(rows: list[tuple[str, str, str, str]], budget_note: str | None, extra: str | None) -> list[str]:
    if not rows:
        lines = ["settings: none"]
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        head = ("setting", "type", "default")
        widths = [max(w, len(h)) for w, h in zip(widths, head)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  doc"]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
    if budget_note:
        lines.append(f"budget: {budget_note}; a journal resumes only under the same --budget/--budget-seconds")
    if extra:
        lines.append(f"other names: passed on to {extra}")
    return lines


# -- typed components, loaders ------------------------------------------------ #


class Configured(Generic[S]):
    """A component typed by its settings declaration ``S``: ``class Greedy(Optimizer[GreedySettings])``.

    The type argument is the one place the declaration is named: it sets the class attribute
    ``Settings`` (what the registry, ``nars optimizers NAME`` and the parsers read) and types
    ``self.config`` (an instance of ``S``, made by the component's base class). A class that sets
    ``Settings`` itself (the older way) keeps it; naming two different declarations is an error.
    """

    #: The settings declaration (a dataclass of :func:`setting` fields), or None: no settings.
    Settings: ClassVar[type[Any] | None] = None
    #: The parsed settings (None where the class declares none).
    config: S

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        given = [a for base in getattr(cls, "__orig_bases__", ()) for a in typing.get_args(base) if is_declaration(a)]
        if not given:
            return
        own = cls.__dict__.get("Settings")
        if own is not None and own is not given[0]:
            raise TypeError(
                f"{cls.__name__} names two settings declarations: {given[0].__name__} (its base class's type "
                f"argument) and Settings = {own.__name__}; keep the type argument alone"
            )
        cls.Settings = given[0]

    if not TYPE_CHECKING:  # hidden from type checkers: the old, untyped way to read a setting

        def __getattr__(self, name: str) -> Any:
            """``self.width`` for ``self.config.width``: components written before settings were typed
            read them as attributes; that still answers one more release, with a DeprecationWarning."""
            config = self.__dict__.get("config")
            if config is None or name.startswith("__") or name not in {d.name for d in declared(type(config))}:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            warnings.warn(
                f"{type(self).__name__}.{name}: read the setting as self.config.{name} (settings are no "
                "longer attributes of their component)",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(config, name)


def resolve(cls: type[S], given: S | None, options: Mapping[str, Any], owner: str = "", command: str = "") -> S:
    """The settings a loader works with: ``given`` (default: the declaration's defaults) with
    ``options`` (typed or text) on top, parsed and checked against ``cls``. A loader declares its
    defaults once, in ``cls``: ``def load_table(path, settings=None, **options)``."""
    return resolve_split(cls, given, options, owner, command)[0]


def resolve_split(
    cls: type[S], given: S | None, options: Mapping[str, Any], owner: str = "", command: str = ""
) -> tuple[S, dict[str, Any]]:
    """:func:`resolve`, and the names the declaration passes on (its ``extra_options``)."""
    start = as_kwargs(given) if given is not None else {}
    values, extra = split(cls, options, owner, command)
    return cls(**{**start, **values}), extra


# -- the run context ------------------------------------------------------------ #


def checked_seed(seed: object) -> int:
    """``seed`` as an int; a ConfigError unless it is a whole number >= 0 (not a string, float or bool)."""
    if not is_integer(seed) or operator.index(seed) < 0:  # type: ignore[arg-type]
        raise ConfigError(
            f"seed must be a non-negative integer, got {seed!r}",
            f"pass {option('seed=0', '--seed 0')} or another whole number >= 0",
        )
    return operator.index(seed)  # type: ignore[arg-type]


def recipe_values(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """A fixed recipe as a dict: ``{"a": 1}`` or the text ``"a=1,b=x"`` (empty for None)."""
    return parse_key_values(value, "fixed recipe", separator=",") if value else {}


@dataclass(frozen=True)
class RunContext:
    """What a run gives an optimizer besides its settings; the study's, not the optimizer's, to choose.

    Attributes:
        objective: the metric to maximise (results carry it in ``metrics``).
        seed: seeds the optimizer's random generator; the same seed gives the same search.
        constraints: resource constraints every proposal must meet (text such as ``"flops <= 100M"``
            is parsed).
        budget: the study's budget, for strategies that plan ahead (None: none given).
        max_fidelity: the full number of epochs when the evaluator returns learning curves, else None.
        fixed_recipe: recipe values to hold fixed (an architecture-only search), e.g.
            ``{"training": "standard"}`` or the text ``"training=standard"``.
    """

    objective: str
    seed: int = 0
    constraints: tuple[Constraint, ...] = ()
    budget: Budget | None = None
    max_fidelity: int | None = None
    fixed_recipe: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", checked_seed(self.seed))
        object.__setattr__(self, "constraints", tuple(parse_constraints(self.constraints)))
        object.__setattr__(self, "fixed_recipe", recipe_values(self.fixed_recipe))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The context's field names (``objective``, ``seed``, ...)."""
        return tuple(f.name for f in dataclasses.fields(cls))
