"""Joint (architecture, recipe) search spaces: the :class:`Space` contract.

A :class:`Space` is an ordered list of parameters split into an *architecture*
part and a *recipe* part. A :class:`Candidate` holds one value per parameter.
The space can

* validate candidates and build them from user input (clear errors);
* say which points of its parameter grid are *valid* (:meth:`Space.is_valid`) and which
  encodings are one candidate (:meth:`Space.canonical`);
* encode candidates as fixed-length vectors (one-hot for categoricals, min-max to
  [0, 1] for numbers) and decode vectors back;
* draw scrambled, seeded Sobol samples (``scipy.stats.qmc``) mapped onto the
  parameters, or plain uniform samples;
* mutate (n changes in the architecture and/or the recipe) and cross over;
* compute *free statistics* (FLOPs, parameters, ... whatever a subclass knows)
  for many candidates at once and check resource constraints on them.

This module is the one-stop import for plugin authors: it re-exports the parameter types
(:mod:`nars_plugin.parameters`), :class:`Candidate` (:mod:`nars_plugin.candidate`) and the
constraint language (:mod:`nars_plugin.constraints`)::

    from nars_plugin.space import Candidate, Categorical, Integer, Space

What a subclass must and may override is listed in :class:`Space`'s docstring.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._keyvalue import parse_key_values
from .candidate import Candidate, format_values
from .constraints import Constraint, parse_constraints
from .errors import (
    ConfigError,
    InfeasibleConstraintError,
    InvalidArchitectureError,
    InvalidRecipeError,
)
from .parameters import Categorical, Float, Integer, Ordinal, Param, Value

__all__ = [
    "ENUMERATION_LIMIT",
    "Candidate",
    "Categorical",
    "Constraint",
    "Float",
    "Integer",
    "Ordinal",
    "Param",
    "Space",
    "Value",
    "parse_constraints",
]

#: A space with at most this many candidates is enumerated exactly when checking constraints.
ENUMERATION_LIMIT = 200_000

#: :meth:`Space.sample` draws at most this many points per requested candidate to find valid ones.
MAX_DRAW_FACTOR = 64

#: :meth:`Space.mutate` and :meth:`Space.crossover` draw at most this many children to find a valid one.
VARIATION_TRIES = 32


class Space:
    """A joint search space: architecture parameters followed by recipe parameters.

    Args:
        name: registry name of the space (e.g. ``"nb201"``).
        arch_params: the architecture part.
        recipe_params: the training-recipe part (may be empty).
        description: one line for ``nars spaces``.

    **The contract for subclasses** (a plugin's space; ``nars_plugin.testing.SpaceConformance``
    checks it).

    A subclass MUST override:

    * :attr:`statistic_names` *and* :meth:`statistics` together when it has free statistics
      (FLOPs, parameters, ...): ``statistics`` returns exactly the keys ``statistic_names``
      lists, in that order, each an array of ``len(cands)`` finite numbers. Constraints,
      predictor pretraining and the conformance checks read the names; the base class has none.
    * :meth:`format_arch` *and* :meth:`parse_arch` together when architectures have their own
      text syntax (the default is ``name=value`` pairs); ``parse_arch(format_arch(c))`` must give
      ``c.arch`` back.
    * :meth:`is_valid` when some points of the parameter grid are not architectures (a cell
      whose output is unreachable, say). The default says every point is valid.
    * :meth:`canonical` when several encodings describe one architecture (isomorphic graphs).
      The default says every encoding is its own candidate.

    A subclass MAY override:

    * :meth:`valid_mask`, a vectorised :meth:`is_valid` for many candidates (speed only);
    * :meth:`statistics_for`, for statistics computed only when a constraint names them
      (measured latencies read from a file, say);
    * :meth:`with_recipe`, when the subclass holds state that depends on the recipe part.
    * :meth:`format_candidate`, when a whole candidate has a text form of its own (the default is
      :meth:`format_arch` followed by the recipe's ``name=value`` pairs); ``str(candidate)`` prints it.

    Everything else (encoding, sampling, mutation, neighbours, crossover, enumeration,
    constraints) is built on the parameters and the members above; override it only with the
    same guarantees.

    What the core relies on:

    * **Determinism**: ``sample``, ``mutate``, ``neighbours`` and ``crossover`` take all their
      randomness from the seed or generator passed in, and :meth:`is_valid`, :meth:`canonical`
      and :meth:`statistics` are pure functions of the candidate. Journals replay on this.
    * **Validation**: :meth:`validate` checks every value against its parameter and returns the
      candidate with each value in its normal form (a numeric choice given as ``3.0`` comes back
      as the declared ``3``). It does not reject invalid points and does not canonicalise: an
      evaluator evaluates the encoding it is handed, and a user may name any encoding.
    * **Invalid points** (``is_valid`` False) are never produced by :meth:`sample`,
      :meth:`enumerate`, :meth:`mutate`, :meth:`neighbours` or :meth:`crossover`, never pass
      :meth:`feasible`, and so are never proposed by the built-in optimizers.
    * **Canonical forms**: two candidates with one :meth:`canonical` form (one
      :meth:`canonical_key`) are one candidate. A study journals, caches and pays for the
      canonical form only, and the built-in optimizers key their pools, populations and
      exclusion sets by it. ``canonical`` must be idempotent, return a valid candidate of the
      space for a valid one, and leave the recipe part alone unless the recipe has
      equivalences of its own; statistics and evaluation results must agree across one class.
    * **Encoding width**: :meth:`encode` gives :attr:`dim` columns (architecture first) for any
      candidate, so predictors can be built before anything is evaluated; a parameter's
      ``width`` never changes.
    """

    def __init__(
        self,
        name: str,
        arch_params: Sequence[Param],
        recipe_params: Sequence[Param] = (),
        description: str = "",
    ) -> None:
        self.name = name
        self.description = description
        self.arch_params: tuple[Param, ...] = tuple(arch_params)
        self.recipe_params: tuple[Param, ...] = tuple(recipe_params)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ConfigError(f"space {name!r} has duplicate parameter names: {names}")
        self._stats_cache: dict[str, dict[str, float]] = {}

    # -- structure ---------------------------------------------------------- #

    @property
    def params(self) -> tuple[Param, ...]:
        """All parameters, architecture first."""
        return self.arch_params + self.recipe_params

    @property
    def arch_dim(self) -> int:
        """Width of the architecture part of the encoding."""
        return sum(p.width for p in self.arch_params)

    @property
    def recipe_dim(self) -> int:
        """Width of the recipe part of the encoding."""
        return sum(p.width for p in self.recipe_params)

    @property
    def dim(self) -> int:
        """Width of the whole encoding."""
        return self.arch_dim + self.recipe_dim

    @property
    def size(self) -> int | None:
        """Number of points of the parameter grid (invalid ones included), or None if a parameter is continuous."""
        total = 1
        for p in self.params:
            if p.cardinality is None:
                return None
            total *= p.cardinality
        return total

    @property
    def arch_size(self) -> int | None:
        """Number of distinct architectures, or None if continuous."""
        total = 1
        for p in self.arch_params:
            if p.cardinality is None:
                return None
            total *= p.cardinality
        return total

    def param(self, name: str) -> Param:
        """The parameter called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise ConfigError(
            f"space {self.name!r} has no parameter {name!r}",
            f"parameters: {[p.name for p in self.params]}",
        )

    def options(self) -> dict[str, Any]:
        """The options this space was built with that change what a search finds (the data set, the
        free statistics predictors pretrain on, ...), as JSON values: part of a search's identity, so
        a journal is resumed and a finished run reused only under the same options. A subclass with
        such options MUST override this (the base class has none)."""
        return {}

    def with_recipe(self, recipe_params: Sequence[Param], name: str | None = None) -> Space:
        """A copy of this space with another recipe part (same architecture part)."""
        clone = copy.copy(self)
        clone.name = name or self.name
        clone.recipe_params = tuple(recipe_params)
        clone._stats_cache = {}
        return clone

    def fix_recipe(self, **values: Value) -> Space:
        """A copy whose listed recipe parameters can take only the given value.

        Used for architecture-only searches under a fixed training recipe.
        """
        fixed: list[Param] = []
        for p in self.recipe_params:
            if p.name in values:
                fixed.append(Categorical(p.name, (self._check(p, values.pop(p.name), "recipe"),)))
            else:
                fixed.append(p)
        if values:
            raise InvalidRecipeError(
                f"space {self.name!r} has no recipe parameter(s) {sorted(values)}",
                f"recipe parameters: {[p.name for p in self.recipe_params]}",
            )
        return self.with_recipe(fixed)

    # -- building and validating candidates ------------------------------- #

    def _check(self, param: Param, value: Value, part: str) -> Value:
        try:
            return param.validate(value)
        except ValueError as exc:
            cls = InvalidArchitectureError if part == "arch" else InvalidRecipeError
            raise cls(str(exc), f"allowed values of {param.name!r}: {param.describe()}") from None

    def candidate(
        self,
        arch: Mapping[str, Value] | str,
        recipe: Mapping[str, Value] | None = None,
    ) -> Candidate:
        """Build a validated candidate. ``arch`` may be the space's arch string.

        Recipe values left out take the parameter's default; unknown names are errors.
        """
        arch_values = self.parse_arch(arch) if isinstance(arch, str) else dict(arch)
        return self.bind(self.validate(Candidate(arch_values, self._complete_recipe(recipe or {}))))

    def _complete_recipe(self, recipe: Mapping[str, Value]) -> dict[str, Value]:
        known = {p.name for p in self.recipe_params}
        unknown = sorted(set(recipe) - known)
        if unknown:
            raise InvalidRecipeError(
                f"unknown recipe parameter(s) {unknown} for space {self.name!r}",
                f"recipe parameters: {sorted(known) or 'none'}",
            )
        return {p.name: recipe.get(p.name, p.default) for p in self.recipe_params}

    def validate(self, cand: Candidate) -> Candidate:
        """``cand`` with every value in its normal form; a clear error if a value is not allowed.

        A numeric choice given as ``3.0`` comes back as the declared choice ``3``. This checks the
        parameters only: it neither rejects invalid points (:meth:`is_valid`) nor returns the
        canonical form (:meth:`canonical`), so an evaluator gets the encoding it was handed.
        """
        for part, params, values in (
            ("arch", self.arch_params, cand.arch),
            ("recipe", self.recipe_params, cand.recipe),
        ):
            extra = sorted(set(values) - {p.name for p in params})
            missing = [p.name for p in params if p.name not in values]
            if extra or missing:
                cls = InvalidArchitectureError if part == "arch" else InvalidRecipeError
                raise cls(
                    f"{part} of candidate does not match space {self.name!r}: missing {missing}, unknown {extra}",
                    f"{part} parameters: {[p.name for p in params]}",
                )
        arch = {p.name: self._check(p, cand.arch[p.name], "arch") for p in self.arch_params}
        recipe = {p.name: self._check(p, cand.recipe[p.name], "recipe") for p in self.recipe_params}
        return Candidate(arch, recipe)

    def format_arch(self, cand: Candidate) -> str:
        """The architecture as a human-readable string (subclasses use the official syntax)."""
        return ",".join(f"{p.name}={cand.arch[p.name]}" for p in self.arch_params)

    def format_candidate(self, cand: Candidate) -> str:
        """The candidate as text, what ``str(cand)`` prints once bound: :meth:`format_arch`, then the
        recipe as ``name=value`` pairs joined by commas (``--fix-recipe``'s syntax) where there is one."""
        arch = self.format_arch(cand)
        return f"{arch} {self.format_recipe(cand)}" if cand.recipe else arch

    def format_recipe(self, cand: Candidate) -> str:
        """The recipe as ``name=value`` pairs in this space's parameter order (``--fix-recipe``'s syntax),
        so one candidate prints the same whether it was built here or read back from a journal."""
        order = [p.name for p in self.recipe_params if p.name in cand.recipe]
        order += sorted(name for name in cand.recipe if name not in set(order))
        return format_values({name: cand.recipe[name] for name in order})

    def bind(self, cand: Candidate) -> Candidate:
        """``cand`` itself, from now on printed by this space (``str(cand)`` = :meth:`format_candidate`).

        Binding changes neither the candidate's key, equality, hash nor JSON form; a study binds the
        candidates it hands out and :meth:`candidate` binds the ones it builds.
        """
        cand._space = self
        return cand

    def parse_arch(self, text: str) -> dict[str, Value]:
        """Inverse of :meth:`format_arch`; raises InvalidArchitectureError on bad input."""
        try:
            return parse_key_values(text, f"architecture item in {text!r}", separator=",")
        except ConfigError as exc:
            raise InvalidArchitectureError(
                exc.message, "write the architecture as name=value pairs separated by commas"
            ) from None

    # -- valid points and canonical forms ---------------------------------- #

    def is_valid(self, cand: Candidate) -> bool:
        """Whether ``cand`` is a real candidate and not just a point of the parameter grid.

        The default says every point is valid. Override it (or :meth:`valid_mask`) when some
        combinations of values describe no architecture; the samplers, variation operators,
        :meth:`enumerate`, :meth:`feasible` and so every built-in optimizer then skip them.
        """
        return bool(self.valid_mask([cand])[0])

    def valid_mask(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Boolean mask: which of ``cands`` are valid (:meth:`is_valid` on each; override for speed)."""
        if not self._declares_invalid_points():
            return np.ones(len(cands), dtype=bool)
        return np.fromiter((bool(self.is_valid(c)) for c in cands), dtype=bool, count=len(cands))

    def _declares_invalid_points(self) -> bool:
        cls = type(self)
        return cls.is_valid is not Space.is_valid or cls.valid_mask is not Space.valid_mask

    def _only_valid(self, cands: list[Candidate]) -> list[Candidate]:
        if not self._declares_invalid_points():
            return cands
        return [c for c, ok in zip(cands, self.valid_mask(cands)) if ok]

    def canonical(self, cand: Candidate) -> Candidate:
        """The one encoding that stands for every encoding of the same candidate (default: ``cand``).

        Override it when several encodings describe one architecture (isomorphic graphs): a study
        then journals, caches and pays for the canonical form only. It must be idempotent and
        return a valid candidate of the space for a valid ``cand``.
        """
        return cand

    def canonical_key(self, cand: Candidate) -> str:
        """The :attr:`Candidate.key` of the canonical form: equal for every encoding of one candidate."""
        return self.canonical(cand).key

    def unique_canonical(self, cands: Sequence[Candidate]) -> list[Candidate]:
        """The canonical forms of ``cands``, each kept once (first occurrence), in order."""
        seen: dict[str, Candidate] = {}
        for cand in cands:
            form = self.canonical(cand)
            seen.setdefault(form.key, form)
        return list(seen.values())

    # -- encoding ---------------------------------------------------------- #

    def encode(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Encode candidates into an (n, dim) array: architecture columns first."""
        if not cands:
            return np.zeros((0, self.dim))
        blocks = [p.encode([c.arch[p.name] for c in cands]) for p in self.arch_params]
        blocks += [p.encode([c.recipe[p.name] for c in cands]) for p in self.recipe_params]
        return np.concatenate(blocks, axis=1)

    def decode(self, matrix: np.ndarray) -> list[Candidate]:
        """Decode an (n, dim) array into the nearest candidates (points of the grid, which may be invalid)."""
        matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        if matrix.shape[1] != self.dim:
            raise ConfigError(f"encoding has {matrix.shape[1]} columns, space {self.name!r} needs {self.dim}")
        columns: dict[str, list[Value]] = {}
        offset = 0
        for p in self.params:
            columns[p.name] = p.decode(matrix[:, offset : offset + p.width])
            offset += p.width
        return self._assemble(columns, len(matrix))

    def _assemble(self, columns: Mapping[str, list[Value]], n: int) -> list[Candidate]:
        return [
            Candidate(
                {p.name: columns[p.name][i] for p in self.arch_params},
                {p.name: columns[p.name][i] for p in self.recipe_params},
            )
            for i in range(n)
        ]

    # -- sampling and variation ------------------------------------------- #

    def sample(self, n: int, seed: int | np.random.Generator | None = None, method: str = "sobol") -> list[Candidate]:
        """Draw ``n`` valid candidates: ``"sobol"`` (scrambled, seeded QMC) or ``"random"``.

        Invalid points are skipped and the draw goes on along the same Sobol sequence (or the same
        generator) until ``n`` valid ones are found; fewer come back only when valid points are so
        rare that :data:`MAX_DRAW_FACTOR` times ``n`` draws hold fewer (none at all is an error).
        """
        if n <= 0:
            return []
        if method == "sobol":
            draw = self._sobol_draw(_seed_of(seed))
        elif method == "random":
            rng = np.random.default_rng(seed)
            drawn: list[Candidate] = []

            def draw(m: int) -> list[Candidate]:  # the first m points of one random stream
                if m > len(drawn):
                    drawn.extend(self._from_units(rng.random((m - len(drawn), len(self.params)))))
                return drawn[:m]

        else:
            raise ConfigError(f"unknown sampling method {method!r}", "use 'sobol' or 'random'")
        m = n
        while True:
            found = self._only_valid(draw(m))
            if len(found) >= n or m >= MAX_DRAW_FACTOR * n:
                break
            m = min(2 * m, MAX_DRAW_FACTOR * n)
        if not found:
            raise ConfigError(
                f"space {self.name!r}: none of {m} sampled points is valid",
                "check the space's is_valid: it must accept a reasonable share of the parameter grid",
            )
        return found[:n]

    def _sobol_draw(self, seed: int | None) -> Callable[[int], list[Candidate]]:
        from scipy.stats import qmc

        def draw(m: int) -> list[Candidate]:  # the first m points of one scrambled sequence
            sampler = qmc.Sobol(d=len(self.params), scramble=True, seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # balance warning for m not a power of two
                units = sampler.random_base2(max(0, math.ceil(math.log2(m))))[:m]
            return self._from_units(units)

        return draw

    def _from_units(self, units: np.ndarray) -> list[Candidate]:
        columns = {p.name: p.from_unit(units[:, j]) for j, p in enumerate(self.params)}
        return self._assemble(columns, len(units))

    def mutate(
        self,
        cand: Candidate,
        rng: np.random.Generator,
        n_changes: int = 1,
        part: str = "both",
    ) -> Candidate:
        """Change ``n_changes`` distinct parameters of ``part`` ("arch", "recipe" or "both").

        A change that gives an invalid point is drawn again (up to :data:`VARIATION_TRIES` times);
        when none is valid, ``cand`` comes back unchanged.
        """
        pool = {
            "arch": self.arch_params,
            "recipe": self.recipe_params,
            "both": self.params,
        }.get(part)
        if pool is None:
            raise ConfigError(f"unknown mutation part {part!r}", "use 'arch', 'recipe' or 'both'")
        mutable = [p for p in pool if p.cardinality is None or p.cardinality > 1]
        if not mutable:
            return cand
        for _ in range(VARIATION_TRIES):
            chosen = rng.choice(len(mutable), size=min(n_changes, len(mutable)), replace=False)
            arch, recipe = dict(cand.arch), dict(cand.recipe)
            for i in sorted(int(j) for j in chosen):
                p = mutable[i]
                target = arch if p.name in arch else recipe
                target[p.name] = p.mutate(target[p.name], rng)
            child = Candidate(arch, recipe)
            if self.is_valid(child):
                return child
        return cand

    def neighbours(self, cand: Candidate, rng: np.random.Generator, numeric: int = 4) -> list[Candidate]:
        """Every candidate that differs from ``cand`` in one parameter, in parameter order.

        Categorical parameters contribute all their other values; integer and real ones
        ``numeric`` random mutations each. Invalid points are left out; constraints are not
        checked here.
        """
        out: dict[str, Candidate] = {}
        for p in self.params:
            if p.cardinality == 1:
                continue
            in_arch = p.name in cand.arch
            old = cand.arch[p.name] if in_arch else cand.recipe[p.name]
            if isinstance(p, Categorical):
                skip = p.index(old)
                values = [v for i, v in enumerate(p.choices) if i != skip]
            else:
                values = [p.mutate(old, rng) for _ in range(numeric)]
            for value in values:
                arch, recipe = dict(cand.arch), dict(cand.recipe)
                (arch if in_arch else recipe)[p.name] = value
                new = Candidate(arch, recipe)
                if new.key != cand.key:
                    out.setdefault(new.key, new)
        return self._only_valid(list(out.values()))

    def crossover(self, a: Candidate, b: Candidate, rng: np.random.Generator) -> Candidate:
        """Uniform crossover: each parameter comes from ``a`` or ``b`` with equal chance.

        An invalid child is drawn again (up to :data:`VARIATION_TRIES` times); when none is
        valid, ``a`` comes back.
        """
        for _ in range(VARIATION_TRIES):
            take_a = rng.random(len(self.params)) < 0.5
            arch, recipe = {}, {}
            for flag, p in zip(take_a, self.params):
                src = a if flag else b
                if p.name in a.arch:
                    arch[p.name] = src.arch[p.name]
                else:
                    recipe[p.name] = src.recipe[p.name]
            child = Candidate(arch, recipe)
            if self.is_valid(child):
                return child
        return a

    def enumerate(self) -> list[Candidate]:
        """Every valid candidate of a finite space, in a fixed order (parameters vary last-fastest).

        Every encoding is listed, canonical or not (:meth:`unique_canonical` keeps one of each).
        """
        size = self.size
        if size is None or size > ENUMERATION_LIMIT:
            raise ConfigError(f"space {self.name!r} is too large to enumerate ({size or 'infinite'})")
        grids = [_grid(p) for p in self.params]
        index = np.indices([len(g) for g in grids]).reshape(len(grids), -1).T
        columns = {p.name: [g[i] for i in index[:, j]] for j, (p, g) in enumerate(zip(self.params, grids))}
        return self._only_valid(self._assemble(columns, len(index)))

    # -- statistics and constraints --------------------------------------- #

    @property
    def statistic_names(self) -> tuple[str, ...]:
        """Names of the free statistics :meth:`statistics` returns, in its order.

        A subclass with free statistics MUST override this together with :meth:`statistics`
        (the base class has none): constraints, predictor pretraining and the conformance
        checks read these names.
        """
        return ()

    def statistics(self, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        """Free statistics (FLOPs, parameters, ...) of many candidates at once.

        Subclasses override this together with :attr:`statistic_names`: the keys are exactly
        those names, in that order, the values arrays of ``len(cands)`` finite numbers, equal
        for all encodings of one candidate (one :meth:`canonical` form).
        """
        return {}

    def statistics_for(self, cands: Sequence[Candidate], names: Sequence[str]) -> dict[str, np.ndarray]:
        """The free statistics plus any of ``names`` the space computes only on request.

        Constraints are checked on this. Subclasses whose statistics need extra data (measured
        latencies, say) override it, so that data is read only when a constraint names it.
        """
        return self.statistics(cands)

    def feasible(self, cands: Sequence[Candidate], constraints: Sequence[Constraint | str]) -> np.ndarray:
        """Boolean mask: which candidates are valid (:meth:`is_valid`) and meet every constraint."""
        constraints = parse_constraints(constraints)
        mask = self.valid_mask(cands) if len(cands) else np.ones(0, dtype=bool)
        if not constraints or not len(cands):
            return mask
        stats = self._checked_statistics(cands, constraints)
        for c in constraints:
            mask &= c.holds(stats[c.metric])
        return mask

    def _checked_statistics(
        self, cands: Sequence[Candidate], constraints: Sequence[Constraint]
    ) -> dict[str, np.ndarray]:
        stats = self.statistics_for(cands, [c.metric for c in constraints])
        for c in constraints:
            if c.metric not in stats:
                raise ConfigError(
                    f"space {self.name!r} cannot compute {c.metric!r} for a constraint",
                    f"constrain one of: {sorted(stats) or 'nothing (this space has no statistics)'}",
                )
        return stats

    def check_satisfiable(self, constraints: Sequence[Constraint | str], n_probe: int = 8192, seed: int = 0) -> None:
        """Raise InfeasibleConstraintError if no candidate meets the constraints.

        Finite spaces up to :data:`ENUMERATION_LIMIT` are checked exhaustively;
        larger ones on ``n_probe`` Sobol samples (valid candidates only, either way). The message names the smallest
        (or largest) value the space reaches for each violated constraint.
        """
        constraints = parse_constraints(constraints)
        if not constraints:
            return
        size = self.size
        probe = self.enumerate() if size is not None and size <= ENUMERATION_LIMIT else self.sample(n_probe, seed)
        if not probe:
            raise InfeasibleConstraintError(
                f"space {self.name!r} has no valid candidate (is_valid rejects every point)",
                "check the space's is_valid",
            )
        stats = self._checked_statistics(probe, constraints)
        mask = np.ones(len(probe), dtype=bool)
        problems = []
        for c in constraints:
            ok = c.holds(stats[c.metric])
            mask &= ok
            if not ok.any():
                values = stats[c.metric]
                best = values.min() if c.op.startswith("<") else values.max()
                word = "smallest" if c.op.startswith("<") else "largest"
                problems.append(f"'{c}': the {word} {c.metric} in space {self.name!r} is {float(best)!r}")
        if problems:
            raise InfeasibleConstraintError(
                "no candidate meets the constraint(s): " + "; ".join(problems),
                "relax the bound(s) to at least the value(s) named above",
            )
        if not mask.any():
            raise InfeasibleConstraintError(
                f"each constraint alone can be met, but no candidate of {self.name!r} meets all of "
                f"{[str(c) for c in constraints]} together",
                "relax one of the bounds",
            )

    def __repr__(self) -> str:
        parts = f"{len(self.arch_params)} arch + {len(self.recipe_params)} recipe params"
        return f"<{type(self).__name__} {self.name!r}: {parts}>"


def _grid(p: Param) -> list[Value]:
    if isinstance(p, Categorical):
        return list(p.choices)
    if isinstance(p, Integer):
        return list(range(p.low, p.high + 1, p.step))
    raise ConfigError(f"parameter {p.name!r} is continuous and cannot be enumerated")


def _seed_of(seed: int | np.random.Generator | None) -> int | None:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31))
    return seed
