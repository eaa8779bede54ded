"""``nars naslib --config FILE.yaml``: a NASLib search from a NASLib config file, plugin-aware.

The file is NASLib's format (``optimizer``, ``search_space``, ``dataset``, ``seed``, ``out_dir``,
``search: {epochs, ...}``; see ``naslib/defaults/*.yaml``). ``optimizer:`` is resolved against
NASLib's optimizers first (``re``, ``bananas``, ...) and then against every optimizer registered
with nars-plugin, built-ins and plugins alike (``nars``, ``rea``, a third-party one); write
``nars:<name>`` to pick ours where NASLib has the same name (``nars:rs``). Ours run as
:class:`~.optimizer.AskTellOptimizer`, inside NASLib's Trainer like NASLib's own.

Queries go to NASLib's own NB201 data files by default, or, with ``--benchmark``, to a
:func:`~.dataset_api.make_dataset_api` of one of our tables. Outputs go where NASLib puts them
(``out_dir/search_space/dataset/optimizer/seed``, each part made a safe folder name by
:func:`nars_plugin._safe_files.safe_name`: ``nars:rs`` runs in ``.../nars%3Ars/0``), plus
``nars_result.json``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from nars_plugin._safe_files import safe_name
from nars_plugin.errors import ConfigError, DataFileError, UnknownNameError

from ._naslib import naslib_module, naslib_version
from .dataset_api import check_fidelity
from .runner import NASLIB_OPTIMIZERS, ONE_SHOT, SEARCH_DEFAULTS, one_shot_unavailable, warn_random_start
from .trainer import limit_threads, report_of


def load_naslib_config(path: str | Path) -> Any:
    """Read a NASLib YAML config (fvcore ``CfgNode``) and fill in what NASLib's runner derives."""
    naslib_module("")
    from fvcore.common.config import CfgNode  # type: ignore[import-untyped]

    file = Path(path)
    if not file.is_file():
        raise DataFileError(f"NASLib config {str(file)!r} does not exist", "check the --config path")
    try:
        with open(file, encoding="utf-8") as fh:
            config = CfgNode.load_cfg(fh)
    except Exception as exc:  # noqa: BLE001 - yaml and fvcore raise several types for a bad file
        raise ConfigError(f"{file} is not a NASLib YAML config: {exc}", "see naslib/defaults/*.yaml") from None
    config.set_new_allowed(True)
    if "optimizer" not in config:
        raise ConfigError(f"{file} has no 'optimizer:' key", "add e.g. 'optimizer: re' or 'optimizer: nars'")
    config.setdefault("search_space", "nasbench201")
    if config.search_space != "nasbench201":
        raise ConfigError(
            f"search_space {config.search_space!r}: the bridge runs NASLib's nasbench201 space",
            "set search_space: nasbench201",
        )
    config.setdefault("dataset", "cifar10")
    config.setdefault("seed", 0)
    config.setdefault("out_dir", "run")
    config.setdefault("search", CfgNode())
    for key, value in SEARCH_DEFAULTS.items():
        config.search.setdefault(key, value)
    config.search.setdefault("epochs", 100)
    config.search.seed = int(config.seed)
    warn_random_start(str(config.optimizer), config.search)
    # NASLib's layout, each part a safe folder name: `nars:rs` runs in .../nars%3Ars/0, as in nars compare
    parts = (config.search_space, config.dataset, config.optimizer, config.seed)
    config.save = str(Path(str(config.out_dir)).joinpath(*(safe_name(str(p)) for p in parts)))
    return config


def resolve_optimizer(config: Any) -> Any:
    """The optimizer ``config.optimizer`` names: NASLib's, else a registered nars-plugin one."""
    from nars_plugin.plugins import get_registry

    from .optimizer import NARS, AskTellOptimizer
    from .runner import naslib_optimizer_class

    name = str(config.optimizer)
    ours = name.partition(":")[2] if name.startswith("nars:") else None
    if ours is None and name in NASLIB_OPTIMIZERS:
        if name in ONE_SHOT:
            reason = one_shot_unavailable(name)
            if reason:
                raise ConfigError(f"optimizer {name!r} cannot run here: {reason}", "run it where a GPU and data are")
        return naslib_optimizer_class(name)(config)
    registry = get_registry()
    ask_tell = [e.name for e in registry.entries("optimizer") if "runner" not in e.extra]
    ours = ours or name
    if ours not in ask_tell:
        raise UnknownNameError(
            f"optimizer {name!r} is neither NASLib's nor a registered nars-plugin optimizer",
            f"NASLib's: {sorted(NASLIB_OPTIMIZERS)}; registered: {ask_tell} (nars:<name> picks ours)",
        )
    return NARS(config) if ours == "nars" else AskTellOptimizer(config, optimizer=ours)


def naslib_dataset_api(config: Any, benchmark: Any = None) -> dict[str, Any]:
    """Our table as a dataset_api (``benchmark`` given), else NASLib's own NB201 data files."""
    if benchmark is not None:
        from .dataset_api import make_dataset_api

        return make_dataset_api(benchmark, str(config.dataset))
    try:
        return naslib_module("utils.get_dataset_api").get_dataset_api(config.search_space, config.dataset)
    except (AssertionError, FileNotFoundError, KeyError) as exc:
        raise DataFileError(
            f"NASLib's own NB201 data for {config.dataset!r} is not installed: {exc}",
            "pass --benchmark csv:../shared/data/nb201/cifar10_test_acc_200ep.csv (or another nb201 table)",
        ) from None


def run_config(path: str | Path, benchmark: Any = None, threads: int = 1) -> dict[str, Any]:
    """Run NASLib's Trainer (search, then evaluate) as the config says; returns what it found.

    ``threads`` limits torch's threads (:func:`.trainer.limit_threads`).
    """
    config = load_naslib_config(path)
    if benchmark is not None:
        check_fidelity(config.search.get("fidelity"))
    api = naslib_dataset_api(config, benchmark)
    limit_threads(threads)
    optimizer = resolve_optimizer(config)
    utils = naslib_module("utils")
    space_cls = naslib_module("search_spaces").NasBench201SearchSpace
    trainer_cls = naslib_module("defaults.trainer").Trainer
    n_classes = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}.get(str(config.dataset), 10)
    takes_classes = "n_classes" in inspect.signature(space_cls).parameters  # Develop; master takes none
    utils.set_seed(int(config.seed))
    optimizer.adapt_search_space(space_cls(n_classes=n_classes) if takes_classes else space_cls(), dataset_api=api)
    save = Path(config.save)
    (save / "search").mkdir(parents=True, exist_ok=True)
    trainer = trainer_cls(optimizer, config, lightweight_output=True)
    trainer.search()
    value = trainer.evaluate(dataset_api=api)  # master returns nothing for a queried architecture
    final = optimizer.get_final_architecture()
    result: dict[str, Any] = {
        "optimizer": str(config.optimizer),
        "optimizer_class": type(optimizer).__name__,
        "naslib": naslib_version(),
        "save": str(save),
        "queries": int(config.search.epochs),
        "naslib_tuple": [int(i) for i in final.get_hash()],
        # Trainer.evaluate() queries Metric.TEST_ACCURACY, which NASLib reads from eval_acc1es, the
        # validation field (with --benchmark: the table's objective), so it is stored under that name.
        "evaluate_eval_acc1es": None if value is None else float(value),
    }
    if benchmark is not None:
        found = report_of(optimizer, benchmark)
        result.update({k: v for k, v in found.items() if k != "objective_value"})
    (save / "nars_result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
