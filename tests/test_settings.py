"""Typed settings (nars_plugin.settings): one declaration drives parsing, errors, listings and identity."""

from __future__ import annotations

import json

import pytest
from conftest import BEST_C10, build_tiny_bench, run_cli

from nars_plugin import settings
from nars_plugin.budget import Budget
from nars_plugin.errors import ConfigError, JournalError
from nars_plugin.optimizers.nars import NARS, NARSSettings
from nars_plugin.plugins import get_registry
from nars_plugin.predictors.ensemble import MEMBER_DEFAULTS
from nars_plugin.predictors.fbnetv3 import PredictorSettings
from nars_plugin.settings import RunContext
from nars_plugin.study import Study
from nars_plugin.tabular.csv_table import CSVSettings

OPTIMIZERS = ("nars", "rea", "rs", "ls", "bananas", "optuna-tpe")
OTHER_C10 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def create(name: str, **values):
    bench = build_tiny_bench()
    return get_registry().create_optimizer(
        name, bench.space, RunContext(objective="acc", budget=Budget(queries=100)), values
    )


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #


def test_unknown_setting_lists_the_valid_ones_with_a_did_you_mean():
    with pytest.raises(ConfigError) as info:
        create("nars", bogus=1)
    assert info.value.message == "unknown setting 'bogus' for optimizer 'nars'"
    for d in settings.declared(NARSSettings):
        assert d.name in info.value.hint
    assert "nars optimizers nars" in info.value.hint and "did you mean" not in info.value.hint
    with pytest.raises(ConfigError, match="unknown setting 'bach'") as info:
        create("nars", bach=3)
    assert info.value.hint.startswith("did you mean 'batch'?")
    with pytest.raises(ConfigError) as info:
        create("rea", tournamnet=2)
    assert info.value.hint.startswith("did you mean 'tournament'?")
    with pytest.raises(ConfigError, match="did you mean 'predictor.n_models'"):
        create("bananas", **{"predictor.n_modles": 2})


def test_bad_flag_names_the_setting_also_inside_the_predictor():
    with pytest.raises(ConfigError, match="optimizer 'nars' setting predictor.pretrain must be true or false") as info:
        create("nars", pretrain="maybe")
    assert info.value.hint == "pass predictor.pretrain=true or predictor.pretrain=false"
    with pytest.raises(ConfigError, match="predictor.pretrain must be true or false, got 'maybe'"):
        create("nars", predictor='{"pretrain": "maybe"}')
    # "false" as text used to reach bool("false") and mean True
    assert create("nars", predictor='{"pretrain": "false"}').predictor.config.pretrain is False
    assert create("nars", pretrain="off").predictor.config.pretrain is False
    assert create("nars", **{"predictor.pretrain": "no"}).predictor.config.pretrain is False
    assert create("nars").predictor.config.pretrain is True


@pytest.mark.parametrize(
    "name, values, message",
    [
        ("nars", {"batch": "abc"}, "setting batch must be an integer >= 1, got 'abc'"),
        ("nars", {"batch": 2.5}, "setting batch must be an integer >= 1, got 2.5"),
        ("nars", {"batch": True}, "setting batch must be an integer >= 1, got True"),
        ("nars", {"explore": "lots"}, "setting explore must be a number >= 0, got 'lots'"),
        ("nars", {"batch": 0}, "setting batch must be >= 1, got 0"),
        ("nars", {"final_fraction": 1}, "setting final_fraction must be in [0, 1), got 1"),
        ("nars", {"trust_tau": "2"}, "setting trust_tau must be in [-1, 1], got '2'"),
        ("rea", {"recipe_mutation_prob": 1.5}, "setting recipe_mutation_prob must be in [0, 1], got 1.5"),
        ("nars", {"local_pick": "greedy"}, "setting local_pick must be one of ['auto', 'predicted', 'random']"),
        (
            "bananas",
            {"predictor": "n_models=2"},
            "setting predictor must name a registered predictor, got 'n_models=2'",
        ),
        ("bananas", {"predictor": '{"n_models": 2'}, "setting predictor '{\"n_models\": 2' is not JSON"),
    ],
)
def test_bad_values_name_the_setting_and_the_type(name, values, message):
    with pytest.raises(ConfigError, match=message.replace("[", "\\[").replace("(", "\\(").replace(")", "\\)")):
        create(name, **values)


def test_text_and_words_become_typed_values():
    opt = create("nars", batch="3", explore="0.5", early_stop_tau="off", init_batch="auto", family="flops<=8;flops<=12")
    assert (opt.config.batch, opt.config.explore, opt.config.early_stop_tau, opt.init_batch) == (3, 0.5, None, 10)
    assert [[c.bound for c in f] for f in opt.family] == [[8], [12]]
    assert create("nars", batch="1e1", early_stop_tau="none").config.batch == 10
    assert create("rea", recipe_mutation_prob="auto").recipe_mutation_prob == 0.5
    assert create("optuna-tpe", multivariate="auto").multivariate is False


def test_cross_field_checks_and_plain_classes_use_the_same_declaration():
    with pytest.raises(ConfigError, match="tournament <= population"):
        create("rea", population=3, tournament=4)
    with pytest.raises(ConfigError, match="unknown setting 'bogus' for optimizer 'nars'"):
        NARS(build_tiny_bench().space, objective="acc", bogus=1)  # without the registry: the same error


def test_cli_errors_exit_2_with_a_hint(tmp_path):
    search = ["search", "-b", "nb201-analog", "--budget", "3", "--out", tmp_path / "x", "--no-progress"]
    cases = [
        (["-o", "nars", "-O", "bogus=1"], "unknown setting 'bogus' for optimizer 'nars'", "valid settings: pool_size"),
        (["-o", "nars", "-O", "pretrain=maybe"], "predictor.pretrain must be true or false", "pretrain=true"),
        (["-o", "rs", "-B", "bogus=1"], "unknown setting 'bogus' for benchmark 'nb201-analog'", "target, dataset"),
        (["-o", "rea", "-O", "population=ten"], "setting population must be an integer >= 1", "population=N"),
    ]
    for extra, message, hint in cases:
        rc, out, err = run_cli([*search, *extra], cwd=tmp_path)
        assert rc == 2 and "error: " in err, err
        assert message in err and "hint:" in err and hint in err and "Traceback" not in err, err
    assert not (tmp_path / "x").exists(), "a bad setting fails before anything is written"
    compare = ["compare", "-b", "nb201-analog", "--optimizers", "nars(bogus=1),rs", "--seeds", "1", "--budget", "3"]
    rc, out, err = run_cli([*compare, "--out", tmp_path / "c", "--no-progress"], cwd=tmp_path)
    assert rc == 2 and "error: unknown setting 'bogus' for optimizer 'nars'" in err and "hint:" in err, err


# --------------------------------------------------------------------------- #
# listings
# --------------------------------------------------------------------------- #


def _rows(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}


def test_listing_of_one_optimizer_shows_every_setting(tmp_path):
    rc, out, err = run_cli(["optimizers", "nars"], cwd=tmp_path)
    assert rc == 0, err
    rows = _rows(out)
    for d in settings.declared(NARSSettings):
        row = rows[d.name]
        assert settings.type_text(d) in row and d.spec.doc in row
    for d in settings.declared(PredictorSettings):
        assert f"predictor.{d.name}" in rows and d.spec.doc in rows[f"predictor.{d.name}"]
    assert "auto" in rows["init_batch"] and " auto " in rows["batch"] and " 5 " in rows["predictor.n_models"]
    assert " lgbm " in rows["companion"] and "companion.rounds" in rows
    assert "journal resumes only under the same --budget" in out
    rc, out, _ = run_cli(["optimizers", "n*"], cwd=tmp_path)  # a pattern: the one-line list as before
    assert rc == 0 and out.startswith("nars ") and "pool_size" not in out
    rc, out, _ = run_cli(["optimizers"], cwd=tmp_path)
    assert all(f"{name} " in out for name in OPTIMIZERS) and "pool_size" not in out


def test_listing_of_the_csv_benchmark_shows_every_option(tmp_path):
    rc, out, err = run_cli(["benchmarks", "csv"], cwd=tmp_path)
    assert rc == 0, err
    rows = _rows(out)
    for d in settings.declared(CSVSettings):
        assert settings.type_text(d) in rows[d.name] and d.spec.doc in rows[d.name]
    assert " arch " in rows["arch_column"] and "passed on to the space" in out
    for name in ("ignore", "arch_column", "report"):
        assert name in rows


def test_every_builtin_entry_declares_its_settings():
    registry = get_registry()
    for kind, names in (("optimizer", OPTIMIZERS), ("benchmark", ("nb201-analog", "csv", "nats", "nb201-paper"))):
        for name in names:
            assert settings.is_declaration(registry.get(kind, name).settings), (kind, name)
    for name in ("nb201-schedule", "nb201-latency", "fcnet"):
        assert registry.get("benchmark", name).settings is not None
    assert settings.describe(None) == ["settings: not declared (passed to the factory as given)"]


# --------------------------------------------------------------------------- #
# identity
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_identity_comes_from_the_declaration(name):
    opt = create(name)
    identity = opt.settings()
    declared = settings.identity(opt.config)
    assert {k: v for k, v in identity.items() if k != "budget"} == declared
    assert [d.name for d in settings.declared(type(opt).Settings)] == list(declared)
    assert json.loads(json.dumps(identity)) == identity
    assert ("budget" in identity) == (name == "nars")


def test_nars_companion_is_a_predictor_choice_that_none_turns_off():
    default = create("nars")
    assert default.config.companion.name == "lgbm" and [m.name for m in default.model.members] == ["fbnetv3", "lgbm"]
    companion = default.model.members[1]
    assert {k: getattr(companion.config, k) for k in MEMBER_DEFAULTS["lgbm"]} == MEMBER_DEFAULTS["lgbm"]
    tuned = create("nars", **{"companion.rounds": 30, "companion.screen_rounds": "all"})
    assert tuned.model.members[1].config.rounds == 30 and tuned.model.members[1].config.screen_rounds is None
    assert tuned.settings()["companion"]["rounds"] == 30
    assert create("nars", companion="rf").model.members[1].name == "rf"
    alone = create("nars", companion="none")
    assert alone.config.companion is None and alone.model is alone.predictor
    assert alone.settings()["companion"] == "none"
    assert create("nars", predictor="lgbm").model.name == "lgbm"  # the companion is the predictor: one model
    with pytest.raises(ConfigError, match="companion is none, yet its settings \\['rounds'\\] are given") as info:
        create("nars", companion="none", **{"companion.rounds": 30})
    assert "name a predictor as companion" in info.value.hint
    with pytest.raises(ConfigError, match="companion.roundz"):
        create("nars", **{"companion.roundz": 30})


def test_identity_records_what_the_user_set_not_the_budget_derived_value():
    small, large = create("nars"), build_tiny_bench()
    assert small.settings()["init_batch"] == "auto" and small.init_batch == 10
    bigger = get_registry().create_optimizer(
        "nars", large.space, RunContext(objective="acc", budget=Budget(queries=300))
    )
    assert bigger.init_batch == 30 and bigger.settings()["init_batch"] == "auto"
    assert create("nars", init_batch=12).settings()["init_batch"] == 12
    assert create("rea").settings()["recipe_mutation_prob"] == "auto"


def test_nars_refuses_another_budget_and_says_why(tmp_path):
    bench = build_tiny_bench()

    def run(queries: int, name: str = "nars"):
        budget = Budget(queries=queries)
        opt = get_registry().create_optimizer(name, bench.space, RunContext(objective="acc", budget=budget))
        return Study(bench, opt, budget, out_dir=tmp_path / name, progress=False).run()

    run(4)
    with pytest.raises(JournalError, match="optimizer.settings.budget: journal has '4 queries") as info:
        run(6)
    assert "nars lays out its rounds" in str(info.value) and "resumes only under the same budget" in str(info.value)
    run(4, "rea")
    assert run(6, "rea").n_evaluations == 6  # REA's plan does not depend on the budget: a larger one continues


# --------------------------------------------------------------------------- #
# csv options
# --------------------------------------------------------------------------- #


def _csv_with_names(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text(f"arch,acc,name,notes\n{BEST_C10},94.37,best,top\n{OTHER_C10},80.5,other,x\n", encoding="utf-8")
    return path


def test_csv_text_column_is_named_and_can_be_ignored(tmp_path):
    path = _csv_with_names(tmp_path)
    registry = get_registry()
    with pytest.raises(Exception) as info:
        registry.create_benchmark(f"csv:{path}")
    assert "column 'name'" in info.value.message and "-B ignore=name" in info.value.hint
    bench = registry.create_benchmark(f"csv:{path}", ignore="name,notes")
    assert bench.objective == "acc" and set(bench.columns) == {"acc"}
    assert registry.create_benchmark(f"csv:{path}", ignore=["name", "notes"]).objective == "acc"
    with pytest.raises(Exception, match="has no column 'nope'"):
        registry.create_benchmark(f"csv:{path}", ignore="name,notes,nope")
    rc, out, err = run_cli(["query", "-b", f"csv:{path}", "-B", "ignore=name,notes", "--arch", BEST_C10], cwd=tmp_path)
    assert rc == 0 and "acc: 94.37" in out, err
    rc, out, err = run_cli(["query", "-b", f"csv:{path}", "--arch", BEST_C10], cwd=tmp_path)
    assert rc == 2 and "column 'name'" in err and "-B ignore=name" in err, err


def test_csv_options_for_the_space_are_checked_by_both_declarations(tmp_path):
    path = _csv_with_names(tmp_path)
    registry = get_registry()
    bench = registry.create_benchmark(f"csv:{path}", ignore="name,notes", graph_statistics="true")
    assert "paths" in bench.space.statistic_names
    with pytest.raises(ConfigError, match="unknown setting 'ignroe' for benchmark 'csv'") as info:
        registry.create_benchmark(f"csv:{path}", ignroe="name")
    assert info.value.hint.startswith("did you mean 'ignore'?") and "graph_statistics" in info.value.hint
    with pytest.raises(ConfigError, match="space 'nb201' setting graph_statistics must be true or false"):
        registry.create_benchmark(f"csv:{path}", ignore="name,notes", graph_statistics="perhaps")


def test_a_declared_setting_without_a_default_is_named():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class NoDefault:
        steps: int

    with pytest.raises(TypeError, match=r"NoDefault\.steps has no default"):
        settings.declared(NoDefault)
