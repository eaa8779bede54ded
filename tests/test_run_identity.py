"""Run identity: the space's options (``graph_statistics``, ``dataset``, ``zero_cost``, ...) are part of a
search's identity whether its benchmark is named or given as an object, so a finished run made with
other options is never reused; journals written before the options were recorded still resume under
the default options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import QUICK_PREDICTOR, run_cli

from nars_plugin import create_study
from nars_plugin.errors import JournalError
from nars_plugin.storage import CHECK_FIELD, JOURNAL_NAME, SUMMARY_NAME, chain_check
from nars_plugin.tabular.csv_table import load_csv

QUICK_NARS = "nars(" + ";".join(f"predictor.{k}={v}" for k, v in QUICK_PREDICTOR.items()) + ")"


def _compare(c10_csv: Path, out: Path, *extra: str, optimizers: str = QUICK_NARS) -> tuple[int, str, str]:
    args = ["compare", "-b", f"csv:{c10_csv}", "--optimizers", optimizers, "--seeds", "1", "--budget", "12"]
    return run_cli([*args, "--workers", "1", "--out", out, "--no-progress", *extra], cwd=out.parent, timeout=300)


def test_a_copied_default_nars_run_is_not_reused_under_other_space_options(c10_csv, tmp_path):
    """The regression of issue 25: the copy used to be reported, unevaluated, as the new variant."""
    rc, out, err = _compare(c10_csv, tmp_path / "default")
    assert rc == 0, err
    shutil.copytree(tmp_path / "default", tmp_path / "graph")
    rc, out, err = _compare(c10_csv, tmp_path / "graph", "-B", "graph_statistics=true")
    assert "Traceback" not in out + err
    if rc == 0:  # re-run: every query evaluated afresh, under the new options
        run = json.loads(next((tmp_path / "graph" / "runs").glob("*/seed0/summary.json")).read_text())
        assert run["config"]["space"].get("options", {}).get("graph_statistics") is True, "a finished run was reused"
        assert run["evaluated_in_this_run"] == 12
    else:  # or refused, naming the option
        assert rc == 2 and "graph_statistics" in err, err


def test_a_benchmark_object_with_other_space_options_does_not_resume_a_default_journal(c10_csv, tmp_path):
    study = create_study(load_csv(str(c10_csv)), "rs", budget=5, storage=tmp_path)
    study.optimize()
    identity = json.loads((tmp_path / SUMMARY_NAME).read_text())["config"]
    assert identity["space"]["options"]["graph_statistics"] is False
    with pytest.raises(JournalError, match="graph_statistics"):
        create_study(load_csv(str(c10_csv), graph_statistics=True), "rs", budget=5, storage=tmp_path).optimize()
    with pytest.raises(JournalError, match="dataset"):
        create_study(load_csv(str(c10_csv), dataset="cifar100"), "rs", budget=5, storage=tmp_path).optimize()
    again = create_study(load_csv(str(c10_csv)), "rs", budget=5, storage=tmp_path).optimize()
    assert again.replayed == 5 and again.evaluated_now == 0


def _as_written_before_space_options(folder: Path) -> None:
    """Rewrite a run's journal and summary as a version that did not record space options wrote them."""
    lines = [json.loads(x) for x in (folder / JOURNAL_NAME).read_text().splitlines()]
    del lines[0]["config"]["space"]["options"]
    previous, text = "", ""
    for record in lines:
        record.pop(CHECK_FIELD)
        previous = chain_check(previous, record)
        text += json.dumps({**record, CHECK_FIELD: previous}, sort_keys=True) + "\n"
    (folder / JOURNAL_NAME).write_text(text)
    summary = json.loads((folder / SUMMARY_NAME).read_text())
    del summary["config"]["space"]["options"]
    (folder / SUMMARY_NAME).write_text(json.dumps(summary))


def test_runs_written_before_space_options_resume_under_the_default_options(c10_csv, tmp_path):
    rc, out, err = _compare(c10_csv, tmp_path / "old", optimizers="rs,rea")
    assert rc == 0, err
    runs = sorted((tmp_path / "old" / "runs").glob("*/seed0"))
    for run in runs:
        _as_written_before_space_options(run)
    before = [(run / JOURNAL_NAME).read_bytes() + (run / SUMMARY_NAME).read_bytes() for run in runs]
    rc, out, err = _compare(c10_csv, tmp_path / "old", optimizers="rs,rea")
    assert rc == 0, err
    after = [(run / JOURNAL_NAME).read_bytes() + (run / SUMMARY_NAME).read_bytes() for run in runs]
    assert after == before  # reused as they are: neither re-evaluated nor replayed
    rc, out, err = _compare(c10_csv, tmp_path / "old", "-B", "graph_statistics=true", optimizers="rs,rea")
    assert rc == 2 and "graph_statistics" in err and "Traceback" not in err, err
    # nars search: the journal names its benchmark options, so the same options resume it
    search = ["search", "-b", f"csv:{c10_csv}", "-o", "rs", "--budget", "6", "--no-progress"]
    rc, out, err = run_cli([*search, "-B", "graph_statistics=true", "--out", tmp_path / "s"], cwd=tmp_path)
    assert rc == 0, err
    _as_written_before_space_options(tmp_path / "s")
    rc, out, err = run_cli([*search, "-B", "graph_statistics=true", "--out", tmp_path / "s"], cwd=tmp_path)
    assert rc == 0 and "(6 replayed" in out, err


def test_old_journals_of_evaluators_that_are_no_benchmark_take_their_space_defaults():
    from nars_plugin.assembly import _default_space_options
    from nars_plugin.spaces.nb201 import NB201Space

    assert _default_space_options("train", "nb201") == NB201Space().options()  # a trainer over nb201
    assert _default_space_options("nb201-paper", "nb201")["graph_statistics"] is True  # the benchmark's own
    assert _default_space_options("train", "no-such-space") is None  # unknown: the journal is refused
