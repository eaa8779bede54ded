"""Corrupt or foreign state, through real ``nars search`` processes.

Two searches started on one folder (the second is refused while the first carries on, untouched),
journals of other configurations (space, seed, optimizer settings, benchmark options) refused with a
message naming the difference, and a journal whose last line was cut off resumed with a warning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, run_cli

from nars_plugin._isolation import EVALUATION_DELAY_ENV, EVALUATION_LOG_ENV


def search(out: Path, *extra: str, budget: int = 12, seed: int = 1) -> list[str]:
    return [
        "search",
        "-o",
        "rs",
        "--budget",
        str(budget),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def records(out: Path) -> list[dict]:
    lines = (out / "journal.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in ("time", "check")} for x in lines[1:]]


@pytest.mark.slow
def test_a_second_process_on_the_same_folder_is_refused_and_the_first_is_untouched(tmp_path):
    reference = tmp_path / "reference"
    assert run_cli(search(reference, "-o", "rea"))[0] == 0

    out, log = tmp_path / "run", tmp_path / "evaluations.log"
    env = {**os.environ, EVALUATION_DELAY_ENV: "2.0", EVALUATION_LOG_ENV: str(log)}
    first = subprocess.Popen(
        [sys.executable, "-m", "nars_plugin.cli", *search(out, "-o", "rea")],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not log.exists() and time.time() < deadline:  # the first search is evaluating
        time.sleep(0.01)
    assert first.poll() is None, "the first search ended before the second could start"
    refused = [run_cli(search(out, "-o", "rea")) for _ in range(2)]
    assert first.poll() is None, "the first search ended while the second was starting; raise the delay"
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    for code, _, err in refused:
        assert code == 2 and err.startswith("error: another process is running a search in") and "Traceback" not in err
    assert records(out) == records(reference)  # nothing of the second process got in
    assert len(log.read_text().splitlines()) == 12  # and it evaluated nothing


@pytest.mark.parametrize(
    ("first", "second", "difference"),
    [
        (["-o", "rs"], ["-o", "rs", "--seed", "2"], "seed: journal has 1, now 2"),
        (["-o", "rea"], ["-o", "rea", "-O", "population=5"], "optimizer"),
        pytest.param(["-o", "rea"], ["-o", "rs"], "optimizer", marks=pytest.mark.slow),
        (["-o", "rs"], ["-o", "rs", "--fix-recipe", "training=standard"], "space"),
        pytest.param(["-o", "rs"], ["-o", "rs", "-B", "target=int8"], "benchmark_options", marks=pytest.mark.slow),
        pytest.param(["-o", "rs"], ["-o", "rs", "-c", "flops <= 100M"], "constraints", marks=pytest.mark.slow),
    ],
)
def test_a_journal_of_another_configuration_is_refused(tmp_path, first, second, difference):
    out = tmp_path / "run"
    assert run_cli(search(out, *first))[0] == 0
    before = (out / "journal.jsonl").read_bytes()
    code, stdout, err = run_cli(search(out, *second))
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith("error: ") and "belongs to a different search" in err and difference in err, err
    assert "hint: rerun with the journal's settings" in err
    assert (out / "journal.jsonl").read_bytes() == before and "best arch" not in stdout


def test_a_journal_from_before_a_setting_existed_names_the_version_as_the_cause(tmp_path):
    """A journal whose header lacks a setting the optimizer has since gained (written by an older
    nars-plugin) cannot be resumed with "the journal's settings": the error says what happened."""
    out = tmp_path / "run"
    assert run_cli(search(out, "-o", "rea"))[0] == 0
    lines = (out / "journal.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    del header["config"]["optimizer"]["settings"]["tournament_replace"]
    (out / "journal.jsonl").write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    code, _, err = run_cli(search(out, "-o", "rea"))
    assert code == 2 and "Traceback" not in err, err
    assert "written by an older nars-plugin, before optimizer.settings.tournament_replace existed" in err, err
    assert "hint: resume it with the nars-plugin version that wrote it, or choose another --out folder" in err


def test_a_cut_off_last_line_is_repaired_with_a_warning(tmp_path):
    reference, out = tmp_path / "reference", tmp_path / "run"
    assert run_cli(search(reference, "-o", "ls"))[0] == 0
    assert run_cli(search(out, "-o", "ls", budget=6))[0] == 0
    journal = (out / "journal.jsonl").read_bytes()
    (out / "journal.jsonl").write_bytes(journal[:-25])  # the sixth record loses its end, as in a crash
    code, stdout, err = run_cli(search(out, "-o", "ls"))
    assert code == 0 and "dropped a truncated last line" in err and "Traceback" not in err
    assert "evaluations: 12 (5 replayed from the journal)" in stdout
    assert records(out) == records(reference)
