"""Writing results only where the user said: inside the output folder, never through a link.

Every results file (summary, trajectory, tables, plots) is written through :func:`atomic_write`:
a fresh temporary file created exclusively in the destination folder, then renamed over the
destination. A crash leaves the old file or the new one, never half of one, and a symbolic link
planted at the destination or at a temporary name is replaced or ignored, not followed, so nothing
is written outside the folder. :func:`refuse_link` guards the files that are appended to in place
(the journal and the lock), and :func:`safe_name` turns a user's label into one folder name.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from .errors import ConfigError, option


def current_umask() -> int:
    """The process's umask (read from /proc where it can be, so no other thread sees it change)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_of(path: Path) -> int:
    """The permissions ``open(path, "w")`` would leave: the file's own if it exists, else 0o666 less the umask."""
    try:
        found = os.lstat(path)
    except OSError:
        found = None
    if found is None or not stat.S_ISREG(found.st_mode):  # new, or a link that is replaced, not followed
        return 0o666 & ~current_umask()
    return stat.S_IMODE(found.st_mode)


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) atomically and durably. The file gets
    the permissions ``open()`` would give it (an existing file's, else 0o666 less the umask), so
    collaborators can read results where the umask lets them."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _mode_of(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def output_folder(path: str | os.PathLike[str], option_name: str = "out") -> Path:
    """Create the output folder ``path`` (parents too) and check it can be written; a ConfigError naming
    the folder and the fix when it cannot (a read-only file system, no permission, a file of that name).
    ``option_name``: the Python argument that names it (``out``, ``storage``) for hints outside ``nars``."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            code = errno.EROFS if os.statvfs(folder).f_flag & os.ST_RDONLY else errno.EACCES
            raise OSError(code, os.strerror(code))
    except (FileExistsError, NotADirectoryError):
        blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        raise ConfigError(
            f"cannot use {str(folder)!r} as the output folder: {str(blocking)!r} is a file, not a folder",
            f"give {option(f'{option_name}=', '--out')} a folder's path (a new one is created)",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot write to the output folder {str(folder)!r}: {exc.strerror or exc}",
            f"give {option(f'{option_name}=', '--out')} a folder you can write to (on a writable disk)",
        ) from None
    return folder


def atomic_write_figure(path: str | os.PathLike[str], fig: Any, own_layout: bool = False) -> None:
    """Save a matplotlib figure as a PNG (120 dpi) atomically, and close it. ``own_layout``: keep the
    figure's layout (no ``tight_layout``) and crop the saved image to what is drawn, for figures a
    library laid out itself (autorank's critical-difference diagram)."""
    import io

    import matplotlib.pyplot as plt

    if not own_layout:
        fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, dpi=120, format="png", bbox_inches="tight" if own_layout else None)
    plt.close(fig)
    atomic_write(path, image.getvalue())


def refuse_link(path: str | os.PathLike[str]) -> None:
    """Raise ConfigError if ``path`` is a symbolic link (writing to it would write elsewhere)."""
    if Path(path).is_symlink():
        raise ConfigError(
            f"{path} is a symbolic link; nars writes its files only inside the output folder, not through links",
            "remove the link, or choose another --out folder",
        )


def safe_name(label: str) -> str:
    """``label`` as one folder name: no separators, never ``.`` or ``..``, distinct labels stay distinct."""
    name = re.sub(r"[^\w.\-]", lambda m: f"%{ord(m.group()):02X}", label)
    return "%2E" + name[1:] if name.startswith(".") else name or "%00"
