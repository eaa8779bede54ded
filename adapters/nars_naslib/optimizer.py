"""NARS (or any registered ask/tell optimizer) as a NASLib ``MetaOptimizer``.

The search itself is :class:`nars_plugin.optimizers.nars.NARS` (or the registered optimizer
named by ``optimizer=``) in a study built by :func:`nars_plugin.create_study`; this class only
translates: every NASLib search epoch asks the study for one candidate, turns that into a NASLib
NB201 graph, queries NASLib's ``dataset_api`` for ``Metric.VAL_ACCURACY`` and tells the value back.
Repeats of a queried cell are answered by the study, as in ``nars search``, so an epoch always
queries a new cell. It runs inside
``naslib.defaults.trainer.Trainer`` like NASLib's own discrete optimizers::

    config = ...                      # NASLib config: dataset, search.epochs, search.seed, save
    optimizer = NARS(config)
    optimizer.adapt_search_space(NasBench201SearchSpace(), dataset_api=make_dataset_api(bench))
    trainer = Trainer(optimizer, config)
    trainer.search()
    trainer.evaluate(dataset_api=api)

Signatures follow both NASLib branches: ``adapt_search_space(search_space, scope=None,
dataset_api=None, **kw)`` (master and Develop call it with ``dataset_api=``) and
``train_statistics(report_incumbent=True)`` (Develop passes the flag, master calls it bare).
Importing this module imports NASLib.
"""

from __future__ import annotations

from typing import Any

import torch

from nars_plugin.api import create_study
from nars_plugin.errors import ConfigError
from nars_plugin.evaluation import Evaluator, Result
from nars_plugin.space import Candidate
from nars_plugin.spaces.nb201 import NB201Space
from nars_plugin.study import Study, StudyFinished

from ._naslib import naslib_module
from .dataset_api import candidate_to_graph, check_api_dataset

_MetaOptimizer: Any = naslib_module("optimizers.core.metaclasses").MetaOptimizer
Metric = naslib_module("search_spaces.core.query_metrics").Metric


class QueriedModel(torch.nn.Module):
    """One queried architecture in the optimizer's history (NASLib keeps ``model.arch``/``model.accuracy``)."""

    def __init__(self, arch: Any, accuracy: float) -> None:
        super().__init__()
        self.arch = arch
        self.accuracy = accuracy


#: The objective name the wrapped optimizer maximises: NASLib's VAL_ACCURACY query.
OBJECTIVE = "val_accuracy"


class _GraphQuery(Evaluator):
    """NASLib's own answer for a candidate: its NB201 graph queried through the ``dataset_api``."""

    name = "naslib-query"

    def __init__(self, owner: AskTellOptimizer, space: NB201Space) -> None:
        self.owner, self.space, self.objective = owner, space, OBJECTIVE

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        owner = self.owner
        graph = candidate_to_graph(cand, self.space, owner.search_space)
        accuracy = float(graph.query(owner.performance_metric, owner.dataset, dataset_api=owner.dataset_api))
        owner.history.append(QueriedModel(graph, accuracy))
        return Result(metrics={OBJECTIVE: accuracy})

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "objective": self.objective, "dataset": self.owner.dataset}


def _get(node: Any, key: str, default: Any = None) -> Any:
    """``node.key`` of a NASLib config node (CfgNode/AttrDict/dict), or ``default``."""
    if node is None:
        return default
    if isinstance(node, dict):
        return node.get(key, default)
    return getattr(node, key, default)


class AskTellOptimizer(_MetaOptimizer):
    """A registered nars-plugin optimizer driven by NASLib's Trainer, one query per search epoch.

    Args:
        config: NASLib config; reads ``dataset``, ``search.epochs`` (the query budget),
            ``search.seed`` (or ``seed``) and, optionally, ``search.nars_settings`` (a mapping of
            optimizer settings).
        optimizer: registry name of the optimizer (``nars optimizers`` lists them).
        settings: optimizer settings; they override ``search.nars_settings``.
    """

    using_step_function = False
    optimizer_name = "rs"

    def __init__(self, config: Any, optimizer: str | None = None, **settings: Any) -> None:
        super().__init__()
        self.config = config
        self.optimizer_name = optimizer or self.optimizer_name
        self.dataset = _get(config, "dataset", "cifar10")
        search = _get(config, "search")
        self.epochs = int(_get(search, "epochs", 100))
        self.seed = int(_get(search, "seed", _get(config, "seed", 0)))
        self.settings = {**dict(_get(search, "nars_settings", None) or {}), **settings}
        self.performance_metric = Metric.VAL_ACCURACY
        self.history = torch.nn.ModuleList()
        self.study: Study | None = None
        self.space: NB201Space | None = None

    def adapt_search_space(self, search_space: Any, scope: Any = None, dataset_api: Any = None, **kwargs: Any) -> None:
        """Check the space (NASLib NB201, queryable, the config's data set that of the api's table) and
        create the wrapped ask/tell optimizer."""

        if getattr(search_space, "get_type", lambda: None)() != "nasbench201":
            raise ConfigError(
                f"{type(self).__name__} runs on NASLib's NasBench201SearchSpace, got {type(search_space).__name__}",
                "pass NasBench201SearchSpace()",
            )
        if dataset_api is None:
            raise ConfigError("NASLib's NB201 space needs a dataset_api to query", "pass make_dataset_api(benchmark)")
        check_api_dataset(dataset_api, self.dataset)
        self.search_space = search_space.clone()
        self.scope = scope if scope else search_space.OPTIMIZER_SCOPE
        self.dataset_api = dataset_api
        self.space = NB201Space(dataset=self.dataset)
        self.study = create_study(
            (self.space, _GraphQuery(self, self.space)),
            self.optimizer_name,
            budget=self.epochs,
            seed=self.seed,
            settings=self.settings,
            progress=False,
        )

    @property
    def inner(self) -> Any:
        """The wrapped nars-plugin optimizer (None before :meth:`adapt_search_space`)."""
        return self.study.optimizer if self.study is not None else None

    def new_epoch(self, epoch: int) -> None:
        """Ask for one candidate, query it through NASLib and tell the result."""
        if self.study is None:
            raise ConfigError("adapt_search_space() was not called", "call it before Trainer.search()")
        if self.study.finished:
            return
        try:
            trial = self.study.ask()
        except StudyFinished:  # the optimizer ran out of new candidates
            return
        self.study.tell(trial, self.study.evaluator.evaluate(trial.candidate))

    def train_statistics(self, report_incumbent: bool = True) -> tuple[float, float, float, float]:
        """(train acc, val acc, test acc, train time) of the incumbent (or of the newest candidate)."""
        arch: Any = self.get_final_architecture() if report_incumbent else self.history[-1].arch
        return tuple(
            arch.query(metric, self.dataset, dataset_api=self.dataset_api)
            for metric in (Metric.TRAIN_ACCURACY, Metric.VAL_ACCURACY, Metric.TEST_ACCURACY, Metric.TRAIN_TIME)
        )

    def test_statistics(self) -> Any:
        """The incumbent's raw benchmark entry."""
        return self.get_final_architecture().query(Metric.RAW, self.dataset, dataset_api=self.dataset_api)

    def get_final_architecture(self) -> Any:
        """The graph with the best queried VAL_ACCURACY (the first one on ties)."""
        if not len(self.history):
            raise ConfigError("no architecture was queried yet", "run Trainer.search() first")
        best = max(range(len(self.history)), key=lambda i: (self.history[i].accuracy, -i))
        return self.history[best].arch

    def get_op_optimizer(self) -> Any:
        raise NotImplementedError("a query-based optimizer trains no weights")

    def get_checkpointables(self) -> dict[str, Any]:
        return {"model": self.history}

    def get_model_size(self) -> float:
        return 0.0


class NARS(AskTellOptimizer):
    """FBNetV3's NARS (:class:`nars_plugin.optimizers.nars.NARS`) as a NASLib optimizer: ``NARS(config)``."""

    optimizer_name = "nars"
