"""Plugin commands (hook ``nars_add_commands``) and the host's default plugins (issue 26).

The commands of the adapters (``naslib``, ``train``) and of the ``hebo`` peer come through the same
hook as a third party's: a real distribution written here (one module and entry point per plugin) is
installed with pip and ``nars`` runs in a subprocess that sees it, with the plugins a test does not
use blocked.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings

import pytest
from conftest import REPO_ROOT, install_package

from nars_plugin import cli
from nars_plugin.plugins import BLOCK_ENV, DEFAULT_PLUGINS, PluginError, get_registry, plugin_commands

COMMAND_PLUGINS = {
    "greeter": """
from nars_plugin.errors import ConfigError


def arguments(parser):
    parser.add_argument("--name", required=True)


def run(args):
    if args.name == "nobody":
        raise ConfigError("nobody to greet", "pass --name SOMEONE")
    print(f"hello {args.name}")
    return 0


@hookimpl
def nars_add_commands(commands):
    commands.add("greet", run, "say hello", arguments)
""",
    "idle": """
@hookimpl
def nars_plugin_status():
    return "its library is missing", "pip install idle-lib"


@hookimpl
def nars_add_commands(commands):
    commands.add("idle-install", lambda args: print("installed") or 0, "install the library")
""",
    "squatter": """
@hookimpl
def nars_add_commands(commands):
    commands.add("search", lambda args: 0, "a second search")
""",
    "twin": """
@hookimpl
def nars_add_commands(commands):
    commands.add("greet", lambda args: 0, "a second greet")
""",
    "broken": """
@hookimpl
def nars_add_commands(commands):
    raise RuntimeError("table not found")
""",
}


@pytest.fixture(scope="module")
def command_site(tmp_path_factory):
    """A folder where ``nars-command-plugins`` (one module and entry point per plugin) is installed."""
    source = tmp_path_factory.mktemp("command-src")
    package = source / "nars_command_plugins"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Plugins that add nars commands."""\n')
    for name, body in COMMAND_PLUGINS.items():
        (package / f"{name}.py").write_text("from nars_plugin import hookimpl\n" + body)
    entry_points = "\n".join(f'{name} = "nars_command_plugins.{name}"' for name in COMMAND_PLUGINS)
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "nars-command-plugins"\nversion = "1.0"\n\n'
        f"[project.entry-points.nars_plugin]\n{entry_points}\n\n"
        '[tool.setuptools]\npackages = ["nars_command_plugins"]\n'
    )
    return install_package(source, tmp_path_factory)


def nars(args, site, only):
    """``nars ARGS`` in a subprocess that sees ``site``, with every command plugin but ``only`` blocked."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    env[BLOCK_ENV] = ",".join(name for name in COMMAND_PLUGINS if name not in only)
    proc = subprocess.run(
        [sys.executable, "-m", "nars_plugin.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_a_plugin_command_is_listed_run_and_its_errors_are_clear(command_site):
    code, out, err = nars(["--help"], command_site, {"greeter"})
    assert code == 0, err
    assert "greet" in out and "say hello [plugin greeter]" in " ".join(out.split())
    code, out, err = nars(["greet", "--name", "ada"], command_site, {"greeter"})
    assert (code, out.strip()) == (0, "hello ada"), err
    code, out, err = nars(["greet", "--name", "nobody"], command_site, {"greeter"})
    assert code == 2 and "Traceback" not in err
    assert "error: nobody to greet" in err and "hint: pass --name SOMEONE" in err
    code, _, err = nars(["plugins"], command_site, {"greeter"})
    assert code == 0 and "commands: greet" in _, err


def test_an_inactive_plugin_still_adds_its_command(command_site):
    code, out, err = nars(["plugins"], command_site, {"idle"})
    assert "idle 1.0 (inactive: its library is missing)" in out and "commands: idle-install" in out, err
    code, out, err = nars(["idle-install"], command_site, {"idle"})
    assert (code, out.strip()) == (0, "installed"), err


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        ("squatter", "plugin 'squatter' adds the command 'search', which is one of nars's own"),
        ("twin", "command 'greet' is added twice: by plugin 'greeter' and by plugin 'twin'"),
        ("broken", "plugin 'broken' failed in nars_add_commands: RuntimeError: table not found"),
    ],
)
def test_a_bad_command_plugin_is_a_clear_error(command_site, plugin, message):
    for args in (["--help"], ["greet", "--name", "ada"], ["plugins"]):
        code, _, err = nars(args, command_site, {"greeter", plugin})
        assert code == 2 and "Traceback" not in err, err
        assert f"error: {message}" in err and f"{BLOCK_ENV}={plugin}" in err
    code, out, err = nars(["spaces"], command_site, {"greeter", plugin})
    assert code == 0 and "nb201" in out, "the core's own commands do not load the plugins' commands"


def test_the_adapters_and_the_hebo_peer_add_their_commands():
    commands = plugin_commands(reserved=cli._CORE_COMMANDS)
    assert {name: c.plugin for name, c in commands.items()} == {
        "hebo": "hebo",
        "train": "imagenet",
        "naslib": "naslib",
    }
    assert not set(commands) & set(cli._COMMANDS), "the core's table holds no plugin's command"


def test_the_core_imports_no_adapter():
    """No module of nars_plugin imports nars_naslib or nars_imagenet, at module level or in a function."""
    offenders = []
    for path in (REPO_ROOT / "nars_plugin").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("nars_naslib", "nars_imagenet")]
    assert not offenders


def test_naslib_command_errors_come_from_the_adapter(cli):
    code, _, err = cli(["naslib"])
    assert code == 2 and "error: nars naslib needs --config FILE.yaml" in err
    code, _, err = cli(["naslib", "install"])
    assert code == 2 and "error: nars naslib install needs --source" in err


def test_the_peers_are_default_plugins_listed_with_their_reason():
    registry = get_registry()
    assert list(registry.plugins)[: len(DEFAULT_PLUGINS)] == list(DEFAULT_PLUGINS)
    for name in ("optuna-tpe", "smac", "hebo"):
        info = registry.plugins[name]
        assert info.status == "active" or info.status.startswith("inactive: ") and info.hint, info
        if info.status == "active":
            assert registry.get("optimizer", name).plugin == name


def test_a_peer_without_its_library_is_inactive_with_the_reason():
    # a None entry in sys.modules: `import optuna` fails and find_spec finds nothing, as where it is not installed
    script = "import sys; sys.modules['optuna'] = None; from nars_plugin.cli import main; sys.exit(main(sys.argv[1:]))"
    for args, expected in (
        (["plugins"], "optuna-tpe 0.1.0 (inactive: Optuna (the optuna package) is not installed)"),
        (["optimizers"], None),
    ):
        proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        if expected:
            assert expected in proc.stdout and "fix: pip install 'nars-plugin[optuna]'" in proc.stdout
        else:
            assert "optuna-tpe" not in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-c", script, "search", "-o", "optuna-tpe", "--budget", "2", "--out", os.devnull],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "comes from plugin 'optuna-tpe', which is inactive" in proc.stderr


def test_the_old_peer_entry_points_still_load_the_plugins():
    """An installation whose metadata still names ``nars_plugin.peers:smac`` gets the plugin module."""
    import importlib

    import nars_plugin.peers as peers

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert peers.smac is importlib.import_module("nars_plugin.peers.smac")
        assert peers.hebo.nars_register_optimizers
    with pytest.raises(AttributeError):
        getattr(peers, "SMACPlugin")  # noqa: B009 - the attribute is looked up to fail


def test_plugin_error_when_two_plugins_add_one_command_in_process():
    from nars_plugin.plugins import Commands

    table = Commands(reserved=["search"])
    table.current_plugin = "a"
    table.add("x", lambda args: 0, "x")
    table.current_plugin = "b"
    with pytest.raises(PluginError, match="added twice"):
        table.add("x", lambda args: 0, "x")


@pytest.mark.parametrize(("old", "command"), [("cmd_train", "train"), ("cmd_naslib", "naslib"), ("cmd_hebo", "hebo")])
def test_the_old_command_functions_still_work_with_a_warning(old, command):
    with pytest.warns(DeprecationWarning, match=f"nars_plugin.cli.{old} is now the command '{command}'"):
        run = getattr(cli, old)
    assert run is plugin_commands(reserved=cli._CORE_COMMANDS)[command].run
    with pytest.raises(AttributeError):
        cli.cmd_nothing  # noqa: B018 - the lookup is what fails
