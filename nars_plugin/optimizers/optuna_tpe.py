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

import numpy as np

from ..errors import ConfigError
from ..evaluation import Result
from ..settings import setting
from ..space import Candidate, Categorical, Float, Integer, Ordinal, Param
from .base import Optimizer, Proposal

#: Name of the constraint value this optimizer gives Optuna.
CONSTRAINT_KEY = "nars_violation"

#: The constraint value told for a sample that is an invalid point of the space.
INVALID_VIOLATION = 1.0


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
class OptunaTPESettings:
    """Settings of the Optuna TPE peer."""

    n_startup_trials: int = setting(10, "random trials before TPE models the results (Optuna's default 10)", low=1)
    multivariate: bool | None = setting(
        None,
        "model the parameters jointly (auto: jointly under constraints, independently otherwise)",
        none="auto",
    )
    max_tries: int = setting(100, "draws per proposal (repeats or constraint breaks) before a random fallback", low=1)


class OptunaTPE(Optimizer):
    """Optuna's TPE sampler behind the ask/tell contract (settings: :class:`OptunaTPESettings`)."""

    name = "optuna-tpe"
    Settings = OptunaTPESettings
    n_startup_trials: int
    max_tries: int

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        chosen = self.config.multivariate
        self.multivariate = bool(self.constraints) if chosen is None else chosen
        self._optuna = import_optuna()
        self.distributions = {p.name: distribution(p, self._optuna) for p in self.space.params}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental/deprecation notes about sampler options
            sampler = self._optuna.samplers.TPESampler(
                seed=self.seed,
                n_startup_trials=self.n_startup_trials,
                multivariate=self.multivariate,
                **self._constraint_option(),
            )
        self.study = self._optuna.create_study(direction="maximize", sampler=sampler)
        self._trials: dict[str, Any] = {}  # candidate key -> Optuna trial asked and not yet told
        self.fallbacks = 0  # proposals that came from the random fallback

    # -- Optuna plumbing --------------------------------------------------- #

    def _constraint_option(self) -> dict[str, Any]:
        """Older Optuna reads constraint values through ``constraints_func``; 5.0+ through the trial."""
        if not self.constraints or hasattr(self._optuna.trial.Trial, "set_constraint"):
            return {}
        return {"constraints_func": lambda trial: (float(trial.user_attrs.get(CONSTRAINT_KEY, 0.0)),)}

    def _mark_infeasible(self, trial: Any, violation: float) -> None:
        if hasattr(trial, "set_constraint"):
            trial.set_constraint(CONSTRAINT_KEY, violation)
        else:
            trial.set_user_attr(CONSTRAINT_KEY, violation)
        self.study.tell(trial, state=self._optuna.trial.TrialState.PRUNED)

    def _candidate(self, params: dict[str, Any]) -> Candidate:
        def value(p: Param) -> Any:
            return p.choices[params[p.name]] if isinstance(p, Ordinal) else params[p.name]

        arch = {p.name: value(p) for p in self.space.arch_params}
        recipe = {p.name: value(p) for p in self.space.recipe_params}
        return self.space.validate(Candidate(arch, recipe))

    def _params(self, cand: Candidate) -> dict[str, Any]:
        values = {**cand.arch, **cand.recipe}
        return {
            p.name: p.index(values[p.name]) if isinstance(p, Ordinal) else values[p.name] for p in self.space.params
        }

    def violation(self, cand: Candidate) -> float:
        """How far ``cand`` breaks the constraints: the sum of relative excesses (0 when feasible)."""
        if not self.constraints:
            return 0.0
        stats = self.space.statistics([cand])
        total = 0.0
        for c in self.constraints:
            value = float(stats[c.metric][0])
            if not bool(c.holds(np.array([value]))[0]):
                total += max(abs(value - c.bound), 1e-12) / max(abs(c.bound), 1e-12)
        return total

    # -- ask / tell ------------------------------------------------------ #

    def ask(self) -> Proposal:
        for _ in range(self.max_tries):
            trial = self.study.ask(self.distributions)
            cand = self._candidate(trial.params)
            if not self.space.is_valid(cand):
                self._mark_infeasible(trial, INVALID_VIOLATION)
                continue
            violation = self.violation(cand)
            cand = self.space.canonical(cand)
            if violation > 0:
                self._mark_infeasible(trial, violation)
            elif cand.key in self.evaluated:
                self._tell_value(trial, self.evaluated[cand.key])
            elif cand.key in self._trials:  # asked earlier and not told yet: do not propose it twice
                self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
            else:
                self._trials[cand.key] = trial
                return Proposal(cand)
        return Proposal(self._fallback())

    def _tell_value(self, trial: Any, value: float) -> None:
        """Tell Optuna an objective value; a failed evaluation (-inf) is a failed trial."""
        if math.isfinite(value):
            self.study.tell(trial, value)
        else:
            self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)

    def _fallback(self) -> Candidate:
        """A random feasible candidate not yet evaluated (else any: the study repeats its result),
        entered into the Optuna study."""
        cand = self.random_fresh(1, exclude=set(self.evaluated) | set(self._trials))[0]
        self.fallbacks += 1
        if cand.key not in self._trials:
            self.study.enqueue_trial(self._params(cand), skip_if_exists=False)
            self._trials[cand.key] = self.study.ask(self.distributions)
        return cand

    def tell(self, proposal: Proposal, result: Result) -> None:
        super().tell(proposal, result)
        trial = self._trials.pop(self.space.canonical_key(proposal.candidate), None)
        if trial is None:  # a repeat the study answered from its cache: Optuna has seen it
            return
        self._tell_value(trial, self.score(result))

    def report(self) -> dict[str, Any]:
        return {"optuna_trials": len(self.study.trials), "random_fallbacks": self.fallbacks}
