"""``optuna-tpe``: Optuna's TPE sampler as a peer baseline, on any of our spaces.

Optuna (Akiba et al., KDD 2019) is the tool many users would reach for instead
of a NAS library; its default sampler is the Tree-structured Parzen Estimator
(Bergstra et al., NeurIPS 2011). This optimizer runs that sampler through
Optuna's own ask/tell interface inside our ask/tell contract:

* every :class:`~nars_plugin.space.Param` maps onto an Optuna distribution:
  :class:`~nars_plugin.space.Ordinal` -> ``IntDistribution`` over the positions of its
  ordered values (so TPE's densities see their order, as they would for a number),
  :class:`~nars_plugin.space.Categorical` -> ``CategoricalDistribution``,
  :class:`~nars_plugin.space.Integer` -> ``IntDistribution(low, high, step)``,
  :class:`~nars_plugin.space.Float` -> ``FloatDistribution(low, high, log)``;
  architecture and recipe parameters alike (their names are unique in a space);
* ``ask`` calls ``study.ask(distributions)``; the sampler is
  ``TPESampler(seed=seed)`` with Optuna's defaults otherwise, so the same seed and
  the same told results give the same proposals and journals replay;
* one exception to those defaults: under constraints, TPE models the parameters
  jointly (``multivariate="auto"``). A resource constraint such as a latency budget
  is a property of all parameters together, which independent per-parameter
  densities cannot represent: they keep drawing infeasible and repeated samples,
  each becomes a trial, and every draw gets slower (on ``nb201-latency`` under
  ``latency[pixel3] <= 5``: 188 s and 3,557 trials for a 100-query run, against
  2 s and 424 trials jointly; ``benchmarks/README.md``). ``multivariate=false`` restores
  Optuna's default;
* a sample that breaks a constraint is told to Optuna as infeasible (a pruned
  trial whose constraint value is the relative violation, which TPE ranks below
  every feasible trial) and the sampler draws again; so is a sample that is an
  invalid point of the space (:meth:`~nars_plugin.space.Space.is_valid`), with
  violation 1;
* a sample that was evaluated before (in any encoding: samples are compared by
  their canonical form) is told its known value, as Optuna's documentation
  recommends for repeats, and the sampler draws again;
* after ``max_tries`` such draws the proposal is a random feasible, not yet
  evaluated candidate, enqueued into the Optuna study so that TPE learns its
  result like any other.

Optuna is an optional dependency (``pip install 'nars-plugin[optuna]'``),
imported when the optimizer is created.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..settings import setting
from ..space import Candidate, Categorical, Float, Integer, Ordinal, Param
from .peer import PeerOptimizer, PeerSettings

#: Name of the constraint value this optimizer gives Optuna.
CONSTRAINT_KEY = "nars_violation"


def import_optuna() -> Any:
    """The ``optuna`` module, or a clear error naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "the optuna-tpe optimizer needs the optuna package, which is not installed",
            "pip install 'nars-plugin[optuna]' (or pip install 'optuna>=3')",
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distribution(param: Param, optuna: Any) -> Any:
    """The Optuna distribution of one parameter."""
    dists = optuna.distributions
    if isinstance(param, Ordinal):  # before Categorical, which it extends
        return dists.IntDistribution(0, len(param.choices) - 1)
    if isinstance(param, Categorical):
        return dists.CategoricalDistribution(list(param.choices))
    if isinstance(param, Integer):
        return dists.IntDistribution(param.low, param.high, step=param.step)
    if isinstance(param, Float):
        return dists.FloatDistribution(param.low, param.high, log=param.log)
    raise ConfigError(
        f"optuna-tpe cannot map parameter {param.name!r} of type {type(param).__name__} onto Optuna",
        "use Categorical, Integer or Float parameters",
    )


@dataclass(frozen=True)
class OptunaTPESettings(PeerSettings):
    """Settings of the Optuna TPE peer."""

    n_startup_trials: int = setting(10, "random trials before TPE models the results (Optuna's default 10)", low=1)
    multivariate: bool | None = setting(
        None,
        "model the parameters jointly (auto: jointly under constraints, independently otherwise)",
        none="auto",
    )


class OptunaTPE(PeerOptimizer[OptunaTPESettings]):
    """Optuna's TPE sampler behind the ask/tell contract (settings: :class:`OptunaTPESettings`)."""

    name = "optuna-tpe"

    def setup(self) -> None:
        super().setup()
        chosen = self.config.multivariate
        self.multivariate = bool(self.constraints) if chosen is None else chosen
        self._optuna = import_optuna()
        self.distributions = {p.name: distribution(p, self._optuna) for p in self.space.params}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental/deprecation notes about sampler options
            sampler = self._optuna.samplers.TPESampler(
                seed=self.seed,
                n_startup_trials=self.config.n_startup_trials,
                multivariate=self.multivariate,
                **self._constraint_option(),
            )
        self.study = self._optuna.create_study(direction="maximize", sampler=sampler)

    # -- Optuna plumbing --------------------------------------------------- #

    def _constraint_option(self) -> dict[str, Any]:
        """Older Optuna reads constraint values through ``constraints_func``; 5.0+ through the trial."""
        if not self.constraints or hasattr(self._optuna.trial.Trial, "set_constraint"):
            return {}
        return {"constraints_func": lambda trial: (float(trial.user_attrs.get(CONSTRAINT_KEY, 0.0)),)}

    def _params(self, cand: Candidate) -> dict[str, Any]:
        values = {**cand.arch, **cand.recipe}
        return {
            p.name: p.index(values[p.name]) if isinstance(p, Ordinal) else values[p.name] for p in self.space.params
        }

    # -- the PeerOptimizer hooks ------------------------------------------- #

    def _draw(self) -> tuple[Any, Candidate]:
        trial = self.study.ask(self.distributions)

        def value(p: Param) -> Any:
            return p.choices[trial.params[p.name]] if isinstance(p, Ordinal) else trial.params[p.name]

        arch = {p.name: value(p) for p in self.space.arch_params}
        recipe = {p.name: value(p) for p in self.space.recipe_params}
        return trial, self.space.validate(Candidate(arch, recipe))

    def _reject(self, handle: Any, violation: float) -> None:
        """A pruned trial whose constraint value is the violation (TPE ranks it below every feasible one)."""
        if hasattr(handle, "set_constraint"):
            handle.set_constraint(CONSTRAINT_KEY, violation)
        else:
            handle.set_user_attr(CONSTRAINT_KEY, violation)
        self.study.tell(handle, state=self._optuna.trial.TrialState.PRUNED)

    def _answer(self, handle: Any, value: float) -> None:
        """Tell Optuna an objective value; a failed evaluation (-inf) is a failed trial."""
        if math.isfinite(value):
            self.study.tell(handle, value)
        else:
            self.study.tell(handle, state=self._optuna.trial.TrialState.FAIL)

    def _withdraw(self, handle: Any) -> None:
        self.study.tell(handle, state=self._optuna.trial.TrialState.FAIL)

    def _adopt(self, cand: Candidate) -> Any:
        self.study.enqueue_trial(self._params(cand), skip_if_exists=False)
        return self.study.ask(self.distributions)

    def report(self) -> dict[str, Any]:
        return {"optuna_trials": len(self.study.trials), **super().report()}
