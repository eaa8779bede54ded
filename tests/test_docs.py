"""The docs hold together without MkDocs installed (CI also runs ``mkdocs build --strict``).

* every relative link and image of README.md, CONTRIBUTING.md, DEVELOPERS.md, benchmarks/README.md
  and the docs pages points at a file of the checkout (images and committed results included);
* every ``--8<--`` snippet a page includes exists, with the section it names;
* every page of docs/ is in the site's navigation;
* the plugin author's guide's worked examples run, and pass the conformance suites they name.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from test_readme_example import doc_block, run_block

from nars_plugin.testing import BenchmarkConformance, OptimizerConformance

DOCS = REPO_ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FILES = [REPO_ROOT / name for name in ("README.md", "CONTRIBUTING.md", "DEVELOPERS.md", "benchmarks/README.md")] + PAGES
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SNIPPET = re.compile(r'^--8<-- "([^"]+)"\s*$', re.M)


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are examples, not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _name(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_relative_links_and_images_resolve(path):
    broken = []
    for target in LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        local = (path.parent / target.split("#", 1)[0]).resolve()
        if not local.exists():
            broken.append(target)
    assert not broken, f"{_name(path)} links to files that do not exist: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_snippets_exist(page):
    for spec in SNIPPET.findall(page.read_text(encoding="utf-8")):
        file, _, section = spec.partition(":")
        source = REPO_ROOT / file
        assert source.is_file(), f"{_name(page)} includes {file}, which does not exist"
        if section:
            text = source.read_text(encoding="utf-8")
            for edge in ("start", "end"):
                assert f"--8<-- [{edge}:{section}]" in text, f"{file} lost its [{edge}:{section}] snippet marker"


def test_every_page_is_in_the_navigation():
    config = (REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s*-\s+(?:[^:\n]+:\s+)?([\w./-]+\.md)\s*$", config, re.M))
    assert listed, "mkdocs.yml has no nav"
    missing = sorted(set(p.relative_to(DOCS).as_posix() for p in PAGES) - listed)
    assert not missing, f"pages not in mkdocs.yml's nav: {missing}"
    assert not sorted(listed - {p.relative_to(DOCS).as_posix() for p in PAGES}), "the nav names pages that are gone"


def test_the_readme_keeps_the_two_commands_that_ci_runs():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for tag in ("main", "tests"):
        assert re.search(rf"^<!-- ci:{tag} -->\n```bash\n\S", text, re.M), f"README.md lost <!-- ci:{tag} -->"
    assert len(text.splitlines()) <= 200, "README.md stays short: move detail to a docs page"


def _example_namespace(tag: str, tmp_path: Path) -> dict:
    """Run a tagged docs block as a module that is not ``__main__`` (its definitions, not its demo)."""
    script = tmp_path / f"{tag}_example.py"
    script.write_text(doc_block(tag), encoding="utf-8")
    return runpy.run_path(str(script), run_name=f"docs_example_{tag}")


def test_the_optimizer_example_runs(tmp_path):
    lines = run_block("optimizer", tmp_path)
    value, candidate = lines[-1].split(" ", 1)
    assert 0 < float(value) <= 100 and "training=" in candidate


class TestTheOptimizerExample(OptimizerConformance):
    """docs/plugins/optimizer.md's MutationWalk passes the suite that page names."""

    @pytest.fixture
    def benchmark(self):
        from helpers import toy_bench

        return toy_bench()

    @pytest.fixture
    def optimizer(self, tmp_path):
        return _example_namespace("optimizer", tmp_path)["MutationWalk"]


def test_the_evaluator_example_runs_and_stops_early(tmp_path):
    lines = run_block("evaluator", tmp_path)
    match = re.fullmatch(r"best ([\d.]+) after 40 trainings, (\d+) stopped early", lines[-1])
    assert match, lines
    assert int(match.group(2)) > 0, "NARS found no early-stopping epoch on the example's curves"


class TestTheEvaluatorExample(BenchmarkConformance):
    """docs/plugins/evaluator.md's SimulatedTraining passes the checks it shares with benchmarks."""

    @pytest.fixture
    def benchmark(self, tmp_path, monkeypatch):
        from nars_plugin import get_registry

        return _example_namespace("evaluator", tmp_path)["SimulatedTraining"](get_registry().create_space("nb201"))
