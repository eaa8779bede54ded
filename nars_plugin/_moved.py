"""Old import paths of modules that moved, kept one more release (issue 26's new layout).

``import nars_plugin.predictor`` (and ``from nars_plugin.predictor import NARSPredictor``) still
works: it warns with a :class:`DeprecationWarning` naming the new path and hands out the new
module itself, so classes and functions are the very same objects. :data:`MOVED` is the one list;
``nars_plugin/__init__`` installs the finder.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old dotted path -> where the module lives now
MOVED: dict[str, str] = {
    "nars_plugin.predictor": "nars_plugin.predictors.fbnetv3",
    "nars_plugin.predictor_eval": "nars_plugin.predictors.evaluation",
    "nars_plugin.proxies": "nars_plugin.spaces.nb201._proxies",
    "nars_plugin.latency": "nars_plugin.spaces.nb201._latency",
    "nars_plugin.spaces.nb201_net": "nars_plugin.spaces.nb201._net",
    "nars_plugin.tabular.nats": "nars_plugin.tabular.nb201._nats",
    "nars_plugin.tabular.analog": "nars_plugin.tabular.nb201._analog",
    "nars_plugin.tabular.nb201_tables": "nars_plugin.tabular.nb201._tables",
    "nars_plugin.tabular.nb201_paper": "nars_plugin.tabular.nb201._paper",
    "nars_plugin.tabular.nb201_latency": "nars_plugin.tabular.nb201._latency",
    "nars_plugin.builtins": "nars_plugin._builtins",
    "nars_plugin.keyvalue": "nars_plugin._keyvalue",
    "nars_plugin.isolation": "nars_plugin._isolation",
    "nars_plugin.progress": "nars_plugin._progress",
    "nars_plugin.safe_files": "nars_plugin._safe_files",
    "nars_plugin.ray_cluster": "nars_plugin._ray_cluster",
    "nars_plugin.datafiles": "nars_plugin._datafiles",
}


class _MovedLoader(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; the old path works until the next release: import {self.new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was imported under its new name."""


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds an old module path of :data:`MOVED` (consulted after the normal finders found no file)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedLoader(new))


def install() -> None:
    """Put the finder last on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
