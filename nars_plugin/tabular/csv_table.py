"""``csv:PATH``: any table with an architecture column and metric columns.

The file needs a header. One column holds architectures in the space's string
syntax (default column ``arch``, space ``nb201``); optional *recipe columns*
(``recipe=epochs,lr``) turn the table into a joint architecture x recipe
benchmark; every other numeric column is a metric. Index columns
(``nats_index``, ``index``, ``id``) are kept out of the metrics, and so are the columns named by
``ignore=`` (e.g. a second name column or notes). :class:`CSVSettings` lists every option; other
names go to the space (``dataset=cifar100``, ``graph_statistics=true``).

The space's free statistics (FLOPs and parameters, which NARS pretrains its predictor on) follow the
table's data set where the space takes a ``dataset`` option and the table names one: a ``dataset``
column holding one value for every row (kept out of the metrics), else the file name, where it names
exactly one of the space's data sets as a word of its own (``cifar100_test_acc.csv``,
``ImageNet16-120-valid.csv``; ``cifar10`` is not read inside ``cifar100``). A ``dataset=`` option
overrides both; a table that names none keeps the space's default (``cifar10`` for ``nb201``).
Example::

    nars query --benchmark csv:../shared/data/nb201/cifar10_test_acc_200ep.csv \\
        --arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .._keyvalue import parse_scalar
from ..errors import ConfigError, DataFileError, NarsError, option
from ..settings import declared as declared_fields
from ..settings import names as settings_names
from ..settings import resolve_plugin, resolve_split, setting, unknown_setting
from ..space import Candidate, Categorical
from .base import TabularBenchmark

INDEX_COLUMNS = ("nats_index", "index", "id", "sample_idx")
#: The column (and the space option) that names the data set a table was measured on.
DATASET = "dataset"


@dataclass(frozen=True)
class CSVSettings:
    """Options of ``csv:PATH``."""

    extra_options: ClassVar[str] = (
        "the space named by space= (e.g. dataset=cifar100, by default the data set the table's dataset column "
        "or file name names; graph_statistics=true)"
    )

    objective: str | None = setting(None, "metric column to maximise (none: the only metric column)")
    report: str | None = setting(None, "metric column to report (none: the objective)")
    arch_column: str = setting("arch", "column of architecture strings in the space's syntax")
    recipe: tuple[str, ...] = setting((), "recipe columns (their distinct values become choices), comma-separated")
    space: str = setting("nb201", "registered space whose string syntax the architecture column uses")
    cost: str | None = setting(None, "column of the GPU-seconds of each row (none: no cost)")
    ignore: tuple[str, ...] = setting(
        (), "columns to leave out (names, notes: text that is no metric), comma-separated"
    )


def load_csv(path: str | None = None, settings: CSVSettings | None = None, **options: Any) -> TabularBenchmark:
    """Load a CSV table as a benchmark.

    Args:
        path: the file.
        settings: its options (:class:`CSVSettings`: objective, report, arch_column, recipe, space,
            cost, ignore); ``**options`` set them by name on top (typed or as text).
        options: names :class:`CSVSettings` does not declare go to the space factory (e.g.
            ``dataset=cifar100``).
    """
    config, space_options = resolve_split(CSVSettings, settings, options, "benchmark 'csv'", "nars benchmarks csv")
    arch_column, space, cost = config.arch_column, config.space, config.cost
    if not path:
        raise ConfigError("the csv benchmark needs a path", "write --benchmark csv:PATH/TO/table.csv")
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataFileError(
            f"CSV table {str(file)!r} does not exist" if not file.exists() else f"{str(file)!r} is not a file",
            "check the path (relative paths start from the current folder)",
        )
    header, records = _read(file)
    recipe_columns, ignored = list(config.recipe), list(config.ignore)
    for column in [arch_column, *recipe_columns, *ignored] + ([cost] if cost else []):
        if column not in header:
            raise DataFileError(f"{file} has no column {column!r}", f"its columns are {header}")
    resolved = resolve_plugin("space", space)  # the plugin host hands over the space's declaration and factory
    declared = resolved.settings
    datasets = _dataset_choices(declared)
    named = None  # a dataset= option the user gives wins over what the table names
    if datasets and DATASET not in space_options:
        named = _named_dataset(file, header, records, datasets, ignored)
        if named is not None:
            space_options = {**space_options, DATASET: named[0]}
    kept_out = (arch_column, *recipe_columns, *ignored, *INDEX_COLUMNS, *([DATASET] if datasets else []))
    metric_columns = [c for c in header if c not in kept_out and c != cost]
    if not metric_columns:
        raise DataFileError(f"{file} has no metric column besides {arch_column!r}", "add a column of numbers")
    choices = {
        c: tuple(sorted({parse_scalar(r[c]) for r in records}, key=lambda v: (str(type(v)), v))) for c in recipe_columns
    }
    if declared is not None:  # an option neither csv nor its space takes: name the valid ones of both
        valid = settings_names(CSVSettings) + settings_names(declared)
        for key in space_options:
            if key not in valid:
                raise unknown_setting(key, valid, f"benchmark 'csv' (space {space!r})", "nars benchmarks csv")
    base = resolved.make(**space_options)
    joint = base.with_recipe([Categorical(c, choices[c]) for c in recipe_columns])
    rows: list[Candidate] = []
    seen: dict[str, int] = {}
    values = np.empty((len(records), len(metric_columns)))
    hints = {c: _not_a_metric(c) for c in metric_columns}
    for i, record in enumerate(records):
        line = i + 2
        try:
            cand = joint.candidate(record[arch_column], {c: parse_scalar(record[c]) for c in recipe_columns})
        except NarsError as exc:
            raise DataFileError(f"{file} line {line}: {exc.message}", "fix or remove that row") from None
        if cand.key in seen:
            raise DataFileError(
                f"{file} line {line}: duplicate row for {record[arch_column]} (first on line {seen[cand.key]})",
                "keep one row per architecture (and recipe)",
            )
        seen[cand.key] = line
        rows.append(cand)
        for j, column in enumerate(metric_columns):
            values[i, j] = _number(record[column], file, line, column, hints[column])
    numeric = [c for j, c in enumerate(metric_columns) if not np.isnan(values[:, j]).all()]
    empty = [c for c in metric_columns if c not in numeric]
    if not numeric:
        raise DataFileError(f"{file}: metric column(s) {empty} hold no numbers", "fill in the metric values")
    objective = config.objective or (numeric[0] if len(numeric) == 1 else None)
    if objective is None:
        raise ConfigError(
            f"{file} has several metric columns {numeric}; which one is the objective?",
            "pass " + option("options={'objective': NAME}", "--bench-opt objective=NAME") + f" (one of {numeric})",
        )
    _warn_missing(
        file, {c: int(np.isnan(values[:, j]).sum()) for j, c in enumerate(metric_columns) if c in numeric}, objective
    )
    costs = np.array([_number(r[cost], file, i + 2, cost) for i, r in enumerate(records)]) if cost else 0.0
    bench = TabularBenchmark(
        name=f"csv:{path}",
        space=joint,
        rows=rows,
        columns={c: values[:, j] for j, c in enumerate(metric_columns) if c in numeric},
        objective=objective,
        report=config.report,
        cost=costs,
        description=f"CSV table {file.name} ({len(rows)} rows)"
        + (f", free statistics of {named[0]} (from its {named[1]})" if named else ""),
        info={
            "file": str(file.resolve()),
            "rows": len(rows),
            "recipe_columns": recipe_columns,
            **({"cost_column": cost} if cost else {}),
        },
    )
    if named is not None and named[0] != _dataset_default(declared):  # searched with the default before
        bench.legacy_space_options = {**joint.options(), DATASET: _dataset_default(declared)}
    return bench


def _dataset_choices(declared: type | None) -> tuple[str, ...]:
    """The data sets a space's ``dataset`` option takes (none: the space has no such option)."""
    if declared is None:
        return ()
    field = next((d for d in declared_fields(declared) if d.name == DATASET), None)
    return tuple(str(c) for c in field.spec.choices or ()) if field is not None else ()


def _dataset_default(declared: type | None) -> str:
    """The default of a space's ``dataset`` option."""
    return str(next(d.default for d in declared_fields(declared) if d.name == DATASET))


def _named_dataset(
    file: Path, header: list[str], records: list[dict[str, str]], datasets: tuple[str, ...], ignored: list[str]
) -> tuple[str, str] | None:
    """The data set the table names, with where (``dataset`` column, else the file name; see the
    module docstring), or None; an error for a column that names several or an unknown one."""
    if DATASET in header and DATASET not in ignored:
        values = sorted({r[DATASET] for r in records})
        if len(values) > 1:
            raise DataFileError(
                f"{file} holds rows of several data sets in its {DATASET!r} column: {values}",
                "give each data set a table of its own",
            )
        if values[0] not in datasets:
            raise DataFileError(
                f"{file}: its {DATASET!r} column names {values[0]!r}, which the space does not know",
                f"write one of {list(datasets)} there, or give {option('dataset=NAME', '-B dataset=NAME')}",
            )
        return values[0], f"{DATASET!r} column"
    name = file.name.lower()
    found = [d for d in datasets if re.search(rf"(?<![a-z0-9]){re.escape(d.lower())}(?![a-z0-9])", name)]
    return (found[0], "file name") if len(found) == 1 else None


class MissingValuesWarning(UserWarning):
    """A table with empty or NaN metric cells: evaluations that read them fail."""


def _warn_missing(file: Path, missing: dict[str, int], objective: str) -> None:
    """Warn about empty or NaN metric cells, naming how many each column has and the fix."""
    missing = {column: n for column, n in missing.items() if n}
    if not missing:
        return
    where = ", ".join(
        f"{n} in {column!r}" + (" (the objective)" if column == objective else "") for column, n in missing.items()
    )
    fix = "fill them in, or remove those rows"
    if objective in missing:
        fix = f"evaluations of the {missing[objective]} candidate(s) without an objective fail; " + fix
    others = [column for column in missing if column != objective]
    if others:
        leave_out = ",".join(others)
        fix += "; columns that hold no metric can be left out: " + option(
            f"ignore={leave_out}", f"-B ignore={leave_out}"
        )
    warnings.warn(
        f"{file}: {sum(missing.values())} metric cell(s) are empty or NaN ({where}): {fix}",
        MissingValuesWarning,
        stacklevel=3,
    )


def _not_a_metric(column: str) -> str:
    return (
        f"every column besides the architecture, recipe and cost columns is read as a metric: leave {column!r} "
        f"out with -B ignore={column} (ignore=COL1,COL2 for several), or fix the value"
    )


def _read(file: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(file, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if not header or not any(header):
                raise DataFileError(f"{file} is empty", "give a CSV file with a header row")
            if len(set(header)) != len(header):
                raise DataFileError(f"{file} has duplicate column names: {header}", "rename the columns")
            records = []
            for line, row in enumerate(reader, start=2):
                if not row or not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise DataFileError(
                        f"{file} line {line} has {len(row)} fields, the header has {len(header)}",
                        "every row needs one value per column",
                    )
                records.append(dict(zip(header, (cell.strip() for cell in row))))
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start})", "give a CSV file") from None
    except csv.Error as exc:
        raise DataFileError(f"{file} is not valid CSV: {exc}", "give a CSV file") from None
    if not records:
        raise DataFileError(f"{file} has a header but no rows", "add rows")
    return header, records


def _number(text: str, file: Path, line: int, column: str, hint: str = "metric columns hold numbers") -> float:
    if text == "" or text.lower() in ("nan", "na", "null", "none"):
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{file} line {line}, column {column!r}: {text!r} is not a number", hint) from None
    if math.isinf(value):
        raise DataFileError(f"{file} line {line}, column {column!r}: value is infinite", "use finite numbers")
    return value
