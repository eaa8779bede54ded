"""Progress output: labelled bars on a terminal, plain log lines when stderr is a file or a pipe (a
batch job's log), and a comparison's progress counted in evaluations across its runs."""

from __future__ import annotations

import io
import json
import re

from conftest import run_cli

from nars_plugin import _progress as progress
from nars_plugin import compare
from nars_plugin._progress import Progress
from nars_plugin.comparison.runner import _RunProgress
from nars_plugin.comparison.tasks import RunOutcome, RunTask
from nars_plugin.storage import JOURNAL_NAME

LINE = re.compile(
    r"^(?P<desc>.+): (?P<n>[\d.]+)/(?P<total>[\d.]+) (?P<unit>\w+) \((?P<pct>\d+)%\)(?P<rest>.*) \[\d+ s\]$"
)


def _lines(text: str, desc: str) -> list[re.Match[str]]:
    found = [LINE.match(line) for line in text.splitlines()]
    return [m for m in found if m is not None and m["desc"] == desc]


def test_log_lines_every_quarter_and_at_the_end():
    out = io.StringIO()  # not a terminal
    display = Progress(8, "search", "eval", None, file=out)
    for _ in range(7):
        display.update(1)
    display.close()
    assert [int(m["n"]) for m in _lines(out.getvalue(), "search")] == [2, 4, 6, 7]
    quiet = io.StringIO()
    display = Progress(8, "search", "eval", False, file=quiet)
    display.update(8)
    display.close()
    assert quiet.getvalue() == ""


def test_log_lines_every_few_seconds(monkeypatch):
    monkeypatch.setattr(progress, "LOG_SECONDS", 0.0)
    out = io.StringIO()
    display = Progress(100, "search", "eval", None, file=out)
    for _ in range(3):
        display.update(1)
        display.set_postfix(best="93.1")
    assert [m["n"] for m in _lines(out.getvalue(), "search")] == ["1", "2", "3"]
    assert out.getvalue().splitlines()[-1].startswith("search: 3/100 eval (3%), best 93.1 [")


def test_search_writes_log_lines_into_a_batch_log(tmp_path):
    rc, out, err = run_cli(["search", "-o", "rs", "--budget", "20", "--out", "o"], cwd=tmp_path)
    assert rc == 0, err
    lines = _lines(err, "search")
    assert [int(m["n"]) for m in lines] == [5, 10, 15, 20], err
    assert lines[-1]["pct"] == "100" and "best " in lines[-1]["rest"]
    rc, out, err = run_cli(["search", "-o", "rs", "--budget", "20", "--out", "q", "--no-progress"], cwd=tmp_path)
    assert rc == 0 and err == "", err


def test_compare_counts_evaluations_across_runs_and_names_what_runs(tmp_path):
    args = ["compare", "--optimizers", "rs,rea", "--seeds", "2", "--budget", "12", "--workers", "2", "--out", "c"]
    rc, out, err = run_cli(args, cwd=tmp_path, timeout=300)
    assert rc == 0, err
    lines = _lines(err, "compare nb201-analog (rs, rea x 2 seeds)")
    assert lines and lines[-1]["n"] == "48" and lines[-1]["total"] == "48" and lines[-1]["unit"] == "eval", err
    assert [int(m["n"]) for m in lines] == sorted(int(m["n"]) for m in lines)


def test_a_run_in_progress_counts_its_journaled_evaluations(tmp_path):
    tasks = [RunTask("nb201-analog", {}, "rs", "rs", {}, s, 10, None, (), str(tmp_path / f"seed{s}")) for s in range(3)]
    (tmp_path / "seed0").mkdir()
    header = json.dumps({"type": "header"})
    (tmp_path / "seed0" / JOURNAL_NAME).write_text(header + "\n" + "{}\n" * 4)
    counter = _RunProgress(tasks, "compare", False)
    try:
        assert counter.count() == 4  # seed0 half done, the others not started
        counter.done(RunOutcome("rs", 2, [], 0.0, 0, None))
        assert counter.count() == 14
    finally:
        counter.close()


def test_suite_bars_name_the_benchmark_and_its_count(tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text(
        '[[benchmark]]\nlabel = "analog"\nbenchmark = "nb201-analog"\nbudget = 6\n\n'
        '[[benchmark]]\nlabel = "analog-1d"\nbenchmark = "nb201-analog"\noptions = { target = "analog_1d" }\n'
        "budget = 6\n"
    )
    rc, out, err = run_cli(
        ["suite", "--suite", suite, "--optimizers", "rs", "--seeds", "1", "--out", "s"], cwd=tmp_path
    )
    assert rc == 0, err
    assert _lines(err, "suite 1/2 analog (rs x 1 seeds)")[-1]["n"] == "6", err
    assert _lines(err, "suite 2/2 analog-1d (rs x 1 seeds)")[-1]["n"] == "6", err
    compare("nb201-analog", "rs", seeds=1, budget=5, out=tmp_path / "bar", workers=1, progress=True)
    assert "compare nb201-analog (rs x 1 seeds)" in capsys.readouterr().err  # the bar has the label too
