"""``nats:PATH``: the official NATS-Bench topology (``tss``) benchmark files.

NATS-Bench trained all 15,625 NAS-Bench-201 cells under two schedules (12 and
200 epochs) on three data sets and recorded, per epoch and per seed, training
and evaluation accuracy, loss and time. Here the space is
:class:`~nars_plugin.spaces.nb201._space.NB201Space` with one recipe parameter,
``Categorical("epochs", (12, 200))`` (exactly the schedules the files hold).

Files
    ``NATS-tss-v1_0-3ffb9-simple``: a folder with ``meta.pickle.pbz2`` (the
    15,625 architecture strings) and one ``NNNNNN.pickle.pbz2`` per architecture
    (``NNNNNN`` = NATS index), read with ``nats_bench.create(path, "tss",
    fast_mode=True)``. Users download it from the NATS-Bench project's release.
    The single-file form ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` also works
    (``fast_mode=False``: the whole table is read at start, slowly and with a lot
    of memory). ``PATH`` may name either, or a folder holding either (like
    ``$TORCH_HOME``). A folder that lacks some per-architecture files is fine:
    queries of those architectures return failed results that say so.

Loading is lazy: a query reads that architecture's file once (both schedules),
keeps the few numbers this benchmark uses and drops the rest (a parsed file
holds megabytes of per-epoch dictionaries); later queries of that architecture
are dictionary look-ups. :attr:`NATSBenchmark.rows`, :meth:`~NATSBenchmark.values`,
:meth:`~NATSBenchmark.optimum` and the other whole-table methods read every file
first (:meth:`NATSBenchmark.load_all`): about 12 ms per file, i.e. some 3 CPU-minutes for the
real folder, spread over up to 8 worker processes. A query of a cached architecture takes ~20 us.

**Security**: the files are Python pickles, which can carry code. They are
read only when the user selects this benchmark and names the files, and only
through a restricted unpickler (:func:`read_nats_pickle`): it builds plain data
(dicts, lists, sets, strings, numbers) and ``collections.OrderedDict``, the one
class the release's files name, and refuses any other with a
:class:`~nars_plugin.errors.DataFileError` before anything is built. nats_bench
reads through it too: while this module calls nats_bench, nats_bench's
``pickle_load`` is swapped for :func:`read_nats_pickle` (its files are not
changed, and its own function is put back afterwards).

Metrics (accuracies in percent, each the mean over the seeds, i.e. trials, the
file holds; ``res`` is the ``nats_bench.ArchResults`` of the architecture and
schedule, ``res.get_metrics(D, S, iepoch, is_random=False)``, the call
``api.get_more_info`` makes; "objective's run" is ``D`` of the objective):

==================  =======================================  ==========================================
metric              cifar10 (NAS-Bench-201 convention)       cifar100, ImageNet16-120
==================  =======================================  ==========================================
``valid_acc``       ``cifar10-valid``, ``x-valid``: trained  ``D``, ``x-valid``
                    on the 25k train split, evaluated on
                    the 25k held-out half of CIFAR-10 train
``valid_loss``      same run and set, ``loss``               ``D``, ``x-valid``, ``loss``
``test_acc``        ``cifar10``, ``ori-test``: trained on    ``D``, ``x-test``
                    all 50k train images, evaluated on the
                    CIFAR-10 test set
``test_loss``       same run and set, ``loss``               ``D``, ``x-test``, ``loss``
``train_acc``,      ``cifar10-valid``, ``train``             ``D``, ``train``
``train_loss``
``train_time``      ``all_time`` of ``train`` in the objective's run: seconds of training over the
                    whole schedule (the sum of the file's per-epoch training times)
``latency_ms``      ``res.get_compute_costs(D)["latency"]`` x 1000 of the objective's run (NaN if absent)
``flops_m``,        ``res.get_compute_costs(D)["flops"]`` / ``["params"]``: NATS-Bench's own counts,
``params_m``        in millions (the space's ``flops``/``params`` statistics are exact counts)
==================  =======================================  ==========================================

No metric stands in for another: ``test_acc`` is always a test-set number,
``valid_acc`` always a validation number.

Cost and curves: a query's cost is ``train_time`` (GPU-seconds; 0 if a file
has no times). Its curve is the objective after each epoch of the schedule:
the seed mean of the per-epoch accuracies of the objective's run and set, taken
from the trials ``res.query(D)`` returns (the values ``get_metrics`` with
``iepoch`` = 0 .. epochs - 1 returns; a test checks they agree).
A query at fidelity ``e`` below the schedule's length returns the objective
after epoch ``e`` of *that* schedule (e.g. epoch 12 of the 200-epoch run, not
the 12-epoch schedule), ``train_time`` up to epoch ``e`` as its cost, and the
curve so far.
"""

from __future__ import annotations

import collections
import math
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._datafiles import read_plain_pickle
from ...errors import ConfigError, DataFileError
from ...evaluation import Result
from ...settings import resolve, setting
from ...space import Candidate, Categorical
from ...spaces.nb201 import NB201Space, index_to_arch_string
from ..base import TabularBenchmark

BASE_NAME = "NATS-tss-v1_0-3ffb9"
#: The folder of the fast-mode files (meta.pickle.pbz2 + one file per architecture).
SIMPLE_DIR = f"{BASE_NAME}-simple"
#: The single-file form.
SINGLE_FILE = f"{BASE_NAME}.pickle.pbz2"
META_FILE = "meta.pickle.pbz2"
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
OBJECTIVES = ("valid_acc", "test_acc")
METRICS = (
    "valid_acc",
    "valid_loss",
    "test_acc",
    "test_loss",
    "train_acc",
    "train_loss",
    "train_time",
    "latency_ms",
    "flops_m",
    "params_m",
)
N_ARCHS = 15625

_ARCH_FILE = re.compile(r"^(\d{6}|[1-9]\d*)\.pickle\.pbz2$")  # the two names nats_bench tries
# data set -> role -> (NATS-Bench data set, set name)
_SOURCES: dict[str, dict[str, tuple[str, str]]] = {
    "cifar10": {
        "valid": ("cifar10-valid", "x-valid"),
        "test": ("cifar10", "ori-test"),
        "train": ("cifar10-valid", "train"),
    },
    **{
        name: {"valid": (name, "x-valid"), "test": (name, "x-test"), "train": (name, "train")}
        for name in ("cifar100", "ImageNet16-120")
    },
}
_HOW_TO_GET = (
    f"download {SIMPLE_DIR} (a folder with {META_FILE} and one NNNNNN.pickle.pbz2 file per architecture) "
    "from the NATS-Bench project's release, unpack it, and pass its folder as nats:PATH "
    f"(or put it under $TORCH_HOME); the single file {SINGLE_FILE} works too"
)


@dataclass
class _Entry:
    """What one (architecture, schedule) contributes: final metrics, the objective's curve, training times."""

    metrics: dict[str, float]
    curve: np.ndarray  # objective after each epoch
    times: np.ndarray  # cumulative training seconds after each epoch (NaN when the file has none)

    @property
    def cost(self) -> float:
        total = float(self.times[-1]) if len(self.times) else math.nan
        return total if math.isfinite(total) else 0.0


def _nats_bench() -> Any:
    try:
        import nats_bench
    except ImportError:
        raise DataFileError(
            "the nats benchmark needs the nats_bench package, which is not installed",
            "pip install 'nars-plugin[nats]' (the extra that brings nats_bench)",
        ) from None
    return nats_bench


def default_path() -> Path:
    """Where nats_bench looks by default: ``$TORCH_HOME`` (else ``~/.torch``) / ``NATS-tss-v1_0-3ffb9-simple``."""
    home = os.environ.get("TORCH_HOME") or (os.path.join(os.environ["HOME"], ".torch") if "HOME" in os.environ else "")
    if not home:
        raise DataFileError(
            "no path given for the nats benchmark, and neither TORCH_HOME nor HOME is set",
            "pass nats:PATH/TO/" + SIMPLE_DIR + "; " + _HOW_TO_GET,
        )
    return Path(home) / SIMPLE_DIR


def resolve_path(path: str | os.PathLike[str]) -> tuple[str, Path]:
    """``("dir", folder)`` or ``("file", file)``: which NATS-Bench form ``path`` names.

    ``path`` may be the ``-simple`` folder, its ``meta.pickle.pbz2``, the single file, or a
    folder that holds one of these under its official name.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataFileError(f"NATS-Bench path {str(p)!r} does not exist", _HOW_TO_GET)
    if p.is_file():
        if p.name == META_FILE:
            return "dir", p.parent
        if _ARCH_FILE.match(p.name):
            raise DataFileError(
                f"{str(p)!r} is the file of one architecture, not the benchmark",
                f"pass the folder that holds it (the one with {META_FILE})",
            )
        return "file", p
    if (p / META_FILE).is_file():
        return "dir", p
    if (p / SIMPLE_DIR / META_FILE).is_file():
        return "dir", p / SIMPLE_DIR
    if (p / SINGLE_FILE).is_file():
        return "file", p / SINGLE_FILE
    raise DataFileError(
        f"folder {str(p)!r} holds no NATS-Bench topology files: expected {META_FILE} with NNNNNN.pickle.pbz2 "
        f"files in it, or a {SIMPLE_DIR} folder, or {SINGLE_FILE}",
        _HOW_TO_GET,
    )


def _bad_file(file: Path | str, exc: BaseException) -> DataFileError:
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return DataFileError(
        f"cannot read NATS-Bench file {str(file)!r} (corrupt, truncated or not a NATS-Bench topology file: {detail})",
        f"replace it with a fresh copy from the NATS-Bench project's release ({SIMPLE_DIR} or {SINGLE_FILE})",
    )


#: The classes the official NATS-Bench topology files build; everything else in them is plain data.
NATS_PICKLE_CLASSES = {("collections", "OrderedDict"): collections.OrderedDict}
_HOOK_LOCK = threading.RLock()


def read_nats_pickle(file_path: str | os.PathLike[str], ext: str = ".pbz2") -> Any:
    """Read one NATS-Bench ``.pickle.pbz2`` file with the restricted unpickler.

    Takes the arguments of nats_bench's ``pickle_load`` (``ext`` is appended when ``file_path`` is
    not a file) and builds only plain data and :data:`NATS_PICKLE_CLASSES`; a file naming any other
    class (e.g. one whose ``__reduce__`` would call ``os.system``) is a :class:`DataFileError`.
    """
    path = str(file_path) if os.path.isfile(file_path) else str(file_path) + ext
    return read_plain_pickle(
        path,
        "NATS-Bench file",
        f"it is not a file of the NATS-Bench release: use only {SIMPLE_DIR} or {SINGLE_FILE} from that release",
        allowed=NATS_PICKLE_CLASSES,
        compressed=True,
    )


@contextmanager
def _restricted_reading() -> Iterator[None]:
    """While active, nats_bench reads its files through :func:`read_nats_pickle` (its modules' own
    ``pickle_load`` is restored afterwards; nats_bench's files are not changed)."""
    with _HOOK_LOCK:
        modules: list[Any] = [m for name, m in list(sys.modules.items()) if name.split(".")[0] == "nats_bench"]
        saved = [(m, m.pickle_load) for m in modules if hasattr(m, "pickle_load")]
        for module, _ in saved:
            module.pickle_load = read_nats_pickle
        try:
            yield
        finally:
            for module, original in saved:
                module.pickle_load = original


def _expected_arch_strings() -> list[str]:
    return [index_to_arch_string(i) for i in range(0, N_ARCHS, 97)]


class NATSBenchmark(TabularBenchmark):
    """The NATS-Bench topology benchmark on one data set, read lazily through ``nats_bench``.

    Args:
        path: the ``NATS-tss-v1_0-3ffb9-simple`` folder, the single ``.pickle.pbz2`` file, or a folder
            holding either (see :func:`resolve_path`).
        settings: the options (:class:`NATSSettings`: data set, objective, report, epochs, preload);
            ``**options`` set them by name on top (typed or as text).

    See the module docstring for the metrics and the nats_bench calls behind them.
    """

    def __init__(self, path: str | os.PathLike[str], settings: NATSSettings | None = None, **options: Any) -> None:
        config = resolve(NATSSettings, settings, options, "benchmark 'nats'", "nars benchmarks nats")
        dataset, objective, report = config.dataset, config.objective, config.report
        self.name = "nats"
        self.dataset = dataset
        self.objective = objective
        self.report = report or objective
        self.form, self.path = resolve_path(path)
        self._cache: dict[int, dict[int, _Entry | str]] = {}
        self._table: dict[str, np.ndarray] | None = None
        self._rows: list[Candidate] | None = None
        self._api = self._open()
        self._files = self._list_files() if self.form == "dir" else {}
        self._schedules = self._find_schedules()
        if config.epochs is not None:
            chosen = self._pick_schedule(config.epochs)
            self._schedules = (chosen,)
        self.space: NB201Space = NB201Space(
            dataset, recipe_params=[Categorical("epochs", self._schedules)], name="nb201"
        )
        self.max_fidelity = max(self._schedules)
        self.description = (
            f"NATS-Bench topology, {dataset}, objective {objective}, schedules {list(self._schedules)} epochs"
        )
        self.info = {
            "path": str(self.path),
            "form": "folder (fast mode)" if self.form == "dir" else "single file",
            "dataset": dataset,
            "schedules": list(self._schedules),
            "nats_bench": _nats_bench().version(),
        }
        self._curve = None
        if config.preload:
            self.load_all()

    # -- opening the files -------------------------------------------------- #

    def _open(self) -> Any:
        nats_bench = _nats_bench()
        source = self.path / META_FILE if self.form == "dir" else self.path
        try:
            with _restricted_reading():
                api = nats_bench.create(str(self.path), "tss", fast_mode=self.form == "dir", verbose=False)
            archs = list(api.meta_archs)
        except DataFileError:
            raise
        except Exception as exc:  # any failure to parse a user's pickle: name the file
            raise _bad_file(source, exc) from None
        if len(archs) != N_ARCHS or archs[::97] != _expected_arch_strings():
            example = archs[0] if archs else None
            raise DataFileError(
                f"{str(source)!r} lists {len(archs)} architectures (first {example!r}), not the {N_ARCHS} "
                "NAS-Bench-201 cells in NATS-Bench topology order; is it the size (sss) benchmark?",
                _HOW_TO_GET,
            )
        return api

    def _list_files(self) -> dict[int, str]:
        files: dict[int, str] = {}
        with os.scandir(self.path) as entries:
            for entry in entries:
                match = _ARCH_FILE.match(entry.name)
                if match and int(match[1]) < N_ARCHS:
                    files.setdefault(int(match[1]), entry.name)
        if not files:
            raise DataFileError(
                f"NATS-Bench folder {str(self.path)!r} has {META_FILE} but no NNNNNN.pickle.pbz2 file", _HOW_TO_GET
            )
        return files

    def _find_schedules(self) -> tuple[int, ...]:
        if self.form == "dir":
            first = min(self._files)
            hp2res = self._read(first)
            hps = list(hp2res) if not isinstance(hp2res, str) else []
            self._cache[first] = self._extract(first, hp2res, [int(h) for h in hps if str(h).isdigit()])
        else:
            hps = list(self._api.avaliable_hps)
        schedules = tuple(sorted({int(h) for h in hps if str(h).isdigit()}))
        if not schedules:
            raise DataFileError(f"NATS-Bench files at {str(self.path)!r} hold no training schedule", _HOW_TO_GET)
        return schedules

    def _pick_schedule(self, epochs: int | str) -> int:
        try:
            chosen = int(epochs)
        except (TypeError, ValueError):
            chosen = -1
        if chosen not in self._schedules:
            raise ConfigError(
                f"the NATS-Bench files have no {epochs!r}-epoch schedule", f"choose epochs from {list(self._schedules)}"
            )
        return chosen

    def _file_name(self, index: int) -> str:
        return self._files.get(index, f"{index:06d}.pickle.pbz2")

    def _read(self, index: int) -> Mapping[str, Any] | str:
        """hp -> ArchResults of one architecture, or why there is none. Drops nats_bench's own copy."""
        api = self._api
        if self.form == "dir":
            if index not in self._files:
                return f"the NATS-Bench folder {str(self.path)!r} has no file {index:06d}.pickle.pbz2"
            try:
                with _restricted_reading():
                    api.reload(str(self.path), index)  # nats_bench's fast-mode reader of one file
                hp2res: Mapping[str, Any] = api.arch2infos_dict.pop(index)
                api.evaluated_indexes.discard(index)  # dropped: the extracted numbers are cached here
            except DataFileError:
                raise
            except Exception as exc:  # any failure to parse a user's pickle: name the file
                raise _bad_file(self.path / self._file_name(index), exc) from None
            return hp2res
        found: Mapping[str, Any] | None = api.arch2infos_dict.get(index)
        if found is None:
            return f"the NATS-Bench file {str(self.path)!r} holds no results for it"
        return found

    # -- extracting numbers -------------------------------------------------- #

    def _extract(
        self, index: int, hp2res: Mapping[str, Any] | str, schedules: Sequence[int]
    ) -> dict[int, _Entry | str]:
        out: dict[int, _Entry | str] = {}
        for epochs in schedules:
            if isinstance(hp2res, str):
                out[epochs] = hp2res
                continue
            res = hp2res.get(str(epochs))
            if res is None:
                out[epochs] = f"its NATS-Bench file has no {epochs}-epoch results (it has {sorted(hp2res)})"
                continue
            try:
                out[epochs] = self._entry(res)
            except Exception as exc:  # malformed content of a user's file: name the file
                raise _bad_file(self.path / self._file_name(index) if self.form == "dir" else self.path, exc) from None
        return out

    def _entry(self, res: Any) -> _Entry | str:
        sources = _SOURCES[self.dataset]
        needed = {sources[role][0] for role in ("valid", "test", "train")}
        missing = sorted(needed - set(res.get_dataset_names()))
        if missing:
            return f"its NATS-Bench file has no results on {missing}"
        role = self.objective.split("_")[0]
        run, subset = sources[role]
        n = int(res.get_total_epoch(run))
        # Per-epoch values come from the trials' ResultsCount objects (res.query), averaged over seeds
        # as get_metrics(..., is_random=False) averages them: get_metrics(iepoch=e) re-adds the times
        # of epochs 0..e at every call, which made reading a file three times slower.
        trials = list(res.query(run).values())
        curve = np.mean([[t.eval_acc1es[f"{subset}@{e}"] for e in range(n)] for t in trials], axis=0)
        if all(isinstance(t.train_times, Mapping) for t in trials):
            times = np.mean([np.cumsum([t.train_times[e] for e in range(n)]) for t in trials], axis=0)
        else:
            times = np.full(n, math.nan)
        metrics: dict[str, float] = {}
        for prefix in ("valid", "test", "train"):
            info = res.get_metrics(*sources[prefix], iepoch=None, is_random=False)
            metrics[f"{prefix}_acc"] = _number(info["accuracy"])
            metrics[f"{prefix}_loss"] = _number(info["loss"])
        costs = res.get_compute_costs(run)
        latency = _number(costs.get("latency"))
        metrics["train_time"] = float(times[-1]) if n else math.nan
        metrics["latency_ms"] = latency * 1000.0 if latency > 0 else math.nan
        metrics["flops_m"] = _number(costs.get("flops"))
        metrics["params_m"] = _number(costs.get("params"))
        return _Entry(metrics, curve, times)

    def entry(self, index: int, epochs: int) -> _Entry | str:
        """The cached numbers of NATS index ``index`` under an ``epochs`` schedule, or why there are none."""
        per_schedule = self._cache.get(index)
        if per_schedule is None:
            per_schedule = self._extract(index, self._read(index), self._schedules)
            self._cache[index] = per_schedule
        return per_schedule.get(epochs, f"the NATS-Bench files have no {epochs}-epoch schedule")

    # -- queries -------------------------------------------------------------- #

    @property
    def metric_names(self) -> list[str]:
        return sorted(METRICS)

    def index_of(self, cand: Candidate) -> int:
        """The NATS index of a candidate, as the files' own meta data number it."""
        return int(self._api.query_index_by_arch(self.space.format_arch(cand)))

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        """Look a candidate up (reading its file on first use); see the module docstring."""
        cand = self.space.validate(cand)
        epochs = int(cand.recipe["epochs"])
        index = self.index_of(cand)
        entry = self.entry(index, epochs)
        if isinstance(entry, str):
            return Result.failed(
                f"no NATS-Bench data for {self.space.format_arch(cand)} (index {index}) with epochs={epochs}: {entry}"
            )
        n = len(entry.curve)
        stop = n if fidelity is None else max(1, min(int(fidelity), n))
        curve = [float(x) for x in entry.curve[:stop]]
        if stop >= n:
            return Result(metrics=dict(entry.metrics), cost=entry.cost, curve=curve, fidelity=None)
        spent = float(entry.times[stop - 1])
        metrics = {self.objective: curve[-1], "train_time": spent}
        return Result(metrics=metrics, cost=spent if math.isfinite(spent) else 0.0, curve=curve, fidelity=stop)

    # -- the whole table ------------------------------------------------------ #

    def load_all(self, progress: bool | None = False, workers: int | None = None) -> None:
        """Read every architecture's file; the whole-table methods (:attr:`rows` and so on) need it.

        On the real folder this reads 15,625 files (about 12 ms each), so files are read by ``workers``
        processes (default: up to 8 when more than 2,000 files are left; the single-file form is
        already in memory and is read in this process).
        """
        if self._table is not None:
            return
        from tqdm import tqdm

        todo = [i for i in range(N_ARCHS) if i not in self._cache]
        present = [i for i in todo if i in self._files]
        if workers is None:
            workers = min(8, os.cpu_count() or 1) if len(present) > 2000 else 1
        bar = tqdm(total=len(todo), desc="reading NATS-Bench", disable=None if progress is None else not progress)
        if workers > 1 and present:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from concurrent.futures.process import BrokenProcessPool

            for index in sorted(set(todo) - set(present)):
                self.entry(index, self._schedules[0])
            size = max(1, math.ceil(len(present) / (4 * workers)))
            chunks = [present[i : i + size] for i in range(0, len(present), size)]
            bar.update(len(todo) - len(present))
            context = multiprocessing.get_context("spawn")  # no fork of a process that may run threads
            try:
                with ProcessPoolExecutor(workers, mp_context=context) as pool:
                    jobs = [pool.submit(_read_chunk, str(self.path), self.dataset, self.objective, c) for c in chunks]
                    for job in as_completed(jobs):
                        part, problem = job.result()
                        if problem is not None:
                            raise DataFileError(*problem)
                        self._cache.update(part)
                        bar.update(len(part))
            except BrokenProcessPool:  # workers could not start (e.g. a __main__ read from stdin)
                warnings.warn("NATS-Bench: worker processes failed; reading the files in this process", stacklevel=2)
        for index in todo:
            if index not in self._cache:
                self.entry(index, self._schedules[0])
                bar.update(1)
        bar.close()
        columns = {m: np.full(N_ARCHS * len(self._schedules), math.nan) for m in METRICS}
        cost = np.zeros(N_ARCHS * len(self._schedules))
        for k, epochs in enumerate(self._schedules):
            for index in range(N_ARCHS):
                entry = self._cache[index].get(epochs)
                if isinstance(entry, _Entry):
                    row = k * N_ARCHS + index
                    for m in METRICS:
                        columns[m][row] = entry.metrics[m]
                    cost[row] = entry.cost
        self._table = {**columns, "__cost__": cost}

    @property
    def rows(self) -> list[Candidate]:  # type: ignore[override]
        """Every candidate: all cells (NATS index order) for each schedule in turn."""
        if self._rows is None:
            self._rows = [c for epochs in self._schedules for c in self.space.cells({"epochs": epochs})]
        return self._rows

    @property
    def columns(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        """metric -> values aligned with :attr:`rows` (NaN where the files lack the entry); reads all files."""
        self.load_all()
        assert self._table is not None
        return {m: self._table[m] for m in METRICS}

    @property
    def cost(self) -> np.ndarray:  # type: ignore[override]
        """Training seconds of every row (0 where the files lack the entry); reads all files."""
        self.load_all()
        assert self._table is not None
        return self._table["__cost__"]

    def row_of(self, cand: Candidate) -> int | None:
        """Row number of a candidate in :attr:`rows`."""
        cand = self.space.validate(cand)
        return self._schedules.index(int(cand.recipe["epochs"])) * N_ARCHS + self.index_of(cand)

    @property
    def loaded(self) -> int:
        """How many architectures' files have been read so far."""
        return len(self._cache)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.dataset} at {str(self.path)!r}: {self.loaded}/{N_ARCHS} architectures "
            f"read, schedules {list(self._schedules)}, objective {self.objective!r}>"
        )


def _read_chunk(
    path: str, dataset: str, objective: str, indices: Sequence[int]
) -> tuple[dict[int, dict[int, _Entry | str]], tuple[str, str | None] | None]:
    """Worker of :meth:`NATSBenchmark.load_all`: cache entries of some architectures, or the error's text."""
    try:
        bench = NATSBenchmark(path, NATSSettings(dataset=dataset, objective=objective, report=None))
        for index in indices:
            bench.entry(index, bench._schedules[0])
    except DataFileError as exc:  # sent back as text: the hint would not survive pickling
        return {}, (exc.message, exc.hint)
    return {index: bench._cache[index] for index in indices}, None


def _number(value: Any) -> float:
    """A float, NaN for None."""
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class NATSSettings:
    """Options of ``nats:PATH``."""

    dataset: str = setting("cifar10", "data set", choices=DATASETS)
    objective: str = setting("valid_acc", "metric to maximise; its per-epoch values are the curve", choices=OBJECTIVES)
    report: str | None = setting(
        "test_acc", "metric reported as a search's result (none: the objective)", choices=METRICS
    )
    epochs: int | None = setting(
        None, "keep only this schedule (12 or 200) in the recipe (all: every schedule the files hold)", none="all"
    )
    preload: bool = setting(False, "read every file now instead of on first use")


def load_nats(path: str | os.PathLike[str], settings: NATSSettings | None = None, **options: Any) -> NATSBenchmark:
    """The NATS-Bench topology benchmark from official files (see :class:`NATSBenchmark`)."""
    return NATSBenchmark(path, settings, **options)


def nats_benchmark_factory(path: str | None = None, **options: Any) -> NATSBenchmark:
    """The ``nats`` benchmark (spec ``nats:PATH``); no path means ``$TORCH_HOME/NATS-tss-v1_0-3ffb9-simple``."""
    if not path:
        default = default_path()
        if not default.exists():
            single = default.parent / SINGLE_FILE
            if not single.is_file():
                raise DataFileError(
                    f"no NATS-Bench path given and the default {str(default)!r} (where nats_bench looks) is absent",
                    f"pass nats:PATH/TO/{SIMPLE_DIR}, or set TORCH_HOME to the folder that holds it; "
                    "get it from the NATS-Bench project's release",
                )
            default = single
        path = str(default)
    return load_nats(path, **options)
