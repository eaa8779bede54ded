"""``smac``: SMAC3's random-forest Bayesian optimisation as a peer baseline, on any of our spaces.

SMAC3 (Lindauer et al., JMLR 2022) is what many practitioners pick for expensive problems with
categorical parameters. This optimizer drives SMAC3's own ask/tell interface with the facade SMAC's
documentation names for that case, :class:`smac.HyperparameterOptimizationFacade` (a random forest
over the configuration space, log expected improvement, local + sorted random search of the
acquisition function, 20% random interleaving, a Sobol initial design of 10 configurations per
parameter, at most a quarter of the budget). Changed from those defaults, each a setting:

* ``deterministic=True`` and one evaluation per configuration (``max_config_calls=1``): a table
  lookup or a seeded training run gives the same number twice;
* the random forest runs in one thread (``forest_jobs=1``): SMAC's default asks joblib for every
  core, and for 10 small trees joblib's thread pool waits longer than the trees take (60% of a
  100-query NB201 run was spent polling the pool);
* the surrogate is refit after every result (``retrain_after=1``; SMAC's default 8 proposes 8
  configurations from one fit) and the proposal walks down the acquisition ranking past up to
  ``retries=1000`` configurations already seen. SMAC's default of 16 gives up quickly on a small
  discrete space, where the top of the ranking is mostly evaluated points, and then proposes
  random configurations ("Could not return a new configuration after 16 retries"): about two
  thirds of a 100-query NB201 run with the defaults.

The initial design's size depends on the query budget (SMAC's rule), so a search resumes from its
journal under the same budget.

How the space maps: a categorical or ordinal parameter becomes a ``CategoricalHyperparameter`` /
``OrdinalHyperparameter`` over the positions of its values; an integer with a step an integer over
its grid positions; other integers and floats keep their range (``log`` included). Our spaces have
no conditional parameters.

What the wrapper keeps SMAC from doing to the host: SMAC writes its run history to an output folder
(here a temporary folder, deleted with the optimizer, never resumed: journals are our resume) and
``tell`` is called with ``save=False``; SMAC's logging set-up is skipped (``logging_level=False``)
and its loggers are set to ``WARNING`` only where the host left them unset. SMAC needs a target
function even for ask/tell: it is given one that is never called. Its local search orders the start
points through a Python set of configurations, whose order follows ``PYTHONHASHSEED``; the wrapper
sorts them, so the same seed gives the same proposals in every process.

Infeasible proposals (an invalid point or a broken constraint) are told to SMAC as crashed trials,
SMAC's documented status for a configuration that produced no result; their cost, like the cost of
a failed evaluation, is the scenario's crash cost, which this wrapper sets as it learns the scale:
the worst cost seen so far plus the violation times the spread of the costs seen.

SMAC3 is an optional dependency (``pip install 'nars-plugin[smac]'``), imported when the optimizer
is created.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..settings import setting
from ..space import Candidate, Categorical, Float, Integer, Ordinal, Param
from .peer import PeerOptimizer, PeerSettings, candidate_from_positions, positions, positions_of


def import_smac() -> Any:
    """The ``smac`` module, or a clear error naming the extra that installs it."""
    try:
        import smac
    except ImportError:
        raise ConfigError(
            "the smac optimizer needs SMAC3 (the smac package), which is not installed",
            "pip install 'nars-plugin[smac]' (or pip install 'smac>=2.2')",
        ) from None
    return smac


def hyperparameter(param: Param, cs: Any) -> Any:
    """The ConfigSpace hyperparameter of one parameter (``cs`` is the ConfigSpace module)."""
    n = positions(param)
    if isinstance(param, Ordinal):
        return cs.OrdinalHyperparameter(param.name, sequence=list(range(n or 0)))
    if isinstance(param, Categorical):
        return cs.CategoricalHyperparameter(param.name, choices=list(range(n or 0)))
    if isinstance(param, Integer):
        if n is not None:  # a stepped integer: its grid positions
            return cs.UniformIntegerHyperparameter(param.name, 0, n - 1)
        return cs.UniformIntegerHyperparameter(param.name, param.low, param.high)
    if isinstance(param, Float):
        return cs.UniformFloatHyperparameter(param.name, param.low, param.high, log=param.log)
    raise ConfigError(
        f"smac cannot map parameter {param.name!r} of type {type(param).__name__} onto ConfigSpace",
        "use Categorical, Ordinal, Integer or Float parameters",
    )


def configuration_space(space: Any, seed: int) -> Any:
    """The ConfigSpace ``ConfigurationSpace`` of a space, seeded."""
    import ConfigSpace as cs

    config_space = cs.ConfigurationSpace(seed=seed)
    config_space.add([hyperparameter(p, cs) for p in space.params])
    return config_space


def _never_called(config: Any, seed: int = 0) -> float:
    raise RuntimeError("SMAC's target function is never called: nars-plugin evaluates through ask/tell")


def _sorted_start_points(find: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """SMAC's local-search start points in an order that does not depend on ``PYTHONHASHSEED``."""

    def ordered(*args: Any, **kwargs: Any) -> list[Any]:
        return sorted(find(*args, **kwargs), key=repr)

    return ordered


@dataclass(frozen=True)
class SMACSettings(PeerSettings):
    """Settings of the SMAC3 peer."""

    retrain_after: int = setting(1, "proposals per surrogate fit (SMAC's default 8)", low=1)
    retries: int = setting(
        1000, "configurations already seen that a proposal may skip in the acquisition ranking (SMAC's 16)", low=1
    )
    initial_configs: int | None = setting(
        None,
        "configurations of the Sobol initial design (auto: SMAC's rule, 10 per parameter, "
        "at most 25% of the query budget, or of 100 queries under a seconds budget)",
        none="auto",
        low=1,
    )
    random_probability: float = setting(0.2, "share of proposals drawn at random (SMAC's default)", low=0, high=1)
    forest_jobs: int = setting(1, "threads of the random forest (SMAC's default -1: every core)", low=-1)


class SMAC(PeerOptimizer[SMACSettings]):
    """SMAC3's ``HyperparameterOptimizationFacade`` behind the ask/tell contract (settings: :class:`SMACSettings`)."""

    name = "smac"

    def setup(self) -> None:
        super().setup()
        smac = import_smac()
        from smac.runhistory.dataclasses import TrialInfo, TrialValue
        from smac.runhistory.enumerations import StatusType

        self._trial_info, self._trial_value, self._status = TrialInfo, TrialValue, StatusType
        for name in ("smac", "ConfigSpace"):
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.WARNING)
        self.config_space = configuration_space(self.space, self.seed)
        self._folder = tempfile.TemporaryDirectory(prefix="nars-smac-")
        facade = smac.HyperparameterOptimizationFacade
        scenario = smac.Scenario(
            self.config_space,
            name="nars",
            output_directory=Path(self._folder.name),
            deterministic=True,
            n_trials=(self.budget.queries if self.budget else None) or 100,
            seed=self.seed,
        )
        model = facade.get_model(scenario)
        model._rf_opts["n_jobs"] = self.config.forest_jobs  # SMAC's default -1 asks joblib for every core
        model._rf_opts["max_leaf_nodes"] = None  # unbounded, as SMAC's 2**20, without a best-first builder
        self.smac = facade(
            scenario,
            _never_called,
            model=model,
            intensifier=facade.get_intensifier(scenario, max_config_calls=1),
            config_selector=facade.get_config_selector(
                scenario, retrain_after=self.config.retrain_after, retries=self.config.retries
            ),
            initial_design=facade.get_initial_design(scenario, n_configs=self.config.initial_configs),
            random_design=facade.get_random_design(scenario, probability=self.config.random_probability),
            logging_level=False,
            overwrite=True,
        )
        local_search = self.smac._acquisition_maximizer._local_search
        local_search._get_initial_points = _sorted_start_points(local_search._get_initial_points)

    # -- the PeerOptimizer hooks ------------------------------------------- #

    def _draw(self) -> tuple[Any, Candidate]:
        info = self.smac.ask()
        return info, candidate_from_positions(self.space, dict(info.config))

    def _reject(self, handle: Any, violation: float) -> None:
        value = self._trial_value(cost=-self.penalty(violation), status=self._status.CRASHED)
        self.smac.tell(handle, value, save=False)

    def _answer(self, handle: Any, value: float) -> None:
        if not math.isfinite(value):
            self._reject(handle, 1.0)
            return
        self.told_values.append(value)
        self.smac.tell(handle, self._trial_value(cost=-value), save=False)

    def _withdraw(self, handle: Any) -> None:
        self._reject(handle, 1.0)

    def _adopt(self, cand: Candidate) -> Any:
        from ConfigSpace import Configuration

        config = Configuration(self.config_space, values=positions_of(self.space, cand))
        return self._trial_info(config=config, seed=self.seed)

    def report(self) -> dict[str, Any]:
        return {"smac_trials": len(self.smac.runhistory), **super().report()}
