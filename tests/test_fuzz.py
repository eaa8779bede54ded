"""Property-based fuzzing (hypothesis) of everything a user types or hands over.

Targets: architecture strings, recipe values, constraint expressions, command lines (run in
process through :func:`nars_plugin.cli.main`), CSV data files, and journals cut off at any byte.
The property is always the same: a bad input raises a :class:`~nars_plugin.errors.NarsError` (the CLI
prints ``error: ...`` and exits 2, with no traceback and no ``summary.json``), a good one works.
No YAML is read anywhere in the project, so there is no YAML target.

Example counts come from the hypothesis profile ``NARS_FUZZ_PROFILE`` (``ci``: small, the default;
``reliability``: the committed report's run). With ``NARS_FUZZ_COUNTS=FILE`` the cases run and the
bad inputs among them are written to ``FILE`` per target (``benchmarks/reliability`` reads it).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import string
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import pytest
from conftest import TinySpace, build_tiny_bench
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nars_plugin import cli
from nars_plugin.budget import Budget
from nars_plugin.errors import NarsError
from nars_plugin.optimizers import RandomSearch
from nars_plugin.space import Categorical, Constraint, Float, Integer
from nars_plugin.spaces.nb201 import OPS, index_to_arch_string
from nars_plugin.study import JOURNAL_NAME, SUMMARY_NAME, JournalWarning, Study
from nars_plugin.tabular.csv_table import load_csv

settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("reliability", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("NARS_FUZZ_PROFILE", "ci"))

#: target -> Counter("cases", "bad"): examples run, and how many of them were bad inputs
COUNTS: dict[str, Counter[str]] = {}


def count(target: str, bad: bool) -> None:
    entry = COUNTS.setdefault(target, Counter())
    entry["cases"] += 1
    entry["bad"] += int(bad)


@pytest.fixture(scope="module", autouse=True)
def write_counts():
    yield
    path = os.environ.get("NARS_FUZZ_COUNTS")
    if path:
        Path(path).write_text(json.dumps({k: dict(v) for k, v in sorted(COUNTS.items())}, indent=2) + "\n")


VALID_ARCH = index_to_arch_string(1234)
JUNK = st.text(alphabet=string.printable + "~|+=,\x00é∞", max_size=40)


def nb201_space():
    from nars_plugin.plugins import get_registry

    return get_registry().create_space("nb201")


NB201 = nb201_space()
TINY = TinySpace()
# a space with every parameter kind in its recipe
MIXED = TINY.with_recipe(
    [Categorical("epochs", (12, 200)), Integer("batch", 16, 512), Float("lr", 1e-4, 1.0, log=True)], name="mixed"
)

# --------------------------------------------------------------------------- #
# Architecture strings
# --------------------------------------------------------------------------- #

_ARCH_TOKENS = st.sampled_from([*OPS, "|", "+", "~", "0", "1", "2", "3", "-1", " ", "", "conv", "~~", "||"])


@st.composite
def nb201_like(draw) -> str:
    """Strings near the NB201 syntax: a valid string with tokens changed, or tokens glued together."""
    if draw(st.booleans()):
        text = index_to_arch_string(draw(st.integers(0, 15624)))
        for _ in range(draw(st.integers(0, 3))):
            i = draw(st.integers(0, len(text)))
            j = draw(st.integers(i, min(len(text), i + 12)))
            text = text[:i] + draw(st.one_of(_ARCH_TOKENS, JUNK)) + text[j:]
        return text
    return "".join(draw(st.lists(_ARCH_TOKENS, max_size=30)))


@given(text=st.one_of(nb201_like(), JUNK))
def test_fuzz_nb201_arch_strings(text):
    try:
        cand = NB201.candidate(text)
    except NarsError as exc:
        assert exc.message and exc.hint, exc
        count("arch_strings", bad=True)
        return
    count("arch_strings", bad=False)
    assert NB201.parse_arch(NB201.format_arch(cand)) == dict(cand.arch)  # what was accepted is a real cell


@given(text=st.one_of(JUNK, st.builds(lambda a, b: f"{a}={b}", JUNK, JUNK)))
def test_fuzz_generic_arch_strings(text):
    try:
        cand = TINY.candidate(text)
    except NarsError:
        count("arch_strings", bad=True)
        return
    count("arch_strings", bad=False)
    assert TINY.validate(cand) == cand


# --------------------------------------------------------------------------- #
# Recipe values
# --------------------------------------------------------------------------- #

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    JUNK,
    st.lists(st.integers(), max_size=3),
    st.sampled_from([12, 200, "12", "200", 16, 512, 1e-4, 1.0, "standard", "qat", "analog", 0.5]),
)


@given(recipe=st.dictionaries(st.sampled_from(["epochs", "batch", "lr", "training", "x", ""]), ANY_VALUE, max_size=4))
def test_fuzz_recipe_values(recipe):
    arch = {"op1": "a", "op2": "b", "width": 2}
    try:
        cand = MIXED.candidate(arch, recipe)
    except NarsError as exc:
        assert exc.message, exc
        count("recipe_values", bad=True)
        return
    count("recipe_values", bad=False)
    assert cand.recipe["epochs"] in (12, 200)
    assert 16 <= cand.recipe["batch"] <= 512 and isinstance(cand.recipe["batch"], int)
    assert 1e-4 <= cand.recipe["lr"] <= 1.0 and math.isfinite(cand.recipe["lr"])


# --------------------------------------------------------------------------- #
# Constraint expressions
# --------------------------------------------------------------------------- #


@st.composite
def constraint_text(draw) -> str:
    metric = draw(st.sampled_from(["flops", "params", "latency[gpu]", "acc", "", "1flops", "fl ops", "flops[]"]))
    op = draw(st.sampled_from(["<=", "<", ">=", ">", "==", "=", "=<", "!", ""]))
    value = draw(
        st.one_of(
            st.sampled_from(["100M", "1e3", "5k", "nan", "inf", "-5", "1e400", "abc", "", "0.5G", "3T", "--1"]),
            st.floats(allow_nan=True).map(repr),
            st.integers(-(10**12), 10**12).map(str),
        )
    )
    spaces = draw(st.sampled_from(["", " ", "  "]))
    return f"{metric}{spaces}{op}{spaces}{value}"


@given(text=st.one_of(constraint_text(), JUNK))
def test_fuzz_constraint_expressions(text):
    try:
        constraint = Constraint.parse(text)
        TINY.check_satisfiable([text])
    except NarsError as exc:
        assert exc.message and exc.hint, exc
        count("constraints", bad=True)
        return
    count("constraints", bad=False)
    assert constraint.metric in TINY.statistic_names and not math.isnan(constraint.bound)


# --------------------------------------------------------------------------- #
# Command lines, run in process
# --------------------------------------------------------------------------- #


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


OPTION_VALUES = st.sampled_from(["1", "3", "0", "-2", "abc", "", "1e3", "nan", "inf", "x=y", "=", "2.5", "None"])
SEARCH_OPTIONS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["--budget", "--seed", "--budget-seconds", "--eval-timeout"]), OPTION_VALUES),
        st.tuples(st.just("--optimizer"), st.sampled_from(["rs", "rea", "ls", "bananas", "nope", "", "RS"])),
        st.tuples(
            st.just("--opt"),
            st.sampled_from(
                [
                    "population=abc",
                    "population=-1",
                    "population=0",
                    "tournament=99",
                    "init=x",
                    "num_candidates=-1",
                    "acquisition=3",
                    "kappa=x",
                    "first_improvement=maybe",
                    "predictor=[1,2]",
                    "predictor={bad json",
                    "recipe_mutation_prob=2",
                    "nope=1",
                    "=3",
                    "population",
                ]
            ),
        ),
        st.tuples(
            st.just("--bench-opt"),
            st.sampled_from(["target=zzz", "target=fp32", "dataset=cifar100", "nope=1", "target", "=x"]),
        ),
        st.tuples(
            st.just("--benchmark"), st.sampled_from(["nb201-analog", "nope", "csv", "csv:", "nats:/nonexistent"])
        ),
        st.tuples(st.just("--constraint"), st.one_of(constraint_text(), JUNK)),
        st.tuples(st.just("--fix-recipe"), st.sampled_from(["training=standard", "training=zzz", "x", "a=1,b"])),
    ),
    max_size=4,
)


@settings(max_examples=settings.default.max_examples // 2 or 1)
@given(options=SEARCH_OPTIONS, junk=st.lists(JUNK, max_size=2))
def test_fuzz_search_command_line(options, junk):
    folder = Path(tempfile.mkdtemp(prefix="nars-fuzz-"))
    try:
        argv = ["search", "-o", "rs", "--out", str(folder / "out"), "--no-progress", "--budget", "3"]
        for flag, value in options:
            argv += [flag, value]
        assume(not any(j.startswith("-") for j in junk))  # e.g. "-h" would print help, "--ou" move --out
        argv += junk
        code, _, stderr = run_main(argv)
        assert "Traceback" not in stderr, stderr
        assert code in (0, 1, 2), (argv, code, stderr)
        summary = folder / "out" / SUMMARY_NAME
        if code == 2:
            assert "error" in stderr, (argv, stderr)
            assert not summary.exists(), f"a failed run left {summary}"
        else:
            assert summary.exists()
        count("cli_search", bad=code == 2)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@given(
    command=st.sampled_from(["query", "compare", "predictor-eval", "spaces", "nope", ""]),
    args=st.lists(
        st.one_of(
            st.sampled_from(["--arch", "--recipe", "--fidelity", "--json", "--benchmark", "-b", "--seeds", "--sizes"]),
            st.sampled_from([VALID_ARCH, "training=qat", "training=zzz", "-1", "abc", "5", "nb201-analog", "1,x"]),
            JUNK,
        ),
        max_size=6,
    ),
)
def test_fuzz_other_command_lines(command, args):
    # compare and predictor-eval get no --out (nor an abbreviation of it), so only their checks run
    assume(not any(a.startswith(("--o", "-h", "--h")) for a in args))
    code, _, stderr = run_main([command, *args] if command else args)
    assert "Traceback" not in stderr, stderr
    assert code in (0, 1, 2), (command, args, code)
    if code == 2:
        assert "error" in stderr, stderr
    count("cli_other", bad=code == 2)


# --------------------------------------------------------------------------- #
# CSV data files
# --------------------------------------------------------------------------- #

CELL = st.one_of(
    st.integers(0, 15624).map(index_to_arch_string),
    nb201_like(),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "NA", "abc", "1e400", "-0", "93.5", "12", "200", '"quoted, comma"', "1,2"]),
    JUNK,
)
COLUMNS = st.lists(
    st.sampled_from(["arch", "acc", "loss", "epochs", "cost", "index", "", "arch ", "Arch", "x"]), max_size=5
)


@st.composite
def near_valid_table(draw) -> str:
    """A valid NB201 table (arch, acc, epochs, cost) with zero to two defects."""
    indices = draw(st.lists(st.integers(0, 15624), min_size=1, max_size=6, unique=True))
    header = ["arch", "acc"]
    rows = [[index_to_arch_string(i), f"{(i * 37) % 1000 / 10:.1f}"] for i in indices]
    if draw(st.booleans()):  # a recipe column (the options name it) and a cost column
        header += ["epochs", "cost"]
        rows = [r + [draw(st.sampled_from(["12", "200"])), str(i % 7)] for r, i in zip(rows, indices)]
    for _ in range(draw(st.integers(0, 2))):
        defect = draw(st.sampled_from(["drop-column", "extra-column", "bad-value", "duplicate", "short-row", "blank"]))
        row = draw(st.integers(0, len(rows) - 1))
        if defect == "drop-column":
            col = draw(st.integers(0, len(header) - 1))
            header = header[:col] + header[col + 1 :]
            rows = [r[:col] + r[col + 1 :] for r in rows]
        elif defect == "extra-column":
            header = header + [draw(st.sampled_from(["loss", "acc", "note", ""]))]
            rows = [r + [draw(CELL)] for r in rows]
        elif defect == "bad-value" and rows[row]:
            rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(CELL)
        elif defect == "duplicate":
            rows.append(list(rows[row]))
        elif defect == "short-row" and rows[row]:
            rows[row] = rows[row][:-1]
        elif defect == "blank":
            rows.insert(row, [])
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


@st.composite
def csv_file(draw) -> bytes:
    kind = draw(st.sampled_from(["near-valid", "near-valid", "near-valid", "table", "binary", "empty-ish"]))
    if kind == "near-valid":
        return draw(near_valid_table()).encode("utf-8", errors="surrogatepass")
    if kind == "binary":
        return draw(st.binary(max_size=200))
    if kind == "empty-ish":
        return draw(st.sampled_from([b"", b"\n", b"arch,acc\n", b"\xef\xbb\xbfarch,acc\n", b",\n,\n", b"\x00\x00"]))
    header = draw(COLUMNS)
    rows = draw(st.lists(st.lists(CELL, min_size=max(0, len(header) - 1), max_size=len(header) + 1), max_size=6))
    if rows and draw(st.booleans()):
        rows.append(list(rows[0]))  # a duplicate row
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))).encode("utf-8", errors="surrogatepass")


CSV_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "objective": st.sampled_from(["acc", "loss", "nope"]),
        "recipe": st.sampled_from(["epochs", "epochs,cost", "nope", ""]),
        "cost": st.sampled_from(["cost", "acc", "nope"]),
        "arch_column": st.sampled_from(["arch", "x", "nope"]),
    },
)


@given(content=csv_file(), options=st.one_of(CSV_OPTIONS, st.just({"recipe": "epochs", "cost": "cost"})))
def test_fuzz_csv_files(content, options):
    folder = Path(tempfile.mkdtemp(prefix="nars-fuzz-csv-"))
    try:
        path = folder / "table.csv"
        path.write_bytes(content)
        try:
            bench = load_csv(str(path), **options)
        except NarsError as exc:
            assert exc.message, exc
            count("csv_files", bad=True)
            return
        count("csv_files", bad=False)
        assert len(bench.rows) == len({c.key for c in bench.rows}) >= 1  # one row per candidate
        values = bench.values()
        assert not any(math.isinf(v) for v in values)
        result = bench.evaluate(bench.rows[0])
        assert result.ok or result.error
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=settings.default.max_examples // 4 or 1)
@given(content=csv_file())
def test_fuzz_csv_files_through_the_command_line(content):
    folder = Path(tempfile.mkdtemp(prefix="nars-fuzz-csvcli-"))
    try:
        path = folder / "table.csv"
        path.write_bytes(content)
        out = folder / "out"
        argv = ["search", "-o", "rs", "-b", f"csv:{path}", "--budget", "2", "--out", str(out), "--no-progress"]
        code, _, stderr = run_main(argv)
        assert "Traceback" not in stderr and code in (0, 1, 2), stderr
        if code == 2:
            assert stderr.startswith("error:"), stderr
            assert not (out / SUMMARY_NAME).exists()
        count("csv_cli", bad=code == 2)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- #
# Journals cut off at any byte (a crash mid-write)
# --------------------------------------------------------------------------- #

_TINY_BENCH = build_tiny_bench()
_REFERENCE: dict[str, object] = {}


def _reference_journal() -> tuple[bytes, object]:
    if not _REFERENCE:
        folder = Path(tempfile.mkdtemp(prefix="nars-fuzz-ref-"))
        study = Study(_TINY_BENCH, RandomSearch(TINY, objective="acc", seed=9), Budget(queries=15), folder)
        result = study.run()
        _REFERENCE["journal"] = (folder / JOURNAL_NAME).read_bytes()
        _REFERENCE["best"] = result.best_candidate
        shutil.rmtree(folder)
    return _REFERENCE["journal"], _REFERENCE["best"]


def _records(source: Path | bytes) -> list[dict]:
    """The journal's lines without their wall-clock times (and the checks that cover them)."""
    data = source.read_bytes() if isinstance(source, Path) else source
    return [{k: v for k, v in json.loads(line).items() if k not in ("time", "check")} for line in data.splitlines()]


@given(data=st.data())
def test_fuzz_journal_cut_at_any_byte(data):
    journal, best = _reference_journal()
    cut = data.draw(st.integers(0, len(journal)))
    folder = Path(tempfile.mkdtemp(prefix="nars-fuzz-journal-"))
    try:
        (folder / JOURNAL_NAME).write_bytes(journal[:cut])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            study = Study(_TINY_BENCH, RandomSearch(TINY, objective="acc", seed=9), Budget(queries=15), folder)
            result = study.run()
        assert result.best_candidate == best and result.n_evaluations == 15
        # a record counts once its whole JSON text is there, with or without its newline
        ends = [i for i, byte in enumerate(journal) if byte == ord("\n")]
        torn = bool(journal[:cut].rsplit(b"\n", 1)[-1]) and cut not in ends  # a line cut inside its JSON
        assert result.replayed == max(0, sum(end <= cut for end in ends) - 1)
        if torn and journal[:cut].count(b"\n") >= 1:
            assert any(issubclass(w.category, JournalWarning) for w in caught), "a torn line was dropped silently"
        assert _records(folder / JOURNAL_NAME) == _records(journal)
        count("journal_cuts", bad=torn)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
