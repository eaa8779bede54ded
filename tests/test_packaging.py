"""Packaging: one source of metadata, no top-level 'adapters', typed, extras, the README's commands;
every package folder and data file in the distribution (what setuptools itself reads from
pyproject.toml; .ci/wheel_check.sh builds, installs and imports the wheel for real)."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
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
    # the adapters are entry points; the peers (optuna-tpe, smac, hebo) are the host's default plugins
    section = text.split("[project.entry-points.nars_plugin]\n", 1)[1].split("\n\n", 1)[0]
    declared = dict(re.findall(r'^(\w+) = "([^"]+)"$', section, re.M))
    assert declared == {"naslib": "nars_naslib.plugin", "imagenet": "nars_imagenet.plugin"}
    dist = importlib.metadata.distribution("nars-plugin")
    origin = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    if origin == REPO_ROOT.resolve().as_uri():  # installed from this checkout: its metadata is the pyproject's
        assert {ep.name: ep.value for ep in dist.entry_points if ep.group == "nars_plugin"} == declared


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


#: Folders whose packages the distribution ships, and the prefix of their import names.
SOURCES = {REPO_ROOT / "nars_plugin": "nars_plugin", REPO_ROOT / "adapters": ""}


def _folders_with_init() -> dict[str, Path]:
    """Import name -> folder of every package in the checkout's shipped folders."""
    found = {}
    for source, prefix in SOURCES.items():
        for init in source.rglob("__init__.py"):  # nars_plugin/ is a package itself; adapters/ holds packages
            folder = init.parent
            parts = folder.relative_to(source).parts
            name = ".".join(([prefix] if prefix else []) + list(parts))
            found[name] = folder
    return found


def _configured() -> tuple[dict[str, Path], dict[str, list[str]]]:
    """Import name -> source folder of every package setuptools would ship, and the package data."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist = apply_configuration(Distribution(), REPO_ROOT / "pyproject.toml")
    package_dir = dist.package_dir or {}
    shipped = {}
    for name in dist.packages:
        # setuptools' rule: the longest configured prefix maps the package to a folder
        prefix = max((p for p in package_dir if name == p or name.startswith(p + ".")), key=len, default="")
        rest = name[len(prefix) :].lstrip(".").split(".") if name != prefix else []
        shipped[name] = REPO_ROOT.joinpath(package_dir.get(prefix, ""), *[r for r in rest if r])
    return shipped, dict(dist.package_data or {})


def test_every_package_folder_is_shipped_from_its_folder() -> None:
    shipped, _ = _configured()
    expected = _folders_with_init()
    assert set(expected) == set(shipped), (
        f"missing from the distribution: {sorted(set(expected) - set(shipped))}; "
        f"configured but no such folder: {sorted(set(shipped) - set(expected))}"
    )
    for name, folder in expected.items():
        assert shipped[name].resolve() == folder.resolve(), f"{name} would be built from {shipped[name]}, not {folder}"


@pytest.mark.parametrize("source", sorted(_folders_with_init().items()), ids=lambda item: item[0])
def test_every_data_file_of_a_package_is_shipped(source: tuple[str, Path]) -> None:
    """A file other than Python source inside a package folder reaches the wheel only through package data."""
    name, folder = source
    _, package_data = _configured()
    patterns = package_data.get(name, []) + package_data.get("*", []) + package_data.get("", [])
    data = [
        f.name
        for f in folder.iterdir()
        if f.is_file() and f.suffix not in (".py", ".pyc") and not f.name.startswith(".")
    ]
    missing = [f for f in data if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not missing, f"{name}: {missing} would be left out of the wheel (add them to [tool.setuptools.package-data])"


def test_the_default_search_runs_on_the_core_install_without_scikit_learn(tmp_path):
    """LightGBM is a core dependency (NARS's companion) but scikit-learn is an extra: LightGBM's
    scikit-learn wrapper refuses to run without it, so the companion must use LightGBM's own API.
    The child process cannot import sklearn at all, as after a plain ``pip install nars-plugin``."""
    script = """
import sys, importlib.abc
class NoSklearn(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoSklearn())
import lightgbm.compat
assert not lightgbm.compat.SKLEARN_INSTALLED
from nars_plugin import create_study
study = create_study("nb201-analog", "nars", budget=24, seed=0)
study.optimize()
members = study.optimizer.report()["predictor_members"]
assert [m["name"] for m in members] == ["fbnetv3", "lgbm"], members
assert "sklearn" not in sys.modules
print("ok", len(study.trials))
"""
    env = {**__import__("os").environ, "NARS_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ok", "24"]
