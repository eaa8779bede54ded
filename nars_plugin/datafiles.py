"""Where benchmark data that is not embedded in a package lives.

Tables such as the NAS-Bench-201 latency measurements are read at run time from
``$NARS_DATA_DIR``; without it, from ``../shared/data`` relative to the current folder or to the
project checkout. Nothing here downloads anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataFileError

ENV_VAR = "NARS_DATA_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The benchmark data folder (it may not exist; :func:`data_file` checks)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    for root in (Path.cwd(), _REPO_ROOT):
        candidate = root.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return _REPO_ROOT.parent / "shared" / "data"


def data_file(relative: str, what: str, path: str | os.PathLike[str] | None = None) -> Path:
    """The path of a data file, ``path`` if given, else ``data_dir() / relative``.

    Raises :class:`DataFileError` naming the file and ``NARS_DATA_DIR`` when it is missing.
    """
    file = Path(path).expanduser() if path else data_dir() / relative
    if not file.is_file():
        raise DataFileError(
            f"{what} file {str(file)!r} is missing",
            f"set {ENV_VAR} to the folder that holds {relative} (default ../shared/data), or pass its path",
        )
    return file
