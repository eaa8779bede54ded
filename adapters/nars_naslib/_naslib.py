"""Finding and importing NASLib (an optional dependency that is not on PyPI)."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from nars_plugin.errors import ConfigError

INSTALL_HINT = (
    "NASLib is not on PyPI: clone https://github.com/automl/NASLib, then `pip install --no-deps -e NASLib` "
    "and the libraries it imports (DEVELOPERS.md, 'Developing against NASLib')"
)


class NASLibMissingError(ConfigError):
    """NASLib (or a library it imports) cannot be imported here."""


def status() -> tuple[str, str] | None:
    """None when the ``naslib`` package is importable, else ``(reason, fix)``; cheap (does not import it)."""
    try:
        found = importlib.util.find_spec("naslib") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else ("NASLib is not installed (no module named 'naslib')", INSTALL_HINT)


def naslib_module(name: str) -> Any:
    """Import ``naslib.<name>``, or raise :class:`NASLibMissingError` saying what is missing."""
    state = status()
    if state is not None:
        raise NASLibMissingError(state[0], state[1])
    module = f"naslib.{name}" if name else "naslib"
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise NASLibMissingError(
            f"NASLib is installed but {module} cannot be imported: {type(exc).__name__}: {exc}",
            "install the library it names into the same environment (NASLib's own pins are not needed)",
        ) from exc


def naslib_version() -> str:
    """NASLib's version string (``naslib.__version__``), or ``"?"``."""
    try:
        return str(naslib_module("__version__").__version__)
    except (NASLibMissingError, AttributeError):
        return "?"
