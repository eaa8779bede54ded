"""NASLib's own optimizers, run through NASLib's ``Trainer`` on one of our tabular benchmarks.

``nars compare --optimizers nars,naslib:re`` calls :func:`run_query_based` for every
``naslib:<name>`` run: it builds NASLib's config (search settings below, ``search.epochs`` = the
query budget, ``search.seed`` = the comparison's seed), a :func:`~.dataset_api.make_dataset_api` of
the same table, and runs ``Trainer.search()``. NASLib's discrete optimizers query one architecture
per search epoch, so epoch ``n`` ends after ``n`` queries; after each epoch the incumbent
(``get_final_architecture()``) is looked up in our table under the benchmark's *report* metric,
which gives the best-so-far curve ``nars compare`` puts beside ours.

Settings of a spec (``naslib:re(population_size=10;sample_size=3)``) override ``search.*`` keys;
``recipe=training=standard`` picks one recipe of a joint benchmark.
"""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nars_plugin._keyvalue import parse_key_values
from nars_plugin.comparison.tasks import derived_answer
from nars_plugin.errors import ConfigError
from nars_plugin.optimizers.evolution import warn_if_population_fills_budget
from nars_plugin.tabular.base import TabularBenchmark

from ._naslib import naslib_module, naslib_version
from .dataset_api import check_fidelity, graph_to_candidate, make_dataset_api, nb201_rows, nb201_space

if TYPE_CHECKING:
    from nars_plugin.comparison.tasks import RunTask

#: NASLib optimizers by the names NASLib's runners use: class in ``naslib.optimizers`` and a description.
NASLIB_OPTIMIZERS: dict[str, tuple[str, str]] = {
    "rs": ("RandomSearch", "NASLib's random search"),
    "re": ("RegularizedEvolution", "NASLib's regularized evolution (population 30, sample 10)"),
    "ls": ("LocalSearch", "NASLib's local search"),
    "bananas": ("Bananas", "NASLib's BANANAS (MLP ensemble on path encodings, ITS, mutation)"),
    "npenas": ("Npenas", "NASLib's NPENAS (MLP ensemble, mutation)"),
    "darts": (
        "DARTSOptimizer",
        "NASLib's DARTS (one-shot; a tabular NB201 benchmark: a GPU and CIFAR-10; "
        "the train evaluator on nb201-digits: any machine)",
    ),
    "drnas": ("DrNASOptimizer", "NASLib's DrNAS (one-shot; needs a GPU and the data set)"),
    "gdas": (
        "GDASOptimizer",
        "NASLib's GDAS (one-shot; a tabular NB201 benchmark: a GPU and CIFAR-10; "
        "the train evaluator on nb201-digits: any machine)",
    ),
}
QUERY_BASED = ("rs", "re", "ls", "bananas", "npenas")
ONE_SHOT = ("darts", "drnas", "gdas")

#: ``search`` settings of the query-based optimizers: NASLib's NB201 defaults
#: (``naslib/defaults/nb201_defaults.yaml``, the same on Develop and master), plus what that file
#: leaves out: ``predictor_type`` "bananas" (the BANANAS paper's MLP ensemble, NASLib's name for
#: it), ``fidelity`` -1 (random search reads ``eval_acc1es[fidelity]``: the last epoch the table has)
#: and a checkpoint period longer than any search (only the final checkpoint is written).
SEARCH_DEFAULTS: dict[str, Any] = {
    "checkpoint_freq": 1_000_000,
    "fidelity": -1,
    "sample_size": 10,
    "population_size": 30,
    "num_init": 10,
    "k": 10,
    "num_ensemble": 3,
    "predictor_type": "bananas",
    "acq_fn_type": "its",
    "acq_fn_optimization": "mutation",
    "encoding_type": "path",
    "num_arches_to_mutate": 2,
    "max_mutations": 1,
    "num_candidates": 100,
    "debug_predictor": False,
}
#: The ``search`` setting counting the random candidates each optimizer starts with: NASLib's RE
#: samples ``population_size`` at random before it mutates anything, the others ``num_init``.
RANDOM_START: dict[str, str] = {"re": "population_size", "ls": "num_init", "bananas": "num_init", "npenas": "num_init"}
#: Published NAS-Bench-201 CIFAR-10 test accuracy of the one-shot methods (NB201 paper, Table 5).
PUBLISHED = {"darts": "DARTS-V1/V2 54.30 ± 0.00", "gdas": "GDAS 93.61 ± 0.09"}


def naslib_optimizer_class(name: str) -> Any:
    """The NASLib optimizer class called ``name`` (``re``, ``bananas``, ...)."""
    if name not in NASLIB_OPTIMIZERS:
        raise ConfigError(f"NASLib has no optimizer {name!r}", f"NASLib's optimizers: {sorted(NASLIB_OPTIMIZERS)}")
    return getattr(naslib_module("optimizers"), NASLIB_OPTIMIZERS[name][0])


def warn_random_start(name: str, search: Any) -> bool:
    """Warn when NASLib's optimizer ``name`` would spend its whole budget (``search.epochs`` queries)
    on its random start (:data:`RANDOM_START`): ``naslib:re`` with its default population of 30 in a
    search of 20 queries is a random search. True when it warned."""
    key = RANDOM_START.get(name)
    if key is None or key not in search or "epochs" not in search:
        return False
    fix = f"{key} (naslib:{name}({key}=N) in nars compare, search.{key} in a NASLib config)"
    what = "its population" if key == "population_size" else "its initial sample"
    return warn_if_population_fills_budget(f"NASLib's {name}", int(search[key]), int(search["epochs"]), fix, what)


def search_config(
    name: str, seed: int, epochs: int, dataset: str, save: str | Path, settings: dict[str, Any] | None = None
) -> Any:
    """NASLib's config node for one search (``optimizer``, ``dataset``, ``seed``, ``save``, ``search``),
    with a warning where the search would be random only (:func:`warn_random_start`)."""
    naslib_module("")  # a clear error when NASLib is missing
    from fvcore.common.config import CfgNode  # type: ignore[import-untyped]  # NASLib's config class

    search = {**SEARCH_DEFAULTS, **dict(settings or {}), "epochs": int(epochs), "seed": int(seed)}
    warn_random_start(name, search)
    return CfgNode(
        {
            "optimizer": name,
            "search_space": "nasbench201",
            "dataset": dataset,
            "seed": int(seed),
            "out_dir": str(save),
            "save": str(save),
            "search": search,
        },
        new_allowed=True,
    )


def _recording(cls: Any) -> type:
    """A subclass of NASLib optimizer ``cls`` that notes the incumbent at every ``train_statistics`` call.

    NASLib's Trainer calls ``train_statistics`` once per search epoch (both branches), so this
    is the per-epoch incumbent, with NASLib's own code otherwise untouched.
    """

    def train_statistics(self: Any, *args: Any, **kwargs: Any) -> Any:
        stats = cls.train_statistics(self, *args, **kwargs)
        self.nars_incumbents.append(tuple(int(i) for i in self.get_final_architecture().get_hash()))
        return stats

    return type(f"Recorded{cls.__name__}", (cls,), {"train_statistics": train_statistics, "nars_incumbents": None})


_API_CACHE: dict[str, Any] = {}


def _dataset_api(bench: TabularBenchmark, dataset: str, recipe: dict[str, Any]) -> dict[str, Any]:
    key = json.dumps([bench.name, bench.objective, dataset, recipe], sort_keys=True, default=str)
    if key not in _API_CACHE:
        _API_CACHE[key] = make_dataset_api(bench, dataset, recipe)
    return _API_CACHE[key]


def run_query_based(bench: TabularBenchmark, task: RunTask) -> dict[str, Any]:
    """One ``naslib:<name>`` run of ``nars compare``: NASLib's Trainer, curve of the report metric."""
    name = task.optimizer.partition(":")[2]
    if task.constraints:
        raise ConfigError(f"{task.optimizer} cannot honour constraints {task.constraints}", "drop --constraint")
    settings = dict(task.settings)
    recipe = parse_key_values(settings.pop("recipe", None) or {}, "recipe", separator=",")
    check_fidelity(settings.get("fidelity"))
    dataset = getattr(bench.space, "dataset", "cifar10")
    out = Path(task.out)
    identity = {"optimizer": task.optimizer, "seed": task.seed, "budget": task.budget, "settings": settings}
    identity.update(benchmark=bench.name, objective=bench.objective, report=bench.report, recipe=recipe)
    done = out / "naslib_run.json"
    if done.is_file():
        saved = json.loads(done.read_text())
        if saved.get("identity") == identity:
            return {**saved["result"], "evaluated_now": 0}
    out.mkdir(parents=True, exist_ok=True)
    (out / "search").mkdir(exist_ok=True)
    utils = naslib_module("utils")
    trainer_cls = naslib_module("defaults.trainer").Trainer
    space_cls = naslib_module("search_spaces").NasBench201SearchSpace
    import torch

    torch.set_num_threads(1)
    config = search_config(name, task.seed, task.budget, dataset, out, settings)
    api = _dataset_api(bench, dataset, recipe)
    optimizer_cls = _recording(naslib_optimizer_class(name))
    started = time.perf_counter()
    utils.set_seed(int(task.seed))
    optimizer = optimizer_cls(config)
    optimizer.nars_incumbents = []
    optimizer.adapt_search_space(space_cls(), dataset_api=api)
    trainer_cls(optimizer, config, lightweight_output=True).search()
    seconds = time.perf_counter() - started
    rows = nb201_rows(bench, recipe)
    report, objective = bench.values(bench.report), bench.values(bench.objective)
    space = nb201_space(bench)
    cands = [space.from_naslib(t, recipe) for t in optimizer.nars_incumbents]
    curve = [float(report[rows[space.format_arch(c)]]) for c in cands]
    best_cand = graph_to_candidate(optimizer.get_final_architecture(), space, recipe)
    row = rows[space.format_arch(best_cand)]
    result = {
        "curve": curve,
        "seconds": seconds,
        "evaluated_now": len(curve),
        "best": {
            "candidate": best_cand.to_dict(),
            "arch": space.format_arch(best_cand),
            "objective": float(objective[row]),
            "report": float(report[row]),
            "metrics": {k: float(v[row]) for k, v in bench.columns.items()},
        },
    }
    done.write_text(json.dumps({"identity": identity, "naslib": naslib_version(), "result": result}, indent=2))
    return result


def naslib_data_dir() -> Path:
    """NASLib's data folder (``naslib/data`` of the installed package), where its loaders look."""
    return Path(naslib_module("").__file__).parent / "data"


def one_shot_unavailable(name: str, data_dir: str | Path | None = None) -> str | None:
    """Why NASLib's one-shot optimizer ``name`` cannot run here (no GPU, no data set), or None."""
    published = PUBLISHED.get(name)
    also = f"; published NB201 CIFAR-10 test accuracy: {published} (NB201 paper)" if published else ""
    try:
        import torch

        gpu = torch.cuda.is_available()
    except ImportError:  # pragma: no cover - torch is a core dependency
        gpu = False
    if not gpu:
        return f"NASLib's {name} trains a supernet and needs a GPU; none here{also}"
    root = Path(data_dir) if data_dir else naslib_data_dir()
    if not (root / "cifar-10-batches-py").is_dir():
        return f"NASLib's {name} needs CIFAR-10 in {root / 'cifar-10-batches-py'} (no download at run time){also}"
    return None


#: ``search`` settings of the one-shot optimizers (DARTS paper's on CIFAR-10, as in NASLib's
#: ``darts_defaults.yaml``); a spec's settings override them.
ONE_SHOT_DEFAULTS: dict[str, Any] = {
    "epochs": 50,
    "batch_size": 64,
    "learning_rate": 0.025,
    "learning_rate_min": 0.001,
    "momentum": 0.9,
    "weight_decay": 3e-4,
    "grad_clip": 5,
    "train_portion": 0.5,
    "data_size": 25000,
    "cutout": False,
    "arch_learning_rate": 3e-4,
    "arch_weight_decay": 1e-3,
    "unrolled": False,
    "tau_max": 10,
    "tau_min": 0.1,
}


def one_shot_config(
    name: str, seed: int, dataset: str, save: str | Path, settings: dict[str, Any] | None = None
) -> Any:
    """NASLib's config node for a one-shot search (``search.epochs`` supernet epochs), ``save/search`` made."""
    search = {**ONE_SHOT_DEFAULTS, **dict(settings or {})}
    epochs = int(search.pop("epochs"))
    config = search_config(name, seed, epochs, dataset, save, search)
    config.data = str(naslib_data_dir())
    config.save_arch_weights = False
    (Path(save) / "search").mkdir(parents=True, exist_ok=True)
    return config


def synthetic_cifar_loaders(batches: int = 2, batch_size: int = 4, seed: int = 0) -> tuple[Any, Any]:
    """Train and validation loaders of random CIFAR-shaped images (3x32x32, 10 labels).

    They prove the one-shot path (NASLib's supernet, its optimizer's step, the Trainer loop) on a
    CPU in seconds; what a search on them finds means nothing, so no result of theirs is reported.
    """
    import torch

    gen = torch.Generator().manual_seed(int(seed))

    def loader() -> Any:
        images = torch.rand(batches * batch_size, 3, 32, 32, generator=gen)
        labels = torch.randint(0, 10, (batches * batch_size,), generator=gen)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=batch_size)

    return loader(), loader()


class _TimeUp(Exception):
    """Raised after a supernet epoch to end NASLib's Trainer loop at the time limit."""


def nb201_supernet(cells_per_stage: int = 5, in_channels: int = 3, n_classes: int = 10) -> Any:
    """NASLib's ``NasBench201SearchSpace`` with ``cells_per_stage`` cells in each stage (NASLib's has 5).

    NASLib's constructor takes the classes and input channels but fixes the macro (16/32/64
    channels, 5 cells per stage); the cells past the first ``cells_per_stage`` of each stage are
    replaced here by NASLib's own ``Identity`` op, so the supernet is exactly the network of our
    :class:`~nars_imagenet.nb201.NB201TrainSpace` with the same size, and NASLib's code is untouched.
    """
    if not 1 <= cells_per_stage <= 5:
        raise ConfigError(
            f"NASLib's NB201 supernet has 1 to 5 cells per stage, not {cells_per_stage}",
            "use --space-option cells_per_stage=N with N from 1 to 5",
        )
    space = naslib_module("search_spaces").NasBench201SearchSpace(n_classes=n_classes, in_channels=in_channels)
    identity = naslib_module("search_spaces.core.primitives").Identity
    for first in (2, 8, 14):  # the macro's edges (i, i + 1) of the first cell of each stage (NASLib's graph.py)
        for node in range(first + cells_per_stage, first + 5):
            space.edges[node, node + 1].set("op", identity())
    return space


def search_one_shot(
    name: str,
    config: Any,
    loaders: tuple[Any, Any] | None = None,
    search_space: Any = None,
    max_seconds: float | None = None,
) -> tuple[Any, float]:
    """Run NASLib's one-shot optimizer ``name`` through NASLib's Trainer; ``(optimizer, seconds)``.

    ``loaders`` (train, valid) replace NASLib's data loaders (which read ``config.data``), e.g.
    :func:`synthetic_cifar_loaders`; ``search_space`` replaces NASLib's default NB201 space (e.g.
    :func:`nb201_supernet`). ``max_seconds``: the supernet trains whole epochs until its seconds reach
    this (at most ``search.epochs``); after the first epoch the learning-rate schedule (and GDAS's
    temperature schedule) is set to the epochs that fit, so it anneals as a planned run would.
    Everything else is NASLib's own code.
    """
    utils = naslib_module("utils")
    trainer_cls = naslib_module("defaults.trainer").Trainer
    utils.set_seed(int(config.seed))
    cls = naslib_optimizer_class(name)
    takes_config = "config" in inspect.signature(cls).parameters  # master: cls(config); Develop: keywords
    optimizer = cls(config) if takes_config else cls(**dict(config.search))
    if search_space is None:
        search_space = naslib_module("search_spaces").NasBench201SearchSpace()
    try:
        optimizer.adapt_search_space(search_space, dataset=config.dataset)
    except TypeError:  # master: adapt_search_space(search_space, scope=None)
        optimizer.adapt_search_space(search_space)
    if loaders is not None:
        train, valid = loaders
        trainer_cls = type(
            "LoaderTrainer", (trainer_cls,), {"build_search_dataloaders": staticmethod(lambda _c: (train, valid, None))}
        )
    trainer = trainer_cls(optimizer, config, lightweight_output=True)
    started = time.perf_counter()

    def after_epoch(epoch: int) -> None:
        if max_seconds is None:
            return
        spent = time.perf_counter() - started
        if epoch == 0:
            fit = max(1, min(int(config.search.epochs), int(max_seconds // max(spent, 1e-9))))
            trainer.scheduler.T_max = fit
            if hasattr(optimizer, "tau_step"):  # GDAS: reach tau_min at the last epoch that fits
                optimizer.tau_step = (optimizer.tau_min - optimizer.tau_max) / fit
        if spent * (epoch + 2) / (epoch + 1) > max_seconds:  # the next epoch, at the mean pace, would pass it
            raise _TimeUp

    try:
        trainer.search(after_epoch=after_epoch)
    except _TimeUp:
        optimizer.after_training()
    return optimizer, time.perf_counter() - started


def run_one_shot(bench: TabularBenchmark, task: RunTask) -> dict[str, Any]:
    """One ``naslib:darts`` (or drnas/gdas) run: NASLib's Trainer trains the supernet on CIFAR-10 (GPU).

    The searched cell is looked up in our table; a one-shot search makes no table queries, so its
    curve is that one value at every budget. Only real CIFAR-10 (NASLib's loaders) runs here, so
    every figure this puts in a compare table comes from a search on the real data.
    """
    name = task.optimizer.partition(":")[2]
    reason = one_shot_unavailable(name)
    if reason:
        raise ConfigError(f"{task.optimizer} cannot run here: {reason}", "run it on a machine with a GPU and CIFAR-10")
    dataset = getattr(bench.space, "dataset", "cifar10")
    config = one_shot_config(name, task.seed, dataset, task.out, task.settings)
    optimizer, seconds = search_one_shot(name, config)
    best = graph_to_candidate(optimizer.get_final_architecture(), nb201_space(bench))
    row = bench.row_of(best)
    value = float(bench.values(bench.report)[row])
    return {
        "curve": [value],
        "seconds": seconds,
        "evaluated_now": 1,
        "best": {
            "candidate": best.to_dict(),
            "arch": bench.space.format_arch(best),
            "objective": float(bench.values(bench.objective)[row]),
            "report": value,
            "metrics": {k: float(v[row]) for k, v in bench.columns.items()},
        },
    }


#: The share of a comparison's seconds budget a one-shot supernet may train on (whole epochs); the
#: rest is left for training the derived cell. A setting of the run: ``naslib:darts(supernet_share=0.9)``.
SUPERNET_SHARE = 0.8


def supernet_loaders(data: Any, batch_size: int, train_portion: float, seed: int) -> tuple[Any, Any]:
    """The supernet's loaders from a training set: the first ``train_portion`` of a seeded permutation
    trains the weights, the rest the architecture (the DARTS protocol); validation and test images
    are never seen. Both shuffle with seeded generators (NASLib's Trainer draws one architecture
    batch per step with ``next(iter(valid_queue))``)."""
    import torch
    from torch.utils.data import DataLoader, Subset

    if not 0 < train_portion < 1:
        raise ConfigError(f"train_portion must be between 0 and 1, got {train_portion}", "e.g. train_portion=0.5")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(int(seed))).tolist()
    cut = int(len(order) * train_portion)

    def loader(indices: list[int], offset: int) -> Any:
        gen = torch.Generator().manual_seed(int(seed) + offset)
        return DataLoader(Subset(data, indices), batch_size=batch_size, shuffle=True, generator=gen, drop_last=True)

    return loader(order[:cut], 1), loader(order[cut:], 2)


def run_one_shot_trained(evaluator: Any, task: RunTask) -> dict[str, Any]:
    """One ``naslib:darts`` / ``naslib:gdas`` run on the ``train`` evaluator (``nb201-digits`` space).

    NASLib's optimizer trains the supernet of the space's macro (:func:`nb201_supernet`) on the
    evaluator's training images (:func:`supernet_loaders`) for up to ``supernet_share`` of the
    seconds budget (whole epochs, at most ``epochs``); the cell it derives is then trained from
    scratch by the evaluator, with the recipe and epochs of every other candidate. The run's cost is
    the supernet's seconds plus that training's; its curve has the supernet as a first point without
    a value and the trained cell as the second.
    """
    from nars_imagenet.data import load_data
    from nars_imagenet.nb201 import NB201TrainSpace

    name = task.optimizer.partition(":")[2]
    space = evaluator.space
    if not isinstance(space, NB201TrainSpace):
        raise ConfigError(
            f"{task.optimizer} searches NB201 cells, not space {space.name!r}", "use --space nb201-digits"
        )
    if task.constraints:
        raise ConfigError(f"{task.optimizer} cannot honour constraints {task.constraints}", "drop --constraint")
    settings = dict(task.settings)
    share = float(settings.pop("supernet_share", SUPERNET_SHARE))
    out = Path(task.out)
    identity = {"optimizer": task.optimizer, "seed": task.seed, "budget": task.budget, "settings": task.settings}
    identity.update(budget_seconds=task.budget_seconds, evaluator=evaluator.config(), space=space.options())
    done = out / "naslib_run.json"
    if done.is_file():
        saved = json.loads(done.read_text())
        if saved.get("identity") == identity:
            return {**saved["result"], "evaluated_now": 0}
    import torch

    torch.set_num_threads(1)
    config = one_shot_config(name, task.seed, "cifar10", out, settings)
    data = load_data(evaluator.dataset, space.image_resolution, evaluator.test)
    loaders = supernet_loaders(data.train, int(config.search.batch_size), float(config.search.train_portion), task.seed)
    supernet = nb201_supernet(space.cells_per_stage, data.in_channels, data.num_classes)
    cap = share * task.budget_seconds if task.budget_seconds else None
    optimizer, seconds = search_one_shot(name, config, loaders, supernet, cap)
    cell = graph_to_candidate(optimizer.get_final_architecture(), space)
    result = derived_answer(evaluator, space, cell, seconds, evaluator.evaluate(cell))
    out.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps({"identity": identity, "naslib": naslib_version(), "result": result}, indent=2))
    return result
