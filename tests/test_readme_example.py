"""The README's Python API example runs as written (in a temporary folder)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT


def readme_block(tag: str) -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- example:{tag} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"README.md lost its <!-- example:{tag} --> python block"
    return match.group(1)


@pytest.mark.slow
def test_readme_python_api_example_runs(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(readme_block("api"), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 3, proc.stdout
    assert (tmp_path / "runs/api-demo/journal.jsonl").is_file()
    assert (tmp_path / "runs/ask-tell/summary.json").is_file()
    assert lines[1].startswith("30 ")  # load_study read all 30 trials back
    float(lines[2])  # the compare summary's mean after 30 queries
