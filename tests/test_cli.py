"""The ``nars`` command line, run in subprocesses: listings, queries, searches killed and resumed, bad input.

Bad input must end with exit status 2, an ``error:`` line and no traceback. Tests that need the
200-epoch CIFAR-10 table skip when it is absent (see ``conftest.py``).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BEST_C10, cli_command, run_cli

from nars_plugin.space import Candidate
from nars_plugin.storage import FolderLock

BUDGET = 60


def assert_usage_error(rc: int, out: str, err: str, *expected: str) -> None:
    assert rc == 2, (rc, out, err)
    assert "error:" in err, err
    assert "Traceback" not in err and "Traceback" not in out, err
    for text in expected:
        assert text in err, (text, err)


# --------------------------------------------------------------------------- #
# Listings and queries
# --------------------------------------------------------------------------- #


def test_query_best_cell_prints_the_published_optimum(c10_csv, tmp_path):
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{c10_csv}", "--arch", BEST_C10], cwd=tmp_path)
    assert rc == 0, err
    assert "test_acc_200ep: 94.3733" in out.splitlines()
    assert f"arch: {BEST_C10}" in out


def test_query_json_and_relative_path(c10_csv, tmp_path):
    rc, out, err = run_cli(["query", "-b", f"csv:{c10_csv.name}", "--arch", BEST_C10, "--json"], cwd=c10_csv.parent)
    assert rc == 0, err
    data = json.loads(out)
    assert data["metrics"] == {"test_acc_200ep": 94.3733}
    assert data["status"] == "ok" and data["candidate"]["arch"]["edge_3_2"] == "nor_conv_1x1"


def test_nars_console_script_runs(tmp_path):
    script = Path(cli_command()[0]).parent / "nars"
    if not script.is_file():
        pytest.skip(f"no `nars` console script next to {cli_command()[0]} (package not installed as a script)")
    proc = subprocess.run([str(script), "spaces"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    names = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert proc.returncode == 0 and "nb201" in names, proc.stderr  # installed plugins may list more


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("spaces", ["nb201"]),
        ("benchmarks", ["nb201-analog", "csv:ARG", "nats:ARG"]),
        ("optimizers", ["rs", "rea", "ls", "bananas", "nars"]),
    ],
)
def test_listings_name_what_is_registered(kind, names, tmp_path):
    rc, out, err = run_cli([kind], cwd=tmp_path)
    assert rc == 0, err
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert set(names) <= set(listed), out
    assert listed == sorted(listed)
    assert all("[builtins]" in line for line in out.splitlines() if line.strip() and line.split()[0] in names)


def test_listing_with_a_pattern(tmp_path):
    rc, out, _ = run_cli(["optimizers", "r*"], cwd=tmp_path)
    assert rc == 0 and [line.split()[0] for line in out.splitlines()] == ["rea", "rs"]
    rc, out, _ = run_cli(["spaces", "zzz*"], cwd=tmp_path)
    assert rc == 0 and "no spaces match 'zzz*'" in out


def test_plugins_and_version(tmp_path):
    rc, out, _ = run_cli(["plugins"], cwd=tmp_path)
    assert rc == 0 and out.startswith("builtins ") and "optimizer:rs" in out
    rc, out, _ = run_cli(["--version"], cwd=tmp_path)
    assert rc == 0 and out.startswith("nars-plugin ")


def test_query_nb201_analog_recipe_and_target(tmp_path):
    rc, out, err = run_cli(
        ["query", "--benchmark", "nb201-analog", "-B", "target=int8", "--arch", BEST_C10, "--recipe", "training=qat"],
        cwd=tmp_path,
    )
    assert rc == 0, err
    assert "recipe: training=qat" in out
    accuracy = float(next(line for line in out.splitlines() if line.startswith("accuracy:")).split(":")[1])
    assert 80.0 < accuracy < 100.0


def test_query_of_a_cell_missing_from_the_table_fails_with_status_1(tmp_path):
    table = tmp_path / "one.csv"
    table.write_text(f"arch,acc\n{BEST_C10},90.5\n")
    rc, out, err = run_cli(
        ["query", "--benchmark", f"csv:{table}", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
        cwd=tmp_path,
    )
    assert rc == 1 and "failed: " in out and "no entry" in out and "Traceback" not in err
    rc, out, _ = run_cli(["query", "--benchmark", f"csv:{table}", "--arch", BEST_C10], cwd=tmp_path)
    assert rc == 0 and "acc: 90.5" in out


# --------------------------------------------------------------------------- #
# Searches: resume and kill
# --------------------------------------------------------------------------- #


def search_args(c10_csv: Path, out: Path, seed: int = 3, budget: int = BUDGET) -> list[str]:
    return [
        "search", "--benchmark", f"csv:{c10_csv}", "--optimizer", "rs", "--budget", str(budget),
        "--seed", str(seed), "--out", str(out), "--no-progress",
    ]  # fmt: skip


def journal_evals(out: Path) -> list[dict]:
    lines = (out / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["type"] == "header"
    return [json.loads(line) for line in lines[1:]]


def complete_records(path: Path) -> list[dict]:
    """The newline-terminated lines of a journal, parsed (a line cut off by a kill is left out)."""
    return [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]


def complete_eval_lines(path: Path) -> int:
    """Complete (newline-terminated) evaluation lines in a journal; -1 while there is no header yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return -1
    return data.count(b"\n") - 1


@pytest.fixture(scope="module")
def uninterrupted(c10_csv, tmp_path_factory) -> tuple[dict, list[str]]:
    """summary.json and journal keys of an uninterrupted run."""
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    rc, stdout, err = run_cli(search_args(c10_csv, out))
    assert rc == 0, err
    assert f"evaluations: {BUDGET} (0 replayed from the journal)" in stdout
    summary = json.loads((out / "summary.json").read_text())
    return summary, [Candidate.from_dict(r["candidate"]).key for r in journal_evals(out)]


def test_search_summary_and_resume_of_a_finished_search(c10_csv, tmp_path, uninterrupted):
    summary, keys = uninterrupted
    assert summary["n_evaluations"] == BUDGET and summary["failed"] == 0
    assert summary["objective"] == "test_acc_200ep"
    assert len(keys) == len(set(keys)) == BUDGET
    best = summary["best"]
    assert 90.0 < best["objective"] <= 94.3733
    assert best["objective"] == max(p["objective"] for p in summary["trajectory"])
    # the arch string of the summary names the best candidate
    rc, out, _ = run_cli(["query", "--benchmark", f"csv:{c10_csv}", "--arch", best["arch"], "--json"], cwd=tmp_path)
    assert rc == 0 and json.loads(out)["metrics"]["test_acc_200ep"] == best["objective"]


def test_budget_growth_from_the_command_line(c10_csv, tmp_path, uninterrupted):
    out = tmp_path / "grow"
    rc, stdout, err = run_cli(search_args(c10_csv, out, budget=20))
    assert rc == 0, err
    rc, stdout, err = run_cli(search_args(c10_csv, out, budget=BUDGET))
    assert rc == 0, err
    assert f"evaluations: {BUDGET} (20 replayed from the journal)" in stdout
    assert [Candidate.from_dict(r["candidate"]).key for r in journal_evals(out)] == uninterrupted[1]
    assert json.loads((out / "summary.json").read_text())["best"] == uninterrupted[0]["best"]


def test_killed_search_resumes_to_the_uninterrupted_result(c10_csv, tmp_path, uninterrupted):
    """SIGKILL a real search at several points, rerun it to the end: nothing twice, same best."""
    summary, reference_keys = uninterrupted
    rng = random.Random(1234)
    started = time.monotonic()
    attempt = 0
    while True:  # a fresh folder whenever a run finished before it could be killed 3 times
        attempt += 1
        out = tmp_path / f"killed{attempt}"
        journal = out / "journal.jsonl"
        partial: list[int] = []  # evaluation lines left by each killed run
        lines = -1
        while len(partial) < 4 and time.monotonic() - started < 40:
            done = max(partial, default=0)
            if done + 1 > BUDGET - 2:
                break
            target = rng.randint(done + 1, min(done + 18, BUDGET - 2))
            proc = subprocess.Popen(
                [*cli_command(), *search_args(c10_csv, out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            try:
                while proc.poll() is None and complete_eval_lines(journal) < target:
                    pass  # busy-wait: evaluations take well under a millisecond each
                proc.send_signal(signal.SIGKILL)
            finally:
                _, err = proc.communicate(timeout=30)
            assert b"Traceback" not in err, err.decode()
            if proc.returncode == 0:  # finished before the kill arrived
                lines = complete_eval_lines(journal)
                break
            assert proc.returncode == -signal.SIGKILL
            lines = complete_eval_lines(journal)
            assert lines >= done  # a rerun never loses what a previous run journaled
            if lines >= 0:  # what was journaled before the kill is intact
                records = complete_records(journal)
                assert records[0]["type"] == "header"
                assert [r["n"] for r in records[1:]] == list(range(1, lines + 1))
            if 0 < lines < BUDGET and lines not in partial:
                partial.append(lines)
        if len(set(partial)) >= 3 or time.monotonic() - started >= 40:
            break
    assert len(set(partial)) >= 3, f"could not kill the search at 3 points in time (saw {partial})"

    rc, stdout, err = run_cli(search_args(c10_csv, out))
    assert rc == 0, err
    assert "Traceback" not in err
    evals = journal_evals(out)
    keys = [Candidate.from_dict(r["candidate"]).key for r in evals]
    assert len(evals) == BUDGET, f"{len(evals)} evaluation lines for a budget of {BUDGET}"
    assert len(set(keys)) == len(keys), "a candidate was evaluated twice"
    assert [r["n"] for r in evals] == list(range(1, BUDGET + 1))
    assert keys == reference_keys
    final = json.loads((out / "summary.json").read_text())
    assert final["best"] == summary["best"]
    assert final["n_evaluations"] == BUDGET
    assert f"evaluations: {BUDGET} ({final['replayed_from_journal']} replayed from the journal)" in stdout
    assert final["replayed_from_journal"] == max(lines, 0)  # exactly what the last killed run left
    assert final["evaluated_in_this_run"] == BUDGET - max(lines, 0)
    assert time.monotonic() - started < 60


def test_search_refuses_a_locked_folder(c10_csv, tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    lock = FolderLock(out)
    lock.acquire()
    try:
        rc, stdout, err = run_cli(search_args(c10_csv, out, budget=5))
    finally:
        lock.release()
    assert_usage_error(rc, stdout, err, "another process is running a search in")
    assert not (out / "journal.jsonl").exists()


def test_search_refuses_a_journal_of_another_seed(c10_csv, tmp_path):
    out = tmp_path / "seeded"
    rc, _, err = run_cli(search_args(c10_csv, out, seed=3, budget=5))
    assert rc == 0, err
    before = (out / "journal.jsonl").read_bytes()
    rc, stdout, err = run_cli(search_args(c10_csv, out, seed=4, budget=5))
    assert_usage_error(rc, stdout, err, "belongs to a different search", "seed: journal has 3, now 4")
    assert (out / "journal.jsonl").read_bytes() == before


def test_search_with_a_constraint_and_fixed_recipe(tmp_path):
    out = tmp_path / "analog"
    rc, stdout, err = run_cli(
        [
            "search",
            "-o",
            "rs",
            "--benchmark",
            "nb201-analog",
            "-B",
            "target=int8",
            "--fix-recipe",
            "training=qat",
            "--budget",
            "12",
            "--seed",
            "1",
            "--out",
            str(out),
            "--no-progress",
            "-c",
            "flops <= 100M",
        ]  # fmt: skip
    )
    assert rc == 0, err
    assert "best recipe: training=qat" in stdout
    evals = journal_evals(out)
    assert len(evals) == 12 and {r["candidate"]["recipe"]["training"] for r in evals} == {"qat"}
    from nars_plugin.spaces.nb201 import NB201Space

    space = NB201Space()
    flops = space.statistics([space.candidate(r["candidate"]["arch"]) for r in evals])["flops"]
    assert (flops <= 100e6).all()


# --------------------------------------------------------------------------- #
# Bad input: exit 2, "error:", no traceback
# --------------------------------------------------------------------------- #

A = BEST_C10
B = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
C = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory) -> Path:
    """A three-row NB201 table written by the test (input errors need no real data)."""
    table = tmp_path_factory.mktemp("small") / "small.csv"
    table.write_text(f"nats_index,arch,acc\n6111,{A},94.37\n1651,{B},10.0\n1835,{C},50.0\n")
    return table


def test_unknown_benchmark(tmp_path):
    rc, out, err = run_cli(["query", "--benchmark", "bogus", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "unknown benchmark 'bogus'", "nb201-analog")


def test_unknown_optimizer(small_csv, tmp_path):
    args = search_args(small_csv, tmp_path / "o", budget=5)
    args[args.index("rs")] = "bogus"
    rc, out, err = run_cli(args, cwd=tmp_path)
    assert_usage_error(rc, out, err, "unknown optimizer 'bogus'", "rs")
    assert not (tmp_path / "o" / "journal.jsonl").exists()


def test_unknown_space_and_command(small_csv, tmp_path):
    rc, out, err = run_cli(["query", "-b", f"csv:{small_csv}", "-B", "space=bogus", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "unknown space 'bogus'", "nb201")
    rc, out, err = run_cli(["bogus"], cwd=tmp_path)
    assert_usage_error(rc, out, err, "unknown command")


@pytest.mark.parametrize(
    ("arch", "expected"),
    [
        ("|nor_conv_3x3~0|+|bad|", "found 2 node group(s)"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "input node must be 0"),
        ("", "empty"),
    ],
)
def test_malformed_arch_string(small_csv, tmp_path, arch, expected):
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{small_csv}", "--arch", arch], cwd=tmp_path)
    assert_usage_error(rc, out, err, "invalid NAS-Bench-201 architecture", expected)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--recipe", "training=bogus"], "'bogus' is not a choice of 'training'"),
        (["--recipe", "training=qat"], "'qat' is not a choice of 'training'"),  # not measured on analog_1d
    ],
)
def test_recipe_out_of_range(tmp_path, options, expected):
    rc, out, err = run_cli(["query", "--benchmark", "nb201-analog", "--arch", A, *options], cwd=tmp_path)
    assert_usage_error(rc, out, err, expected, "standard", "analog")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--recipe", "epochs=12"], "unknown recipe parameter(s) ['epochs']"),
        (["--recipe", "training"], "--recipe 'training' is not KEY=VALUE"),
    ],
)
def test_bad_recipe_option(small_csv, tmp_path, options, expected):
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{small_csv}", "--arch", A, *options], cwd=tmp_path)
    assert_usage_error(rc, out, err, expected)


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("flops <= 1", "the smallest flops in space 'nb201' is "),
        ("params >= 1G", "the largest params in space 'nb201' is "),
        ("flops <= lots", "cannot parse constraint 'flops <= lots'"),
        ("latency <= 5", "cannot compute 'latency'"),
    ],
)
def test_bad_or_infeasible_constraint(small_csv, tmp_path, constraint, expected):
    out_dir = tmp_path / "c"
    rc, out, err = run_cli([*search_args(small_csv, out_dir, budget=5), "--constraint", constraint], cwd=tmp_path)
    assert_usage_error(rc, out, err, expected)
    assert not (out_dir / "journal.jsonl").exists()


def test_missing_csv_file_and_folder(tmp_path):
    rc, out, err = run_cli(["query", "--benchmark", "csv:nowhere/table.csv", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "'nowhere/table.csv' does not exist")
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{tmp_path}", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "is not a file")
    rc, out, err = run_cli(["query", "--benchmark", "csv", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "needs a path")


CORRUPT_CSVS = {
    "non-numeric-metric": (f"arch,acc\n{A},93.1\n{B},abc\n", "line 3, column 'acc': 'abc' is not a number"),
    "missing-arch-column": (f"name,acc\n{A},93.1\n", "has no column 'arch'"),
    "duplicate-arch-rows": (f"arch,acc\n{A},93.1\n{B},10\n{A},93.2\n", "line 4: duplicate row"),
    "wrong-field-count": (f"arch,acc\n{A},93.1\n{B},10,11\n", "line 3 has 3 fields, the header has 2"),
    "empty-file": ("", "is empty"),
    "header-only": ("arch,acc\n", "has a header but no rows"),
    "duplicate-columns": (f"arch,acc,acc\n{A},1,2\n", "duplicate column names"),
    "bad-arch-row": (f"arch,acc\n{A},93.1\n|none~0|,5\n", "line 3: invalid NAS-Bench-201 architecture"),
    "infinite-value": (f"arch,acc\n{A},inf\n", "value is infinite"),
    "no-metric-column": (f"arch\n{A}\n", "no metric column"),
    "several-metrics": (f"arch,acc,loss\n{A},1,2\n", "pass --bench-opt objective=NAME"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_CSVS))
def test_corrupt_csv(tmp_path, case):
    text, expected = CORRUPT_CSVS[case]
    table = tmp_path / f"{case}.csv"
    table.write_text(text)
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{table}", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, expected)


def test_csv_that_is_not_text(tmp_path):
    table = tmp_path / "binary.csv"
    table.write_bytes(b"\xff\xfe\x00arch\n")
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{table}", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "is not UTF-8 text")


def test_csv_with_an_empty_metric_column_says_so(tmp_path):
    table = tmp_path / "nan.csv"
    table.write_text(f"arch,acc\n{A},nan\n{B},\n")
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{table}", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err)
    assert "several" not in err and "[]" not in err


@pytest.mark.parametrize("option", ["foo", "=1", "objective"])
def test_bad_bench_opt_syntax(small_csv, tmp_path, option):
    rc, out, err = run_cli(["query", "--benchmark", f"csv:{small_csv}", "-B", option, "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "is not KEY=VALUE")


def test_bad_bench_opt_values(small_csv, tmp_path):
    rc, out, err = run_cli(["query", "-b", f"csv:{small_csv}", "-B", "objective=nope", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "no metric 'nope'", "acc")
    rc, out, err = run_cli(["query", "-b", f"csv:{small_csv}", "-B", "recipe=epochs", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "has no column 'epochs'")
    rc, out, err = run_cli(["query", "-b", "nb201-analog:x", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "takes no ':ARGUMENT'")


def test_unknown_csv_option_is_a_usage_error(small_csv, tmp_path):
    rc, out, err = run_cli(["query", "-b", f"csv:{small_csv}", "-B", "bogus=1", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "bogus")


def test_unknown_analog_option_is_a_usage_error(tmp_path):
    rc, out, err = run_cli(["query", "-b", "nb201-analog", "-B", "targt=int8", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "unknown setting 'targt' for benchmark 'nb201-analog'", "did you mean 'target'?")


def test_unknown_analog_target(tmp_path):
    rc, out, err = run_cli(["query", "-b", "nb201-analog", "-B", "target=bogus", "--arch", A], cwd=tmp_path)
    assert_usage_error(rc, out, err, "benchmark 'nb201-analog' setting target must be one of", "pass target=fp32")
    for target in ("fp32", "int8", "analog_0s", "analog_60s", "analog_1h", "analog_1d", "analog_30d"):
        assert target in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--budget", "0"], "budget must be positive"),
        ([], "a budget needs queries or seconds"),
        (["--budget", "5", "--opt", "foo=1"], "unknown setting 'foo' for optimizer 'nars'"),
        (["--budget", "5", "-o", "rea", "--opt", "populaton=5"], "did you mean 'population'?"),
        (["--budget", "5", "-o", "rea", "--opt", "population=0"], "setting population must be >= 1, got 0"),
        (["--budget", "5", "--fix-recipe", "training"], "is not KEY=VALUE"),
        (["--budget", "5", "--fix-recipe", "training=qat"], "no recipe parameter"),
        (["--budget", "five"], "invalid int value"),
    ],
)
def test_bad_search_options(small_csv, tmp_path, extra, expected):
    args = ["search", "-b", f"csv:{small_csv}", "--out", str(tmp_path / "s"), "--no-progress", *extra]
    rc, out, err = run_cli(args, cwd=tmp_path)
    assert_usage_error(rc, out, err, expected)


def test_missing_required_argument(tmp_path):
    rc, out, err = run_cli(["search", "--budget", "5"], cwd=tmp_path)
    assert_usage_error(rc, out, err, "--out")
    rc, out, err = run_cli(["query"], cwd=tmp_path)
    assert_usage_error(rc, out, err, "--arch")
