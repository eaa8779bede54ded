"""The import graph of ``nars_plugin``: dependencies run downward, the registry stays at the edge.

The graph is read from the source with :mod:`ast` (nothing is imported): every ``import`` of one of
our own modules, at module level or inside a function, relative imports resolved; imports under
``if TYPE_CHECKING:`` never run and are left out. Three rules:

1. **No cycle**, counting in-function imports too (a circle that only works because one side
   imports late is still a circle). A failure prints the cycle.
2. **The registry at the edge.** Only the plugin host (``plugins.py``) and the modules above it may
   import it: :data:`ABOVE_THE_HOST` (the public API, assembly, comparison, the CLI, the conformance
   suites) and the modules that are plugins themselves (:data:`PLUGIN_MODULES`: they receive the
   registry in their hooks). Components (spaces, benchmarks, predictors, optimizers, settings, the
   study) are handed what a setting names; they never look a name up.
3. **In-function imports of our own modules** remain only where they defer a heavy optional
   library or load plugins. One whose target imports (at module level, directly or through our
   own modules) a library of :data:`HEAVY` is deferring it and needs no entry; every other one is
   listed, with its reason, in :data:`ALLOWED_IN_FUNCTION` (or its importer in
   :data:`LAZY_IMPORTERS`). A new one fails the test until it is justified there; an entry that no
   longer matches an import fails too (the list stays true).

Run it on another checkout with ``python tests/test_import_graph.py ROOT`` (ROOT holds
``nars_plugin/``): it prints the counts and every violation, and exits 1 on one.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "nars_plugin"
HOST = f"{PACKAGE}.plugins"

#: Modules above the host: they assemble searches from names, so they may ask the registry.
ABOVE_THE_HOST = {
    PACKAGE,  # the package's __init__: get_registry() is public API
    f"{PACKAGE}.api",
    f"{PACKAGE}.assembly",
    f"{PACKAGE}.cli",
    f"{PACKAGE}.testing",  # the conformance suites may iterate over the registry's names
}
#: Every module of these packages is above the host too.
ABOVE_THE_HOST_PACKAGES = (f"{PACKAGE}.comparison",)
#: Plugin modules: registered by the host, handed the registry by their hooks.
PLUGIN_MODULES = {f"{PACKAGE}._builtins", f"{PACKAGE}.peers"}

#: Third-party libraries heavy enough to import only when used (importing our module that needs
#: them at module level is what an in-function import defers).
HEAVY = {
    "torch",
    "torchvision",
    "scipy",
    "sklearn",
    "lightgbm",
    "optuna",
    "ray",
    "matplotlib",
    "pandas",
    "smac",
    "hebo",
    "ConfigSpace",
    "timm",
    "nats_bench",
    "analog_nasbench",
}

#: Importers whose every in-function import is deliberate, with the reason.
LAZY_IMPORTERS: dict[str, str] = {
    # the CLI parses its arguments before it knows the command: each command imports what it runs,
    # so `nars --help`, `nars --version` and a mistyped flag answer at the interpreter's import floor
    f"{PACKAGE}.cli": "each command imports what it runs",
}

#: In-function imports of our own modules that defer nothing heavy, each with its reason:
#: (importing module, imported module) -> why it is made late.
ALLOWED_IN_FUNCTION: dict[tuple[str, str], str] = {
    # loading plugins: `import nars_plugin` stays cheap (every plugin imports nars_plugin.hookspecs,
    # and the CLI imports the package first); the host and everything it registers load on first use
    (PACKAGE, HOST): "get_registry() and plugin names resolve through the host, loaded on first use",
    # the peer plugins load their optimizer module when their library is there (plugin loading)
    (f"{PACKAGE}.peers.hebo", f"{PACKAGE}.optimizers.hebo"): "plugin loading: only where HEBO's worker is installed",
    (f"{PACKAGE}.peers.smac", f"{PACKAGE}.optimizers.smac3"): "plugin loading: only where SMAC3 is installed",
    (
        f"{PACKAGE}.peers.optuna_tpe",
        f"{PACKAGE}.optimizers.optuna_tpe",
    ): "plugin loading: only where Optuna is installed",
}


@dataclass
class ImportGraph:
    """Our modules and the imports between them."""

    modules: set[str] = field(default_factory=set)
    #: (importer, imported) -> how often, at module level
    top: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (importer, imported) -> how often, inside a function
    late: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: module -> third-party top-level packages it imports at module level
    external: dict[str, set[str]] = field(default_factory=dict)

    def edges(self) -> dict[str, set[str]]:
        """Every edge, module-level and in-function."""
        out: dict[str, set[str]] = {m: set() for m in self.modules}
        for a, b in list(self.top) + list(self.late):
            out[a].add(b)
        return out

    def importers_of(self, target: str) -> set[str]:
        """Modules that import ``target`` (at any level)."""
        return {a for a, b in list(self.top) + list(self.late) if b == target}

    def heavy_at_import(self, module: str) -> set[str]:
        """The heavy libraries that importing ``module`` imports (its module-level closure)."""
        seen, stack, found = set(), [module], set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            found |= self.external.get(current, set()) & HEAVY
            stack += [b for a, b in self.top if a == current]
            stack += _parents(current)  # importing a.b.c runs a/__init__ and a/b/__init__ first
        return found


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def module_name(root: Path, path: Path) -> str:
    """``nars_plugin/spaces/nb201/_net.py`` -> ``nars_plugin.spaces.nb201._net`` (``__init__`` -> the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    """The imports of one module, each with whether it runs inside a function."""

    def __init__(self) -> None:
        self.depth = 0
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):  # never runs: only the else branch counts
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self.depth > 0))


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> list[str]:
    """Dotted names an import statement reaches (our modules and third-party top-level names)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    out = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        out.append(candidate if candidate in modules else base)  # `from pkg import submodule` or a name
    return out


def _own(name: str, modules: set[str]) -> str | None:
    """The module of ours that ``name`` is or lies in (``a.b.Class`` -> ``a.b``), or None."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def build_graph(root: Path) -> ImportGraph:
    """The import graph of the ``nars_plugin`` package under ``root``."""
    files = sorted((root / PACKAGE).rglob("*.py"))
    graph = ImportGraph(modules={module_name(root, f) for f in files})
    for path in files:
        module = module_name(root, path)
        collector = _Collector()
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        graph.external.setdefault(module, set())
        for node, late in collector.found:
            targets = _targets(node, module, path.name == "__init__.py", graph.modules)
            for target in dict.fromkeys(targets):  # `from .a import x, y` is one import of a
                own = _own(target, graph.modules)
                if own is None:
                    if not late:
                        graph.external[module].add(target.partition(".")[0])
                    continue
                if own == module:
                    continue
                (graph.late if late else graph.top)[(module, own)] += 1
    return graph


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as ``[a, b, ..., a]``, or None (depth-first search, in sorted order)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def host_importers(graph: ImportGraph) -> set[str]:
    """Modules that import the plugin host although they are below it."""
    allowed = ABOVE_THE_HOST | PLUGIN_MODULES | {HOST}
    return {m for m in graph.importers_of(HOST) if m not in allowed and not m.startswith(ABOVE_THE_HOST_PACKAGES)}


def unjustified_late_imports(graph: ImportGraph) -> dict[tuple[str, str], int]:
    """In-function imports of our own modules that neither defer a heavy library nor are allowed."""
    return {
        pair: n
        for pair, n in sorted(graph.late.items())
        if pair not in ALLOWED_IN_FUNCTION and pair[0] not in LAZY_IMPORTERS and not graph.heavy_at_import(pair[1])
    }


def problems(root: Path) -> list[str]:
    """Every broken rule, in words (empty: the layout is sound)."""
    graph = build_graph(root)
    out = []
    cycle = find_cycle(graph.edges())
    if cycle:
        out.append("import cycle: " + " -> ".join(cycle))
    for module in sorted(host_importers(graph)):
        out.append(f"{module} imports the plugin host {HOST} (only the modules above it may)")
    for (a, b), n in unjustified_late_imports(graph).items():
        out.append(f"{a} imports {b} inside a function ({n}x) but defers no heavy library: import it at the top")
    stale = [pair for pair in ALLOWED_IN_FUNCTION if pair not in graph.late]
    out += [f"ALLOWED_IN_FUNCTION lists {a} -> {b}, which no function imports any more" for a, b in stale]
    return out


# -- the tests ----------------------------------------------------------------- #

REPO = Path(__file__).resolve().parents[1]


def test_there_is_no_import_cycle():
    cycle = find_cycle(build_graph(REPO).edges())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_the_modules_above_the_plugin_host_import_it():
    graph = build_graph(REPO)
    assert graph.importers_of(HOST), "the graph found no importer of the host at all: the test is blind"
    assert host_importers(graph) == set()


def test_in_function_imports_of_our_modules_defer_a_heavy_library_or_load_plugins():
    graph = build_graph(REPO)
    assert unjustified_late_imports(graph) == {}
    assert [pair for pair in ALLOWED_IN_FUNCTION if pair not in graph.late] == [], "stale allow-list entries"


def test_the_graph_resolves_relative_imports_and_sees_function_bodies(tmp_path):
    """A small package with a circle closed inside a function, a TYPE_CHECKING import and a late host import."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "plugins.py").write_text("from .sub import low\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "low.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import api\n"
        "def f():\n    from ..plugins import Registry\n    import scipy\n"
    )
    (pkg / "api.py").write_text("from . import plugins\nfrom .sub.low import f\n")
    graph = build_graph(tmp_path)
    assert graph.top == Counter({(f"{PACKAGE}.plugins", f"{PACKAGE}.sub.low"): 1, (f"{PACKAGE}.api", HOST): 1,
                                 (f"{PACKAGE}.api", f"{PACKAGE}.sub.low"): 1})  # fmt: skip
    assert graph.late == Counter({(f"{PACKAGE}.sub.low", HOST): 1})
    assert find_cycle(graph.edges()) == [HOST, f"{PACKAGE}.sub.low", HOST]
    assert host_importers(graph) == {f"{PACKAGE}.sub.low"}
    assert unjustified_late_imports(graph) == {(f"{PACKAGE}.sub.low", HOST): 1}


def test_the_rules_fail_on_the_layout_before_issue_26(tmp_path):
    """Main at 93c585a (a knot of 22 modules, the registry looked up from below, 87 late imports),
    checked out from this repository's history when it is there."""
    import subprocess

    git = ["git", "-C", str(REPO)]
    if subprocess.run([*git, "cat-file", "-e", "93c585a^{commit}"], capture_output=True).returncode != 0:
        import pytest

        pytest.skip("commit 93c585a is not in this checkout's history (a shallow clone)")
    archive = subprocess.run([*git, "archive", "93c585a", PACKAGE], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive, check=True)
    found = problems(tmp_path)
    assert any(p.startswith("import cycle:") for p in found)
    assert any(p.startswith(f"{PACKAGE}.settings imports the plugin host") for p in found)
    assert sum(build_graph(tmp_path).late.values()) == 87


def main(argv: list[str]) -> int:
    """``python tests/test_import_graph.py [ROOT]``: the counts and every broken rule of ROOT's package."""
    root = Path(argv[0]) if argv else REPO
    graph = build_graph(root)
    late = Counter(a for (a, _), n in graph.late.items() for _ in range(n))
    print(f"{root}: {len(graph.modules)} modules, {sum(graph.top.values())} module-level and "
          f"{sum(graph.late.values())} in-function imports of our own modules")  # fmt: skip
    print("in-function, by module: " + ", ".join(f"{m} {n}" for m, n in late.most_common()))
    found = problems(root)
    print("\n".join(found) or "no problem")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
