"""The NASLib bridge (adapters/nars_naslib).

Tests that need NASLib skip where it is missing, unless ``NARS_REQUIRE_NASLIB=1`` (set by
``.ci/run`` in its NASLib environment, built with ``nars naslib install``), where they fail
instead. The others run everywhere: the plugin's inactive status, the clear errors, the installer's
source handling, and the ``dataset_api`` (which needs no NASLib).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from nars_naslib.dataset_api import make_dataset_api, naslib_dataset_key, nb201_rows

from nars_plugin.comparison import OBJECTIVE_KEY
from nars_plugin.comparison.tasks import RunTask
from nars_plugin.errors import ConfigError, UnknownNameError
from nars_plugin.plugins import get_registry
from nars_plugin.settings import Choice

HAVE_NASLIB = importlib.util.find_spec("naslib") is not None
REQUIRE_NASLIB = os.environ.get("NARS_REQUIRE_NASLIB") == "1"
NO_NASLIB_REASON = "NASLib is not installed (`nars naslib install --source ...`; DEVELOPERS.md)"


def without_naslib(test):
    """A check of the bridge where NASLib is absent: skipped where NASLib is installed, and marked
    ``without_naslib`` so that the NASLib environment deselects it (CI: ``-m 'not slow and not without_naslib'``)."""
    skip = pytest.mark.skipif(HAVE_NASLIB, reason="NASLib is installed here; this checks the bridge without it")
    return pytest.mark.without_naslib(skip(test))


def _naslib():
    """NASLib (imported through the bridge, with its shims); skips where it is missing, fails under require."""
    from nars_naslib._naslib import NASLibMissingError, naslib_module, status

    state = status()
    if state is not None:
        if REQUIRE_NASLIB:
            pytest.fail(f"NARS_REQUIRE_NASLIB=1 but {state[0]} ({state[1]})")
        pytest.skip(NO_NASLIB_REASON if not HAVE_NASLIB else state[0])
    try:
        return naslib_module("")
    except NASLibMissingError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def c10_bench(c10_csv: Path):
    return get_registry().create_benchmark(f"csv:{c10_csv}")


# --------------------------------------------------------------------------- #
# Without NASLib
# --------------------------------------------------------------------------- #


@without_naslib
def test_plugins_lists_the_bridge_inactive_with_reason_and_fix(cli):
    code, out, err = cli(["plugins"])
    assert code == 0, err
    lines = out[out.index("\nnaslib ") + 1 :].splitlines()
    block = [lines[0]] + [line for line in lines[1:4] if line.startswith("  ")]
    assert "(inactive: NASLib is not installed" in block[0]
    fixes = [line for line in block if line.startswith("  fix: ")]
    assert fixes and "`nars naslib install --source ../shared/vendor/naslib/NASLib-Develop-0b51bc1.tar.gz`" in fixes[0]
    assert not any("registered:" in line for line in block)  # an inactive plugin registers nothing


@without_naslib
def test_naslib_optimizer_without_naslib_is_a_clear_error(cli, tmp_path):
    code, out, err = cli(["compare", "-b", "nb201-analog", "--optimizers", "rs,naslib:re", "--out", tmp_path / "c"])
    assert code == 2
    assert "error: optimizer 'naslib:re' comes from plugin 'naslib', which is inactive: NASLib is not installed" in err
    assert "hint:" in err and "nars naslib install --source" in err
    assert "Traceback" not in err
    assert not (tmp_path / "c" / "summary.json").exists()


@without_naslib
def test_naslib_config_runner_without_naslib_is_a_clear_error(cli, tmp_path):
    config = tmp_path / "re.yaml"
    config.write_text("optimizer: re\nsearch:\n  epochs: 5\n")
    code, _, err = cli(["naslib", "--config", config])
    assert code == 2 and "NASLib is not installed" in err and "Traceback" not in err


def test_blocked_bridge_names_the_block(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NARS_BLOCK_PLUGINS", "naslib")
    code, out, _ = cli(["plugins"])
    assert code == 0 and "naslib 0.1.0 (blocked by NARS_BLOCK_PLUGINS)" in out
    code, _, err = cli(["compare", "-b", "nb201-analog", "--optimizers", "naslib:re", "--out", tmp_path / "c"])
    assert code == 2
    assert "'naslib:re' comes from plugin 'naslib', which is blocked by NARS_BLOCK_PLUGINS" in err
    assert "remove 'naslib' from NARS_BLOCK_PLUGINS" in err


def test_unknown_plain_name_still_lists_known_optimizers():
    with pytest.raises(UnknownNameError, match="unknown optimizer 'nope:re'") as info:
        get_registry().get("optimizer", "nope:re")
    assert "known optimizers:" in info.value.hint


def test_dataset_api_holds_exactly_the_table(c10_bench):
    api = make_dataset_api(c10_bench)
    entries = api["nb201_data"]
    assert len(entries) == 15625
    values = c10_bench.values(c10_bench.objective)
    for row in (0, 7, 15624):
        arch = c10_bench.space.format_arch(c10_bench.rows[row])
        entry = entries[arch]["cifar10-valid"]
        assert entry["eval_acc1es"] == [values[row]]
        assert math.isnan(entry["train_acc1es"][-1]) and math.isnan(entry["eval_losses"][-1])
        assert entry["cost_info"]["train_time"] == 0.0
    assert api["nars"]["eval_acc1es"].startswith("benchmark objective 'test_acc_200ep'")
    assert "TEST_ACCURACY" in api["nars"]["eval_acc1es"]


def test_dataset_api_of_a_joint_benchmark_needs_one_recipe():
    bench = get_registry().create_benchmark("nb201-analog", target="int8")
    with pytest.raises(ConfigError, match="recipe parameters \\['training'\\]") as info:
        make_dataset_api(bench)
    assert "qat" in info.value.hint
    api = make_dataset_api(bench, recipe={"training": "qat"})
    rows = nb201_rows(bench, {"training": "qat"})
    arch, row = next(iter(rows.items()))
    assert bench.rows[row].recipe == {"training": "qat"}
    assert api["nb201_data"][arch]["cifar10-valid"]["eval_acc1es"] == [bench.values()[row]]


def test_dataset_keys_follow_naslib():
    assert naslib_dataset_key("cifar10") == "cifar10-valid"
    assert naslib_dataset_key("ImageNet16-120") == "ImageNet16-120"
    with pytest.raises(ConfigError, match="no data set 'svhn'"):
        naslib_dataset_key("svhn")


def test_dataset_api_refuses_another_data_set_than_the_tables(c10_bench):
    for dataset in ("cifar100", "ImageNet16-120"):
        with pytest.raises(ConfigError, match=f"holds cifar10 numbers; NASLib's dataset '{dataset}'") as info:
            make_dataset_api(c10_bench, dataset)
        assert "dataset: cifar10" in info.value.hint


def test_an_api_answers_another_data_set_with_the_same_clear_error(c10_bench):
    """The Python route: an optimizer's ``adapt_search_space`` checks the config's data set against the
    api's table, and a query for another data set (NASLib's own optimizers check nothing) is that error
    too, not NASLib's bare ``KeyError: 'cifar100'``."""
    from nars_naslib.dataset_api import check_api_dataset

    api = make_dataset_api(c10_bench, "cifar10")
    check_api_dataset(api, "cifar10")
    check_api_dataset({"nb201_data": {}}, "cifar100")  # an api made elsewhere (NASLib's own files) passes
    message = re.escape(f"benchmark {c10_bench.name!r} holds cifar10 numbers; NASLib's dataset 'cifar100'")
    with pytest.raises(ConfigError, match=message) as info:
        check_api_dataset(api, "cifar100")
    assert info.value.hint.startswith("set dataset: cifar10 (NASLib config)")
    entry = next(iter(api["nb201_data"].values()))
    assert list(entry) == ["cifar10-valid"]  # NASLib's key for cifar10
    with pytest.raises(ConfigError, match=message):
        entry["cifar100"]  # what NASLib's NB201 query reads for dataset cifar100


def test_a_fidelity_a_table_cannot_answer_is_refused():
    from nars_naslib.dataset_api import check_fidelity

    for ok in (None, -1, 0):
        check_fidelity(ok)
    with pytest.raises(ConfigError, match="search.fidelity 108: a tabular benchmark holds one value") as info:
        check_fidelity(108)
    assert "search.fidelity: -1" in info.value.hint


def test_status_names_a_missing_or_too_new_library(monkeypatch):
    from nars_naslib import _naslib

    if not HAVE_NASLIB:  # without NASLib the first check answers
        assert _naslib.status()[0].startswith("NASLib is not installed")
        return
    assert _naslib.status() is None
    monkeypatch.setitem(_naslib.NASLIB_REQUIREMENTS, "no-such-lib", "no_such_lib")
    reason, fix = _naslib.status()
    assert reason == "NASLib is installed but cannot be imported: it needs no-such-lib"
    assert "pip install no-such-lib" in fix
    monkeypatch.delitem(_naslib.NASLIB_REQUIREMENTS, "no-such-lib")
    monkeypatch.setitem(_naslib.VERSION_CAPS, "numpy", (1, 0))
    reason, fix = _naslib.status()
    assert reason.startswith("NASLib is installed but breaks with numpy 1.") and "'numpy<1.0'" in fix


VENDORED = Path(__file__).resolve().parents[1].parent / "shared" / "vendor" / "naslib" / "NASLib-Develop-0b51bc1.tar.gz"


def _vendored_root(tmp_path: Path) -> Path:
    """The vendored NASLib snapshot unpacked under ``tmp_path`` (skipped where ../shared is absent)."""
    from nars_naslib.install import get_source

    if not VENDORED.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{VENDORED} is absent in CI")
        pytest.skip(f"{VENDORED} is absent (a clone without ../shared)")
    return get_source(str(VENDORED), tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{tmp}/nope.tar.gz", "does not exist"),
        ("{tmp}", "does not hold NASLib's source (no naslib/__init__.py"),
        ("https://example.org/NASLib/", "neither a git URL nor an archive URL"),
    ],
)
def test_install_rejects_a_bad_source_before_touching_the_environment(cli, tmp_path, source, message):
    code, _, err = cli(["naslib", "install", "--source", source.format(tmp=tmp_path)])
    assert code == 2 and message in err and "hint:" in err and "Traceback" not in err


def test_install_and_config_need_their_options(cli):
    code, _, err = cli(["naslib", "install"])
    assert code == 2 and "needs --source" in err
    code, _, err = cli(["naslib"])
    assert code == 2 and "needs --config FILE.yaml (or the action `install`)" in err


def test_installer_finds_naslib_in_the_vendored_snapshot(tmp_path):
    from nars_naslib.install import get_source, naslib_source_version

    root = _vendored_root(tmp_path)
    assert root == tmp_path / "unpacked" / "NASLib"
    assert (root / "naslib" / "optimizers" / "__init__.py").is_file()
    assert naslib_source_version(root) == "0.1.0"
    assert get_source(str(root), tmp_path / "again") == root  # a source folder is used in place
    if shutil.which("git"):  # a git URL (here a local repository) is cloned
        git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
        for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
            subprocess.run([*git, *step], check=True, capture_output=True)
        (tmp_path / "git").mkdir()
        cloned = get_source(f"git+file://{root}", tmp_path / "git")
        assert cloned == tmp_path / "git" / "clone" and (cloned / "naslib" / "__version__.py").is_file()


REPO = Path(__file__).resolve().parents[1]
HOOK_PROBE = """
import collections, sys
hooked = any(type(f).__name__ == "ShimFinder" for f in sys.meta_path)
try:
    import naslib  # fails on NASLib's own imports here (no torch): the shims run before its code
except ImportError:
    pass
print(hooked, hasattr(collections, "Iterable"))
"""


def test_pip_uninstall_naslib_removes_the_import_hook(tmp_path):
    """The installer's hook works in a bare environment and ``pip uninstall naslib`` removes it
    (a throwaway venv: NASLib copied into it as the installer does, uninstalled with pip)."""
    import sys

    from nars_naslib._hook import PTH_NAME
    from nars_naslib.install import _copy_package

    root = _vendored_root(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    site = Path(purelib)
    _copy_package(root, site, "0.1.0", str(VENDORED))
    assert f"{PTH_NAME},," in (site / "naslib-0.1.0.dist-info" / "RECORD").read_text().splitlines()

    def probe(pythonpath: str) -> tuple[str, str]:
        env = {**os.environ, "PYTHONPATH": pythonpath}
        done = subprocess.run([python, "-c", HOOK_PROBE], env=env, capture_output=True, text=True, cwd=tmp_path)
        return done.stdout.strip(), done.stderr

    bridge = f"{REPO}{os.pathsep}{REPO / 'adapters'}"
    assert probe(bridge) == ("True True", "")  # hooked at start; importing naslib applied the shims
    assert probe("") == ("False False", "")  # nars-plugin gone: the .pth line does nothing, says nothing
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "uninstall", "-y", "naslib"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not (site / PTH_NAME).exists() and not (site / "naslib").exists()
    assert not list(site.glob("naslib-*.dist-info"))
    assert probe(bridge) == ("False False", "")


# --------------------------------------------------------------------------- #
# With NASLib
# --------------------------------------------------------------------------- #


def _config(tmp_path: Path, epochs: int, seed: int = 0):
    _naslib()
    from fvcore.common.config import CfgNode

    save = tmp_path / f"run{seed}"
    (save / "search").mkdir(parents=True)
    return CfgNode(
        {
            "dataset": "cifar10",
            "seed": seed,
            "save": str(save),
            "search": {"epochs": epochs, "seed": seed, "checkpoint_freq": 1000},
        }
    )


def _nars_search(tmp_path, bench, api, epochs=15, seed=0):
    from nars_naslib.optimizer import NARS
    from naslib.defaults.trainer import Trainer
    from naslib.search_spaces import NasBench201SearchSpace

    config = _config(tmp_path, epochs, seed)
    optimizer = NARS(config)
    optimizer.adapt_search_space(NasBench201SearchSpace(), dataset_api=api)
    trainer = Trainer(optimizer, config, lightweight_output=True)
    trainer.search()
    return optimizer, trainer


def test_a_script_that_imports_naslib_first_gets_the_shims(tmp_path):
    """Written as NASLib's examples are (NASLib first, no bridge import), in a fresh interpreter of an
    environment `nars naslib install` built; and a bare interpreter start imports neither NASLib nor NumPy."""
    _naslib()
    import sys

    script = (
        "from naslib.defaults.trainer import Trainer\n"
        "from naslib.optimizers import RegularizedEvolution\n"
        "from naslib.predictors import GPPredictor\n"  # GP's WL kernel: collections.Iterable
        "import collections, sys, numpy as np\n"
        "assert collections.Iterable is collections.abc.Iterable and np.int is int\n"
        "print(type(sys.modules['naslib'].__loader__).__name__, 'nars_plugin' in sys.modules)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["SourceFileLoader", "False"]  # NASLib's own loader; no bridge imported
    bare = "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('naslib', 'numpy', 'nars_plugin')))"
    done = subprocess.run([sys.executable, "-c", bare], cwd=tmp_path, capture_output=True, text=True)
    assert (done.stdout.strip(), done.stderr) == ("[]", "")


def test_nars_runs_inside_naslibs_trainer(tmp_path, c10_bench):
    _naslib()
    api = make_dataset_api(c10_bench)
    from naslib.defaults.trainer import Trainer

    optimizer, trainer = _nars_search(tmp_path, c10_bench, api, epochs=15)
    assert len(optimizer.history) == 15 and len(optimizer.inner.history) == 15
    values = c10_bench.values()
    space = c10_bench.space
    for model in optimizer.history:  # what NASLib queried is exactly our table's value
        row = c10_bench.row_of(space.from_naslib(model.arch.get_hash()))
        assert model.accuracy == values[row]
    best = max(m.accuracy for m in optimizer.history)
    evaluated = trainer.evaluate(dataset_api=api)
    if "report_incumbent" in inspect.signature(Trainer.search).parameters:  # Develop returns the queried value
        assert evaluated == best  # NASLib's TEST_ACCURACY reads eval_acc1es: the objective here
    else:  # master logs it and returns nothing
        assert evaluated is None
    trajectory = json.loads((Path(trainer.config.save) / "errors.json").read_text())[1]["valid_acc"]
    assert trajectory == list(np.maximum.accumulate([m.accuracy for m in optimizer.history]))
    # the same seed gives the same search
    again, _ = _nars_search(tmp_path / "again", c10_bench, api, epochs=15)
    assert [m.arch.get_hash() for m in again.history] == [m.arch.get_hash() for m in optimizer.history]


@pytest.mark.parametrize("optimizer", ["nars", "re"])
def test_a_script_with_another_data_set_than_the_table_fails_clearly(tmp_path, c10_bench, optimizer):
    """NARS refuses in ``adapt_search_space``; NASLib's RE (NASLib's code) at its first query."""
    _naslib()
    from nars_naslib.optimizer import NARS
    from nars_naslib.trainer import trainer_config
    from naslib.defaults.trainer import Trainer
    from naslib.optimizers import RegularizedEvolution
    from naslib.search_spaces import NasBench201SearchSpace

    api = make_dataset_api(c10_bench, "cifar10")
    config = trainer_config(tmp_path / "run", epochs=3, dataset="cifar100", optimizer=optimizer, population_size=2)
    search = NARS(config) if optimizer == "nars" else RegularizedEvolution(config)
    with pytest.raises(ConfigError, match="holds cifar10 numbers; NASLib's dataset 'cifar100'"):
        search.adapt_search_space(NasBench201SearchSpace(), dataset_api=api)
        Trainer(search, config, lightweight_output=True).search()


def test_naslib_metrics_read_the_documented_fields(c10_bench):
    _naslib()
    from naslib.search_spaces import NasBench201SearchSpace
    from naslib.search_spaces.core.query_metrics import Metric

    api = make_dataset_api(c10_bench)
    graph = NasBench201SearchSpace()
    graph.set_op_indices([2, 2, 0, 2, 2, 3])
    row = c10_bench.row_of(c10_bench.space.from_naslib((2, 2, 0, 2, 2, 3)))
    assert graph.query(Metric.VAL_ACCURACY, "cifar10", dataset_api=api) == c10_bench.values()[row]
    assert graph.query(Metric.TEST_ACCURACY, "cifar10", dataset_api=api) == c10_bench.values()[row]
    assert math.isnan(graph.query(Metric.TRAIN_ACCURACY, "cifar10", dataset_api=api))
    assert graph.query(Metric.TRAIN_TIME, "cifar10", dataset_api=api) == 0.0


def test_adapt_search_space_rejects_other_spaces(tmp_path):
    _naslib()
    from nars_naslib.optimizer import NARS
    from naslib.search_spaces import NasBench101SearchSpace

    with pytest.raises(ConfigError, match="NasBench201SearchSpace"):
        NARS(_config(tmp_path, 5)).adapt_search_space(NasBench101SearchSpace(), dataset_api={})


def test_compare_puts_naslib_optimizers_in_one_table(cli, tmp_path, c10_csv):
    _naslib()
    out = tmp_path / "cmp"
    specs = "nars,naslib:re,naslib:bananas(num_candidates=10;k=2),naslib:darts"
    args = ["compare", "-b", f"csv:{c10_csv}", "--optimizers", specs, "--seeds", "1", "--budget", "12"]
    code, stdout, err = cli([*args, "--workers", "1", "--out", out, "--no-progress"], timeout=900)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    labels = [label for label in summary if label != OBJECTIVE_KEY]
    assert labels == ["nars", "naslib:re", "naslib:bananas"] == list(summary[OBJECTIVE_KEY]["results"])
    table = (out / "summary.md").read_text()
    for label in labels:
        assert f"| {label} |" in table
    details = json.loads((out / "details.json").read_text())
    best = max(c10_bench_values(c10_csv))
    for label in labels:
        curve = details["mean_curves"][label]
        assert len(curve) == 12 and curve == sorted(curve) and curve[-1] <= best
    # without a GPU here, DARTS is reported, not run, next to its published figure
    if "naslib:darts" in details["not_run"]:
        assert "Not run here: naslib:darts" in table and "54.30" in table
    # run folders are the labels through safe_name: "naslib:re" -> "naslib%3Are"
    run = json.loads((out / "runs" / "naslib%3Are" / "seed0" / "naslib_run.json").read_text())
    assert run["identity"]["optimizer"] == "naslib:re" and len(run["result"]["curve"]) == 12
    # a rerun replays finished NASLib runs instead of searching again
    code, _, err = cli([*args, "--workers", "1", "--out", out, "--no-progress"], timeout=900)
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text()) == summary


def c10_bench_values(c10_csv: Path) -> np.ndarray:
    return get_registry().create_benchmark(f"csv:{c10_csv}").values()


def test_naslib_optimizer_is_not_an_ask_tell_one(cli, tmp_path):
    _naslib()
    code, _, err = cli(["search", "-b", "nb201-analog", "-o", "naslib:re", "--budget", "3", "--out", tmp_path / "s"])
    assert code == 2 and "runs through NASLib's Trainer" in err


def _yaml(tmp_path: Path, optimizer: str, epochs: int = 12) -> Path:
    path = tmp_path / f"{optimizer.replace(':', '_')}.yaml"
    path.write_text(
        f"seed: 1\noptimizer: {optimizer}\nsearch_space: nasbench201\ndataset: cifar10\nout_dir: {tmp_path / 'run'}\n"
        f"search:\n  epochs: {epochs}\n  checkpoint_freq: 1000\n  sample_size: 3\n  population_size: 10\n"
    )
    return path


@pytest.mark.parametrize(
    ("optimizer", "cls"),
    [("re", "RegularizedEvolution"), ("nars", "NARS"), ("rea", "AskTellOptimizer"), ("nars:rs", "AskTellOptimizer")],
)
def test_config_runner_resolves_naslib_and_plugin_optimizers(cli, tmp_path, c10_csv, optimizer, cls):
    _naslib()
    code, out, err = cli(["naslib", "--config", _yaml(tmp_path, optimizer), "-b", f"csv:{c10_csv}"], timeout=600)
    assert code == 0, err
    assert f"optimizer_class: {cls}" in out
    folder = {"nars:rs": "nars%3Ars"}.get(optimizer, optimizer)  # a safe folder name, as nars compare's
    save = tmp_path / "run" / "nasbench201" / "cifar10" / folder / "1"
    assert not [p for p in (tmp_path / "run").rglob("*") if ":" in p.name]
    result = json.loads((save / "nars_result.json").read_text())
    values = c10_bench_values(c10_csv)
    bench = get_registry().create_benchmark(f"csv:{c10_csv}")
    row = bench.row_of(bench.space.from_naslib(result["naslib_tuple"]))
    assert result["report"] == values[row] and result["queries"] == 12
    assert (save / "errors.json").is_file()


def test_naslib_optimizers_warn_when_their_random_start_takes_the_budget(cli, tmp_path, c10_csv):
    """NASLib's RE with its default population (30) in a 20-query search is random search: said on every
    route (nars compare and scripts build the config with search_config, nars naslib --config reads a file)."""
    _naslib()
    from nars_naslib.runner import search_config

    from nars_plugin.optimizers.evolution import PopulationWarning

    with pytest.warns(PopulationWarning, match="NASLib's re draws its first 30 candidates at random") as record:
        search_config("re", 0, 20, "cifar10", tmp_path / "a")
    assert "set population_size (naslib:re(population_size=N) in nars compare" in str(record[0].message)
    with pytest.warns(PopulationWarning, match=r"NASLib's npenas draws its first 10 candidates at random \(its init"):
        search_config("npenas", 0, 10, "cifar10", tmp_path / "b")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PopulationWarning)
        search_config("re", 0, 20, "cifar10", tmp_path / "c", {"population_size": 10})
        search_config("rs", 0, 5, "cifar10", tmp_path / "d")
    config = _yaml(tmp_path, "re", epochs=8)  # population_size 10
    code, _, err = cli(["naslib", "--config", config, "-b", f"csv:{c10_csv}"], timeout=600)
    assert code == 0 and "NASLib's re draws its first 10 candidates at random" in err and "below 8" in err


def test_config_runner_unknown_optimizer_lists_both_kinds(cli, tmp_path, c10_csv):
    _naslib()
    code, _, err = cli(["naslib", "--config", _yaml(tmp_path, "zzz"), "-b", f"csv:{c10_csv}"])
    assert code == 2
    assert "neither NASLib's nor a registered nars-plugin optimizer" in err
    assert "'bananas'" in err and "'rea'" in err


def test_nars_predictor_in_naslibs_predictor_evaluator(tmp_path, c10_bench):
    _naslib()
    from fvcore.common.config import CfgNode
    from nars_naslib.predictor import NARSPredictor
    from naslib.defaults.predictor_evaluator import PredictorEvaluator
    from naslib.search_spaces import NasBench201SearchSpace
    from naslib.utils import set_seed

    config = CfgNode(
        {
            "experiment_type": "single",
            "test_size": 30,
            "train_size_single": 40,
            "train_size_list": [40],
            "fidelity_single": 200,
            "fidelity_list": [200],
            "max_hpo_time": 0,
            "dataset": "cifar10",
            "uniform_random": True,
            "save": str(tmp_path),
            "seed": 0,
            "search": {"seed": 0},
        }
    )
    set_seed(0)
    evaluator = PredictorEvaluator(NARSPredictor(n_models=2), config=config)
    evaluator.adapt_search_space(NasBench201SearchSpace(), load_labeled=False, dataset_api=make_dataset_api(c10_bench))
    results = evaluator.evaluate()
    scores = results[-1]
    assert scores["train_size"] == 40
    assert 0.2 < scores["kendalltau"] <= 1 and 0.3 < scores["spearman"] <= 1


def test_naslib_runs_are_deterministic_per_seed(tmp_path, c10_bench):
    _naslib()
    from nars_naslib.runner import run_query_based

    def run(folder: str, seed: int) -> list[float]:
        settings = {"population_size": 5, "sample_size": 3}  # 10 of the 15 queries are mutants
        task = RunTask(
            benchmark=c10_bench.name,
            bench_options={},
            optimizer="naslib:re",
            label="naslib:re",
            settings=settings,
            seed=seed,
            budget=15,
            budget_seconds=None,
            constraints=(),
            out=str(tmp_path / folder),
        )
        return run_query_based(c10_bench, task)["curve"]

    first = run("a", 3)
    assert len(first) == 15 and first == sorted(first)
    assert run("b", 3) == first
    assert run("c", 4) != first


def test_config_runner_without_naslib_data_says_to_pass_a_benchmark(cli, tmp_path):
    _naslib()
    from nars_naslib.runner import naslib_data_dir

    if (naslib_data_dir() / "nb201_cifar10_full_training.pickle").is_file():
        pytest.skip("NASLib's own NB201 data is installed here")
    code, _, err = cli(["naslib", "--config", _yaml(tmp_path, "re")])
    assert code == 2 and "NASLib's own NB201 data for 'cifar10' is not installed" in err
    assert "--benchmark csv:" in err and "Traceback" not in err


def test_config_runner_refuses_naslibs_fidelity_108_on_a_table(cli, tmp_path, c10_csv):
    _naslib()
    config = _yaml(tmp_path, "rs")
    config.write_text(config.read_text() + "  fidelity: 108\n")
    code, _, err = cli(["naslib", "--config", config, "-b", f"csv:{c10_csv}"])
    assert code == 2 and "search.fidelity 108: a tabular benchmark holds one value per cell" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_config_runner_refuses_a_data_set_the_table_did_not_measure(cli, tmp_path, c10_csv):
    _naslib()
    config = _yaml(tmp_path, "re")
    config.write_text(config.read_text().replace("dataset: cifar10", "dataset: cifar100"))
    code, _, err = cli(["naslib", "--config", config, "-b", f"csv:{c10_csv}"])
    assert code == 2 and "holds cifar10 numbers; NASLib's dataset 'cifar100'" in err and "Traceback" not in err


def test_bridge_predictor_is_the_registered_fbnetv3_with_its_defaults(c10_bench):
    """One default on both routes: NASLib's side (``NARSPredictor`` in a PredictorEvaluator) and ours
    (``nars predictor-eval --predictors fbnetv3``) make the same predictor and predict the same."""
    _naslib()
    from nars_naslib.predictor import NARSPredictor
    from naslib.search_spaces import NasBench201SearchSpace

    from nars_plugin.predictors import create_predictor
    from nars_plugin.predictors.fbnetv3 import PredictorSettings

    registry = get_registry()
    assert NARSPredictor().settings == registry.parse_settings("predictor", "fbnetv3", {})
    assert NARSPredictor().settings["n_models"] == PredictorSettings().n_models
    assert NARSPredictor(n_models="5").settings["n_models"] == 5  # typed by the registry
    with pytest.raises(ConfigError, match="unknown setting 'n_model'") as info:
        NARSPredictor(n_model=5)
    assert "did you mean 'n_models'" in info.value.hint

    quick = {"pretrain": False, "head_steps": 20, "finetune_steps": 20}  # the same quick fit on both routes
    rows = np.random.default_rng(0).permutation(len(c10_bench.rows))
    train, test = rows[:16], rows[16:48]  # NASLib builds a whole NB201 graph per cell: 0.25 s each
    y = c10_bench.values()

    def graph(i: int):
        g = NasBench201SearchSpace()
        g.set_op_indices(list(c10_bench.space.to_naslib(c10_bench.rows[i])))
        return g

    bridge = NARSPredictor(seed=1, **quick)
    bridge.fit([graph(i) for i in train], y[train])
    ours = create_predictor(Choice("fbnetv3", quick), c10_bench.space, 1).fit(
        [c10_bench.rows[i] for i in train], y[train]
    )
    assert np.array_equal(bridge.query([graph(i) for i in test]), ours.predict([c10_bench.rows[i] for i in test]))


@pytest.mark.parametrize("name", ["darts", "gdas"])
def test_one_shot_search_runs_end_to_end_on_synthetic_cifar_shaped_data(tmp_path, c10_bench, name):
    """NASLib's DARTS/GDAS through the bridge's one-shot path (supernet, steps, Trainer) on CPU.

    The data are random images, so the found cell means nothing; a GPU user runs the same path on
    CIFAR-10 with `nars compare --optimizers naslib:darts`.
    """
    _naslib()
    import torch
    from nars_naslib.dataset_api import graph_to_candidate
    from nars_naslib.runner import one_shot_config, search_one_shot, synthetic_cifar_loaders

    torch.set_num_threads(1)
    settings = {"epochs": 1, "batch_size": 4}
    config = one_shot_config(name, 0, "cifar10", tmp_path / name, settings)
    optimizer, seconds = search_one_shot(name, config, synthetic_cifar_loaders(batches=2, batch_size=4))
    assert seconds > 0 and len(optimizer.architectural_weights) == 6  # one alpha vector per NB201 edge
    cand = graph_to_candidate(optimizer.get_final_architecture(), c10_bench.space)
    assert 0 <= c10_bench.row_of(cand) < 15625  # a valid NB201 cell, looked up in our table
    trajectory = json.loads((tmp_path / name / "errors.json").read_text())[1]
    assert len(trajectory["train_acc"]) == 1 and len(trajectory["valid_acc"]) == 1  # one supernet epoch trained


@without_naslib
def test_one_shot_names_on_the_train_evaluator_say_how_to_install_naslib(tmp_path):
    from nars_plugin.assembly import evaluator_target
    from nars_plugin.comparison import compare, split_optimizers

    target, options = evaluator_target("train", "nb201-digits", {"epochs": 1}, {"dataset": "digits"})
    with pytest.raises(UnknownNameError, match="plugin 'naslib', which is inactive") as error:
        compare(target, split_optimizers("rs,naslib:gdas"), 1, None, tmp_path, options, budget_seconds=1.0)
    assert "nars naslib install" in (error.value.hint or "")


@pytest.mark.parametrize("name", ["darts", "gdas"])
def test_one_shot_on_the_train_evaluator_trains_the_derived_cell_end_to_end(tmp_path, name):
    """DARTS/GDAS search the nb201-digits supernet on the digits (one epoch, CPU) through ``nars compare``;
    the derived cell is a valid NB201 cell, trained from scratch by the train evaluator."""
    _naslib()
    pytest.importorskip("timm", reason="the train evaluator needs the imagenet extra: pip install -e '.[imagenet]'")
    from nars_plugin.assembly import evaluator_target
    from nars_plugin.comparison import compare, split_optimizers
    from nars_plugin.spaces.nb201 import parse_arch_string

    target, options = evaluator_target("train", "nb201-digits", {"epochs": 1}, {"dataset": "digits", "test": True})
    spec = f"naslib:{name}(epochs=1;batch_size=64)"
    summary = compare(target, split_optimizers(spec), 1, None, tmp_path, options, budget_seconds=600.0, workers=1)
    run = tmp_path / "runs" / f"naslib%3A{name}" / "seed0"
    saved = json.loads((run / "naslib_run.json").read_text())["result"]
    best = saved["best"]
    assert len(parse_arch_string(best["arch"])) == 6  # a valid NB201 cell
    assert 40 < best["objective"] <= 100 and 40 < best["report"] <= 100  # trained for real: val and test top-1
    assert 0 < saved["supernet_seconds"] < saved["costs"][-1] == saved["seconds"]
    assert summary["results"][f"naslib:{name}"]["600"]["mean"] == best["report"]
    trajectory = json.loads((run / "errors.json").read_text())[1]
    assert len(trajectory["train_acc"]) == 1  # one supernet epoch
    assert summary["cell_ops"][f"naslib:{name}"]["cells"] == [best["arch"]]


def test_the_sized_supernet_has_the_cells_of_the_space(tmp_path):
    _naslib()
    import torch
    from nars_naslib.runner import nb201_supernet, one_shot_config, search_one_shot, supernet_loaders

    torch.set_num_threads(1)
    images = torch.utils.data.TensorDataset(torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,)))
    loaders = supernet_loaders(images, 4, 0.5, seed=0)
    config = one_shot_config("darts", 0, "cifar10", tmp_path, {"epochs": 1})
    optimizer, _ = search_one_shot("darts", config, loaders, nb201_supernet(2, in_channels=1), max_seconds=60)
    mixed = [m for m in optimizer.graph.modules() if type(m).__name__ == "DARTSMixedOp"]
    assert len(mixed) == 3 * 2 * 6  # 3 stages x 2 cells x 6 edges
    with pytest.raises(ConfigError, match="1 to 5 cells per stage"):
        nb201_supernet(6)


def test_query_based_naslib_optimizers_refuse_a_target_that_trains():
    _naslib()
    pytest.importorskip("timm", reason="the train evaluator needs the imagenet extra: pip install -e '.[imagenet]'")
    from nars_plugin.assembly import create_evaluator, optimizer_unavailable

    evaluator = create_evaluator("train", "nb201-digits", {"epochs": 1}, {"workers": 0})
    assert "tabular benchmarks only" in (optimizer_unavailable("naslib:re", evaluator) or "")
    assert optimizer_unavailable("naslib:gdas", evaluator) is None


def _walkthrough_blocks() -> list[tuple[str, str]]:
    """(language, code) of every block after a ``<!-- naslib:walkthrough -->`` marker of the NASLib guide."""
    lines = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "naslib.md").read_text().splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line == "<!-- naslib:walkthrough -->":
            language = lines[i + 1].removeprefix("```")
            end = lines.index("```", i + 2)
            blocks.append((language, "\n".join(lines[i + 2 : end])))
    return blocks


def test_the_naslib_guide_has_four_walkthrough_steps():
    assert [language for language, _ in _walkthrough_blocks()] == ["python", "bash", "bash", "python"]


@pytest.mark.parametrize("step", [0, 1, 2, 3], ids=["trainer", "compare", "config", "predictor-evaluator"])
def test_the_naslib_walkthrough_runs_as_written(tmp_path, c10_csv, step):
    _naslib()
    import sys

    language, code = _walkthrough_blocks()[step]
    code = code.replace("../shared/data/nb201/cifar10_test_acc_200ep.csv", str(c10_csv))
    command = [sys.executable, "-c", code] if language == "python" else ["bash", "-euo", "pipefail", "-c", code]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    if step == 0:
        assert "'report_metric': 'test_acc_200ep'" in done.stdout
        assert (tmp_path / "runs" / "nars-in-naslib" / "search" / "model_final.pth").is_file()
    elif step == 1:
        summary = json.loads((tmp_path / "runs" / "naslib-compare" / "summary.json").read_text())
        labels = ["nars", "naslib:re", "naslib:npenas"]
        assert [label for label in summary if label != OBJECTIVE_KEY] == labels
        assert "| naslib:npenas |" in done.stdout and "candidates at random" not in done.stderr
    elif step == 3:
        lines = [line.split() for line in done.stdout.splitlines() if line.startswith("train size")]
        assert [line[2] for line in lines] == ["20", "50"]
        assert all(0.2 < float(line[-1]) <= 1 for line in lines)  # ranks held-out cells well
        assert (tmp_path / "runs" / "predictor-eval" / "errors.json").is_file()
    else:
        result = json.loads((tmp_path / "runs/naslib-config/nasbench201/cifar10/re/0/nars_result.json").read_text())
        assert result["queries"] == 20 and result["report_metric"] == "test_acc_200ep"
        assert "candidates at random" not in done.stderr  # no PopulationWarning, however printed


# --------------------------------------------------------------------------- #
# NASLib's predictors as registered predictors
# --------------------------------------------------------------------------- #


def test_a_misspelt_naslib_predictor_gets_the_name_it_contains(cli, tmp_path):
    _naslib()
    args = ["search", "-b", "nb201-analog", "-o", "nars", "--budget", "5", "-O", "predictor=naslib:xgboost"]
    code, _, err = cli([*args, "--out", tmp_path])
    assert code == 2 and "unknown predictor 'naslib:xgboost'" in err
    assert "(did you mean 'naslib:xgb'?)" in err and "Traceback" not in err


def test_naslib_predictors_are_registered_and_follow_the_contract(c10_bench):
    """The cheap ones through the predictor conformance checks; every registered one is listed."""
    _naslib()
    from nars_plugin.predictors import create_predictor
    from nars_plugin.testing import PredictorConformance

    registry = get_registry()
    assert {"naslib:xgb", "naslib:lgb", "naslib:ngb", "naslib:gp", "naslib:bananas"} <= set(registry.names("predictor"))
    space = c10_bench.space
    checks = PredictorConformance()
    checks.test_follows_the_predictor_contract(space, lambda seed: create_predictor("naslib:lgb", space, seed))
    checks.test_a_sequence_of_fits_replays_and_reset_starts_afresh(
        space, lambda seed: create_predictor("naslib:lgb", space, seed)
    )
    rows, y = c10_bench.rows, c10_bench.values()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(rows))
    train, test = [rows[i] for i in order[:64]], [rows[i] for i in order[64:364]]
    mean, std = create_predictor("naslib:xgb", space, seed=1).fit(train, y[order[:64]]).predict_mean_std(test)
    again, _ = create_predictor("naslib:xgb", space, seed=1).fit(train, y[order[:64]]).predict_mean_std(test)
    from scipy.stats import kendalltau

    assert np.array_equal(mean, again) and np.all(std == 0), "seeded; an ensemble of one has no spread"
    assert kendalltau(mean, y[order[64:364]]).statistic > 0.2
    with pytest.raises(ConfigError, match="NAS-Bench-201 cells only"):
        create_predictor("naslib:xgb", get_registry().create_benchmark("nb201-analog").space)


def test_nars_searches_with_a_naslib_predictor_and_predictor_eval_ranks_it(tmp_path, c10_csv, cli):
    _naslib()
    search = ["search", "-b", f"csv:{c10_csv}", "-o", "nars", "-O", "predictor=naslib:lgb", "-O", "init_batch=8"]
    code, _, err = cli([*search, "--budget", "18", "--out", tmp_path / "s", "--no-progress"], timeout=600)
    assert code == 0, err
    header = json.loads((tmp_path / "s" / "journal.jsonl").read_text().splitlines()[0])
    assert header["config"]["optimizer"]["settings"]["predictor"] == {"name": "naslib:lgb", "ensemble": "auto"}
    evaluate = ["predictor-eval", "-b", f"csv:{c10_csv}", "--predictors", "naslib:lgb,rf", "--sizes", "16,32"]
    code, out, err = cli(
        [*evaluate, "--seeds", "2", "--test-size", "200", "--out", tmp_path / "p", "--no-progress"], timeout=600
    )
    assert code == 0, err
    report = json.loads((tmp_path / "p" / "predictor.json").read_text())
    assert set(report["results"]) == {"naslib:lgb", "rf"}
    # NASLib's LightGBM keeps its own defaults (e.g. 20 points per leaf), which learn little from 32
    tau = {label: report["results"][label]["32"]["kendall_tau"]["mean"] for label in ("naslib:lgb", "rf")}
    assert np.isfinite(tau["naslib:lgb"]) and tau["rf"] > 0.3, tau
