"""NARS: FBNetV3's Neural Architecture-Recipe Search on the ask/tell interface.

Stage 1, constrained iterative optimisation
    A pool of (architecture, recipe) pairs is drawn by scrambled Sobol
    sampling and filtered by the constraints (a finite space no larger than
    ``pool_size`` is taken whole); it holds valid points only, each candidate
    once, in canonical form (as do the neighbourhoods and stage-2 populations).
    Round 0 evaluates a Sobol batch; every later round refits the predictor
    (``predictor``: FBNetV3's :class:`~nars_plugin.predictors.fbnetv3.NARSPredictor`,
    pretrained once on free statistics, unless another registered one is
    named) on everything evaluated and evaluates the best-ranked unevaluated
    batch of the pool. A refit continues the previous fit (the predictor's
    ``warm_start``), and the predictor's cheap screen (one ensemble member)
    shortlists the ``screen`` best of a large pool for the full ranking.
    The ``companion`` (boosted trees, ``lgbm``) is fitted beside the
    predictor; before each refit each model predicts the points told since
    its last fit, and the one whose predictions of those unseen points rank
    them best (Kendall tau) ranks the candidates (which one differs by seed
    and over a run; ``report()["predictor_members"]`` says).

Early stopping
    When the evaluator returns learning curves, the round-0 curves give the
    Kendall tau between the accuracy after each epoch and the final accuracy;
    later stage-1 candidates are trained only up to the first epoch whose tau
    reaches ``early_stop_tau`` and the predictor learns that epoch's accuracy.

Stage 2, predictor-based evolutionary search
    A population of the best ``p`` stage-1 pairs plus ``q`` random feasible
    pairs evolves by mutation (architecture and recipe) and crossover;
    children that break a constraint are rejected, the predictor scores the
    rest and the best ``p + q`` survive, until the best score improves by less
    than ``epsilon`` for ``patience`` generations. With ``family`` constraints
    (``"flops<=20M;flops<=40M"``) stage 2 runs once per value and returns a
    model family, like FBNetV3-A..G. The picks are then evaluated for real,
    within the budget.

Any budget left after the picks goes to further predictor-ranked rounds over
the pool and the last stage-2 population.

Budgets in simulated seconds
    The rounds are laid out for a number of queries. With a budget of simulated
    seconds only (``nars compare --budget-seconds``, e.g. the NB201 paper's
    12,000 s), round 0 is planned as for 100 queries (``init_batch`` 10) and,
    before every later round, the number of queries still expected is the
    seconds left divided by the mean cost of the latest ``init_batch``
    evaluations (later picks tend to be larger networks, so recent costs are
    the better guide). Stage 1 ends when what is left is expected to pay for
    ``final_fraction`` of all expected queries: the stage-2 picks. The plan
    depends only on the history, so journals replay.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ..candidate import unique
from ..errors import ConfigError, option
from ..evaluation import Result
from ..predictors import Predictor, create_predictor
from ..predictors.ensemble import MEMBER_DEFAULTS, EnsemblePredictor
from ..settings import Choice, choice, setting
from ..space import Candidate, Constraint, parse_constraints
from .base import Optimizer, Proposal
from .evolution import warn_if_population_fills_budget

#: Settings of the default predictor (fbnetv3) unless ``predictor.NAME=VALUE`` overrides them (see ``benchmarks/``),
#: the ones it has as an ensemble member: beyond 100 evaluated points a refit step trains on 100 of them, so a
#: round costs the same however long the search (``benchmarks/cost_growth.py``); a search of up to 100 queries
#: never gets there.
DEFAULT_PREDICTOR: dict[str, Any] = dict(MEMBER_DEFAULTS["fbnetv3"])


@dataclass(frozen=True)
class NARSSettings:
    """Settings of NARS (all optional; the defaults are justified in ``benchmarks/``)."""

    budget_dependent: ClassVar[str] = "nars lays out its rounds and the stage-2 share for the budget"

    pool_size: int = setting(50000, "Sobol pool size (a finite space up to this size is used whole)", low=1)
    init_batch: int | None = setting(
        None, "round-0 Sobol batch (auto: budget / 10, between 8 and 32)", low=1, none="auto"
    )
    batch: int | None = setting(
        None,
        "candidates per later stage-1 round (auto: queries / 50 rounded up, between 1 and 5: about 45 refits in "
        "any search of up to 250 queries; with a seconds budget, of the queries expected)",
        low=1,
        none="auto",
    )
    final_fraction: float = setting(
        0.1, "share of the query budget kept for the stage-2 picks", low=0, high=1, high_open=True
    )
    local_fraction: float = setting(
        0.4, "share of each stage-1 round taken from the neighbourhoods of the best evaluated candidates", low=0, high=1
    )
    local_parents: int = setting(5, "how many of the best evaluated candidates lend their neighbourhoods", low=0)
    local_pick: str = setting(
        "auto",
        "how neighbours are chosen: predicted (best-predicted first), random, or auto (predicted while the "
        "predictor ranks its own picks with Kendall tau >= trust_tau, random otherwise)",
        choices=("auto", "predicted", "random"),
    )
    trust_tau: float = setting(0.3, "the Kendall tau local_pick=auto needs to trust the predictor", low=-1, high=1)
    trust_min_points: int = setting(10, "predictor picks local_pick=auto needs known before it judges", low=2)
    untrusted_local_fraction: float = setting(
        0.8, "share of a round taken from the neighbourhoods while the predictor is not trusted", low=0, high=1
    )
    explore: float = setting(
        0.0, "stage-1 ranking = predicted mean + explore x ensemble std (0: the mean, as FBNetV3)", low=0
    )
    screen: int | None = setting(
        1024,
        "pool candidates the predictor's cheap screen (Predictor.screen: one ensemble member) shortlists "
        "for the full ranking each round (off: the full predictor ranks the whole pool)",
        low=1,
        none="off",
    )
    early_stop_tau: float | None = setting(
        0.92, "Kendall-tau threshold of the early-stopping rule (off: no early stopping)", low=-1, high=1, none="off"
    )
    population: int = setting(20, "p: best stage-1 pairs seeding stage 2", low=0)
    random_members: int = setting(20, "q: random feasible pairs added to the stage-2 population", low=0)
    generations: int = setting(60, "most stage-2 generations", low=0)
    patience: int = setting(8, "stage-2 generations without an improvement above epsilon before stopping", low=1)
    epsilon: float = setting(1e-3, "improvement threshold of stage 2 (objective units)", low=0)
    family: tuple[str, ...] = setting(
        (), "extra constraints, one stage-2 run and pick each, tightest first ('flops<=20M;flops<=40M')", separator=";"
    )
    predictor: Choice = choice("predictor", "fbnetv3", "the accuracy predictor", **DEFAULT_PREDICTOR)
    companion: Choice | None = choice(
        "predictor",
        "lgbm",
        "a second registered predictor fitted beside the predictor; whichever of the two ranks the points it had "
        "not seen best (out-of-sample Kendall tau) ranks the candidates (none: the predictor alone)",
        **MEMBER_DEFAULTS["lgbm"],
    )


class NARS(Optimizer[NARSSettings]):
    """Joint architecture + recipe search with a pretrained predictor (FBNetV3).

    Settings: :class:`NARSSettings` (``nars optimizers nars`` lists them). ``local_pick="auto"``
    trusts the predictor while :meth:`online_tau` is at least ``trust_tau``, so a misled predictor
    cannot stall the refinement; ``explore`` > 0 ranks by an upper confidence bound, so regions the
    evaluated candidates say little about get tried. The plan depends on the budget
    (``init_batch=auto``, the stage-2 share), so the budget is part of the journal identity.
    """

    name = "nars"

    def setup(self) -> None:
        super().setup()
        queries = self.budget.queries if self.budget and self.budget.queries else 100
        self.planned_queries = int(queries)
        self.planned_seconds: float | None = None  # a seconds-only budget: planned from the mean cost
        if self.budget is not None and self.budget.queries is None and self.budget.seconds is not None:
            self.planned_seconds = float(self.budget.seconds)
        chosen = self.config.init_batch
        self.init_batch = chosen if chosen else int(min(32, max(8, queries // 10)))
        if self.budget is not None:
            warn_if_population_fills_budget(
                self.name,
                self.init_batch,
                self.budget.queries,
                option("init_batch (settings={'init_batch': N})", "-O init_batch=N"),
                what="its round-0 Sobol batch",
            )
        self._predicted: dict[str, float] = {}
        self._checks: list[tuple[float, float]] = []
        self.family: list[list[Constraint]] = [parse_constraints([f]) for f in self.config.family]
        self.predictor = create_predictor(self.config.predictor, self.space, self.seed)
        self.model = self._with_companion(self.predictor)
        n_final = max(1, math.ceil(self.config.final_fraction * queries)) if self.config.final_fraction > 0 else 0
        self.n_picks = max(n_final, len(self.family))
        self.stage1_queries = max(self.init_batch, queries - self.n_picks)
        self._queue: list[Proposal] = []
        self._warned_round = False
        self._round_size: int | None = None  # batch=auto under a seconds budget, once round 0 is told
        self._pool: list[Candidate] | None = None
        self._pool_rows: dict[str, int] | None = None  # pool candidate key -> position
        self._stage = "init"
        self._fidelity: int | None = None  # early-stopping epoch chosen after round 0
        self._tau_by_epoch: list[float] | None = None
        self._asked: set[tuple[str, int | None]] = set()
        self._family_picks: list[dict[str, Any]] = []
        self._extra: list[Candidate] = []  # stage-2 population members not in the pool
        self._populations: list[Candidate] = []  # the stage-2 populations, in order
        # the training set, grown as results are told: (history entries read, fidelity, candidates, targets)
        self._known: tuple[int, int | None, list[Candidate], list[float]] = (0, None, [], [])

    def _with_companion(self, predictor: Predictor[Any]) -> Predictor[Any]:
        """The model that ranks candidates: the predictor, or an ensemble of it and the companion in
        which the member ranking unseen points best predicts (:mod:`nars_plugin.predictors.ensemble`)."""
        companion = self.config.companion
        if companion is None or companion.name == predictor.name:  # ``predictor=lgbm``: one member
            return predictor
        members = [predictor, create_predictor(companion, self.space, self.seed + 1)]
        return EnsemblePredictor.of(members, self.space, self.seed)

    # -- pool ------------------------------------------------------------ #

    def pool(self) -> list[Candidate]:
        """The constraint-filtered Sobol pool of canonical candidates (built once)."""
        if self._pool is None:
            size = self.space.size
            if size is not None and size <= self.config.pool_size:
                cands = _canonical_enumeration(self.space)
            else:
                cands = self.space.unique_canonical(self.space.sample(self.config.pool_size, seed=self.seed))
            mask = self.feasible(cands)
            self._pool = [c for c, ok in zip(cands, mask) if ok]
            if not self._pool:
                raise ConfigError("no pool candidate meets the constraints", "relax the constraints")
        return self._pool

    # -- ask / tell ------------------------------------------------------ #

    def ask(self) -> Proposal:
        while not self._queue:
            self._plan()
        proposal = self._queue.pop(0)
        self._asked.add((proposal.candidate.key, proposal.fidelity))
        return proposal

    def ask_batch(self, n: int) -> list[Proposal]:
        """The next up to ``n`` proposals of the current round (a round is planned from told results only).

        A round never depends on ``n`` (the same seed gives the same search on any number of workers),
        so rounds smaller than ``n`` leave workers waiting: with ``batch=auto`` that is said once."""
        if n > 1 and self.config.batch is None and not self._warned_round and self._stage == "rounds":
            size = self.round_size()
            if size < n:
                self._warned_round = True
                fix = option("settings={'batch': " + str(n) + "}", f"-O batch={n}")
                warnings.warn(
                    f"nars: batch=auto plans stage-1 rounds of {size} for this budget, so {n - size} of {n} "
                    f"parallel evaluations wait in each round; {fix} keeps them busy "
                    "(a different search, the same on any number of workers)",
                    stacklevel=2,
                )
        batch = [self.ask()]
        while self._queue and len(batch) < n:
            batch.append(self.ask())
        return batch

    def tell(self, proposal: Proposal, result: Result) -> None:
        super().tell(proposal, result)
        predicted = self._predicted.pop(proposal.candidate.key, None)
        if predicted is not None and result.ok:
            value = self._target_value(result)
            if math.isfinite(value):
                self._checks.append((predicted, value))
        if self._stage == "round0" and not self._queue and self._fidelity is None:
            self._choose_fidelity()

    def _plan(self) -> None:
        """Fill the queue with the next batch of proposals."""
        if self._stage == "init":
            sobol = self.space.sample(4 * self.init_batch, seed=self.seed + 1)
            feasible = [c for c, ok in zip(sobol, self.feasible(sobol)) if ok]
            batch = self.space.unique_canonical(feasible)[: self.init_batch]
            if len(batch) < self.init_batch:
                batch += self.random_feasible(self.init_batch - len(batch), exclude={c.key for c in batch})
            self._queue = [Proposal(c) for c in batch]
            self._stage = "round0"
            return
        left = self.stage1_left()
        if self._stage in ("round0", "rounds") and left > 0:
            self._stage = "rounds"
            picks = self._round_picks(min(self.round_size(), left))
            self._queue = [Proposal(c, self._fidelity) for c in picks]
            if self._queue:
                return
        if self._stage in ("round0", "rounds"):
            self._stage = "stage2"
            self._queue = [Proposal(c) for c in self._stage2_picks()]
            if self._queue:
                return
        self._stage = "after"
        picks = self._rank(self.round_size(), fidelity=None)
        if not picks:  # pool and populations used up: a random fresh candidate, else a repeat
            picks = self.random_fresh(1, exclude=self.evaluated)
        self._queue = [Proposal(c) for c in picks]

    # -- budget plan ------------------------------------------------------- #

    def expected_queries(self) -> float | None:
        """With a seconds-only budget: queries told so far plus those the seconds left should pay for."""
        if self.planned_seconds is None or not self.history:
            return None
        spent = sum(r.cost for _, r in self.history)
        recent = [r.cost for _, r in self.history[-max(self.init_batch, 1) :]]
        mean = float(np.mean(recent))
        if mean <= 0:
            return None  # free queries: the seconds never run out, plan as for queries
        return len(self.history) + max(0.0, self.planned_seconds - spent) / mean

    def round_size(self) -> int:
        """Candidates per stage-1 round: ``batch``, or for ``batch=auto`` the queries planned / 50,
        rounded up, between 1 and 5 (with a seconds budget, the queries expected when the first round
        after round 0 is planned): a short search refits after every query or two, where each query
        counts most, a long one every 5, so refits stay few."""
        if self.config.batch is not None:
            return self.config.batch
        if self._round_size is None:  # with a seconds budget: fixed by the queries expected after round 0
            expected = self.expected_queries()
            queries = expected if expected is not None else self.planned_queries
            size = int(min(5, max(1, math.ceil(queries / 50))))
            if expected is None or self._stage != "rounds":
                return size
            self._round_size = size
        return self._round_size

    def picks_planned(self) -> int:
        """How many stage-2 picks the budget keeps (at least one per family member)."""
        expected = self.expected_queries()
        if expected is None:
            return self.n_picks
        n_final = max(1, math.ceil(self.config.final_fraction * expected)) if self.config.final_fraction > 0 else 0
        return max(n_final, len(self.family))

    def stage1_left(self) -> int:
        """Stage-1 queries still to ask before stage 2."""
        expected = self.expected_queries()
        if expected is None:
            return self.stage1_queries - len(self.history)
        return math.floor(expected - self.picks_planned()) - len(self.history)

    # -- stage 1 helpers --------------------------------------------------- #

    def _training_set(self) -> tuple[list[Candidate], np.ndarray]:
        """Candidates and targets at the stage-1 fidelity (curves give it for full evaluations); read
        from the history once, the results told since added each round."""
        read, fidelity, xs, ys = self._known
        if fidelity != self._fidelity or read > len(self.history):
            read, xs, ys = 0, [], []
        for proposal, result in self.history[read:]:
            if not result.ok:
                continue
            value = self._target_value(result)
            if math.isfinite(value):
                xs.append(proposal.candidate)
                ys.append(value)
        self._known = (len(self.history), self._fidelity, xs, ys)
        return list(xs), np.asarray(ys, dtype=float)

    def _target_value(self, result: Result) -> float:
        """The value the predictor learns: the objective, or the curve at the early-stopping epoch."""
        if self._fidelity is not None and result.curve and len(result.curve) >= self._fidelity:
            return float(result.curve[self._fidelity - 1])
        return self.score(result)

    def _fit(self) -> bool:
        xs, ys = self._training_set()
        if len(xs) < 2 or np.ptp(ys) == 0:
            return False
        self.model.fit(xs, ys)
        return True

    def _pool_row_of(self) -> dict[str, int]:
        """Pool candidate key -> position in the pool."""
        if self._pool_rows is None:
            self._pool_rows = {c.key: i for i, c in enumerate(self.pool())}
        return self._pool_rows

    def _fresh_candidates(self, fidelity: int | None) -> list[Candidate]:
        """The pool, then the stage-2 populations, less what was asked at ``fidelity`` or evaluated.

        The pool is cut at the positions of the (few) taken candidates instead of testing each of
        its members: a search asks this every round of a pool of thousands."""
        pool, rows = self.pool(), self._pool_row_of()
        taken = set(self.evaluated).union(key for key, fid in self._asked if fid == fidelity)
        cuts = sorted(row for key in taken if (row := rows.get(key)) is not None)
        fresh: list[Candidate] = []
        start = 0
        for row in cuts:
            fresh += pool[start:row]
            start = row + 1
        return fresh + pool[start:] + self._fresh(self._extra, fidelity)

    def _fresh(self, cands: Sequence[Candidate], fidelity: int | None) -> list[Candidate]:
        """The candidates (given without repeats) not yet asked at ``fidelity`` nor evaluated."""
        asked, evaluated = self._asked, self.evaluated
        return [c for c in cands if (key := c.key) not in evaluated and (key, fidelity) not in asked]

    def _rank(self, k: int, fidelity: int | None | Literal["stage1"] = "stage1") -> list[Candidate]:
        """The ``k`` best-predicted pool and population members not yet asked at the relevant fidelity."""
        fresh = self._fresh_candidates(self._fidelity if isinstance(fidelity, str) else fidelity)  # "stage1"
        if not fresh or k <= 0:
            return []
        if not self._fit():
            return self.random_feasible(k, exclude=set(self.evaluated))
        fresh = self._shortlist(fresh)
        means, scores = self._acquisition(fresh)
        picks = [fresh[i] for i in np.argsort(-scores, kind="stable")[:k]]
        self._remember_predictions(fresh, means, picks)
        return picks

    def _shortlist(self, cands: list[Candidate]) -> list[Candidate]:
        """The ``screen`` candidates the fitted predictor's cheap screen scores best, in their order
        in ``cands`` (all of them when there are no more)."""
        if self.config.screen is None or len(cands) <= self.config.screen:
            return cands
        keep = np.sort(np.argsort(-self.model.screen(cands), kind="stable")[: self.config.screen])
        return [cands[i] for i in keep]

    def _acquisition(self, cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted means and stage-1 ranking scores (mean + ``explore`` x ensemble std)."""
        mean, std = self.model.predict_mean_std(cands)
        if self.config.explore == 0:
            return mean, mean
        return mean, mean + self.config.explore * std

    def _round_picks(self, k: int) -> list[Candidate]:
        """One stage-1 round: the best-predicted pool members, ``local_fraction`` of them
        from the single-parameter neighbourhoods of the best ``local_parents`` evaluated."""
        n_local = round(self.config.local_fraction * k)
        if n_local == 0 or self.config.local_parents == 0:
            return self._rank(k)
        local = self._fresh(self._neighbourhood(), self._fidelity)
        pool = self._fresh_candidates(self._fidelity)
        if not pool and not local:
            return []
        if not self._fit():
            return self.random_feasible(k, exclude=set(self.evaluated))
        everything = local + self._shortlist(pool)
        means, scores = self._acquisition(everything)
        distrust = self.config.local_pick == "auto" and not self.predictor_trusted()
        if distrust:
            n_local = max(n_local, round(self.config.untrusted_local_fraction * k))
        if self.config.local_pick == "random" or distrust:
            local_order = self.rng.permutation(len(local))[:n_local]
        else:
            local_order = np.argsort(-scores[: len(local)], kind="stable")[:n_local]
        picks = [local[i] for i in local_order]
        taken = {c.key for c in picks}
        for i in np.argsort(-scores, kind="stable"):
            if len(picks) == k:
                break
            cand = everything[i]
            if cand.key not in taken:
                taken.add(cand.key)
                picks.append(cand)
        self._remember_predictions(everything, means, picks)
        return picks

    def _remember_predictions(self, cands: Sequence[Candidate], means: np.ndarray, picks: Sequence[Candidate]) -> None:
        """Keep the predicted means of the ``picks`` (among ``cands``) for :meth:`online_tau` to check."""
        by_key = {c.key: float(v) for c, v in zip(cands, means)}
        self._predicted.update({c.key: by_key[c.key] for c in picks})

    def online_tau(self) -> float | None:
        """Kendall tau between the predictions made when stage-1 picks were chosen and the
        values they then got (None before ``trust_min_points`` of them are known)."""
        if len(self._checks) < self.config.trust_min_points:
            return None
        from scipy.stats import kendalltau

        pred, actual = zip(*self._checks)
        tau = kendalltau(pred, actual).statistic
        return float(tau) if np.isfinite(tau) else 0.0

    def predictor_trusted(self) -> bool:
        """Whether the predictor has ranked its own picks well enough to choose local moves."""
        tau = self.online_tau()
        return tau is None or tau >= self.config.trust_tau

    def _neighbourhood(self) -> list[Candidate]:
        """Feasible single-parameter changes of the best evaluated candidates, in canonical form."""
        xs, ys = self._training_set()
        parents = [xs[i] for i in np.argsort(-ys, kind="stable")[: self.config.local_parents]]
        cands = [n for parent in parents for n in self.space.neighbours(parent, self.rng)]
        mask = self.feasible(cands) if cands else np.zeros(0, bool)
        return self.space.unique_canonical([c for c, ok in zip(cands, mask) if ok])

    def _choose_fidelity(self) -> None:
        """Early stopping: the first epoch whose accuracies rank like the final ones."""
        if self.config.early_stop_tau is None or not self.max_fidelity:
            return
        curves = [r.curve for _, r in self.history if r.ok and r.curve and len(r.curve) >= self.max_fidelity]
        if len(curves) < 4:
            return
        self._tau_by_epoch = tau_by_epoch(curves, self.max_fidelity)
        epoch = early_stopping_epoch(self._tau_by_epoch, self.config.early_stop_tau)
        if epoch is not None:
            self._fidelity = epoch if epoch < self.max_fidelity else None

    # -- stage 2 ------------------------------------------------------------ #

    def _stage2_picks(self) -> list[Candidate]:
        """Run the evolutionary search once per family member; return the unevaluated picks.

        Each member's model is the best-predicted candidate of its final population (two
        members may share one); up to ``n_picks / len(family)`` of the best not yet evaluated
        candidates of each population are then evaluated.
        """
        if not self._fit():
            return []
        families = self.family or [[]]
        per_family = max(1, self.picks_planned() // len(families))
        picks: list[Candidate] = []
        taken = set(self.evaluated)
        for extra in families:
            population, scores = self.evolve(extra)
            in_pool, known = self._pool_row_of(), {c.key for c in self._extra}
            self._extra += [c for c in population if c.key not in in_pool and c.key not in known]
            self._populations += population
            # a candidate whose evaluation failed is never a family's model, however well predicted
            usable = [i for i, c in enumerate(population) if self.evaluated.get(c.key, 0.0) != -math.inf]
            if usable:
                self._family_picks.append(
                    {
                        "constraints": [str(c) for c in extra],
                        "candidate": population[usable[0]].to_dict(),
                        "predicted": float(scores[usable[0]]),
                    }
                )
            fresh = [c for c in population if c.key not in taken][:per_family]
            taken.update(c.key for c in fresh)
            picks += fresh
        return picks

    def evolve(self, extra_constraints: Sequence[Constraint] = ()) -> tuple[list[Candidate], np.ndarray]:
        """Predictor-based evolution under the constraints plus ``extra_constraints``.

        Returns the final population sorted by predicted score, best first.
        """
        constraints = self.constraints + list(extra_constraints)

        def feasible(cands: list[Candidate]) -> list[Candidate]:
            mask = self.space.feasible(cands, constraints) if cands else np.zeros(0, bool)
            return [c for c, ok in zip(cands, mask) if ok]

        xs, ys = self._training_set()
        ranked = [xs[i] for i in np.argsort(-ys, kind="stable")]
        seeds = feasible(unique(ranked))[: self.config.population]
        # the populations of earlier family runs join where feasible, so with family constraints
        # given from tightest to loosest, a looser budget never gets a worse predicted pick
        seeds += feasible(unique(self._populations))[: self.config.population]
        randoms = self._random_feasible_under(constraints, self.config.random_members, {c.key for c in seeds})
        pop = unique(seeds + randoms)
        if not pop:
            return [], np.zeros(0)
        scores = self.model.predict(pop)
        best, stale = float(scores.max()), 0
        size = self.config.population + self.config.random_members
        for _ in range(self.config.generations):
            children = []
            for _ in range(size):
                if self.rng.random() < 0.5 and len(pop) > 1:
                    i, j = self.rng.choice(len(pop), size=2, replace=False)
                    child = self.space.crossover(pop[i], pop[j], self.rng)
                    child = self.space.mutate(child, self.rng, 1)
                else:
                    parent = pop[int(self.rng.integers(len(pop)))]
                    child = self.space.mutate(parent, self.rng, int(self.rng.integers(1, 3)))
                children.append(self.space.canonical(child))
            children = feasible(unique(children))
            merged = unique(pop + children)
            merged_scores = self.model.predict(merged)
            order = np.argsort(-merged_scores, kind="stable")[:size]
            pop, scores = [merged[i] for i in order], merged_scores[order]
            stale = stale + 1 if scores[0] - best < self.config.epsilon else 0
            best = max(best, float(scores[0]))
            if stale >= self.config.patience:
                break
        return pop, scores

    def _random_feasible_under(self, constraints: list[Constraint], n: int, exclude: set[str]) -> list[Candidate]:
        found: list[Candidate] = []
        for _ in range(32):
            batch = self.space.sample(4 * n + 16, self.rng, method="random")
            mask = self.space.feasible(batch, constraints)
            for c in self.space.unique_canonical([c for c, ok in zip(batch, mask) if ok]):
                if c.key not in exclude:
                    exclude.add(c.key)
                    found.append(c)
            if len(found) >= n:
                break
        return found[:n]

    def _measured(self, cand: dict[str, Any]) -> float | None:
        """The real objective of a family pick once it has been evaluated."""
        return self.evaluated.get(Candidate.from_dict(cand).key)

    def report(self) -> dict[str, Any]:
        return {
            "early_stopping_epoch": self._fidelity,
            "online_tau": self.online_tau(),
            "kendall_tau_by_epoch": self._tau_by_epoch,
            "family": [{**f, "measured": self._measured(f["candidate"])} for f in self._family_picks],
            "pool_size": len(self._pool or []),
            **self._member_report(),
        }

    def _member_report(self) -> dict[str, Any]:
        """The predictor and its companion: each model with its out-of-sample Kendall tau and weight now."""
        if not isinstance(self.model, EnsemblePredictor):
            return {}
        model = self.model
        return {
            "predictor_members": [
                {"name": m.name, "out_of_sample_tau": t, "weight": float(w)}
                for m, t, w in zip(model.members, model.member_taus(), model.weights())
            ]
        }


def tau_by_epoch(curves: Sequence[Sequence[float]], epochs: int) -> list[float]:
    """Kendall tau between the accuracies after each epoch (1..``epochs``) and those after ``epochs``."""
    from scipy.stats import kendalltau

    matrix = np.array([list(c[:epochs]) for c in curves], dtype=float)
    taus = []
    for epoch in range(epochs):
        tau = kendalltau(matrix[:, epoch], matrix[:, epochs - 1]).statistic
        taus.append(float(tau) if np.isfinite(tau) else 0.0)
    return taus


def early_stopping_epoch(taus: Sequence[float], threshold: float) -> int | None:
    """NARS's early-stopping rule: the first epoch (1-based) whose tau reaches ``threshold`` (None if none)."""
    for epoch, tau in enumerate(taus, start=1):
        if tau >= threshold:
            return epoch
    return None


_ENUMERATIONS: weakref.WeakKeyDictionary[Any, list[Candidate]] = weakref.WeakKeyDictionary()


def _canonical_enumeration(space: Any) -> list[Candidate]:
    """Every candidate of a finite space once, in canonical form; kept per space object, so the
    searches of one process on one benchmark build the pool's candidates (and their keys) once."""
    try:
        return list(_ENUMERATIONS[space])
    except (KeyError, TypeError):
        pass
    cands = space.unique_canonical(space.enumerate())
    with contextlib.suppress(TypeError):  # a space that takes no weak reference is enumerated each time
        _ENUMERATIONS[space] = cands
    return list(cands)
