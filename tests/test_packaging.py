"""Packaging: one source of metadata, no top-level 'adapters', typed, extras, the README's commands."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

from conftest import REPO_ROOT


def test_no_top_level_adapters_package_is_installed(tmp_path):
    """Outside the source tree, 'adapters' (PyPI's AdapterHub name) is not ours; the bridges import by their names."""
    code = (
        "import importlib.util as u; "
        "print(u.find_spec('adapters') is None, u.find_spec('nars_naslib') is not None, "
        "u.find_spec('nars_imagenet') is not None)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["True", "True", "True"], proc.stderr


def test_metadata_comes_from_pyproject_and_setup_py_is_a_shim():
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "[project]" in text and 'name = "nars-plugin"' in text
    setup = (REPO_ROOT / "setup.py").read_text(encoding="utf-8")
    assert re.search(r"^setup\(\)$", setup, re.M), "setup.py should only call setup() with no arguments"
    dist = importlib.metadata.distribution("nars-plugin")
    entry_points = {ep.name: ep.value for ep in dist.entry_points if ep.group == "nars_plugin"}
    assert entry_points == {
        "naslib": "nars_naslib.plugin",
        "imagenet": "nars_imagenet.plugin",
        "smac": "nars_plugin.peers:smac",
        "hebo": "nars_plugin.peers:hebo",
    }


def test_nats_bench_is_only_in_extras():
    requires = importlib.metadata.requires("nars-plugin") or []
    nats = [r for r in requires if r.lower().startswith("nats")]
    assert nats and all("extra ==" in r for r in nats), nats
    assert any('extra == "nats"' in r for r in nats)


def test_typed_package_ships_py_typed():
    import nars_plugin

    assert (REPO_ROOT / "nars_plugin" / "py.typed").is_file()
    assert "py.typed" in (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert nars_plugin.__file__ is not None


def test_the_readme_commands_install_one_torch_version():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"<!-- ci:(?:main|tests) -->\n```bash\n(.*?)\n", text)
    assert len(commands) == 2
    versions = {v for c in commands for v in re.findall(r"torch==([\d.]+)", c)}
    assert len(versions) == 1, f"the README's two commands install torch {sorted(versions)}"
