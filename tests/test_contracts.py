"""Contracts an outsider can follow (issue 26): space options on the command line, cache answers
for canonical duplicates in the journal, and table statistics over distinct architectures."""

from __future__ import annotations

import json

import pytest


def test_space_options_on_the_command_line(cli, c10_csv, tmp_path):
    """``--space-option/-S KEY=VALUE`` (repeatable) reaches the space of a benchmark that passes options on."""
    out = tmp_path / "s"
    args = ["search", "-b", f"csv:{c10_csv}", "-S", "graph_statistics=true", "-S", "dataset=cifar100"]
    code, _, err = cli([*args, "-o", "rs", "--budget", "3", "--out", out, "--no-progress"])
    assert code == 0, err
    options = json.loads((out / "summary.json").read_text())["config"]["space"]["options"]
    assert options["graph_statistics"] is True and options["dataset"] == "cifar100"


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["-S", "colour=red"], "unknown setting 'colour'", "graph_statistics"),
        (["-S", "dataset=cifar10", "-B", "dataset=cifar100"], "dataset given both as --bench-opt and as", "once"),
        (["-S", "graph_statistics"], "--space-option 'graph_statistics' is not KEY=VALUE", "name=value"),
    ],
)
def test_bad_space_options_are_clear_errors(cli, c10_csv, tmp_path, args, message, hint):
    code, _, err = cli(
        ["query", "-b", f"csv:{c10_csv}", *args, "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    )
    assert code == 2 and "Traceback" not in err, err
    assert f"error: {message}" in err and hint in err.split("hint:")[1]


def test_a_benchmark_with_its_own_space_refuses_space_options(cli, tmp_path):
    code, _, err = cli(["search", "-b", "nb201-analog", "-S", "zero_cost=synflow", "--budget", "2", "--out", tmp_path])
    assert code == 2 and "benchmark 'nb201-analog' builds its own space and takes no --space-option" in err
    assert "--bench-opt" in err
    code, _, err = cli(["search", "-e", "train", "-S", "x=1", "--budget", "2", "--out", tmp_path])
    assert code == 2 and "error: --space-option needs --space" in err
