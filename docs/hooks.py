"""MkDocs hook: serve the committed benchmark results and repository notes without copying them.

Docs pages link to committed files outside ``docs/`` the way GitHub resolves them, e.g.
``![regret](../benchmarks/results/nb201-c10/regret.png)`` from ``docs/results/index.md`` is written
``../../benchmarks/...``. MkDocs only serves files under ``docs/``, so this hook

* adds every file under the folders in :data:`MOUNTS` to the site, at ``_repo/<path>``, and
* rewrites each relative link or image of a page that leaves ``docs/`` into one of them to that
  ``_repo/`` path, before MkDocs checks links (``mkdocs build --strict`` then fails on a missing one).

A link that leaves ``docs/`` to anything else is left as written, so the strict build reports it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel

ROOT = Path(__file__).resolve().parents[1]
#: Repository folders (and single files) whose committed files the site serves under ``_repo/``.
MOUNTS = ("benchmarks/results", "benchmarks/reliability")
SUFFIXES = {".png", ".md", ".csv", ".json", ".svg"}
PREFIX = "_repo"
LINK = re.compile(r"(\]\()([^)\s#]+)([^)]*\))")


def _mounted() -> list[str]:
    paths: list[str] = []
    for mount in MOUNTS:
        target = ROOT / mount
        found = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
        for file in found:
            path = file.relative_to(ROOT).as_posix()
            if file.suffix in SUFFIXES and "/runs/" not in path:  # per-run journals are not committed
                paths.append(path)
    return paths


def on_files(files: Files, config: Any) -> Files:
    """Add the mounted repository files at ``_repo/<path>`` (markdown files become pages outside the nav)."""
    for path in _mounted():
        outside_nav = InclusionLevel.NOT_IN_NAV
        files.append(File.generated(config, f"{PREFIX}/{path}", abs_src_path=str(ROOT / path), inclusion=outside_nav))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Point links that leave ``docs/`` for a mounted file at its ``_repo/`` copy in the site."""
    folder = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match[str]) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        in_repo = posixpath.normpath(posixpath.join("docs", folder, target))
        if in_repo.startswith("docs/") or not any(in_repo == m or in_repo.startswith(m + "/") for m in MOUNTS):
            return match.group(0)
        local = posixpath.relpath(f"{PREFIX}/{in_repo}", folder or ".")
        return f"{match.group(1)}{local}{match.group(3)}"

    return LINK.sub(rewrite, markdown)
