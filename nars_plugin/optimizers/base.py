"""The ask/tell optimizer contract: what a strategy implements and what the core guarantees it.

An optimizer proposes candidates with :meth:`Optimizer.ask` and learns each outcome through
:meth:`Optimizer.tell`. The study (:mod:`nars_plugin.study`, built by
:func:`nars_plugin.create_study`) owns evaluation, budget, journal and resume; an optimizer owns
nothing but its own decisions.

**Writing one.** Subclass :class:`Optimizer` typed by a settings declaration,
``class Greedy(Optimizer[GreedySettings])`` (a dataclass, :mod:`nars_plugin.settings`; the type argument
is the one place it is named), set ``name``, implement :meth:`~Optimizer.ask` and, to learn, extend
:meth:`~Optimizer.tell` (call ``super().tell``). Set up per-run state in :meth:`~Optimizer.setup`
rather than overriding the constructor. May override: :meth:`~Optimizer.ask_batch` (proposals that do
not depend on each other's results), :attr:`~Optimizer.finished`, :meth:`~Optimizer.report`. Register
it with ``registry.add_optimizer(name, cls, description)`` and run
``nars_plugin.testing.OptimizerConformance``.

**What the core passes the constructor.** ``cls(space, context=RunContext(...), settings=...)``: the
:class:`~nars_plugin.settings.RunContext` (``objective``, ``seed``, ``constraints``, ``budget``,
``max_fidelity``, ``fixed_recipe``: the run's, not the strategy's) and the settings, an instance of
the declaration (the registry has parsed and checked them). The two never share a namespace. The
base class keeps the context as ``self.context`` (and its fields as read-only attributes,
``self.seed``, ``self.budget``, ...) and the settings as ``self.config``. For scripts and tests,
``Greedy(space, objective="acc", seed=0, width=4)`` is shorthand for the same call: the names of the
context's fields go to the context, the others are settings.

*The 0.1 contract* called the constructor with the context's fields and the settings as one
set of keywords and set every setting as an attribute. A third-party optimizer written for it still
loads and runs: the registry calls it the old way when it refuses ``context=``/``settings=``, and a
setting read as an attribute (``self.width``) still answers; both warn (DeprecationWarning).

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

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from .. import budget as budgets
from .. import settings as declared_settings
from ..errors import ConfigError
from ..evaluation import Result
from ..settings import Configured, RunContext, checked_seed
from ..space import Candidate, Constraint, Space

__all__ = ["Optimizer", "Proposal", "RunContext", "checked_seed"]

S = TypeVar("S")


@dataclass(frozen=True)
class Proposal:
    """A candidate to evaluate, optionally at a reduced fidelity (epochs).

    ``reevaluate``: evaluate (and pay for) the candidate again even when the study has its
    result already; by default a repeat is answered from the study's cache, free.
    """

    candidate: Candidate
    fidelity: int | None = None
    reevaluate: bool = False


class Optimizer(Configured[S], ABC):
    """Base class of every search strategy, typed by its settings declaration ``S``.

    Args:
        space: the joint space to search (with ``context.fixed_recipe`` held fixed:
            ``space.fix_recipe(...)``, an architecture-only search).
        context: the run's :class:`~nars_plugin.settings.RunContext` (objective, seed, constraints,
            budget, max_fidelity, fixed_recipe); read back as ``self.context`` and as the read-only
            attributes of the same names.
        settings: the strategy's own settings: an instance of its declaration, or a mapping of
            values (typed or text) that the declaration parses and checks. ``self.config`` holds the
            instance. Without a declaration no settings are taken.
        **shorthand: instead of ``context`` and ``settings``, for scripts and tests: the context's
            fields (``objective=``, ``seed=``, ...) and the settings by name, as one set of keywords.
    """

    name = "optimizer"

    def __init__(
        self,
        space: Space,
        context: RunContext | None = None,
        settings: S | Mapping[str, Any] | None = None,
        **shorthand: Any,
    ) -> None:
        if shorthand:
            if context is not None or settings is not None:
                raise TypeError(f"{type(self).__name__}: pass context and settings, or keywords, not both")
            own = set(RunContext.names())
            context = RunContext(**{k: v for k, v in shorthand.items() if k in own})
            settings = {k: v for k, v in shorthand.items() if k not in own}
        if context is None:
            raise TypeError(f"{type(self).__name__} needs a RunContext (or objective=...)")
        declaration = type(self).Settings
        owner, command = f"optimizer {self.name!r}", f"nars optimizers {self.name}"
        if declaration is None and settings:
            given = settings if isinstance(settings, Mapping) else declared_settings.as_kwargs(settings)
            raise declared_settings.unknown_setting(next(iter(given)), [], owner, command)
        self.context = context
        parsed = declared_settings.parse(declaration, settings, owner, command) if declaration else None
        self.config = cast(S, parsed)
        self.space = space.fix_recipe(**context.fixed_recipe) if context.fixed_recipe else space
        self.rng = np.random.default_rng(context.seed)
        self.constraints: list[Constraint] = list(context.constraints)
        self._spending = budgets.Spending().view  # nothing spent, until a study hands over its account
        self.history: list[tuple[Proposal, Result]] = []
        self.evaluated: dict[str, float] = {}  # full-fidelity canonical candidate key -> objective
        self.setup()

    def setup(self) -> None:
        """Set up the strategy's own state; called at the end of the constructor, when ``self.space``,
        ``self.context``, ``self.config`` and ``self.rng`` are there. A subclass extends it (calling
        ``super().setup()``) instead of overriding the constructor."""

    @property
    def objective(self) -> str:
        """The metric maximised (the context's)."""
        return self.context.objective

    @property
    def seed(self) -> int:
        """The run's seed (the context's); ``self.rng`` is seeded from it."""
        return self.context.seed

    @property
    def budget(self) -> budgets.Budget | None:
        """The study's budget (the context's)."""
        return self.context.budget

    @property
    def max_fidelity(self) -> int | None:
        """Full epochs when the evaluator returns curves (the context's)."""
        return self.context.max_fidelity

    @property
    def fixed_recipe(self) -> Mapping[str, Any]:
        """The recipe values held fixed (the context's)."""
        return self.context.fixed_recipe

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
