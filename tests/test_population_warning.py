"""A population (random first batch) as large as the budget turns an evolution into random search: warned."""

from __future__ import annotations

import warnings

import pytest

from nars_plugin import create_study
from nars_plugin.optimizers.evolution import PopulationWarning, warn_if_population_fills_budget


def test_rea_warns_when_its_population_takes_the_whole_budget(c10_csv):
    bench = f"csv:{c10_csv}"
    with pytest.warns(PopulationWarning, match="rea draws its first 10 candidates at random") as record:
        study = create_study(bench, "rea", budget=8, seed=0, progress=False)
    assert len(record) == 1
    message = str(record[0].message)
    assert "the budget is 8 queries" in message and "this search is a random search" in message
    assert "set population (settings={'population': N}) below 8" in message
    study.optimize()
    assert study.optimizer.last_parent is None  # indeed nothing was mutated
    with warnings.catch_warnings():
        warnings.simplefilter("error", PopulationWarning)
        create_study(bench, "rea", budget=11, seed=0, progress=False)  # one mutation: no warning
        create_study(bench, "rea", budget=8, seed=0, settings={"population": 4}, progress=False)
        assert not warn_if_population_fills_budget("rea", 10, None, "population")  # a budget of seconds only


def test_nars_search_cli_shows_the_warning(cli, c10_csv, tmp_path):
    code, _, err = cli(["search", "-b", f"csv:{c10_csv}", "-o", "rea", "--budget", "5", "--out", tmp_path / "r"])
    assert code == 0 and "warning: rea draws its first 10 candidates at random" in err
    assert "set -O population=N below 5" in err


@pytest.mark.parametrize(
    ("optimizer", "first", "settings", "what"),
    [("nars", 8, {}, "its round-0 Sobol batch"), ("bananas", 10, {}, "its initial design")],
)
def test_predictor_searches_warn_when_their_first_batch_takes_the_whole_budget(
    c10_csv, optimizer, first, settings, what
):
    bench = f"csv:{c10_csv}"
    with pytest.warns(PopulationWarning, match=rf"{optimizer} draws its first {first} candidates at random \({what}\)"):
        create_study(bench, optimizer, budget=first, seed=0, progress=False, settings=settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PopulationWarning)
        create_study(bench, optimizer, budget=first + 1, seed=0, progress=False, settings=settings)
