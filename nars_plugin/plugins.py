"""Plugin manager and registry.

The host's own plugins (:data:`DEFAULT_PLUGINS`: the built-ins of :mod:`nars_plugin._builtins` and
one module per peer optimizer in :mod:`nars_plugin.peers`, registered first, the way pytest registers
its default plugins) and external plugins (entry-point group ``nars_plugin``) register spaces,
benchmarks, optimizers, predictors and evaluators, and add ``nars`` subcommands, through the hooks
of :mod:`nars_plugin.hookspecs`. Set ``NARS_BLOCK_PLUGINS=name1,name2`` to keep named plugins from
loading.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import functools
import importlib
import importlib.metadata
import os
import reprlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from ._version import __version__
from .errors import ConfigError, NarsError, UnknownNameError, option
from .settings import Resolved, RunContext, as_kwargs, declared, is_declaration
from .settings import split as split_settings

ENTRY_POINT_GROUP = "nars_plugin"
BLOCK_ENV = "NARS_BLOCK_PLUGINS"
KINDS = ("space", "benchmark", "optimizer", "predictor", "evaluator")
STATUS_HOOK = "nars_plugin_status"
REGISTER_HOOKS = tuple(f"nars_register_{kind}s" for kind in KINDS)
COMMANDS_HOOK = "nars_add_commands"
#: Every hook of :mod:`nars_plugin.hookspecs`, in the order they are called.
HOOKS = (STATUS_HOOK, *REGISTER_HOOKS, COMMANDS_HOOK)
#: The host's own plugins, by plugin name: registered before the entry points and through the same
#: hooks (as pytest registers its default plugins). Each peer optimizer is a plugin of its own, so
#: ``nars plugins`` lists it inactive, with the reason, where its library is missing.
DEFAULT_PLUGINS = {
    "builtins": "nars_plugin._builtins",
    "optuna-tpe": "nars_plugin.peers.optuna_tpe",
    "smac": "nars_plugin.peers.smac",
    "hebo": "nars_plugin.peers.hebo",
}


class PluginError(NarsError):
    """A plugin failed to load or two plugins registered the same name."""


@dataclass
class Entry:
    """One registered object: what it is, how to make it, and who registered it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    description: str = ""
    plugin: str = "?"
    takes_argument: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    settings: type | None = None  # the declaration of its options (nars_plugin.settings), None: not declared

    @property
    def command(self) -> str:
        """The command that describes this entry (``nars optimizers nars``)."""
        return f"nars {self.kind}s {self.name}"

    @property
    def owner(self) -> str:
        """How errors name this entry (``optimizer 'nars'``)."""
        return f"{self.kind} {self.name!r}"


@dataclass
class PluginInfo:
    """A loaded (or inactive) plugin, for ``nars plugins``."""

    name: str
    version: str
    hooks: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)
    status: str = "active"
    hint: str = ""  # how to make an inactive or blocked plugin work


class Registry:
    """Everything plugins registered, by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self.current_plugin = "?"
        self.plugins: dict[str, PluginInfo] = {}

    def _add(self, kind: str, name: str, factory: Callable[..., Any], description: str, **extra: Any) -> None:
        table = self._entries[kind]
        if name in table:
            other = table[name].plugin
            raise PluginError(
                f"{kind} {name!r} is registered twice: by plugin {other!r} and by plugin {self.current_plugin!r}",
                f"block one of them with {BLOCK_ENV}={self.current_plugin} (or ={other})",
            )
        takes_argument = bool(extra.pop("takes_argument", False))
        declared = extra.pop("settings", None) or getattr(factory, "Settings", None)
        if declared is not None and not is_declaration(declared):
            raise PluginError(
                f"{kind} {name!r} of plugin {self.current_plugin!r} declares its settings with {declared!r}, "
                "not a dataclass",
                "pass settings=A_DATACLASS whose fields are made with nars_plugin.settings.setting(...)",
            )
        table[name] = Entry(
            kind, name, factory, description, self.current_plugin, takes_argument, extra, settings=declared
        )
        info = self.plugins.get(self.current_plugin)
        if info is not None:
            info.registered.append(f"{kind}:{name}")

    def add_space(
        self, name: str, factory: Callable[..., Any], description: str = "", settings: type | None = None
    ) -> None:
        """Register a search space factory ``factory(**options) -> Space``.

        ``settings``: the declaration of its options (see :meth:`add_benchmark`).
        """
        self._add("space", name, factory, description, settings=settings)

    def add_benchmark(
        self,
        name: str,
        factory: Callable[..., Any],
        description: str = "",
        takes_argument: bool = False,
        settings: type | None = None,
    ) -> None:
        """Register a benchmark factory ``factory(argument=None, **options)``.

        ``settings`` declares its options: a frozen dataclass whose fields are made with
        :func:`nars_plugin.settings.setting` (default, type, range or choices, one-line doc). The
        registry then parses ``-B`` text into typed values, refuses unknown names with the valid
        ones, calls ``factory(**values)`` with every declared value, and ``nars benchmarks NAME``
        lists them. Without it the options are passed through as given (listed as "not declared").
        """
        self._add("benchmark", name, factory, description, takes_argument=takes_argument, settings=settings)

    def add_optimizer(
        self,
        name: str,
        factory: Callable[..., Any],
        description: str = "",
        runner: Callable[..., dict[str, Any]] | None = None,
        unavailable: Callable[..., str | None] | None = None,
        settings: type | None = None,
    ) -> None:
        """Register an optimizer class or factory.

        Settings are declared once (:mod:`nars_plugin.settings`): an
        :class:`~nars_plugin.optimizers.base.Optimizer` subclass is typed by its declaration
        (``class Greedy(Optimizer[GreedySettings])``); a plain factory passes ``settings=MySettings``
        here. Either is called as ``factory(space, context=RunContext(...), settings=MySettings(...))``
        (:meth:`create_optimizer`). The declaration drives ``-O`` parsing, the errors for unknown names
        and bad values, ``nars optimizers NAME`` and the journal identity. Without one, settings are
        passed as the mapping given.

        An optimizer that another library drives with its own loop (e.g. NASLib's Trainer) gives
        ``runner(benchmark, task) -> {"curve", "seconds", "evaluated_now", "best"}`` (``task``: a
        :class:`~nars_plugin.comparison.tasks.RunTask`), which
        ``nars compare`` calls instead of running an ask/tell study; ``unavailable(target)`` returns why
        it cannot run on this machine or on the comparison's target (a benchmark or an evaluator), or
        None (one that takes no argument is called as ``unavailable()``).
        """
        extra = {k: v for k, v in (("runner", runner), ("unavailable", unavailable)) if v is not None}
        self._add("optimizer", name, factory, description, settings=settings, **extra)

    def add_predictor(self, name: str, factory: Callable[..., Any], description: str = "") -> None:
        """Register an accuracy predictor: a :class:`~nars_plugin.predictors.Predictor` subclass (the
        declaration it is typed by, ``Predictor[MySettings]``, if any, drives parsing and
        ``nars predictors NAME``)."""
        self._add("predictor", name, factory, description)

    def add_evaluator(self, name: str, factory: Callable[..., Any], description: str = "") -> None:
        """Register an evaluator factory."""
        self._add("evaluator", name, factory, description)

    # -- look-up ----------------------------------------------------------- #

    def names(self, kind: str, pattern: str = "*") -> list[str]:
        """Registered names of ``kind`` matching a glob ``pattern``, sorted."""
        return sorted(n for n in self._entries[kind] if fnmatch.fnmatch(n, pattern))

    def entries(self, kind: str, pattern: str = "*") -> list[Entry]:
        """Registered entries of ``kind`` matching ``pattern``."""
        return [self._entries[kind][n] for n in self.names(kind, pattern)]

    def get(self, kind: str, name: str) -> Entry:
        """The entry called ``name``; a clear error lists the known names."""
        entry = self._entries[kind].get(name)
        if entry is None:
            self._check_owner_active(kind, name)
            known = ", ".join(self.names(kind)) or "none"
            hint = f"known {kind}s: {known}{_did_you_mean(name, self.names(kind))}"
            hint += f"; `nars {kind}s` lists them" + self._not_loaded_note()
            raise UnknownNameError(f"unknown {kind} {name!r}", hint)
        return entry

    def _not_loaded_note(self) -> str:
        """Which plugins registered nothing here (inactive or blocked): one of them may own a missing name."""
        idle = [f"{info.name} ({info.status})" for info in self.plugins.values() if info.status != "active"]
        return f"; plugins not loaded here: {'; '.join(idle)} (`nars plugins` gives the fix)" if idle else ""

    def _check_owner_active(self, kind: str, name: str) -> None:
        """A name ``PLUGIN:NAME`` of an inactive or blocked plugin fails with that plugin's reason, and so
        does a name that is the plugin's own (``hebo`` of the ``hebo`` plugin)."""
        owner = name.partition(":")[0]
        info = self.plugins.get(owner)
        if info is not None and info.status != "active":
            raise UnknownNameError(
                f"{kind} {name!r} comes from plugin {owner!r}, which is {info.status}",
                info.hint or "`nars plugins` says why",
            )

    def parse_settings(self, kind: str, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` typed and checked by the declaration of ``kind`` ``name`` (a ConfigError for an
        unknown name or a bad value); every declared value is returned, with names the declaration
        passes on. Undeclared entries get ``values`` back unchanged."""
        entry = self.get(kind, name.partition(":")[0] if kind == "benchmark" else name)
        if entry.settings is None:
            return dict(values)
        parsed, extra = split_settings(entry.settings, values, entry.owner, entry.command)
        defaults = {d.name: d.default for d in declared(entry.settings)}
        return {**defaults, **parsed, **extra}

    def create_space(self, name: str, **options: Any) -> Any:
        """Make the space called ``name``."""
        return self.get("space", name).factory(**self.parse_settings("space", name, options))

    def create_benchmark(self, spec: str, **options: Any) -> Any:
        """Make a benchmark from ``name`` or ``name:ARGUMENT`` (e.g. ``csv:PATH``)."""
        name, sep, argument = spec.partition(":")
        entry = self.get("benchmark", name)
        if sep and not entry.takes_argument:
            raise ConfigError(
                f"benchmark {name!r} takes no ':ARGUMENT' (got {spec!r})",
                "use " + option(repr(name), f"--benchmark {name}"),
            )
        options = self.parse_settings("benchmark", name, options)
        try:
            if entry.takes_argument:
                return entry.factory(argument or None, **options)
            return entry.factory(**options)
        except TypeError as exc:
            if "argument" not in str(exc):
                raise
            raise ConfigError(
                f"benchmark {name!r} does not take option(s) {sorted(options)}: {exc}",
                f"check the {option('options=', '--bench-opt')} names: `nars benchmarks {name}` lists them",
            ) from None

    def create_optimizer(self, name: str, space: Any, context: RunContext, settings: Any = None) -> Any:
        """Make the optimizer called ``name`` on ``space`` for the run ``context`` with ``settings``
        (see :func:`make_optimizer`)."""
        entry = self.get("optimizer", name)
        return make_optimizer(entry.factory, space, context, settings, entry.settings, name, entry.plugin)


def make_optimizer(
    factory: Callable[..., Any],
    space: Any,
    context: RunContext,
    settings: Any = None,
    declaration: type | None = None,
    name: str = "?",
    plugin: str = "?",
) -> Any:
    """``factory(space, context=context, settings=...)``, with ``settings`` (a mapping of typed or text
    values, or an instance of the declaration) parsed and checked by ``declaration``; a setting of
    the wrong type is a ConfigError. A factory written for the 0.1 contract, which refuses that
    call, is called the old way (the context's fields and the settings as one set of keywords),
    with a DeprecationWarning. No signature is inspected: the context and the settings never share
    a namespace."""
    if declaration is not None and isinstance(settings, declaration):
        settings = as_kwargs(settings)
    values = dict(settings or {})
    if declaration is not None:
        parsed, _ = split_settings(declaration, values, f"optimizer {name!r}", f"nars optimizers {name}")
        values = {**{d.name: d.default for d in declared(declaration)}, **parsed}
    given = declaration(**values) if declaration is not None else values
    try:
        try:
            return factory(space, context=context, settings=given)
        except TypeError as exc:
            if exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
                raise  # raised inside the factory: not a refusal of the call itself
            return _old_contract(factory, name, plugin, space, context, values, exc)
    except NarsError:
        raise
    except (TypeError, ValueError) as exc:  # e.g. int("abc") for population=abc
        raise ConfigError(
            f"bad setting for optimizer {name!r}: {type(exc).__name__}: {exc}",
            f"check the setting names and values (`nars optimizers {name}` lists them): "
            + option("settings={'key': value}", "--opt KEY=VALUE for search, NAME(key=value) in --optimizers"),
        ) from None


def _old_contract(
    factory: Callable[..., Any],
    name: str,
    plugin: str,
    space: Any,
    context: RunContext,
    values: dict[str, Any],
    refusal: TypeError,
) -> Any:
    """Call an optimizer factory the way the 0.1 contract did: ``factory(space, objective=...,
    seed=..., ..., **settings)``, warning that it should take ``context=`` and ``settings=``."""
    warnings.warn(
        f"optimizer {name!r} of plugin {plugin!r} refused the call factory(space, context=..., settings=...) "
        f"({refusal}); it is called the old way, with the run context's fields among its settings, one more "
        "release: take a RunContext and the settings apart (see nars_plugin.optimizers.base)",
        DeprecationWarning,
        stacklevel=4,
    )
    fields = {key: getattr(context, key) for key in RunContext.names()}
    fields["constraints"] = list(context.constraints)
    return factory(space, **fields, **values)


def blocked_plugins() -> set[str]:
    """Plugin names listed in ``NARS_BLOCK_PLUGINS``."""
    return {n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()}


def _version_of(module: Any) -> str:
    return getattr(module, "__version__", None) or __version__


def _block_fix(name: str) -> str:
    return f"block it with {BLOCK_ENV}={name}"


def _contains(longer: str, shorter: str) -> bool:
    """``shorter`` is a prefix of ``longer`` (two characters or more) or lies inside it (three or more)."""
    return (len(shorter) >= 2 and longer.startswith(shorter)) or (len(shorter) >= 3 and shorter in longer)


def _closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice a user most likely meant by ``word``, or None.

    Case is ignored, and a name is compared both whole and after its ``plugin:`` prefix
    (``naslib:xgboost`` against ``naslib:xgb`` and ``xgb``). A choice that contains the word or lies
    inside it (``xgb`` in ``xgboost``, ``popul`` in ``population``) wins over one that is merely
    similar; among several, the most similar wins. Failing that, the most similar choice with a
    difflib ratio of at least 0.5, where names with the word's own ``plugin:`` prefix are compared
    after it (a shared ``naslib:`` makes no two names alike).
    """
    lowered = word.lower()
    prefix, _, local = lowered.rpartition(":")

    def forms(name: str) -> set[str]:
        return {name, name.rpartition(":")[2]}

    def similarity(choice: str) -> float:
        name = choice.lower()
        theirs, _, their_local = name.rpartition(":")
        pair = (local, their_local) if prefix and theirs == prefix else (lowered, name)
        return difflib.SequenceMatcher(None, *pair).ratio()

    exact = [c for c in choices if c.lower() == lowered]
    if exact:
        return exact[0]
    containing = [
        c for c in choices if any(_contains(a, b) or _contains(b, a) for a in forms(lowered) for b in forms(c.lower()))
    ]
    if containing:
        return max(containing, key=similarity)  # the first of equals, in the order of ``choices``
    scored = [(similarity(c), c) for c in choices]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, ""))
    return best[1] if best[0] >= 0.5 else None


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = _closest(word, choices)
    return f" (did you mean {close!r}?)" if close else ""


def _plugin_candidates() -> Iterator[tuple[str, str, Callable[[], object], str | None]]:
    """``(name, where, load, version)`` of the default plugins, then of every entry point of the group
    (an entry point named like a plugin found before it is skipped: an older installation's metadata
    may still name a default plugin)."""
    for name, module in DEFAULT_PLUGINS.items():
        yield name, module, functools.partial(importlib.import_module, module), None
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        yield ep.name, ep.value, ep.load, ep.dist.version if ep.dist else None


def build_plugin_manager() -> tuple[pluggy.PluginManager, dict[str, PluginInfo]]:
    """A plugin manager with the built-ins and every entry-point plugin not blocked by ``NARS_BLOCK_PLUGINS``.

    Blocking goes through :meth:`pluggy.PluginManager.set_blocked` (a blocked plugin is never
    imported); every registration is validated by pluggy (argument names) and, once all are in,
    :meth:`pluggy.PluginManager.check_pending` rejects hooks that match no specification. Each
    problem is a :class:`PluginError` naming the plugin and the fix.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked_plugins():
        pm.set_blocked(name)
    infos: dict[str, PluginInfo] = {}
    for name, where, load, version in _plugin_candidates():
        if name in infos:  # the same distribution found twice on the path
            continue
        if pm.is_blocked(name):
            status = f"blocked by {BLOCK_ENV}"
            infos[name] = PluginInfo(name, version or "?", status=status, hint=f"remove {name!r} from {BLOCK_ENV}")
            continue
        try:
            plugin = load()
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code is reported the same way
            raise PluginError(
                f"plugin {name!r} ({where}) failed to load: {type(exc).__name__}: {exc}",
                f"fix or uninstall it, or {_block_fix(name)}",
            ) from exc
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise _contract_error(pm, name, plugin, exc) from None
        except ValueError as exc:  # pluggy: the same module registered under two names
            raise PluginError(f"plugin {name!r} ({where}) cannot be registered: {exc}", _block_fix(name)) from None
        hooks = {caller.name for caller in pm.get_hookcallers(plugin) or ()}
        infos[name] = PluginInfo(name, version or _version_of(plugin), [h for h in HOOKS if h in hooks])
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _unknown_hook_error(pm, exc) from None
    return pm, infos


def _unknown_hook_error(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> PluginError:
    """:meth:`~pluggy.PluginManager.check_pending` found a ``@hookimpl`` that matches no hook specification."""
    plugin_name = pm.get_name(exc.plugin) or "?"
    unknown = [
        caller.name
        for caller in vars(pm.hook).values()
        if isinstance(caller, pluggy.HookCaller) and not caller.has_spec()
        for impl in caller.get_hookimpls()
        if impl.plugin is exc.plugin
    ]
    hook = unknown[0] if unknown else "?"
    guess = _closest(hook, HOOKS)
    rename = f"rename it to {guess!r}" if guess else f"use one of the hooks {', '.join(HOOKS)}"
    return PluginError(
        f"plugin {plugin_name!r} implements an unknown hook {hook!r}{_did_you_mean(hook, HOOKS)}",
        f"{rename} in that plugin (hooks are listed in nars_plugin.hookspecs), or {_block_fix(plugin_name)}",
    )


def _contract_error(
    pm: pluggy.PluginManager, plugin_name: str, plugin: object, exc: pluggy.PluginValidationError
) -> PluginError:
    """Pluggy refused a hook implementation of ``plugin``: say which hook and which argument."""
    fix = f"fix the plugin or {_block_fix(plugin_name)}"
    for hook in HOOKS:
        opts = pm.parse_hookimpl_opts(plugin, hook)
        if opts is None:
            continue
        impl = pluggy.HookImpl(plugin, plugin_name, getattr(plugin, hook), opts)
        expected = list(getattr(pm.hook, hook).spec.argnames)
        extra = [arg for arg in impl.argnames if arg not in expected]
        if extra:
            passes = ", ".join(expected) or "no arguments"
            return PluginError(
                f"plugin {plugin_name!r}: its hook {hook} asks for argument(s) {', '.join(map(repr, extra))}, "
                f"which the hook does not pass{_did_you_mean(extra[0], expected)}; {hook} passes: {passes}",
                f"{fix}; the hook contracts are in nars_plugin.hookspecs",
            )
    detail = " ".join(str(exc).split())
    return PluginError(f"plugin {plugin_name!r} does not follow the hook contract: {detail}", fix)


def _plugin_hook(pm: pluggy.PluginManager, hook: str, plugin_name: str) -> pluggy.HookCaller:
    """Pluggy's caller of ``hook`` restricted to one plugin (so each call is that plugin's alone)."""
    others = [plugin for name, plugin in pm.list_name_plugin() if name != plugin_name and plugin is not None]
    return pm.subset_hook_caller(hook, remove_plugins=others)


def _status_of(pm: pluggy.PluginManager, plugin_name: str) -> tuple[str, str] | None:
    """A plugin's own ``nars_plugin_status`` answer; a hook that raises or answers nonsense makes it inactive."""
    fix = f"fix or reinstall plugin {plugin_name!r}, or {_block_fix(plugin_name)}"
    try:
        answers = _plugin_hook(pm, STATUS_HOOK, plugin_name)()
    except Exception as exc:  # noqa: BLE001 - a broken status hook is that plugin's problem only
        return f"its {STATUS_HOOK} hook raised {type(exc).__name__}: {exc}", fix
    if not answers:  # no hook, or it returned None (pluggy drops None answers)
        return None
    state = answers[0]
    if isinstance(state, (tuple, list)) and len(state) == 2 and all(isinstance(s, str) for s in state):
        return state[0], state[1]
    return f"its {STATUS_HOOK} hook returned {reprlib.repr(state)}, not None or a (reason, fix) pair of strings", fix


@dataclass(frozen=True)
class Command:
    """A ``nars`` subcommand that a plugin added (:meth:`Commands.add`)."""

    name: str
    run: Callable[[argparse.Namespace], int]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None
    plugin: str


class Commands:
    """The ``nars`` subcommands plugins add through the ``nars_add_commands`` hook, by name."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._reserved = set(reserved)  # the core's own commands
        self.current_plugin = "?"
        self.table: dict[str, Command] = {}

    def add(
        self,
        name: str,
        run: Callable[[argparse.Namespace], int],
        help: str,
        arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    ) -> None:
        """Add ``nars NAME``: ``arguments(parser)`` adds its options to its argparse parser, ``run(args)``
        runs it and returns the exit status; ``help`` is its line in ``nars --help``."""
        plugin = self.current_plugin
        if name in self._reserved:
            raise PluginError(
                f"plugin {plugin!r} adds the command {name!r}, which is one of nars's own",
                f"give the command another name in that plugin, or {_block_fix(plugin)}",
            )
        if name in self.table:
            other = self.table[name].plugin
            raise PluginError(
                f"command {name!r} is added twice: by plugin {other!r} and by plugin {plugin!r}",
                f"block one of them with {BLOCK_ENV}={plugin} (or ={other})",
            )
        self.table[name] = Command(name, run, help, arguments, plugin)


_REGISTRY: Registry | None = None
_MANAGER: tuple[pluggy.PluginManager, dict[str, PluginInfo]] | None = None


def _plugin_manager(refresh: bool) -> tuple[pluggy.PluginManager, dict[str, PluginInfo]]:
    """The process-wide plugin manager (built once; again with ``refresh``) and its plugins."""
    global _MANAGER
    if _MANAGER is None or refresh:
        _MANAGER = build_plugin_manager()
    return _MANAGER


def plugin_commands(reserved: Iterable[str] = ()) -> dict[str, Command]:
    """The ``nars`` subcommands the plugins add (hook ``nars_add_commands``), by name.

    Every loaded plugin is asked, active or inactive (a command may be what makes its plugin work:
    ``nars naslib install``, ``nars hebo install``); blocked plugins are not loaded, so they add none.
    A name in ``reserved`` (the core's commands) or added twice is a :class:`PluginError`.
    """
    pm, infos = _plugin_manager(refresh=False)
    commands = Commands(reserved)
    for name in infos:
        caller = _plugin_hook(pm, COMMANDS_HOOK, name) if pm.get_plugin(name) is not None else None
        if caller is None or not caller.get_hookimpls():
            continue
        commands.current_plugin = name
        _call_hook(caller, name, COMMANDS_HOOK, commands=commands)
    return commands.table


def _call_hook(caller: Any, plugin: str, hook: str, **arguments: Any) -> None:
    """Call one plugin's ``hook``; an error of its own (not a NarsError) is a PluginError naming both."""
    try:
        caller(**arguments)
    except NarsError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise PluginError(
            f"plugin {plugin!r} failed in {hook}: {type(exc).__name__}: {exc}",
            f"fix or uninstall it, or {_block_fix(plugin)}",
        ) from exc


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, built on first use from every plugin's hooks.

    Each active plugin's ``nars_register_*`` hooks are called through pluggy, one plugin at a time
    (so every name is attributed to its plugin); an inactive plugin (its ``nars_plugin_status``
    gives a reason) is not asked to register anything.
    """
    global _REGISTRY
    if _REGISTRY is not None and not refresh:
        return _REGISTRY
    pm, infos = _plugin_manager(refresh)
    registry = Registry()
    registry.plugins = infos
    active = []
    for name, info in infos.items():
        if pm.get_plugin(name) is None:  # blocked
            continue
        state = _status_of(pm, name)
        if state is None:
            active.append(name)
        else:
            info.status, info.hint = f"inactive: {state[0]}", state[1]
    for hook in REGISTER_HOOKS:
        for name in active:
            caller = _plugin_hook(pm, hook, name)
            if not caller.get_hookimpls():
                continue
            registry.current_plugin = name
            _call_hook(caller, name, hook, registry=registry)
    registry.current_plugin = "?"
    _REGISTRY = registry
    return registry


def resolve(kind: str, name: str) -> Resolved:
    """The registered ``kind`` called ``name`` as components receive it (its settings declaration and
    factory): how the host resolves a setting that names a plugin (``predictor=gp``) or a space a
    benchmark builds on. A space's factory parses its options as :meth:`Registry.create_space` does."""
    registry = get_registry()
    entry = registry.get(kind, name)
    make = entry.factory
    if kind == "space":

        def make(**options: Any) -> Any:
            return registry.create_space(name, **options)

    return Resolved(entry.settings, make, entry.plugin)
