"""The ask/tell optimizer contract: what a strategy implements and what the core guarantees it.

An optimizer proposes candidates with :meth:`Optimizer.ask` and learns each outcome through
:meth:`Optimizer.tell`. The study (:mod:`nars_plugin.study`, built by
:func:`nars_plugin.create_study`) owns evaluation, budget, journal and resume; an optimizer owns
nothing but its own decisions.

**Writing one.** Subclass :class:`Optimizer`, set ``name``, declare settings as
``Settings = MySettings`` (a dataclass, :mod:`nars_plugin.settings`), implement :meth:`~Optimizer.ask`
and, to learn, extend :meth:`~Optimizer.tell` (call ``super().tell``). May override:
:meth:`~Optimizer.ask_batch` (proposals that do not depend on each other's results),
:attr:`~Optimizer.finished`, :meth:`~Optimizer.report`. Register it with
``registry.add_optimizer(name, cls, description)`` and run ``nars_plugin.testing.OptimizerConformance``.

**What the core passes the constructor** (keywords, every time): ``objective``, ``seed``,
``constraints``, ``budget`` (a :class:`Budget`: queries and/or simulated seconds), ``max_fidelity``
(full epochs when the evaluator returns curves, else None), ``fixed_recipe``, and the declared
settings. The base class keeps them as attributes; a subclass passes them on with ``**kwargs``.

**Replay determinism** (a journal resumes only if this holds):

* everything random comes from ``self.rng`` (seeded from ``seed``), never from the global
  ``random``/``numpy.random`` state, set iteration order or the clock;
* ``ask`` depends only on the seed, the settings and what was told before.

A study resumes by calling ``ask`` again and answering from the journal; a proposal that differs from
the journaled one stops the resume with "journal entry N holds ... but the optimizer now proposes ...".

**What ``ask`` may use.** ``self.budget`` (the whole budget), ``self.used`` (evaluations and simulated
seconds spent when the study asked) and :meth:`~Optimizer.remaining`; the per-query cost of past
evaluations is ``result.cost`` in ``tell`` (``self.history`` keeps every (proposal, result)).

**Repeats and failures.** Proposing a candidate the study has evaluated is allowed and free: the study
answers it from its cache and calls ``tell`` with the cached result, counting nothing against the
budget (``Proposal(reevaluate=True)`` asks for a paid evaluation instead). Candidates are keyed by
their canonical form (:meth:`Space.canonical_key <nars_plugin.space.Space.canonical_key>`): two
encodings of one candidate are one candidate for the study, for :attr:`Optimizer.evaluated`, for
exclusion sets and for the pools and populations of the built-in optimizers, which also never
propose an invalid point (:meth:`Optimizer.feasible` implies
:meth:`Space.is_valid <nars_plugin.space.Space.is_valid>`). A failed evaluation arrives as a
``Result`` with ``ok`` False and objective ``-inf`` (:meth:`~Optimizer.score`); it is never the best.
Values handed back for a space's parameters are compared by value (``3.0`` is the choice ``3``).
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import budget as budgets
from .. import settings as declared_settings
from .._keyvalue import parse_key_values
from ..errors import ConfigError, option
from ..evaluation import Result
from ..parameters import is_integer
from ..space import Candidate, Constraint, Space, parse_constraints


@dataclass(frozen=True)
class Proposal:
    """A candidate to evaluate, optionally at a reduced fidelity (epochs).

    ``reevaluate``: evaluate (and pay for) the candidate again even when the study has its
    result already; by default a repeat is answered from the study's cache, free.
    """

    candidate: Candidate
    fidelity: int | None = None
    reevaluate: bool = False


def checked_seed(seed: object) -> int:
    """``seed`` as an int; a ConfigError unless it is a whole number >= 0 (not a string, float or bool)."""
    if not is_integer(seed) or operator.index(seed) < 0:  # type: ignore[arg-type]
        raise ConfigError(
            f"seed must be a non-negative integer, got {seed!r}",
            f"pass {option('seed=0', '--seed 0')} or another whole number >= 0",
        )
    return operator.index(seed)  # type: ignore[arg-type]


class Optimizer(ABC):
    """Base class of every search strategy.

    Args:
        space: the joint space to search.
        objective: the metric to maximise (results carry it in ``metrics``).
        seed: seeds ``self.rng``; the same seed gives the same search.
        constraints: resource constraints every proposal must meet.
        budget: the study's budget, for strategies that plan ahead.
        max_fidelity: full number of epochs when the evaluator returns curves.
        fixed_recipe: recipe values to hold fixed (an architecture-only search), e.g.
            ``{"training": "standard"}``; the optimizer then searches ``space.fix_recipe(...)``.
        settings: the strategy's own settings, declared by the class attribute ``Settings`` (a
            :mod:`nars_plugin.settings` declaration): they are parsed and checked into
            ``self.config`` and each is also set as an attribute of the same name. Without a
            declaration no settings are taken.
    """

    name = "optimizer"
    #: The declaration of this strategy's settings (:mod:`nars_plugin.settings`), or None.
    Settings: ClassVar[type | None] = None

    def __init__(
        self,
        space: Space,
        *,
        objective: str,
        seed: int = 0,
        constraints: Sequence[str | Constraint] = (),
        budget: budgets.Budget | None = None,
        max_fidelity: int | None = None,
        fixed_recipe: Mapping[str, Any] | str | None = None,
        **settings: Any,
    ) -> None:
        declaration = type(self).Settings
        owner, command = f"optimizer {self.name!r}", f"nars optimizers {self.name}"
        if declaration is None and settings:
            raise declared_settings.unknown_setting(next(iter(settings)), [], owner, command)
        self.config: Any = declared_settings.parse(declaration, settings, owner, command) if declaration else None
        if self.config is not None:
            for key, value in declared_settings.as_kwargs(self.config).items():
                setattr(self, key, value)
        self.fixed_recipe = _recipe_mapping(fixed_recipe)
        self.space = space.fix_recipe(**self.fixed_recipe) if self.fixed_recipe else space
        self.objective = objective
        self.seed = checked_seed(seed)
        self.rng = np.random.default_rng(self.seed)
        self.constraints = parse_constraints(constraints)
        self.budget = budget
        self.max_fidelity = max_fidelity
        self._spending = budgets.Spending().view  # nothing spent, until a study hands over its account
        self.history: list[tuple[Proposal, Result]] = []
        self.evaluated: dict[str, float] = {}  # full-fidelity canonical candidate key -> objective

    # -- the contract ------------------------------------------------------ #

    @abstractmethod
    def ask(self) -> Proposal:
        """Propose the next candidate to evaluate."""

    def ask_batch(self, n: int) -> list[Proposal]:
        """Up to ``n`` proposals to evaluate side by side before any of them is told.

        The default proposes one (safe for every strategy); strategies whose next proposals do not
        depend on the pending results override it. The batch must not depend on ``n`` beyond its
        length, so a search is the same whatever the parallelism.
        """
        return [self.ask()]

    def tell(self, proposal: Proposal, result: Result) -> None:
        """Learn the result of a proposal (subclasses extend, calling super)."""
        self.history.append((proposal, result))
        if self.is_full(proposal, result):
            self.evaluated[self.space.canonical_key(proposal.candidate)] = result.objective(self.objective)

    @property
    def finished(self) -> bool:
        """True when the optimizer has nothing more to propose."""
        return False

    def settings(self) -> dict[str, Any]:
        """The settings that define this optimizer's behaviour (journal identity): the declared
        settings as given (``auto`` stays ``auto``), the fixed recipe, and the budget when the
        declaration says the plan depends on it (``budget_dependent``)."""
        out = declared_settings.identity(self.config) if self.config is not None else {}
        if self.fixed_recipe:
            out["fixed_recipe"] = dict(self.fixed_recipe)
        why = getattr(type(self).Settings, "budget_dependent", None)
        if why:
            plan = budgets.describe_budget(self.budget)
            out["budget"] = f"{plan} ({why}, so a journal resumes only under the same budget)"
        return out

    def report(self) -> dict[str, Any]:
        """Extra results for the study summary (e.g. a model family); empty by default."""
        return {}

    # -- helpers for subclasses ------------------------------------------- #

    @property
    def used(self) -> tuple[int, float]:
        """(evaluations, simulated seconds) the study had spent when it last asked (read-only: the
        study owns the account), so a strategy can plan against ``budget`` (see :meth:`remaining`)."""
        return self._spending.used

    def follow(self, spending: budgets.SpendingView) -> None:
        """Read :attr:`used` from ``spending``, the study's account (the study calls this when it takes
        the optimizer)."""
        self._spending = spending

    def remaining(self) -> tuple[int | None, float | None]:
        """(evaluations, simulated seconds) left in the study's budget; None where it has no such limit."""
        return self._spending.remaining(self.budget)

    def is_full(self, proposal: Proposal, result: Result) -> bool:
        """Whether a result is a full-fidelity evaluation (comparable with others)."""
        fid = result.fidelity if result.fidelity is not None else proposal.fidelity
        return fid is None or self.max_fidelity is None or fid >= self.max_fidelity

    def score(self, result: Result) -> float:
        """The objective of a result (-inf when it failed)."""
        return result.objective(self.objective)

    def feasible(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Mask for ``cands``: valid points of the space that meet the constraints."""
        return self.space.feasible(cands, self.constraints)

    def random_feasible(self, n: int, exclude: set[str] | None = None, max_draws: int = 64) -> list[Candidate]:
        """Up to ``n`` distinct random feasible candidates, in canonical form, whose canonical keys
        are not in ``exclude``."""
        exclude = set(exclude or ())
        found: list[Candidate] = []
        for _ in range(max_draws):
            batch = self.space.sample(max(4 * (n - len(found)), 16), self.rng, method="random")
            for cand, ok in zip(batch, self.feasible(batch)):
                if not ok:
                    continue
                form = self.space.canonical(cand)
                if form.key not in exclude:
                    exclude.add(form.key)
                    found.append(form)
                    if len(found) == n:
                        return found
        return found

    def random_fresh(self, n: int, exclude: Iterable[str] = ()) -> list[Candidate]:
        """The random fallback every built-in optimizer shares.

        Up to ``n`` random feasible candidates whose canonical keys are not in ``exclude`` (those
        evaluated or asked); when none is left, one feasible candidate that may repeat (the study
        answers a repeat from its cache, free); a :class:`ConfigError` when nothing is feasible.
        """
        picked = self.random_feasible(n, exclude=set(exclude)) or self.random_feasible(1)
        if not picked:
            raise ConfigError(
                f"{self.name} found no feasible candidate in space {self.space.name!r}"
                + (f" under {[str(c) for c in self.constraints]}" if self.constraints else ""),
                "relax the constraints; without constraints, the space's is_valid rejects (nearly) every point",
            )
        return picked

    def best(self) -> tuple[Candidate, float] | None:
        """The best full-fidelity candidate told so far and its objective."""
        best = None
        for proposal, result in self.history:
            if self.is_full(proposal, result):
                value = self.score(result)
                if best is None or value > best[1]:
                    best = (proposal.candidate, value)
        return best


def _recipe_mapping(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """``{"a": 1}`` or ``"a=1,b=x"`` -> dict (empty for None)."""
    if not value:
        return {}
    return parse_key_values(value, "fixed recipe", separator=",")


#: Names that moved out of this module: name -> (module, where to import it from now).
_MOVED = {
    "RandomSearch": ("random_search", "nars_plugin.optimizers"),
    "RandomSearchSettings": ("random_search", "nars_plugin.optimizers.random_search"),
    "Budget": ("budget", "nars_plugin.optimizers (or nars_plugin.budget)"),
    "describe_budget": ("budget", "nars_plugin.budget"),
}


def __getattr__(name: str) -> Any:
    """Names that moved (``RandomSearch``, ``Budget``, ...) work from this path one more release, with a warning."""
    if name in _MOVED:
        import importlib
        import warnings

        module, where = _MOVED[name]
        warnings.warn(
            f"nars_plugin.optimizers.base.{name} moved: import it from {where}", DeprecationWarning, stacklevel=2
        )
        package = "nars_plugin" if module == "budget" else __package__
        return getattr(importlib.import_module(f"{package}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
