"""``nars suite``: a list of benchmarks x optimizers x seeds, and one leaderboard across them.

A suite is a set of ``nars compare`` runs, one folder per benchmark (``OUT/<label>/``), so it resumes
like them: finished runs are reused, a killed run continues from its journal. The leaderboard
(:mod:`.leaderboard`) is written to ``OUT/``. :func:`rebuild_leaderboard` (``nars suite
--leaderboard-only``) writes it again from the folders' ``details.json`` alone, running nothing: a
committed suite whose journals are not kept gets a leaderboard of this version.

A suite file (TOML) lists the benchmarks, each with its budget (queries or simulated seconds),
options and constraints; ``{data}`` in a benchmark spec is the benchmark data folder
(``$NARS_DATA_DIR``, default ``../shared/data``)::

    [[benchmark]]
    label = "nb201-c10"                       # folder and row name (default: the benchmark spec)
    benchmark = "csv:{data}/nb201/cifar10_test_acc_200ep.csv"
    budget = 100                              # queries; or budget_seconds = 12000

    [[benchmark]]
    label = "latency-pixel3-5ms"
    benchmark = "nb201-latency"
    options = { device = "pixel3" }
    constraints = ["latency[pixel3] <= 5"]
    budget = 100

:func:`default_suite` is every built-in benchmark that runs on a CPU: NB201 C-10 (100 queries),
nb201-paper (12,000 s), nb201-analog (100), nb201-latency under ``latency[pixel3] <= 5`` (100),
nb201-schedule (30,000 s) and FC-Net x4 (50 queries).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._datafiles import data_dir as default_data_dir
from .._safe_files import output_folder, safe_name
from ..errors import ConfigError, DataFileError, UnknownNameError
from .leaderboard import leaderboard, read_comparison, upgrade, write_leaderboard
from .run import compare
from .runner import cached_benchmark
from .spec import OptimizerSpec, Seeds

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the Python 3.10 backport
    import tomli as tomllib

_KEYS = {"label", "benchmark", "budget", "budget_seconds", "options", "constraints"}


@dataclass(frozen=True)
class SuiteEntry:
    """One benchmark of a suite, with its budget (queries and/or simulated seconds)."""

    label: str
    benchmark: str
    budget: int | None = None
    budget_seconds: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    constraints: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.budget is None and self.budget_seconds is None:
            raise ConfigError(f"suite benchmark {self.label!r} has no budget", "give budget = N or budget_seconds = S")
        for name, value in (("budget", self.budget), ("budget_seconds", self.budget_seconds)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise ConfigError(f"suite benchmark {self.label!r}: {name} must be a positive number, not {value!r}")


def _data(data_dir: str | os.PathLike[str] | None) -> str:
    return str(Path(data_dir) if data_dir is not None else default_data_dir())


FCNET_DATASETS = ("protein_structure", "naval_propulsion", "parkinsons_telemonitoring", "slice_localization")


def default_suite(data_dir: str | os.PathLike[str] | None = None) -> list[SuiteEntry]:
    """Every built-in benchmark that runs here, each with the budget its committed table uses."""
    data = _data(data_dir)
    return [
        SuiteEntry("nb201-c10", f"csv:{data}/nb201/cifar10_test_acc_200ep.csv", budget=100),
        SuiteEntry("nb201-paper", "nb201-paper", budget_seconds=12000),
        SuiteEntry("nb201-analog-1d", "nb201-analog", budget=100, options={"target": "analog_1d"}),
        SuiteEntry(
            "nb201-latency-pixel3-5ms",
            "nb201-latency",
            budget=100,
            options={"device": "pixel3"},
            constraints=("latency[pixel3] <= 5",),
        ),
        SuiteEntry("nb201-schedule", "nb201-schedule", budget_seconds=30000),
        *(SuiteEntry(f"fcnet-{d}", "fcnet", budget=50, options={"dataset": d}) for d in FCNET_DATASETS),
    ]


def load_suite(path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> list[SuiteEntry]:
    """The benchmarks of a suite file (see the module docstring); a clear error for anything malformed."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"suite file {path} does not exist", "give a TOML file, or leave --suite out for the default"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"suite file {path} is not valid TOML: {exc}",
            "fix the syntax at that line: each benchmark starts with [[benchmark]], then one key = value per "
            'line, strings in double quotes (benchmark = "nb201-analog"), options as a table '
            '(options = { target = "analog_1d" }); `nars suite --list` prints the default suite',
        ) from None
    unknown_top = set(raw) - {"benchmark"}
    items = raw.get("benchmark")
    if unknown_top or not isinstance(items, list) or not items:
        raise ConfigError(
            f"suite file {path} must hold [[benchmark]] tables only"
            + (f" (found {', '.join(sorted(unknown_top))})" if unknown_top else ""),
            'e.g. [[benchmark]] benchmark = "nb201-analog" budget = 100',
        )
    data, entries = _data(data_dir), []
    for number, item in enumerate(items, 1):
        unknown = set(item) - _KEYS
        if unknown:
            raise ConfigError(
                f"suite file {path}, benchmark {number}: unknown key(s) {', '.join(sorted(unknown))}",
                f"keys: {', '.join(sorted(_KEYS))}",
            )
        if not isinstance(item.get("benchmark"), str):
            raise ConfigError(f'suite file {path}, benchmark {number} has no benchmark = "NAME"')
        spec = item["benchmark"].replace("{data}", data)
        options, constraints = item.get("options", {}), item.get("constraints", [])
        if not isinstance(options, dict) or not isinstance(constraints, list):
            raise ConfigError(f"suite file {path}, benchmark {number}: options must be a table, constraints a list")
        entries.append(
            SuiteEntry(
                str(item.get("label", item["benchmark"])),
                spec,
                item.get("budget"),
                item.get("budget_seconds"),
                dict(options),
                tuple(str(c) for c in constraints),
            )
        )
    labels = [e.label for e in entries]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ConfigError(f"suite file {path}: label(s) used twice: {', '.join(twice)}", "give each benchmark a label")
    return entries


def select(entries: Sequence[SuiteEntry], labels: Sequence[str]) -> list[SuiteEntry]:
    """The entries named in ``labels`` (all of them when ``labels`` is empty); an unknown label is an error."""
    if not labels:
        return list(entries)
    known = [e.label for e in entries]
    unknown = [label for label in labels if label not in known]
    if unknown:
        raise ConfigError(f"the suite has no benchmark {', '.join(map(repr, unknown))}", f"labels: {', '.join(known)}")
    return [e for e in entries if e.label in labels]


def resolve(
    benchmarks: str | os.PathLike[str] | Sequence[SuiteEntry] | None = None, only: Sequence[str] = ()
) -> list[SuiteEntry]:
    """The entries of a suite given as a TOML file, a list of :class:`SuiteEntry` or None (the default
    suite), keeping those labelled in ``only`` (all when empty)."""
    entries: list[SuiteEntry]
    if benchmarks is None:
        entries = default_suite()
    elif isinstance(benchmarks, str | os.PathLike):
        entries = load_suite(benchmarks)
    else:
        entries = [entry for entry in benchmarks if isinstance(entry, SuiteEntry)]
        if len(entries) != len(benchmarks):
            raise ConfigError("benchmarks must be a suite file or a list of SuiteEntry", "or None: the default suite")
    return select(entries, only)


def run_suite(
    entries: Sequence[SuiteEntry],
    optimizers: Sequence[OptimizerSpec],
    seeds: Seeds,
    out: str | os.PathLike[str],
    workers: int | None = None,
    progress: bool | None = None,
    executor: str = "local",
    address: str | None = None,
    first_seed: int = 0,
) -> dict[str, Any]:
    """Compare ``optimizers`` x ``seeds`` on every entry (``OUT/<label>/``), then write the leaderboard.

    ``seeds``: a count for every optimizer, or counts per label (``{"*": 10, "hebo": 5}``), from
    seed ``first_seed`` on.
    Runs go to local processes or, with ``executor="ray"``, to Ray tasks on the cluster at
    ``address`` (:func:`~nars_plugin.comparison.runner.run_all`); the numbers are the same.

    A benchmark that cannot be created here (its data file is missing, its plugin not installed) is
    skipped and named in the leaderboard's ``not_run`` with the reason. Returns the leaderboard.
    """
    out = output_folder(out)
    details: dict[str, dict[str, Any]] = {}
    not_run: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        try:  # only a benchmark that cannot be created here is skipped (compare reuses it, created once)
            cached_benchmark(entry.benchmark, dict(entry.options))
        except (DataFileError, UnknownNameError) as exc:
            not_run[entry.label] = exc.message
            continue
        details[entry.label] = compare(
            entry.benchmark,
            optimizers,
            seeds=seeds,
            budget=entry.budget,
            budget_seconds=entry.budget_seconds,
            out=out / safe_name(entry.label),
            bench_options=dict(entry.options),
            constraints=list(entry.constraints),
            workers=workers,
            progress=progress,
            executor=executor,
            address=address,
            desc=f"suite {number}/{len(entries)} {entry.label}",
            first_seed=first_seed,
        )
    if not details:
        raise ConfigError(
            "no benchmark of the suite could run here: " + "; ".join(f"{k}: {v}" for k, v in not_run.items()),
            "set NARS_DATA_DIR to the benchmark data folder, or give a suite of benchmarks that run here",
        )
    board = leaderboard(details)
    board["not_run"] = not_run
    board["config"] = {
        "seeds": seeds if isinstance(seeds, int) else dict(seeds),
        "first_seed": first_seed,
        "optimizers": [spec.__dict__ for spec in optimizers],
        "benchmarks": _entries_config(entries),
    }
    return write_leaderboard(board, out)


def _entries_config(entries: Sequence[SuiteEntry]) -> list[dict[str, Any]]:
    return [{**e.__dict__, "options": dict(e.options), "constraints": list(e.constraints)} for e in entries]


def _read_entry(entry: SuiteEntry, folder: Path) -> dict[str, Any]:
    """The ``details.json`` of ``entry``'s comparison in ``folder``, brought up to date in memory."""
    found = read_comparison(folder)
    if "objective_reference" not in found:
        summary = json.loads((folder / "summary.json").read_text())
        bench = cached_benchmark(entry.benchmark, dict(entry.options))
        found = upgrade(found, summary, bench, list(entry.constraints))
    return found


#: What two comparisons of one benchmark must agree on for their optimizers to share a leaderboard.
_SAME_RUN = ("benchmark", "budget_unit", "curve_x", "metric", "objective_reference")
_SAME_CONFIG = ("bench_options", "budget", "budget_seconds", "constraints")


def seed_ranges(details: Mapping[str, Any], label: str) -> list[tuple[int, int]]:
    """The seeds ``label`` ran in a comparison, as ``[first, stop)`` ranges (seeds 0..n-1 where the
    comparison records neither ``seed_ranges`` nor ``config.first_seed``)."""
    recorded = (details.get("seed_ranges") or {}).get(label)
    if recorded:
        return [(int(a), int(b)) for a, b in recorded]
    first = int((details.get("config") or {}).get("first_seed") or 0)
    return [(first, first + int((details.get("seeds_per_optimizer") or {}).get(label, 0)))]


def _seed_text(seeds: set[int]) -> str:
    return ", ".join(str(s) for s in sorted(seeds))


def _pooled(key: str, base: Any, extra: Any, n_base: int, n_extra: int) -> Any:
    """One per-optimizer entry of two sittings with different seeds, as one of all their seeds."""
    if key == "seeds_per_optimizer":
        return n_base + n_extra
    if base is None or extra is None:  # e.g. cell_ops of an optimizer that returned no cell
        return extra if base is None else base
    if isinstance(base, Mapping):  # queries/seconds_per_run: min / mean / max; cell_ops: shares and cells
        out = {}
        for k in base:
            a, b = base[k], extra.get(k)
            out[k] = (
                [*a, *(b or [])]
                if isinstance(a, list)
                else min(a, b)
                if k == "min"
                else max(a, b)
                if k == "max"
                else (n_base * a + n_extra * b) / (n_base + n_extra)
            )
        return out
    if isinstance(base, list):  # mean curves on the same grid
        return [
            None if a is None or b is None else (n_base * a + n_extra * b) / (n_base + n_extra)
            for a, b in zip(base, extra)
        ]
    return (n_base * base + n_extra * extra) / (n_base + n_extra)


def merge_comparisons(base: Mapping[str, Any], extra: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``base``'s comparison with ``extra``'s optimizers joined: two sittings of one benchmark (same
    budget, options, constraints and table statistics) as one board. An optimizer of ``extra`` that
    ``base`` has too replaces it where they ran the same seeds (a rerun), and is pooled with it where
    their seeds differ (``--first-seed``: seeds 5-9 joined to seeds 0-4 are 10 seeds, the mean curves
    weighted by seed counts); seeds that partly overlap are an error. An error names what differs."""
    base_config, extra_config = base.get("config") or {}, extra.get("config") or {}
    differ = [k for k in _SAME_RUN if base.get(k) != extra.get(k)]
    differ += [f"config.{k}" for k in _SAME_CONFIG if base_config.get(k) != extra_config.get(k)]
    if differ:
        raise ConfigError(
            f"{where} is not the same comparison as the suite's ({', '.join(differ)} differ)",
            "merge only comparisons of the same benchmark, budget, options and constraints",
        )
    labels = [o["label"] for o in extra_config.get("optimizers", [])]
    counts = {label: int((base.get("seeds_per_optimizer") or {}).get(label, 0)) for label in labels}
    pooled = set()
    ranges = {k: [list(r) for r in v] for k, v in (base.get("seed_ranges") or {}).items()}
    for label in labels:
        ours, theirs = seed_ranges(base, label), seed_ranges(extra, label)
        seeds_ours = {s for a, b in ours for s in range(a, b)}
        seeds_theirs = {s for a, b in theirs for s in range(a, b)}
        ranges[label] = [list(r) for r in theirs]
        if counts[label] and seeds_ours and not seeds_ours & seeds_theirs:
            pooled.add(label)
            ranges[label] = [list(r) for r in ours + theirs]
        elif counts[label] and seeds_ours != seeds_theirs:
            raise ConfigError(
                f"{where} ran {label} with seeds {_seed_text(seeds_theirs)}, the suite with {_seed_text(seeds_ours)}: "
                "some in both",
                "merge a rerun of the same seeds (it replaces them) or other seeds (--first-seed; they are pooled)",
            )
    merged = dict(base)
    for key, value in extra.items():
        # the per-optimizer tables (mean curves, seeds, times, ...) are dicts keyed by label
        if isinstance(value, Mapping) and value and set(value) <= set(labels) and key != "seed_ranges":
            table = dict(base.get(key) or {})
            for label, entry in value.items():
                n_extra = int(extra["seeds_per_optimizer"][label])
                if label in pooled and label in table:
                    table[label] = _pooled(key, table[label], entry, counts[label], n_extra)
                else:
                    table[label] = entry
            merged[key] = table
    merged["seed_ranges"] = ranges
    optimizers = [o for o in base_config.get("optimizers", []) if o["label"] not in labels]
    merged["config"] = {**base_config, "optimizers": optimizers + list(extra_config.get("optimizers", []))}
    merged["seeds"] = max(int(n) for n in merged["seeds_per_optimizer"].values())
    merged["not_run"] = {k: v for k, v in dict(base.get("not_run") or {}).items() if k not in labels}
    return merged


def rebuild_leaderboard(
    entries: Sequence[SuiteEntry], out: str | os.PathLike[str], merge: Sequence[str | os.PathLike[str]] = ()
) -> dict[str, Any]:
    """Write the leaderboard of the comparisons in ``OUT/<label>/`` again from their ``details.json``
    (and ``summary.json``), running no search: the optimizers and seeds are the ones they ran.

    ``merge``: other suite folders whose ``<label>/`` comparisons join the board, their optimizers
    replacing those of the same label (a method rerun, or one added, without rerunning the rest);
    each must be the same comparison (:func:`merge_comparisons`). The folders' files stay as they are.

    A ``details.json`` of an older version is brought up to date in memory
    (:func:`~.leaderboard.upgrade`): the table statistics are read from the benchmark the entry names,
    so it must be creatable here. An entry without a folder is named in ``not_run``.
    """
    out = Path(out)
    details: dict[str, dict[str, Any]] = {}
    not_run: dict[str, str] = {}
    for entry in entries:
        folder = out / safe_name(entry.label)
        if not (folder / "details.json").is_file():
            not_run[entry.label] = f"no comparison in {folder}"
            continue
        found = _read_entry(entry, folder)
        for other in merge:
            extra = Path(other) / safe_name(entry.label)
            if (extra / "details.json").is_file():
                found = merge_comparisons(found, _read_entry(entry, extra), str(extra))
        details[entry.label] = found
    if not details:
        raise ConfigError(
            f"no comparison of the suite is in {out}", "give the --out folder of a suite that ran (`nars suite`)"
        )
    board = leaderboard(details)
    board["not_run"] = not_run
    board["config"] = {
        "rebuilt_from": "each benchmark folder's details.json; no search was run",
        "merged_from": [str(Path(m)) for m in merge],
        "seeds": board["seeds"],
        "optimizers": list(
            {o["label"]: o for d in details.values() for o in (d.get("config") or {}).get("optimizers", [])}.values()
        ),
        "benchmarks": _entries_config([e for e in entries if e.label in details]),
    }
    return write_leaderboard(board, out)
