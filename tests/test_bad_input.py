"""Bad input gets a clear error or warning that names the problem and the fix, never a traceback:
tables with missing values, output folders that cannot be written, API arguments of the wrong type
(hints in the caller's words), a constraint given as one string, a malformed suite file; and result
files get the permissions the umask gives (collaborators can read them)."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from nars_plugin import compare, create_study
from nars_plugin._safe_files import atomic_write
from nars_plugin.comparison.suite import load_suite
from nars_plugin.errors import ConfigError
from nars_plugin.tabular.csv_table import MissingValuesWarning, load_csv

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]


def _table(tmp_path: Path, acc: list[str], other: list[str]) -> Path:
    path = tmp_path / "holes.csv"
    rows = [f"{a},{x},{y}" for a, x, y in zip(ARCHS, acc, other)]
    path.write_text("arch,acc,latency_note\n" + "\n".join(rows) + "\n")
    return path


def test_missing_cells_warn_at_load_with_count_column_and_fix(tmp_path):
    path = _table(tmp_path, ["94.4", "", "nan", "50"], ["1", "", "3", "4"])
    with pytest.warns(MissingValuesWarning) as caught:
        load_csv(str(path), objective="acc")
    text = str(caught[0].message)
    assert "3 metric cell(s) are empty or NaN" in text
    assert "2 in 'acc' (the objective)" in text and "1 in 'latency_note'" in text
    assert "ignore=latency_note" in text and "-B" not in text  # Python wording for a Python caller


def test_a_search_over_missing_cells_says_how_many_evaluations_failed(c10_csv, tmp_path):
    lines = c10_csv.read_text().splitlines()
    holes = [line if i % 2 else line.rsplit(",", 1)[0] + "," for i, line in enumerate(lines[1:])]
    (tmp_path / "holes.csv").write_text("\n".join([lines[0], *holes]) + "\n")
    search = ["search", "-b", "csv:holes.csv", "-o", "rs", "--budget", "30", "--out", "o", "--no-progress"]
    rc, out, err = run_cli(search, cwd=tmp_path)
    assert rc == 0, err
    assert "warning: holes.csv: 7813 metric cell(s) are empty or NaN (7813 in 'test_acc_200ep' (the objective))" in err
    assert "fill them in, or remove those rows" in err
    assert "warning: 14 of 30 evaluations failed: 14 x objective 'test_acc_200ep' is not finite (nan)" in err
    assert "Traceback" not in err and "UserWarning" not in err


@contextlib.contextmanager
def _read_only_mount(folder: Path):
    """A read-only tmpfs at ``folder`` holding an empty folder ``old`` (root may write anywhere else,
    whatever the mode bits say)."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        (folder / "old").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def _unwritable(kind: str, tmp_path: Path, stack: contextlib.ExitStack) -> tuple[Path, str]:
    """An output folder that cannot be written, and what the error says about it."""
    if kind == "file":
        (tmp_path / "taken").write_text("a file")
        return tmp_path / "taken", "is a file, not a folder"
    if kind == "under-a-file":
        (tmp_path / "taken").write_text("a file")
        return tmp_path / "taken" / "run", "is a file, not a folder"
    if kind == "sysfs":
        return Path("/sys/nars-test-out"), "cannot write to the output folder"
    mount = stack.enter_context(_read_only_mount(tmp_path / "ro"))
    return mount / ("run" if kind == "read-only-fs" else "old"), "Read-only file system"


@pytest.mark.parametrize("kind", ["file", "under-a-file", "sysfs", "read-only-fs", "existing-on-read-only-fs"])
def test_an_unwritable_out_is_a_clear_error(kind, tmp_path):
    with contextlib.ExitStack() as stack:
        out, expected = _unwritable(kind, tmp_path, stack)
        rc, stdout, err = run_cli(["search", "-o", "rs", "--budget", "3", "--out", out], cwd=tmp_path)
        assert rc == 2 and "Traceback" not in stdout + err, err
        assert "error: cannot " in err and str(out) in err and expected in err and "hint: give --out" in err
        rc, stdout, err = run_cli(["compare", "--optimizers", "rs", "--seeds", "1", "--budget", "3", "--out", out])
        assert rc == 2 and "Traceback" not in stdout + err and str(out) in err, err
        with pytest.raises(ConfigError, match=expected) as caught:
            create_study("nb201-analog", "rs", budget=3, storage=out).optimize()
        assert "storage=" in caught.value.hint and "--" not in caught.value.hint


@pytest.mark.parametrize(
    ("arguments", "message", "hint"),
    [
        ({"budget": "10"}, "budget must be a whole number of evaluations, got '10' (str)", "budget=N"),
        ({"budget": 2.5}, "budget must be a whole number of evaluations, got 2.5 (float)", "budget=N"),
        ({"budget": True}, "budget must be a whole number", "budget=N"),
        ({"budget_seconds": "5"}, "budget_seconds must be a number of seconds, got '5' (str)", "budget_seconds=S"),
        ({"budget": 0}, "budget must be positive", "budget=N with N >= 1"),
        ({}, "a budget needs queries or seconds", "pass budget=N or budget_seconds=S"),
        ({"budget": 5, "seed": "0"}, "seed must be a non-negative integer, got '0'", "seed=0"),
        ({"budget": 5, "seed": 1.5}, "seed must be a non-negative integer, got 1.5", "seed=0"),
        ({"budget": 5, "constraints": 5}, "constraints must be a list of strings, got int 5", "constraints=["),
    ],
)
def test_api_arguments_of_the_wrong_type_get_api_wording(arguments, message, hint):
    with pytest.raises(ConfigError) as caught:
        create_study("nb201-analog", "rs", **arguments)
    assert message in caught.value.message
    assert hint in caught.value.hint and "--" not in caught.value.hint


def test_the_command_line_keeps_its_flag_wording(tmp_path):
    rc, out, err = run_cli(["search", "-o", "rs", "--budget", "0", "--out", "o"], cwd=tmp_path)
    assert rc == 2 and "budget must be positive" in err and "--budget N with N >= 1" in err, err
    rc, out, err = run_cli(["search", "-o", "rs", "--out", "o"], cwd=tmp_path)
    assert rc == 2 and "pass --budget N or --budget-seconds S" in err, err


def test_one_constraint_string_is_one_constraint(tmp_path):
    study = create_study("nb201-analog", "rs", budget=3, constraints="flops <= 100M")
    assert [str(c) for c in study.optimizer.constraints] == ["flops <= 100000000.0"]
    summary = compare("nb201-analog", "rs", seeds=1, budget=3, constraints="flops <= 100M", out=tmp_path, workers=1)
    assert "rs" in summary


def test_a_malformed_suite_file_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text('[[benchmark]]\nbenchmark = "nb201-analog"\nbudget 100\n')
    with pytest.raises(ConfigError) as caught:
        load_suite(path)
    assert "line 3" in caught.value.message and "column" in caught.value.message
    assert "[[benchmark]]" in caught.value.hint and "key = value" in caught.value.hint
    rc, out, err = run_cli(["suite", "--suite", path, "--out", tmp_path / "o"], cwd=tmp_path)
    assert rc == 2 and "line 3" in err and "hint:" in err and "Traceback" not in err, err


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_result_files_get_the_permissions_of_the_umask(umask, tmp_path):
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.txt", "x")
        create_study("nb201-analog", "rs", budget=3, storage=tmp_path / "run").optimize()
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    for path in [tmp_path / "new.txt", *(tmp_path / "run").glob("*.*")]:
        assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))
    (tmp_path / "new.txt").chmod(0o640)  # an existing file keeps its mode, as open() keeps it
    atomic_write(tmp_path / "new.txt", "y")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_registry_hints_name_python_arguments_in_python_and_flags_under_nars(tmp_path):
    with pytest.raises(ConfigError, match="takes no ':ARGUMENT'") as caught:
        create_study("nb201-analog:x", "rs", budget=3)
    assert caught.value.hint == "use 'nb201-analog'"
    rc, out, err = run_cli(["search", "-b", "nb201-analog:x", "-o", "rs", "--budget", "3", "--out", "o"], cwd=tmp_path)
    assert rc == 2 and "hint: use --benchmark nb201-analog" in err, err
