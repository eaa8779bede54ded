"""``nars naslib install --source PATH_OR_URL``: NASLib into the current environment.

NASLib is not on PyPI, and its ``setup.py`` cannot be used on current Pythons: it refuses any
Python newer than 3.9, pins 2021 releases of its dependencies and pip-installs two git packages
while it runs. So this installer does what that setup would do, without running it:

1. gets the source (a folder, a ``.tar.gz``/``.zip`` archive, a file or https URL of one, or a
   git URL, cloned with ``git``) and finds the folder holding the ``naslib`` package;
2. copies the ``naslib`` package into this environment's ``site-packages`` and writes a
   ``naslib-<version>.dist-info`` beside it, so ``pip show naslib`` and ``pip uninstall naslib``
   work, and the bridge's import hook (:mod:`._hook`, a one-line ``.pth`` file listed in the same
   ``RECORD``), so the shims apply whichever module imports NASLib first;
3. installs :data:`._naslib.NASLIB_REQUIREMENTS` with ``sys.executable -m pip``: the libraries NASLib's
   optimizers, predictors, search spaces and trainer really import, unpinned, capped only where a
   current release breaks NASLib, with the environment's torch held where it is;
4. imports NASLib in a fresh interpreter, to prove the install: ``naslib`` the plain way (the
   hook must apply the shims, :func:`._hook.apply_shims`), then each of NASLib's parts the bridge uses.

Nothing of NASLib is changed: its Python 3.10+ incompatibilities are bridged at import time.
An environment installed before the hook existed gets it by running the installer again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nars_plugin.errors import ConfigError, DataFileError

from ._hook import PTH_LINE, PTH_NAME
from ._naslib import CHECKED_MODULES, NASLIB_REQUIREMENTS, NASLibMissingError

_ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")


@dataclass
class InstallReport:
    """What :func:`install_naslib` did."""

    version: str
    source: str
    package_dir: Path
    requirements: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _is_git_url(source: str) -> bool:
    return source.startswith(("git+", "git@", "ssh://")) or (
        source.startswith(("https://", "http://")) and (source.endswith(".git") or "@" in source.rpartition("/")[2])
    )


def _git_clone(source: str, into: Path) -> Path:
    """``git clone`` of ``URL[@ref]`` (``git+`` prefix allowed) into ``into``; the clone's folder."""
    url = source.removeprefix("git+")
    ref = None
    head, _, tail = url.rpartition("/")
    if "@" in tail and not url.startswith("git@"):
        tail, _, ref = tail.partition("@")
        url = f"{head}/{tail}"
    if shutil.which("git") is None:
        raise ConfigError(f"cannot clone {source!r}: git is not installed", "install git, or pass a .tar.gz or folder")
    target = into / "clone"
    command = ["git", "clone", "--quiet", url, str(target)]
    if ref is None:
        command[3:3] = ["--depth", "1"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == 0 and ref is not None:
        done = subprocess.run(["git", "-C", str(target), "checkout", "--quiet", ref], capture_output=True, text=True)
    if done.returncode != 0:
        raise DataFileError(f"cannot get NASLib from {source!r}: {done.stderr.strip()}", "check the git URL and ref")
    return target


def _download(url: str, into: Path) -> Path:
    target = into / url.rpartition("/")[2].split("?")[0]
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(target, "wb") as fh:
            shutil.copyfileobj(response, fh)
    except OSError as exc:
        hint = "check the URL, or download it and pass the file"
        raise DataFileError(f"cannot download {url!r}: {exc}", hint) from None
    return target


def _unpack(archive: Path, into: Path) -> Path:
    target = into / "unpacked"
    target.mkdir()
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise DataFileError(f"{archive} holds an unsafe path {name!r}", "use NASLib's own archive")
                zf.extractall(target)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(target, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        hint = "pass a NASLib .tar.gz/.zip or its source folder"
        raise DataFileError(f"cannot unpack {archive}: {exc}", hint) from None
    return target


def find_naslib_root(folder: Path) -> Path:
    """The folder under ``folder`` (itself or one level down) that holds the ``naslib`` package."""
    for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        if (candidate / "naslib" / "__init__.py").is_file():
            return candidate
    raise DataFileError(
        f"{folder} does not hold NASLib's source (no naslib/__init__.py in it or one level down)",
        "pass the NASLib checkout (the folder with setup.py and naslib/), its .tar.gz, or a git URL",
    )


def naslib_source_version(root: Path) -> str:
    """The version in ``naslib/__version__.py`` (its last line, as NASLib's setup.py reads it)."""
    version_file = root / "naslib" / "__version__.py"
    lines = version_file.read_text(encoding="utf-8").strip().splitlines() if version_file.is_file() else []
    return lines[-1].split()[-1].strip("\"'") if lines else "0"


def get_source(source: str, into: Path) -> Path:
    """The NASLib source root from a folder, an archive (path or URL) or a git URL, put under ``into``."""
    if _is_git_url(source):
        return find_naslib_root(_git_clone(source, into))
    if source.startswith(("https://", "http://")):
        if not source.split("?")[0].endswith(_ARCHIVES):
            raise ConfigError(
                f"{source!r} is neither a git URL nor an archive URL",
                "pass https://github.com/automl/NASLib.git[@Develop] or a URL ending in .tar.gz/.zip",
            )
        return find_naslib_root(_unpack(_download(source, into), into))
    path = Path(source).expanduser()
    if path.is_dir():
        return find_naslib_root(path)
    if path.is_file() and path.name.endswith(_ARCHIVES):
        return find_naslib_root(_unpack(path, into))
    what = "is not a folder, an archive or a git URL" if path.exists() else "does not exist"
    raise DataFileError(
        f"NASLib source {source!r} {what}",
        "pass ../shared/vendor/naslib/NASLib-Develop-0b51bc1.tar.gz, a NASLib checkout, or a git URL",
    )


def site_packages() -> Path:
    """This environment's ``site-packages`` (where pip puts pure-Python packages)."""
    return Path(sysconfig.get_paths()["purelib"])


def _installed_by_us(site: Path) -> list[Path]:
    return [d for d in site.glob("naslib-*.dist-info") if (d / "INSTALLER").is_file()]


def _remove_previous(site: Path) -> None:
    """Remove a NASLib this installer put here before; refuse to touch one installed otherwise."""
    ours = [d for d in _installed_by_us(site) if (d / "INSTALLER").read_text().strip() == "nars-plugin"]
    for info in ours:
        shutil.rmtree(info)
        shutil.rmtree(site / "naslib", ignore_errors=True)
        (site / PTH_NAME).unlink(missing_ok=True)
    other = site / "naslib"
    if other.exists() or list(site.glob("naslib-*.dist-info")) or list(site.glob("*naslib*.egg-link")):
        raise ConfigError(
            f"a NASLib not installed by `nars naslib install` is already in {site}",
            f"remove it first (`{Path(sys.executable).name} -m pip uninstall naslib`), then rerun",
        )


def _copy_package(root: Path, site: Path, version: str, source: str) -> Path:
    """Copy ``root/naslib`` into ``site``, write the shims' import hook (:data:`._hook.PTH_NAME`) and
    the dist-info (METADATA, INSTALLER, RECORD listing all of them)."""
    target = site / "naslib"
    shutil.copytree(root / "naslib", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    info = site / f"naslib-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: naslib\nVersion: {version}\n"
        f"Summary: NASLib (github.com/automl/NASLib), installed by `nars naslib install` from {source}\n"
        "License: Apache License 2.0\n",
        encoding="utf-8",
    )
    (info / "INSTALLER").write_text("nars-plugin\n", encoding="utf-8")
    (site / PTH_NAME).write_text(PTH_LINE, encoding="utf-8")
    files = [p for p in target.rglob("*") if p.is_file()] + [info / "METADATA", info / "INSTALLER", site / PTH_NAME]
    record = [f"{p.relative_to(site).as_posix()},," for p in files] + [f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")
    return target


def _torch_pin() -> list[str]:
    """``torch==<installed>``: keeps pip from replacing the environment's torch for torchvision."""
    try:
        from importlib.metadata import version

        return [f"torch=={version('torch')}"]
    except Exception:  # noqa: BLE001 - no torch installed: pip picks one with torchvision
        return []


def install_requirements(requirements: Sequence[str], log: Callable[[str], None] = print) -> None:
    """``pip install`` ``requirements`` into this environment, holding its torch version."""
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("\n".join(_torch_pin()) + "\n")
        command = [sys.executable, "-m", "pip", "install", "--quiet", "-c", str(constraints), *requirements]
        log("$ " + " ".join(command))
        done = subprocess.run(command)
    if done.returncode != 0:
        raise NASLibMissingError(
            f"pip could not install NASLib's requirements (exit {done.returncode})",
            "see pip's message above; install the one it names, then rerun with --no-deps",
        )


def check_import() -> None:
    """Import NASLib's parts the bridge uses in a fresh interpreter; raise saying which one fails."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    command = [sys.executable, "-m", "nars_naslib._naslib"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise NASLibMissingError(
            f"NASLib was installed but does not import: {last}",
            "install what it names into this environment (`nars naslib install` without --no-deps does)",
        )


def install_naslib(source: str, deps: bool = True, log: Callable[[str], None] = print) -> InstallReport:
    """Install NASLib from ``source`` into this environment (see the module docstring); returns a report."""
    started = time.perf_counter()
    site = site_packages()
    with tempfile.TemporaryDirectory(prefix="nars-naslib-") as tmp:
        root = get_source(source, Path(tmp))
        if Path(source).expanduser().exists():
            source = str(Path(source).expanduser().resolve())
        version = naslib_source_version(root)
        _remove_previous(site)
        package_dir = _copy_package(root, site, version, source)
    log(f"NASLib {version} from {source} -> {package_dir}")
    report = InstallReport(version=version, source=source, package_dir=package_dir)
    if deps:
        report.requirements = list(NASLIB_REQUIREMENTS)
        install_requirements(report.requirements, log)
    check_import()
    log("imports: " + ", ".join(f"naslib.{m}" for m in CHECKED_MODULES))
    report.seconds = time.perf_counter() - started
    return report
