"""The README's and the docs pages' Python examples run as written (in a temporary folder).

A tagged block is a ```` ```python ```` block right after a ``<!-- example:TAG -->`` line, in README.md
or a page under docs/; each tag is used once.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT


def documented_files() -> list[Path]:
    """README.md and every page of the docs site."""
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def doc_block(tag: str) -> str:
    """The python block tagged ``<!-- example:TAG -->`` in README.md or a docs page."""
    pattern = rf"<!-- example:{re.escape(tag)} -->\n```python\n(.*?)```"
    found = [
        m.group(1) for path in documented_files() for m in re.finditer(pattern, path.read_text(encoding="utf-8"), re.S)
    ]
    assert found, f"no <!-- example:{tag} --> python block in README.md or docs/"
    assert len(found) == 1, f"<!-- example:{tag} --> tags {len(found)} blocks: one tag, one block"
    return found[0]


readme_block = doc_block  # the name other tests import


def run_block(tag: str, folder: Path, timeout: int = 900) -> list[str]:
    """Run a tagged block as a script in ``folder``; its stdout lines."""
    script = folder / f"{tag}.py"
    script.write_text(doc_block(tag), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()


@pytest.mark.slow
def test_readme_python_api_example_runs(tmp_path):
    lines = run_block("api", tmp_path)
    assert len(lines) == 3, lines
    assert (tmp_path / "runs/api-demo/journal.jsonl").is_file()
    assert (tmp_path / "runs/ask-tell/summary.json").is_file()
    assert lines[1].startswith("30 ")  # load_study read all 30 trials back
    float(lines[2])  # the compare summary's mean after 30 queries


def test_readme_api_taste_runs(tmp_path):
    lines = run_block("taste", tmp_path)
    assert len(lines) == 2, lines
    value, params = lines[0].split(" ", 1)
    assert 0 < float(value) <= 100 and "'arch'" in params and "'training'" in params
    assert "training=" in lines[1]  # the ask/tell loop's best candidate, printed as the CLI prints it
    assert (tmp_path / "runs/taste/journal.jsonl").is_file()
