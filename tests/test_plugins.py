"""The plugin system, tested with real third-party packages discovered through their entry points.

``examples/plugin_pkg`` is a separate distribution (``nars-toyplugin``) with its own metadata and an
entry point in the ``nars_plugin`` group. The session fixture installs it with pip into a
temporary folder (``--target``, no network, no build isolation) and puts that folder on the path:
nothing registers it by hand. Plugins that break the hook contract (a misspelled hook, a wrong
argument name, a status hook that raises or answers nonsense, a clashing name, a register hook that
raises) are one more distribution written by the tests and installed the same way; each test runs
``nars`` in a subprocess that sees it, with the plugins it does not test blocked. Missing optional
libraries (timm, torchvision, NASLib) are made unimportable in the subprocess by a ``None`` entry in
``sys.modules``, which makes ``import timm`` raise ImportError exactly as where it is not installed.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
from conftest import EXAMPLES, QUICK_PREDICTOR, REPO_ROOT, cli_command, install_package, path_with

from nars_plugin import hookspecs
from nars_plugin.comparison import OBJECTIVE_KEY
from nars_plugin.errors import ConfigError, UnknownNameError
from nars_plugin.plugins import BLOCK_ENV, HOOKS, PluginError, Registry, get_registry
from nars_plugin.settings import RunContext
from nars_plugin.testing import BenchmarkConformance, PredictorConformance

PACKAGE = EXAMPLES / "plugin_pkg"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    site = install_package(PACKAGE, tmp_path_factory)
    sys.path.insert(0, str(site))
    get_registry(refresh=True)
    yield site
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.startswith("nars_toyplugin")]:
        del sys.modules[name]
    get_registry(refresh=True)


def run_with_plugin(site, args, **env):
    """``nars ARGS`` in a subprocess that sees the installed test plugin."""
    environ = {**os.environ, "PYTHONPATH": path_with(site), **env}
    proc = subprocess.run([*cli_command(), *map(str, args)], capture_output=True, text=True, env=environ, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_discovered_through_its_entry_point(plugin_site):
    registry = get_registry()
    assert registry.get("space", "toy-grid").plugin == "toyplugin"
    assert registry.get("benchmark", "toy-grid").plugin == "toyplugin"
    info = registry.plugins["toyplugin"]
    assert info.version == "0.3.1", "the version comes from the installed distribution's metadata"
    assert set(info.registered) == {"space:toy-grid", "benchmark:toy-grid", "optimizer:toy-walk", "predictor:toy-ridge"}
    bench = registry.create_benchmark("toy-grid")
    assert len(bench.rows) == 6 * (3 * 4) ** 3


@pytest.mark.slow
def test_cli_lists_and_searches_the_plugin(plugin_site, tmp_path):
    code, out, err = run_with_plugin(plugin_site, ["spaces"])
    assert code == 0 and "toy-grid" in out and "[toyplugin]" in out, err
    code, out, _ = run_with_plugin(plugin_site, ["plugins"])
    assert "toyplugin 0.3.1 (active)" in out and "space:toy-grid" in out
    # a small predictor: the point is the plugin's space and benchmark in a real search, not NARS's quality
    quick = json.dumps(QUICK_PREDICTOR)
    search = ["search", "-b", "toy-grid", "-o", "nars", "-O", f"predictor={quick}", "--budget", "30"]
    code, out, err = run_with_plugin(plugin_site, [*search, "--out", tmp_path / "s", "--no-progress"])
    assert code == 0, err
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["n_evaluations"] == 30 and summary["best"]["candidate"]["arch"]["k0"] in (3, 5, 7)
    code, out, err = run_with_plugin(
        plugin_site,
        ["compare", "-b", "toy-grid", "--optimizers", f"nars(predictor={quick}),rs", "--seeds", "2", "--budget", "20"]
        + ["--out", tmp_path / "c", "--no-progress"],
    )
    assert code == 0, err
    table = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert set(table) - {OBJECTIVE_KEY} == {"nars", "rs"} and table["nars"]["20"]["mean"] > 70


class TestThePluginsPredictor(PredictorConformance):
    """The toy plugin's predictor, found through its entry point, passes the predictor conformance suite."""

    @pytest.fixture
    def space(self, plugin_site):
        return get_registry().create_space("toy-grid")

    @pytest.fixture
    def make_predictor(self, space):
        factory = get_registry().get("predictor", "toy-ridge").factory
        return lambda seed: factory(space, seed=seed, alpha=0.5)


class TestThePluginsBenchmark(BenchmarkConformance):
    """The toy plugin's benchmark (the worked example of docs/plugins/benchmark.md) passes its suite."""

    @pytest.fixture
    def benchmark(self, plugin_site):
        return get_registry().create_benchmark("toy-grid")


def test_plugin_predictor_is_listed_with_its_settings(plugin_site):
    code, out, err = run_with_plugin(plugin_site, ["predictors"])
    assert code == 0 and "toy-ridge" in out and "[toyplugin]" in out and "fbnetv3 " in out, err
    code, out, err = run_with_plugin(plugin_site, ["predictors", "toy-ridge"])
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.startswith("  ") and line.split()}
    assert code == 0 and "float >= 0" in rows["alpha"] and "int >= 1" in rows["members"], out + err
    factory = get_registry().get("predictor", "toy-ridge").factory
    with pytest.raises(ConfigError, match="unknown setting 'alfa'") as info:
        factory(get_registry().create_space("toy-grid"), alfa=1)
    assert "did you mean 'alpha'" in info.value.hint


def test_nars_searches_with_the_plugins_predictor(plugin_site, tmp_path):
    """A predictor from another package drops into NARS and predictor-eval by name, settings checked."""
    search = ["search", "-b", "toy-grid", "-o", "nars", "-O", "predictor=toy-ridge", "-O", "predictor.alpha=2"]
    search += ["-O", "init_batch=8", "--budget", "16", "--out", tmp_path / "s", "--no-progress"]
    code, out, err = run_with_plugin(plugin_site, search)
    assert code == 0, err
    header = json.loads((tmp_path / "s" / "journal.jsonl").read_text().splitlines()[0])
    recorded = header["config"]["optimizer"]["settings"]["predictor"]
    assert recorded["name"] == "toy-ridge" and recorded["alpha"] == 2.0
    assert json.loads((tmp_path / "s" / "summary.json").read_text())["n_evaluations"] == 16
    code, _, err = run_with_plugin(plugin_site, [*search[:7], "-O", "predictor.alfa=2", "--out", tmp_path / "t"])
    assert code == 2 and "unknown setting 'predictor.alfa'" in err and "predictor.alpha" in err, err
    evaluate = ["predictor-eval", "-b", "toy-grid", "--predictors", "toy-ridge,ridge2=toy-ridge(alpha=5)"]
    evaluate += ["--sizes", "8,32", "--seeds", "2", "--test-size", "100", "--out", tmp_path / "p", "--no-progress"]
    code, out, err = run_with_plugin(plugin_site, evaluate)
    assert code == 0, err
    report = json.loads((tmp_path / "p" / "predictor.json").read_text())
    assert (
        set(report["results"]) == {"toy-ridge", "ridge2"} and report["predictors"]["ridge2"]["settings"]["alpha"] == 5
    )


def test_plugin_settings_use_the_one_declaration(plugin_site, tmp_path):
    """The toy plugin's optimizer and benchmark declare settings: listed, parsed, checked, journaled."""
    code, out, err = run_with_plugin(plugin_site, ["optimizers", "toy-walk"])
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.startswith("  ") and line.split()}
    assert "int >= 1" in rows["steps"] and "parameters changed per proposal" in rows["steps"]
    assert "flag" in rows["greedy"] and " true " in rows["greedy"]
    code, out, err = run_with_plugin(plugin_site, ["benchmarks", "toy-grid"])
    assert code == 0 and "lr_grid" in out and "int >= 2" in out, err
    search = ["search", "-b", "toy-grid", "-o", "toy-walk", "--budget", "8", "--no-progress"]
    code, out, err = run_with_plugin(
        plugin_site, [*search, "-O", "steps=2", "-O", "greedy=no", "--out", tmp_path / "a"]
    )
    assert code == 0, err
    identity = json.loads((tmp_path / "a" / "summary.json").read_text())["config"]["optimizer"]
    assert identity == {"name": "toy-walk", "settings": {"steps": 2, "greedy": False}}
    code, _, err = run_with_plugin(plugin_site, [*search, "-O", "stepz=2", "--out", tmp_path / "b"])
    assert code == 2 and "unknown setting 'stepz' for optimizer 'toy-walk'" in err and "did you mean 'steps'" in err
    code, _, err = run_with_plugin(plugin_site, [*search, "-B", "lr_grid=1", "--out", tmp_path / "c"])
    assert code == 2 and "benchmark 'toy-grid' setting lr_grid must be >= 2, got 1" in err, err
    registry = get_registry()
    space = registry.create_space("toy-grid")
    with pytest.raises(ConfigError, match="toy-walk' setting greedy must be true or false, got 'maybe'"):
        registry.create_optimizer("toy-walk", space, RunContext(objective="acc"), {"greedy": "maybe"})
    assert registry.create_optimizer("toy-walk", space, RunContext(objective="acc"), {"steps": "3"}).config.steps == 3


def test_blocking_a_plugin(plugin_site, tmp_path):
    code, out, _ = run_with_plugin(plugin_site, ["plugins"], **{BLOCK_ENV: "toyplugin"})
    assert code == 0 and f"toyplugin 0.3.1 (blocked by {BLOCK_ENV})" in out
    search = ["search", "-b", "toy-grid", "--budget", "5", "--out", tmp_path]
    code, _, err = run_with_plugin(plugin_site, search, **{BLOCK_ENV: "toyplugin"})
    assert code == 2 and "unknown benchmark 'toy-grid'" in err and "Traceback" not in err


def test_a_plugin_that_fails_to_load_is_named(plugin_site):
    code, _, err = run_with_plugin(plugin_site, ["spaces"], NARS_TOYPLUGIN_BREAK="1")
    assert code == 2 and "Traceback" not in err
    assert "plugin 'toyplugin'" in err and f"{BLOCK_ENV}=toyplugin" in err
    code, out, _ = run_with_plugin(plugin_site, ["spaces"], NARS_TOYPLUGIN_BREAK="1", **{BLOCK_ENV: "toyplugin"})
    assert code == 0 and "nb201" in out


def test_two_plugins_registering_one_name():
    registry = Registry()
    registry.current_plugin = "first"
    registry.add_space("grid", object, "one")
    registry.current_plugin = "second"
    with pytest.raises(PluginError) as info:
        registry.add_space("grid", object, "two")
    assert "'first'" in str(info.value) and "'second'" in str(info.value)
    assert f"{BLOCK_ENV}=second" in info.value.hint


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        get_registry().get("space", "nb202")
    assert "nb201" in info.value.hint


def test_every_hook_is_documented():
    specs = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("nars_")]
    assert len(specs) == 7  # five nars_register_* hooks, nars_plugin_status and nars_add_commands
    assert set(specs) == set(HOOKS), "the plugin manager calls every hook of the contract"
    page = (REPO_ROOT / "docs" / "plugins" / "index.md").read_text()  # the plugin author's guide
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "registry.add_" in doc or "commands.add(" in doc, f"hook {name} has no usage docstring"
        assert name in page, f"hook {name} is not in the plugin author's guide (docs/plugins/index.md)"
    for argument in ("runner(benchmark, task)", "unavailable()"):
        assert argument in page and argument in (hookspecs.nars_register_optimizers.__doc__ or "")


# --------------------------------------------------------------------------- #
# Plugins that break the contract: one real distribution, one entry point each
# --------------------------------------------------------------------------- #

CONTRACT_PLUGINS = {
    "misspelled": """
@hookimpl
def nars_register_space(registry):  # one letter short of nars_register_spaces
    registry.add_space("never-registered", object, "misspelled hook")
""",
    "badargs": """
@hookimpl
def nars_register_benchmarks(registy):  # the hook passes `registry`
    registy.add_benchmark("never-registered", object, "wrong argument name")
""",
    "badstatus": """
@hookimpl
def nars_plugin_status():
    raise RuntimeError("cannot reach the licence server")


@hookimpl
def nars_register_spaces(registry):
    registry.add_space("badstatus-space", object, "must not be registered: the plugin is inactive")
""",
    "oddstatus": """
@hookimpl
def nars_plugin_status():
    return "no GPU here"  # a bare string, not a (reason, fix) pair
""",
    "clash": """
@hookimpl
def nars_register_spaces(registry):
    registry.add_space("nb201", object, "a second nb201")
""",
    "failing": """
@hookimpl
def nars_register_optimizers(registry):
    raise ValueError("settings table is empty")
""",
}


@pytest.fixture(scope="module")
def contract_site(tmp_path_factory):
    """A folder where ``nars-contract-plugins`` (one module and entry point per broken plugin) is installed."""
    source = tmp_path_factory.mktemp("contract-src")
    package = source / "nars_contract_plugins"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Plugins that break the nars_plugin hook contract, one way each."""\n')
    for name, body in CONTRACT_PLUGINS.items():
        (package / f"{name}.py").write_text("from nars_plugin import hookimpl\n\n" + body.lstrip("\n"))
    entry_points = "\n".join(f'{name} = "nars_contract_plugins.{name}"' for name in CONTRACT_PLUGINS)
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "nars-contract-plugins"\nversion = "1.0"\n\n'
        f"[project.entry-points.nars_plugin]\n{entry_points}\n\n"
        '[tool.setuptools]\npackages = ["nars_contract_plugins"]\n'
    )
    return install_package(source, tmp_path_factory)


def nars_subprocess(args, site=None, unimportable=(), only=None):
    """``nars ARGS`` in a subprocess; ``site`` on its path, ``unimportable`` modules failing to import.

    ``only``: the contract plugins left unblocked (the others go in ``NARS_BLOCK_PLUGINS``).
    """
    prelude = "".join(f"sys.modules[{name!r}] = None; " for name in unimportable)
    code = f"import sys; {prelude}from nars_plugin.cli import main; sys.exit(main(sys.argv[1:]))"
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    if only is not None:
        env[BLOCK_ENV] = ",".join(name for name in CONTRACT_PLUGINS if name not in only)
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )
    return proc.returncode, proc.stdout, proc.stderr


def plugin_block(out, name):
    """The lines ``nars plugins`` prints for plugin ``name``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name} "))
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if not line.startswith("  ")), len(rest))
    return [lines[start], *rest[:end]]


def test_a_misspelled_hook_names_plugin_hook_and_fix(contract_site):
    code, _, err = nars_subprocess(["plugins"], contract_site, only={"misspelled"})
    assert code == 2 and "Traceback" not in err
    assert (
        "error: plugin 'misspelled' implements an unknown hook 'nars_register_space' "
        "(did you mean 'nars_register_spaces'?)" in err
    )
    assert "hint: rename it to 'nars_register_spaces'" in err and f"{BLOCK_ENV}=misspelled" in err


def test_a_wrong_argument_name_names_plugin_hook_and_fix(contract_site):
    code, _, err = nars_subprocess(["spaces"], contract_site, only={"badargs"})
    assert code == 2 and "Traceback" not in err
    assert (
        "error: plugin 'badargs': its hook nars_register_benchmarks asks for argument(s) 'registy', "
        "which the hook does not pass (did you mean 'registry'?)" in err
    )
    assert "hint: fix the plugin or block it with" in err and f"{BLOCK_ENV}=badargs" in err


def test_broken_status_hooks_make_only_their_plugin_inactive(contract_site):
    code, out, err = nars_subprocess(["plugins"], contract_site, only={"badstatus", "oddstatus"})
    assert code == 0, err
    raised = plugin_block(out, "badstatus")
    assert raised[0] == (
        "badstatus 1.0 (inactive: its nars_plugin_status hook raised RuntimeError: cannot reach the licence server)"
    )
    assert raised[1] == f"  fix: fix or reinstall plugin 'badstatus', or block it with {BLOCK_ENV}=badstatus"
    assert "  hooks: nars_plugin_status, nars_register_spaces" in raised
    assert not any("registered:" in line for line in raised), "an inactive plugin's register hooks are not called"
    odd = plugin_block(out, "oddstatus")
    assert odd[0] == (
        "oddstatus 1.0 (inactive: its nars_plugin_status hook returned 'no GPU here', "
        "not None or a (reason, fix) pair of strings)"
    )
    builtins = plugin_block(out, "builtins")  # everything else keeps working
    assert builtins[0].endswith("(active)") and "space:nb201" in builtins[-1]
    # the plugins left out are listed as blocked, with the fix (and were never imported: they would fail)
    for name in ("misspelled", "badargs", "clash", "failing"):
        blocked = plugin_block(out, name)
        assert blocked == [f"{name} 1.0 (blocked by {BLOCK_ENV})", f"  fix: remove {name!r} from {BLOCK_ENV}"]


def test_a_name_registered_twice_and_a_raising_register_hook(contract_site):
    code, _, err = nars_subprocess(["spaces"], contract_site, only={"clash"})
    assert code == 2 and "Traceback" not in err
    assert "error: space 'nb201' is registered twice: by plugin 'builtins' and by plugin 'clash'" in err
    assert f"{BLOCK_ENV}=clash" in err
    code, _, err = nars_subprocess(["optimizers"], contract_site, only={"failing"})
    assert code == 2 and "Traceback" not in err
    assert "error: plugin 'failing' failed in nars_register_optimizers: ValueError: settings table is empty" in err
    assert f"hint: fix or uninstall it, or block it with {BLOCK_ENV}=failing" in err


# --------------------------------------------------------------------------- #
# Adapters whose optional libraries are missing or broken
# --------------------------------------------------------------------------- #


def test_imagenet_without_timm_or_torchvision_is_inactive(tmp_path):
    code, out, err = nars_subprocess(["plugins"], unimportable=["torchvision"])
    assert code == 0, err
    block = plugin_block(out, "imagenet")
    assert block[:2] == [
        "imagenet 0.1.0 (inactive: torchvision is not installed)",
        "  fix: pip install 'nars-plugin[imagenet]'",
    ]
    assert not any("registered:" in line for line in block)
    search = ["search", "--evaluator", "train", "--space", "fbnetv3-tiny", "--budget", "1", "--out", tmp_path]
    code, _, err = nars_subprocess(search, unimportable=["timm", "torchvision"])
    assert code == 2 and "Traceback" not in err
    assert "error: unknown evaluator 'train'" in err
    assert "imagenet (inactive: timm and torchvision are not installed)" in err


def test_naslib_inactive_when_missing_or_unimportable(tmp_path):
    code, out, err = nars_subprocess(["plugins"], unimportable=["naslib"])
    assert code == 0, err
    assert plugin_block(out, "naslib")[0].startswith("naslib 0.1.0 (inactive: NASLib is not installed")
    # an installed NASLib whose own import fails (here: a library it imports is absent)
    broken = tmp_path / "site" / "naslib"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("import nars_test_absent_dependency  # stands for a library NASLib needs\n")
    code, out, err = nars_subprocess(["plugins"], tmp_path / "site")
    assert code == 0, err
    block = plugin_block(out, "naslib")
    # where NASLib's own libraries are absent too, the status names them before trying the import
    assert block[0].startswith("naslib 0.1.0 (inactive: NASLib is installed but"), block
    assert "cannot be imported" in block[0], block
    assert block[1].startswith("  fix: ") and "nars naslib install" in block[1], block
    assert not any("registered:" in line for line in block)


def test_registering_every_installed_plugin_imports_neither_torch_nor_scikit_learn():
    """Names and settings are registered cheaply: every `nars` command pays for the registry."""
    probe = (
        "import sys\nfrom nars_plugin.plugins import get_registry\nregistry = get_registry()\n"
        "from importlib.util import find_spec\n"
        "assert 'proxylessnas' in registry.names('optimizer') or find_spec('timm') is None\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'timm', 'lightgbm') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
