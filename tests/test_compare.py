"""``nars compare``: specs, the summary files, determinism over worker counts, resuming, errors.

Runs use the embedded ``nb201-analog`` table (no data download) with small budgets; NARS
runs with a small predictor so the tests check the plumbing, not search quality.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nars_plugin.compare import OptimizerSpec, checkpoints, compare, reference_key, split_optimizers
from nars_plugin.errors import ConfigError, UnknownNameError

SMALL_NARS = 'nars(predictor={"n_models": 2, "hidden": 32, "embed": 16, "head_steps": 20, "finetune_steps": 20})'


def test_spec_parsing():
    assert OptimizerSpec.parse("rea") == OptimizerSpec("rea", "rea", {})
    spec = OptimizerSpec.parse("nars-std=nars(fixed_recipe=training=standard;batch=4)")
    assert (spec.label, spec.name) == ("nars-std", "nars")
    assert spec.settings == {"fixed_recipe": "training=standard", "batch": 4}
    with pytest.raises(ConfigError, match="key=value"):
        OptimizerSpec.parse("nars(batch)")
    with pytest.raises(ConfigError, match="cannot parse"):
        OptimizerSpec.parse("a b c")
    parts = split_optimizers("rs, " + SMALL_NARS + ",x=rea(population=5)")
    assert [p.label for p in parts] == ["rs", "nars", "x"]
    assert parts[1].settings["predictor"].startswith("{")


def test_checkpoints():
    assert checkpoints(100) == [10, 25, 50, 100]
    assert checkpoints(12) == [10, 12]
    assert checkpoints(300) == [10, 25, 50, 100, 250, 300]
    assert checkpoints(5) == [5]


@pytest.fixture(scope="module")
def small_comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    specs = split_optimizers(f"rs,rea,{SMALL_NARS}")
    summary = compare("nb201-analog", specs, seeds=2, budget=12, out=out, workers=2, progress=False)
    return out, specs, summary


def test_summary_files(small_comparison):
    out, _, summary = small_comparison
    table = json.loads((out / "summary.json").read_text())
    assert list(table) == ["rs", "rea", "nars"]
    for label, per_budget in table.items():
        assert list(per_budget) == ["10", "12"]
        for stats in per_budget.values():
            assert set(stats) == {"mean", "std", "p_top"}
            assert 10 <= stats["mean"] <= summary["optimum"] and stats["std"] >= 0 and 0 <= stats["p_top"] <= 1
        assert per_budget["12"]["mean"] >= per_budget["10"]["mean"], f"{label}: best-so-far cannot fall"
    details = json.loads((out / "details.json").read_text())
    assert details["config"]["seeds"] == 2 and details["config"]["budget"] == 12
    assert set(details["seconds_per_run"]) == {"rs", "rea", "nars"}
    assert len(details["mean_curves"]["rea"]) == 12
    md = (out / "summary.md").read_text()
    assert "| nars |" in md and "12 queries" in md and "published" not in md
    assert (out / "regret.png").stat().st_size > 5000
    assert len(list((out / "runs").glob("*/seed*/journal.jsonl"))) == 6


def test_rerun_replays_every_run_and_is_independent_of_workers(small_comparison, tmp_path):
    out, specs, first = small_comparison
    again = compare("nb201-analog", specs, seeds=2, budget=12, out=out, workers=1, progress=False)
    assert again["results"] == first["results"]
    fresh = compare("nb201-analog", specs[:2], seeds=2, budget=12, out=tmp_path, workers=1, progress=False)
    for label in ("rs", "rea"):
        assert fresh["results"][label] == first["results"][label], "1 worker and 2 workers must agree"


def test_reference_rows_for_the_cifar10_table(c10_csv, tmp_path):
    from nars_plugin.compare import _benchmark

    spec = f"csv:{c10_csv}"
    assert reference_key(spec, _benchmark(spec, {}), "auto") == "nb201-c10"
    assert reference_key("nb201-analog", _benchmark("nb201-analog", {}), "auto") is None
    with pytest.raises(ConfigError, match="unknown reference"):
        reference_key(spec, _benchmark(spec, {}), "imagenet")
    summary = compare(spec, split_optimizers("rs"), seeds=1, budget=10, out=tmp_path, workers=1, progress=False)
    md = (tmp_path / "summary.md").read_text()
    assert summary["reference"]["key"] == "nb201-c10"
    assert "REA *(published)* | 93.92 ± 0.30" in md and "not our runs" in md


def test_bad_comparisons(tmp_path):
    with pytest.raises(UnknownNameError, match="nope"):
        compare("nb201-analog", split_optimizers("nope"), seeds=1, budget=5, out=tmp_path)
    with pytest.raises(ConfigError, match="seeds"):
        compare("nb201-analog", split_optimizers("rs"), seeds=0, budget=5, out=tmp_path)
    assert not (tmp_path / "summary.json").exists()


def test_cli_compare(cli, tmp_path):
    code, out, err = cli(
        ["compare", "--optimizers", "rs,rea", "--seeds", "2", "--budget", "10", "--out", tmp_path, "--no-progress"]
    )
    assert code == 0, err
    assert "| rea |" in out and (tmp_path / "summary.json").is_file()
    code, _, err = cli(["compare", "--optimizers", "rs,bogus", "--seeds", "1", "--budget", "5", "--out", tmp_path])
    assert code == 2 and "bogus" in err and "Traceback" not in err


def test_constrained_comparison_measures_against_the_feasible_part(tmp_path):
    """Under constraints the optimum and the top-0.1% threshold (p_top) are those of the feasible cells."""
    from nars_plugin.plugins import get_registry

    bench = get_registry().create_benchmark("nb201-analog", target="fp32")
    limit = "flops <= 50M"
    summary = compare(
        "nb201-analog",
        split_optimizers("rs"),
        seeds=2,
        budget=5,
        out=tmp_path,
        constraints=[limit],
        bench_options={"target": "fp32"},
        workers=1,
        progress=False,
    )
    feasible = bench.values()[bench.space.feasible(bench.rows, [limit])]
    k = max(1, int(np.ceil(0.001 * len(feasible))))
    assert summary["optimum"] == pytest.approx(feasible.max())
    assert feasible.max() < bench.values().max(), "the limit should exclude the unconstrained optimum"
    assert summary["top_0.1%_threshold"] == pytest.approx(np.sort(feasible)[::-1][k - 1])
    assert "top 0.1% of the feasible candidates" in (tmp_path / "summary.md").read_text()
