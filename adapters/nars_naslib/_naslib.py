"""Finding and importing NASLib (an optional dependency that is not on PyPI)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import Any

from nars_plugin.errors import ConfigError

from ._hook import apply_shims

#: The one command that installs NASLib and what it imports into the current environment.
INSTALL_COMMAND = "nars naslib install --source ../shared/vendor/naslib/NASLib-Develop-0b51bc1.tar.gz"
INSTALL_HINT = (
    f"run `{INSTALL_COMMAND}` (or --source https://github.com/automl/NASLib.git@Develop, or a NASLib checkout)"
)

#: NASLib's parts the bridge imports; ``nars naslib install`` checks that each one imports.
CHECKED_MODULES = ("search_spaces", "optimizers", "predictors", "defaults.trainer", "defaults.predictor_evaluator")

#: Libraries NASLib imports on those paths, by PyPI requirement -> top-level module, unpinned,
#: capped only where a current release breaks NASLib (found importing CHECKED_MODULES on Python
#: 3.11 with NASLib Develop 0b51bc1): numpy 2 breaks its parameter counting, scikit-learn 1.6 its
#: PredictorEvaluator, and ngboost 0.6 needs scikit-learn 1.6.
NASLIB_REQUIREMENTS: dict[str, str] = {
    "torchvision": "torchvision",
    "numpy<2": "numpy",
    "scipy": "scipy",
    "scikit-learn<1.6": "sklearn",
    "ngboost<0.6": "ngboost",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "networkx": "networkx",
    "fvcore": "fvcore",
    "pyyaml": "yaml",
    "ConfigSpace": "ConfigSpace",
    "pyro-ppl": "pyro",
    "emcee": "emcee",
    "grakel": "grakel",
    "pybnn": "pybnn",
    "scikit-image": "skimage",
    "tqdm": "tqdm",
    "matplotlib": "matplotlib",
    "seaborn": "seaborn",
    "termcolor": "termcolor",
    "six": "six",
    "pytorch-msssim": "pytorch_msssim",
    "transforms3d": "transforms3d",
    "nasbench-pytorch": "nasbench_pytorch",
    "tensorwatch": "tensorwatch",
    "tornado": "tornado",  # tensorwatch imports it without declaring it
}
#: The caps above as (distribution, first broken major.minor).
VERSION_CAPS: dict[str, tuple[int, int]] = {"numpy": (2, 0), "scikit-learn": (1, 6), "ngboost": (0, 6)}


class NASLibMissingError(ConfigError):
    """NASLib (or a library it imports) cannot be imported here."""


def _too_new(distribution: str, cap: tuple[int, int]) -> str | None:
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")[:2]] + [0]
    return version if (parts[0], parts[1]) >= cap else None


def status() -> tuple[str, str] | None:
    """None when NASLib and the libraries it imports are here, else ``(reason, fix)``.

    Cheap: it looks the modules up (and reads the capped libraries' versions) without importing them.
    """
    try:
        found = importlib.util.find_spec("naslib") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return "NASLib is not installed (no module named 'naslib')", INSTALL_HINT
    missing = [req for req, module in NASLIB_REQUIREMENTS.items() if importlib.util.find_spec(module) is None]
    if missing:
        return (
            f"NASLib is installed but cannot be imported: it needs {', '.join(missing)}",
            f"pip install {' '.join(repr(m) if '<' in m else m for m in missing)} (or rerun `{INSTALL_COMMAND}`)",
        )
    too_new = {d: v for d, cap in VERSION_CAPS.items() if (v := _too_new(d, cap)) is not None}
    if too_new:
        caps = [f"'{d}<{VERSION_CAPS[d][0]}.{VERSION_CAPS[d][1]}'" for d in too_new]
        return (
            "NASLib is installed but breaks with " + ", ".join(f"{d} {v}" for d, v in too_new.items()),
            f"pip install {' '.join(caps)}",
        )
    return None


def naslib_module(name: str) -> Any:
    """Import ``naslib.<name>`` (after :func:`apply_shims`), or raise :class:`NASLibMissingError`."""
    state = status()
    if state is not None:
        raise NASLibMissingError(state[0], state[1])
    apply_shims()
    module = f"naslib.{name}" if name else "naslib"
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise NASLibMissingError(
            f"NASLib is installed but {module} cannot be imported: {type(exc).__name__}: {exc}",
            f"install the library it names into the same environment (or rerun `{INSTALL_COMMAND}`)",
        ) from exc


def import_naslib_parts() -> None:
    """Import every module of :data:`CHECKED_MODULES` (what ``nars naslib install`` checks)."""
    for name in CHECKED_MODULES:
        naslib_module(name)


def hook_works() -> bool:
    """Import ``naslib`` the plain way (not through :func:`naslib_module`) in a fresh interpreter's
    state and say whether the shims were applied by the import hook (:mod:`._hook`)."""
    import collections
    import contextlib

    with contextlib.suppress(ImportError):  # the shims run before NASLib's own code: in place even then
        importlib.import_module("naslib")
    return hasattr(collections, "Iterable")


if __name__ == "__main__":  # `python -m nars_naslib._naslib`: the installer's import check
    import sys

    from ._hook import PTH_NAME

    if not hook_works():
        sys.exit(f"importing naslib did not apply the bridge's shims: no {PTH_NAME} in site-packages (reinstall)")
    try:
        import_naslib_parts()
    except NASLibMissingError as exc:
        sys.exit(f"{exc.message}; {exc.hint}")


def naslib_version() -> str:
    """NASLib's version string (``naslib.__version__``), or ``"?"``."""
    try:
        return str(naslib_module("__version__").__version__)
    except (NASLibMissingError, AttributeError):
        return "?"
