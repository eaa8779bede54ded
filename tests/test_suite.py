"""``nars suite``: suite files, running a set of comparisons, the leaderboard and its statistics.

Suites here are made of the embedded ``nb201-analog`` table under several deployment targets (no
data download), with quick optimizers and small budgets: the tests check the plumbing and the
leaderboard's arithmetic against the comparisons' own summaries.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import listening_addresses, run_cli

import nars_plugin
from nars_plugin._ray_cluster import LOOPBACK
from nars_plugin.comparison import parse_seeds, seed_counts, split_optimizers
from nars_plugin.comparison.leaderboard import leaderboard, normalised_regret, read_comparison
from nars_plugin.comparison.suite import SuiteEntry, default_suite, load_suite, run_suite, select
from nars_plugin.errors import ConfigError, UnknownNameError

TARGETS = ("fp32", "int8", "analog_0s", "analog_1h", "analog_1d")


def five_targets(budget: int = 15) -> list[SuiteEntry]:
    return [SuiteEntry(t, "nb201-analog", budget=budget, options={"target": t}) for t in TARGETS]


def write_suite(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A suite of five benchmarks x rs, rea, ls x 3 seeds, run once for the tests that read it."""
    out = tmp_path_factory.mktemp("suite")
    board = run_suite(five_targets(), split_optimizers("rs,rea,ls"), 3, out, workers=1, progress=False)
    return out, board


def test_the_leaderboard_is_the_comparisons_arithmetic(finished):
    """Normalised regret is (optimum - mean best) / (optimum - median) of each comparison, at the
    fraction's budget point (here the objective is the report metric: tests/test_leaderboard.py has
    them apart); ranks are per benchmark (1 = least regret) and averaged."""
    out, board = finished
    assert board["benchmarks"] == list(TARGETS) and board["optimizers"] == ["rs", "rea", "ls"]
    for bench in TARGETS:
        summary = json.loads((out / bench / "summary.json").read_text())
        details = json.loads((out / bench / "details.json").read_text())
        optimum, median = details["optimum"], details["median"]
        assert median < optimum
        for label in ("rs", "rea", "ls"):
            for fraction, budget in (("100%", "15"), ("50%", None)):
                # 50% of 15 queries: the 8th query of the mean curve
                mean = details["mean_curves"][label][7] if budget is None else summary[label][budget]["mean"]
                expected = (optimum - mean) / (optimum - median)
                assert board["normalised_regret"][bench][fraction][label] == pytest.approx(expected)
            seconds, queries = details["seconds_per_run"][label]["mean"], details["queries_per_run"][label]["mean"]
            assert queries == 15 and seconds > 0
            assert board["seconds_per_100_queries"][bench][label] == pytest.approx(100 * seconds / queries)
        for fraction in board["fractions"]:
            ranks = board["ranks"][fraction][bench]
            assert sum(ranks.values()) == pytest.approx(6.0)  # ranks 1..3, ties sharing their mean
            regret = board["normalised_regret"][bench][fraction]
            best = min(regret, key=regret.get)
            assert ranks[best] == min(ranks.values())
    for fraction in board["fractions"]:
        average = board["average_rank"][fraction]
        assert sum(average.values()) == pytest.approx(6.0)  # 1 + 2 + 3 on every benchmark
        for label in ("rs", "rea", "ls"):
            assert average[label] == pytest.approx(np.mean([board["ranks"][fraction][b][label] for b in TARGETS]))


def test_the_suite_writes_its_reports_with_a_friedman_test(finished):
    out, board = finished
    for name in ("leaderboard.json", "leaderboard.md", "rank-vs-budget.png", "cd-50.png", "cd-100.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "rank-vs-budget.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    test = board["tests"]["100%"]
    assert test["omnibus"] == "friedman" and test["posthoc"] == "nemenyi" and 0 <= test["p_value"] <= 1
    assert test["critical_difference"] > 0
    assert test["mean_ranks"] == pytest.approx(board["average_rank"]["100%"])  # autorank agrees with ours
    saved = json.loads((out / "leaderboard.json").read_text())
    assert saved["average_rank"] == board["average_rank"] and saved["not_run"] == {}
    text = (out / "leaderboard.md").read_text()
    assert "Average rank" in text and "friedman test p =" in text and "| fp32 |" in text
    assert "wall seconds per 100 queries" in text and "| mean |" in text


def test_a_rerun_reuses_every_run_and_gives_the_same_board_on_more_workers(finished, tmp_path):
    out, board = finished
    journals = {p: p.read_bytes() for p in out.rglob("journal.jsonl")}
    assert len(journals) == 5 * 3 * 3
    again = run_suite(five_targets(), split_optimizers("rs,rea,ls"), 3, out, workers=2, progress=False)
    assert {p: p.read_bytes() for p in out.rglob("journal.jsonl")} == journals  # nothing evaluated again
    assert again["normalised_regret"] == board["normalised_regret"]
    fresh = run_suite(five_targets(), split_optimizers("rs,rea,ls"), 3, tmp_path / "w2", workers=2, progress=False)
    assert fresh["normalised_regret"] == board["normalised_regret"]


def test_optimizers_can_run_different_numbers_of_seeds_reusing_the_runs_there(finished, tmp_path):
    """``{"*": 3, "ls": 2}``: ls is averaged over its seeds 0 and 1 (the runs already there), the others over 3."""
    import shutil

    out = tmp_path / "fewer"
    shutil.copytree(finished[0], out)
    journals = {p: p.read_bytes() for p in out.rglob("journal.jsonl")}
    board = run_suite(five_targets(), split_optimizers("rs,rea,ls"), {"*": 3, "ls": 2}, out, workers=2, progress=False)
    assert {p: p.read_bytes() for p in out.rglob("journal.jsonl")} == journals  # nothing evaluated again
    assert board["config"]["seeds"] == {"*": 3, "ls": 2} and board["optimizers"] == ["rs", "rea", "ls"]
    details = json.loads((out / "int8" / "details.json").read_text())
    assert details["seeds_per_optimizer"] == {"rs": 3, "rea": 3, "ls": 2} and details["seeds"] == 3
    best = [json.loads((out / "int8" / "runs" / "ls" / f"seed{k}" / "summary.json").read_text()) for k in (0, 1)]
    mean = np.mean([run["trajectory"][-1]["best_report"] for run in best])
    assert json.loads((out / "int8" / "summary.json").read_text())["ls"]["15"]["mean"] == pytest.approx(mean)
    assert "(mean ± std over 3 seeds (ls 2))" in (out / "int8" / "summary.md").read_text()
    assert board["normalised_regret"]["int8"]["100%"]["rs"] == finished[1]["normalised_regret"]["int8"]["100%"]["rs"]


def test_seed_counts_are_read_and_checked():
    specs = split_optimizers("nars,rea,hebo")
    assert parse_seeds("10") == 10 and parse_seeds(" 10 , hebo=5") == {"*": 10, "hebo": 5}
    assert seed_counts(specs, parse_seeds("10,hebo=5")) == {"nars": 10, "rea": 10, "hebo": 5}
    assert seed_counts(specs, 4) == {"nars": 4, "rea": 4, "hebo": 4}
    for text, message in (("ten", "cannot read seed count 'ten'"), ("10,hebo=5,hebo=6", "gives hebo twice")):
        with pytest.raises(ConfigError, match=message):
            parse_seeds(text)
    for seeds, message in (
        ({"*": 10, "smac": 5}, "seed counts for optimizers not compared: smac"),
        ({"hebo": 5}, "no seed count for 'nars'"),
        (0, "seeds: the count of 'nars' must be an integer >= 1, not 0"),
        ({"*": 3, "rea": 2.5}, "seeds: the count of 'rea' must be an integer >= 1, not 2.5"),
    ):
        with pytest.raises(ConfigError, match=message):
            seed_counts(specs, seeds)


def test_a_benchmark_that_cannot_run_here_is_named_not_fatal(tmp_path):
    entries = [
        *five_targets(10)[:2],
        SuiteEntry("missing-table", f"csv:{tmp_path}/absent.csv", budget=10),
        SuiteEntry("unknown", "no-such-benchmark", budget=10),
    ]
    board = run_suite(entries, split_optimizers("rs,rea,ls"), 2, tmp_path / "out", workers=1, progress=False)
    assert board["benchmarks"] == ["fp32", "int8"]
    assert "absent.csv" in board["not_run"]["missing-table"] and "no-such-benchmark" in board["not_run"]["unknown"]
    assert "needs 3 optimizers and 5 benchmarks" in board["tests"]["100%"]["skipped"]
    assert not (tmp_path / "out" / "cd-100.png").exists()
    with pytest.raises(ConfigError, match="no benchmark of the suite could run here"):
        run_suite(entries[2:], split_optimizers("rs"), 1, tmp_path / "none", workers=1, progress=False)
    with pytest.raises(UnknownNameError, match="unknown optimizer"):  # not taken for a benchmark that cannot run
        run_suite(entries, split_optimizers("rs,nope"), 1, tmp_path / "typo", workers=1, progress=False)


def test_an_optimizer_missing_from_a_benchmark_is_not_ranked(finished):
    out, _ = finished
    comparisons = {b: read_comparison(out / b) for b in TARGETS}
    del comparisons["int8"]["mean_curves"]["ls"]
    board = leaderboard(comparisons)
    assert board["optimizers"] == ["rs", "rea"] and board["partial"] == ["ls"]


def test_suite_files_are_read_and_checked(tmp_path):
    good = write_suite(
        tmp_path / "ok.toml",
        """
[[benchmark]]
label = "c10"
benchmark = "csv:{data}/nb201/cifar10_test_acc_200ep.csv"
budget = 100

[[benchmark]]
benchmark = "nb201-latency"
options = { device = "pixel3" }
constraints = ["latency[pixel3] <= 5"]
budget_seconds = 3000
""",
    )
    entries = load_suite(good, data_dir=tmp_path / "data")
    assert entries[0] == SuiteEntry("c10", f"csv:{tmp_path / 'data'}/nb201/cifar10_test_acc_200ep.csv", budget=100)
    assert entries[1].label == "nb201-latency" and entries[1].options == {"device": "pixel3"}
    assert entries[1].constraints == ("latency[pixel3] <= 5",) and entries[1].budget_seconds == 3000
    bad = {
        "[[benchmark]]\nbenchmark = 'x'\n": "has no budget",
        "[[benchmark]]\nbenchmark = 'x'\nbudget = -3\n": "budget must be a positive number",
        "[[benchmark]]\nbenchmark = 'x'\nbudget = 5\nseeds = 3\n": "unknown key(s) seeds",
        "[[benchmark]]\nbudget = 5\n": 'has no benchmark = "NAME"',
        "[benchmarks]\nx = 1\n": "must hold [[benchmark]] tables only (found benchmarks)",
        "[[benchmark]\n": "is not valid TOML",
        "[[benchmark]]\nbenchmark = 'x'\nbudget = 5\n[[benchmark]]\nbenchmark = 'x'\nbudget = 6\n": "used twice: x",
    }
    for text, message in bad.items():
        with pytest.raises(ConfigError, match=None) as info:
            load_suite(write_suite(tmp_path / "bad.toml", text))
        assert message in info.value.message, (text, info.value.message)
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(tmp_path / "absent.toml")


def test_the_default_suite_and_selecting_from_it():
    entries = default_suite("/data")
    labels = [e.label for e in entries]
    assert labels[:5] == ["nb201-c10", "nb201-paper", "nb201-analog-1d", "nb201-latency-pixel3-5ms", "nb201-schedule"]
    assert len([label for label in labels if label.startswith("fcnet-")]) == 4
    assert entries[0].benchmark == "csv:/data/nb201/cifar10_test_acc_200ep.csv"
    assert {e.label: e.budget_seconds for e in entries if e.budget_seconds} == {
        "nb201-paper": 12000,
        "nb201-schedule": 30000,
    }
    assert [e.label for e in select(entries, ["nb201-paper"])] == ["nb201-paper"]
    with pytest.raises(ConfigError, match="no benchmark 'nope'"):
        select(entries, ["nope"])


def test_an_old_comparison_folder_is_named_with_the_fix(tmp_path):
    (tmp_path / "details.json").write_text(json.dumps({"optimum": 1.0, "curve_x": [1], "mean_curves": {}}))
    with pytest.raises(ConfigError, match="lacks median") as info:
        read_comparison(tmp_path)
    assert "rerun the same `nars compare` command" in info.value.hint
    with pytest.raises(ConfigError, match="does not exist"):
        read_comparison(tmp_path / "absent")
    flat = {"benchmark": "flat", "metric": "m", "optimum": 1.0, "median": 1.0, "curve_x": [1.0]}
    flat["mean_curves"] = {"rs": [1.0]}
    with pytest.raises(ConfigError, match="does not record the objective's optimum and median"):
        normalised_regret(flat, 1.0)
    flat["objective_reference"] = {"metric": "m", "optimum": 1.0, "median": 1.0, "reachable_optimum": 1.0}
    with pytest.raises(ConfigError, match="the best objective equals its median"):
        normalised_regret(flat, 1.0)


def test_the_python_api_and_the_command_line_agree(tmp_path):
    suite_file = write_suite(
        tmp_path / "s.toml",
        "".join(
            f'[[benchmark]]\nlabel = "{t}"\nbenchmark = "nb201-analog"\noptions = {{ target = "{t}" }}\nbudget = 10\n\n'
            for t in TARGETS
        ),
    )
    board = nars_plugin.suite(
        "rs,rea,ls", benchmarks=suite_file, seeds={"*": 2, "ls": 1}, out=tmp_path / "api", workers=1, progress=False
    )
    code, stdout, err = run_cli(
        [
            "suite",
            "--suite",
            suite_file,
            "--optimizers",
            "rs,rea,ls",
            "--seeds",
            "2,ls=1",
            "--out",
            tmp_path / "cli",
            "--workers",
            "1",
            "--no-progress",
        ],
        timeout=300,
    )
    assert code == 0, err
    assert json.loads((tmp_path / "cli" / "leaderboard.json").read_text())["average_rank"] == board["average_rank"]
    assert "# Leaderboard: 5 benchmarks, 3 optimizers" in stdout and "cd-100.png" in stdout
    code, stdout, _ = run_cli(["suite", "--suite", suite_file, "--only", "fp32,int8", "--list"])
    assert code == 0 and stdout.splitlines() == [
        "fp32: nb201-analog -B target=fp32, 10 queries",
        "int8: nb201-analog -B target=int8, 10 queries",
    ]
    assert len(list((tmp_path / "cli" / "fp32" / "runs" / "ls").iterdir())) == 1
    code, _, err = run_cli(["suite", "--suite", suite_file, "--optimizers", "rs"])
    assert code == 2 and "needs --out" in err and "Traceback" not in err
    code, _, err = run_cli(["suite", "--optimizers", "rs", "--seeds", "2,rea=x", "--out", tmp_path / "bad"])
    assert code == 2 and "cannot read seed count 'rea=x'" in err and "10,hebo=5" in err and "Traceback" not in err
    code, _, err = run_cli(
        ["suite", "--optimizers", "rs", "--seeds", "2,rea=1", "--only", "nb201-analog-1d"] + ["--out", tmp_path / "bad"]
    )
    assert code == 2 and "seed counts for optimizers not compared: rea" in err and "Traceback" not in err


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_small_suite_as_ray_tasks_on_a_local_ray_instance_gives_the_same_numbers(finished, tmp_path):
    """`nars suite --executor ray --address HOST:PORT` against a Ray instance started with `ray start`."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    pytest.importorskip("ray", reason="Ray is the `ray` extra")
    out, board = finished
    ray_cli = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    # bound to the loopback address only: Ray's CLI turns --node-ip-address=127.0.0.1 into the
    # machine's outward address unless its single-machine switch (named for Windows and macOS) is set
    head = subprocess.Popen(
        [
            ray_cli,
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--node-ip-address={LOOPBACK}",
        ],  # fmt: skip
        env={**env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(8)  # the head's processes come up
        assert head.poll() is None, "ray start --head failed"
        assert listening_addresses([head.pid]) == {LOOPBACK}
        suite_file = tmp_path / "small.toml"
        entry = (
            '[[benchmark]]\nlabel = "{0}"\nbenchmark = "nb201-analog"\nbudget = 15\noptions = {{ target = "{0}" }}\n'
        )
        suite_file.write_text("".join(entry.format(t) for t in TARGETS))
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nars_plugin.cli",
                "suite",
                "--suite",
                str(suite_file),
                "--optimizers",
                "rs,rea,ls",
                "--seeds",
                "3",
                "--out",
                str(tmp_path / "ray"),
                "--no-progress",
                "--executor",
                "ray",
                "--address",
                f"{LOOPBACK}:{port}",
            ],
            env={**env, "NARS_BLOCK_PLUGINS": "imagenet,naslib"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        head.terminate()  # --block: stopping the head's process stops the instance it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
    ray_board = json.loads((tmp_path / "ray" / "leaderboard.json").read_text())
    assert ray_board["normalised_regret"] == json.loads(json.dumps(board["normalised_regret"]))
    local = {p.relative_to(out): p.read_bytes() for p in out.rglob("trajectory.csv")}
    remote = {p.relative_to(tmp_path / "ray"): p.read_bytes() for p in (tmp_path / "ray").rglob("trajectory.csv")}
    assert len(local) == 45 and remote == local


def test_a_loopback_address_counts_as_loopback_only_where_something_listens():
    """Ray rewrites 127.0.0.1 into the outward address; connect keeps it where a cluster listens there."""
    import socket

    from nars_plugin._ray_cluster import listens_on_loopback

    with socket.socket() as server:
        server.bind((LOOPBACK, 0))
        server.listen()
        port = server.getsockname()[1]
        assert listens_on_loopback(f"127.0.0.1:{port}") and listens_on_loopback(f"localhost:{port}")
        assert not listens_on_loopback(f"192.0.2.1:{port}") and not listens_on_loopback("127.0.0.1:auto")
    assert not listens_on_loopback(f"127.0.0.1:{port}")  # closed: Ray's own resolution applies


def test_an_unknown_executor_or_an_address_without_ray_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown executor 'dask'"):
        run_suite(five_targets(5)[:1], split_optimizers("rs"), 1, tmp_path, workers=1, progress=False, executor="dask")
    with pytest.raises(ConfigError, match="^address is the Ray cluster's address") as info:
        run_suite(five_targets(5)[:1], split_optimizers("rs"), 1, tmp_path, workers=1, progress=False, address="h:1")
    assert "executor='ray'" in info.value.hint  # Python's words for a Python caller (nars says --executor ray)
