"""The bridge's shims for NASLib, applied whichever module imports NASLib first.

NASLib predates Python 3.10 and NumPy 1.24 (:func:`apply_shims` lists what it still uses). A script
written the way NASLib's examples are (``from naslib.optimizers import RegularizedEvolution``,
without importing the bridge first) needs the shims in place before NASLib's code runs.
``nars naslib install`` therefore writes :data:`PTH_NAME` into the environment's ``site-packages``
(listed in NASLib's ``RECORD``, so ``pip uninstall naslib`` removes it too). Python runs its one
line at every interpreter start: it puts a :class:`ShimFinder` first on ``sys.meta_path``, which
costs a look-up of ``nars_naslib`` and imports nothing else. When ``naslib`` itself is first
imported, the finder wraps NASLib's own loader so that :func:`apply_shims` runs right before
``naslib/__init__.py`` executes, then steps aside. NASLib's files are not changed.

Hooking an interpreter is cheap: this module imports nothing at its top but :mod:`sys` (the
shims import NumPy when NASLib is imported); the ``.pth`` line adds about 2 ms to a start.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing would cost every interpreter start 2 ms
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

#: The file ``nars naslib install`` writes into ``site-packages``.
PTH_NAME = "nars_naslib_shims.pth"
#: Its line: Python's ``site`` runs a ``.pth`` line that starts with ``import``. It does nothing
#: where the bridge is gone (``find_spec`` is None), so removing nars-plugin leaves no error behind.
PTH_LINE = (
    "import importlib.util; importlib.util.find_spec('nars_naslib') is not None"
    " and __import__('nars_naslib._hook')._hook.install()\n"
)


def apply_shims() -> None:
    """Bridge NASLib's Python 3.10+ / NumPy 1.24+ incompatibilities at run time, without editing NASLib.

    * ``collections.Iterable``/``Sequence``/``Mapping`` (removed in Python 3.10; NASLib's GP
      predictors' WL kernel and ``utils/load_ops.py`` use them) alias ``collections.abc``'s;
    * ``np.int`` (removed in NumPy 1.24; NASLib's SemiNAS predictors use it) is ``int``.
    """
    import collections
    import collections.abc

    for name in ("Iterable", "Sequence", "Mapping", "MutableMapping", "Callable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    try:
        import numpy as np
    except ImportError:  # NASLib imports numpy itself and will say so
        return
    if "int" not in np.__dict__:
        np.int = int  # type: ignore[attr-defined]


class _ShimLoader:
    """NASLib's own loader, with :func:`apply_shims` run right before it executes ``naslib``.

    (Duck-typed, as :mod:`importlib` allows: importing ``importlib.abc`` would cost every
    interpreter start a few milliseconds.)
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        apply_shims()
        uninstall()  # the shims are in place for the whole process: nothing left to hook
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader  # the module looks as if loaded without the hook
        module.__loader__ = self.loader
        self.loader.exec_module(module)


class ShimFinder:
    """Finds nothing itself; hands ``naslib``'s spec (found by the other finders) a :class:`_ShimLoader`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "naslib":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ShimLoader(spec.loader)  # type: ignore[assignment]  # duck-typed
                return spec
        return None


def install() -> None:
    """Put a :class:`ShimFinder` first on ``sys.meta_path`` (once; the ``.pth`` line calls this)."""
    if "naslib" in sys.modules:  # too late to hook: apply the shims now
        apply_shims()
    elif not any(isinstance(f, ShimFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, ShimFinder())


def uninstall() -> None:
    """Take every :class:`ShimFinder` off ``sys.meta_path``."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, ShimFinder)]
