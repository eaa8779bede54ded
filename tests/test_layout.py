"""The issue-26 layout: moved modules keep their old import paths one more release, with a warning."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from nars_plugin._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_warns_and_hands_out_the_new_module(old):
    """Each old path in a fresh interpreter: one DeprecationWarning naming the new path, the same objects."""
    new = MOVED[old]
    code = (
        "import warnings, importlib, sys\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        "import nars_plugin\n"
        f"try:\n    importlib.import_module({old!r})\n"
        "except DeprecationWarning as exc:\n    print(exc)\n"
        "else:\n    sys.exit('no warning')\n"
        "warnings.simplefilter('ignore', DeprecationWarning)\n"
        f"assert importlib.import_module({old!r}) is importlib.import_module({new!r})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    assert f"{old} moved to {new}" in out.stdout


def test_from_an_old_path_import_a_name():
    with pytest.warns(DeprecationWarning, match="nars_plugin.predictors.fbnetv3"):
        sys.modules.pop("nars_plugin.predictor", None)
        from nars_plugin.predictor import NARSPredictor
    from nars_plugin.predictors.fbnetv3 import NARSPredictor as moved

    assert NARSPredictor is moved


def test_random_search_at_its_old_home_warns():
    from nars_plugin.optimizers import RandomSearch

    base = importlib.import_module("nars_plugin.optimizers.base")
    with pytest.warns(DeprecationWarning, match="import it from nars_plugin.optimizers"):
        assert base.RandomSearch is RandomSearch


def test_an_unknown_module_is_still_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("nars_plugin.no_such_module")


def test_budget_at_its_old_home_warns():
    from nars_plugin.budget import Budget, describe_budget
    from nars_plugin.optimizers import Budget as exported

    base = importlib.import_module("nars_plugin.optimizers.base")
    assert exported is Budget
    with pytest.warns(DeprecationWarning, match="import it from nars_plugin.optimizers"):
        assert base.Budget is Budget
    with pytest.warns(DeprecationWarning, match="import it from nars_plugin.budget"):
        assert base.describe_budget is describe_budget


def test_private_names_are_not_exported_by_the_comparison_package():
    import nars_plugin.comparison as comparison

    assert [name for name in comparison.__all__ if name.startswith("_")] == []
    assert not hasattr(comparison, "_benchmark")
