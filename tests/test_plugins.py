"""The plugin system, tested with a real third-party package discovered through its entry point.

``examples/plugin_pkg`` is a separate distribution (``nars-toyplugin``) with its own metadata and an
entry point in the ``nars_plugin`` group. The session fixture installs it with pip into a
temporary folder (``--target``, no network, no build isolation) and puts that folder on the path:
nothing registers it by hand.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
from conftest import EXAMPLES, REPO_ROOT, cli_command, install_package, path_with

from nars_plugin import hookspecs
from nars_plugin.errors import UnknownNameError
from nars_plugin.plugins import BLOCK_ENV, PluginError, Registry, get_registry

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
    assert set(info.registered) == {"space:toy-grid", "benchmark:toy-grid"}
    bench = registry.create_benchmark("toy-grid")
    assert len(bench.rows) == 6 * (3 * 4) ** 3


def test_cli_lists_and_searches_the_plugin(plugin_site, tmp_path):
    code, out, err = run_with_plugin(plugin_site, ["spaces"])
    assert code == 0 and "toy-grid" in out and "[toyplugin]" in out, err
    code, out, _ = run_with_plugin(plugin_site, ["plugins"])
    assert "toyplugin 0.3.1 (active)" in out and "space:toy-grid" in out
    search = ["search", "-b", "toy-grid", "-o", "nars", "--budget", "30", "--out", tmp_path / "s", "--no-progress"]
    code, out, err = run_with_plugin(plugin_site, search)
    assert code == 0, err
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["n_evaluations"] == 30 and summary["best"]["candidate"]["arch"]["k0"] in (3, 5, 7)
    code, out, err = run_with_plugin(
        plugin_site,
        ["compare", "-b", "toy-grid", "--optimizers", "nars,rs", "--seeds", "2", "--budget", "20"]
        + ["--out", tmp_path / "c", "--no-progress"],
    )
    assert code == 0, err
    table = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert set(table) == {"nars", "rs"} and table["nars"]["20"]["mean"] > 70


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
    assert len(specs) == 6  # five nars_register_* hooks and nars_plugin_status
    readme = (REPO_ROOT / "README.md").read_text()
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "registry.add_" in doc, f"hook {name} has no usage docstring"
        assert name in readme, f"hook {name} is not in the README's plugin section"
