"""Writers of small NATS-Bench topology (``tss``) benchmark files in the official format.

The files are built with nats_bench's own classes (``ResultsCount``, ``ArchResults``) and saved with
its ``pickle_save`` (bz2-compressed pickle, ``.pbz2`` appended), laid out as NATS-Bench's collection
script lays out the released files:

* ``<folder>/meta.pickle.pbz2``: ``{"meta_archs": [15,625 strings, NATS index order],
  "total_archs": 15625, "arch2infos": None, "evaluated_indexes": set()}``;
* ``<folder>/NNNNNN.pickle.pbz2`` (NNNNNN = NATS index, six digits): ``OrderedDict(hp -> state)``
  with hp ``"12"`` and ``"200"`` and state ``ArchResults.state_dict()`` after ``clear_params()``;
* the single-file form: ``{"meta_archs", "total_archs", "arch2infos": {index: that OrderedDict},
  "evaluated_indexes": set(indices)}`` in one ``.pickle.pbz2`` file.

An ``ArchResults`` holds one ``ResultsCount`` per (data set, seed) for the data sets
``cifar10-valid`` (evaluation sets ``x-valid``, ``ori-test``), ``cifar10`` (``ori-test``),
``cifar100`` and ``ImageNet16-120`` (``ori-test``, ``x-valid``, ``x-test``); per epoch it stores
train accuracy/loss/time and, per evaluation set, accuracy/loss/time under keys ``"<set>@<epoch>"``.
As in the release, ``ResultsCount.seed`` is the seed as a string and the ``ArchResults`` key is
``(data set, int(seed))``; latency is a one-element list in seconds, flop and params in millions.

Only some architectures get a file: the meta file still lists all 15,625 (the real reader allows
that). The numbers come from :func:`synthetic_run`, so tests can compute what to expect without
reading the files back.
"""

from __future__ import annotations

import collections
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nars_plugin.spaces.nb201 import N_CELLS, index_to_arch_string

SCHEDULES = (12, 200)
SEEDS = (777, 888)
#: NATS-Bench data set -> its evaluation sets
EVAL_SETS: dict[str, tuple[str, ...]] = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("ori-test", "x-valid", "x-test"),
    "ImageNet16-120": ("ori-test", "x-valid", "x-test"),
}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
#: training images per epoch, which sets the (synthetic) time per epoch as in the release
TRAIN_IMAGES = {"cifar10-valid": 25000, "cifar10": 50000, "cifar100": 50000, "ImageNet16-120": 151700}


@dataclass(frozen=True)
class Run:
    """One trial: per-epoch lists, plus its cost statistics."""

    train_acc: list[float]
    train_loss: list[float]
    train_time: list[float]  # seconds of each epoch
    evals: dict[str, tuple[list[float], list[float], list[float]]]  # set -> (acc, loss, seconds) per epoch
    flop: float
    params: float
    latency: float  # seconds


def _unit(*key: object) -> float:
    """A deterministic number in [0, 1) for a key."""
    return (zlib.crc32(repr(key).encode()) % 100_000) / 100_000


def synthetic_run(index: int, epochs: int, dataset: str, seed: int) -> Run:
    """Known, distinct numbers for one trial: each (set, epoch) differs, accuracies rise with epochs."""
    grow = [(e + 1) / epochs for e in range(epochs)]

    def acc(tag: str) -> list[float]:
        start, end = (
            10 + 20 * _unit(index, epochs, dataset, seed, tag, 0),
            60 + 35 * _unit(index, epochs, dataset, seed, tag),
        )
        return [start + (end - start) * g for g in grow]

    def loss(tag: str) -> list[float]:
        return [2.5 * (1.2 - g) * (0.5 + _unit(index, dataset, seed, tag, "loss")) for g in grow]

    per_epoch = 7.5e-4 * TRAIN_IMAGES[dataset] * (1 + _unit(index, "time"))
    evals = {}
    for name in EVAL_SETS[dataset]:
        eval_time = 0.2 + _unit(index, dataset, name)
        evals[name] = (acc(name), loss(name), [eval_time] * epochs)
    return Run(
        train_acc=acc("train"),
        train_loss=loss("train"),
        train_time=[per_epoch * (1 + 0.01 * (e % 3)) for e in range(epochs)],
        evals=evals,
        flop=1.0 + 100 * _unit(index, "flop"),
        params=0.1 + _unit(index, "params"),
        latency=0.01 + 0.01 * _unit(index, "latency"),
    )


def _results_count(index: int, dataset: str, seed: int, run: Run):
    from nats_bench import ResultsCount

    epochs = len(run.train_acc)
    arch_config = {
        "channel": 16,
        "num_cells": 5,
        "arch_str": index_to_arch_string(index),
        "class_num": CLASSES[dataset],
    }
    result = ResultsCount(
        dataset, None, dict(enumerate(run.train_acc)), dict(enumerate(run.train_loss)), run.params, run.flop,
        arch_config, str(seed), epochs, None,
    )  # fmt: skip
    result.update_train_info(
        dict(enumerate(run.train_acc)),
        {e: min(100.0, a + 20) for e, a in enumerate(run.train_acc)},
        dict(enumerate(run.train_loss)),
        collections.OrderedDict(enumerate(run.train_time)),
    )
    accs, losses, times = {}, {}, {}
    for name, (acc, loss, seconds) in run.evals.items():
        for e in range(epochs):
            accs[f"{name}@{e}"], losses[f"{name}@{e}"], times[f"{name}@{e}"] = acc[e], loss[e], seconds[e]
    result.update_eval(accs, losses, times)
    result.update_latency([run.latency])
    return result


def arch_state(
    index: int,
    schedules: Sequence[int] = SCHEDULES,
    seeds: Sequence[int] = SEEDS,
    datasets: Iterable[str] = tuple(EVAL_SETS),
) -> collections.OrderedDict:
    """The content of one ``NNNNNN.pickle.pbz2`` file: hp -> ``ArchResults.state_dict()``."""
    from nats_bench import ArchResults

    content = collections.OrderedDict()
    datasets = tuple(datasets)
    for epochs in schedules:
        info = ArchResults(index, index_to_arch_string(index))
        for dataset in datasets:
            for seed in seeds:
                info.update(
                    dataset,
                    int(seed),
                    _results_count(index, dataset, seed, synthetic_run(index, epochs, dataset, seed)),
                )
        info.clear_params()
        content[str(epochs)] = info.state_dict()
    return content


def meta_state(archs: Sequence[str] | None = None) -> dict:
    """The content of ``meta.pickle.pbz2``."""
    archs = list(archs) if archs is not None else [index_to_arch_string(i) for i in range(N_CELLS)]
    return {"meta_archs": archs, "total_archs": len(archs), "arch2infos": None, "evaluated_indexes": set()}


def _save(obj: object, file: Path) -> Path:
    """nats_bench's own writer; it appends ``.pbz2`` to the name it is given."""
    from nats_bench import pickle_save

    name = str(file)
    assert name.endswith(".pickle.pbz2")
    pickle_save(obj, name[: -len(".pbz2")])
    return file


def write_simple_dir(
    folder: Path,
    indices: Iterable[int],
    overrides: Mapping[int, Mapping] | None = None,
    meta_archs: Sequence[str] | None = None,
) -> Path:
    """Write a ``NATS-tss-v1_0-3ffb9-simple``-style folder with files for ``indices``.

    ``overrides`` maps an index to the content to write instead of :func:`arch_state` (e.g. a
    file with only one schedule).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _save(meta_state(meta_archs), folder / "meta.pickle.pbz2")
    overrides = dict(overrides or {})
    for index in indices:
        _save(overrides.pop(index, None) or arch_state(index), folder / f"{index:06d}.pickle.pbz2")
    for index, content in overrides.items():
        _save(content, folder / f"{index:06d}.pickle.pbz2")
    return folder


def write_single_file(file: Path, indices: Iterable[int]) -> Path:
    """Write the single-file form (``NATS-tss-v1_0-3ffb9.pickle.pbz2``) holding ``indices``."""
    indices = list(indices)
    content = meta_state()
    content["arch2infos"] = {i: arch_state(i) for i in indices}
    content["evaluated_indexes"] = set(indices)
    return _save(content, Path(file))


def mean(values: Sequence[float]) -> float:
    """The mean as nats_bench computes it (sum / count)."""
    return sum(values) / len(values)


def expected_curve(index: int, epochs: int, dataset: str, setname: str, seeds: Sequence[int] = SEEDS) -> list[float]:
    """Seed-mean accuracy after each epoch on ``setname`` (``train`` or an evaluation set) of a NATS data set."""
    runs = [synthetic_run(index, epochs, dataset, s) for s in seeds]
    lists = [r.train_acc if setname == "train" else r.evals[setname][0] for r in runs]
    return [mean([values[e] for values in lists]) for e in range(epochs)]


def expected_final(
    index: int, epochs: int, dataset: str, setname: str, seeds: Sequence[int] = SEEDS
) -> tuple[float, float]:
    """Seed-mean (accuracy, loss) after the last epoch."""
    runs = [synthetic_run(index, epochs, dataset, s) for s in seeds]
    if setname == "train":
        return mean([r.train_acc[-1] for r in runs]), mean([r.train_loss[-1] for r in runs])
    return mean([r.evals[setname][0][-1] for r in runs]), mean([r.evals[setname][1][-1] for r in runs])


def expected_times(index: int, epochs: int, dataset: str, seeds: Sequence[int] = SEEDS) -> list[float]:
    """Seed-mean cumulative training seconds after each epoch."""
    runs = [synthetic_run(index, epochs, dataset, s) for s in seeds]
    return [mean([sum(r.train_time[: e + 1]) for r in runs]) for e in range(epochs)]
