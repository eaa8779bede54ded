"""What a search may spend, and what it has spent: one owner, read-only views.

:class:`Budget` is the limit (queries and/or simulated seconds). The study owns the account of what
it has spent (:class:`Spending`): it alone writes it, before it asks its optimizer for proposals;
the optimizer reads it through :class:`SpendingView` (``Optimizer.used``, ``Optimizer.remaining()``)
and can change nothing. Whether a budget can run out on a benchmark is checked where the search is
assembled (:func:`nars_plugin.assembly.check_budget_runs_out`): this module knows no benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError, option
from .parameters import is_integer, is_number


@dataclass(frozen=True)
class Budget:
    """How much a study may spend: evaluations (queries), simulated seconds, or both."""

    queries: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        queries, seconds = option("budget=N", "--budget N"), option("budget_seconds=S", "--budget-seconds S")
        if self.queries is None and self.seconds is None:
            raise ConfigError("a budget needs queries or seconds", f"pass {queries} or {seconds}")
        if self.queries is not None and not is_integer(self.queries):
            raise ConfigError(
                f"budget must be a whole number of evaluations, got {self.queries!r} ({type(self.queries).__name__})",
                f"pass {queries}, e.g. {option('budget=100', '--budget 100')}",
            )
        if self.seconds is not None and not is_number(self.seconds):
            raise ConfigError(
                f"budget_seconds must be a number of seconds, got {self.seconds!r} ({type(self.seconds).__name__})",
                f"pass {seconds}, e.g. {option('budget_seconds=12000', '--budget-seconds 12000')}",
            )
        if (self.queries is not None and self.queries < 1) or (self.seconds is not None and self.seconds <= 0):
            raise ConfigError(
                f"budget must be positive, got {self}", f"pass {queries} with N >= 1 or {seconds} with S > 0"
            )
        if self.queries is not None:  # numpy integers become plain ones (they go into JSON)
            object.__setattr__(self, "queries", int(self.queries))
        if self.seconds is not None:
            object.__setattr__(self, "seconds", float(self.seconds))

    def exhausted(self, queries: int, seconds: float) -> bool:
        """True when either limit is reached."""
        return (self.queries is not None and queries >= self.queries) or (
            self.seconds is not None and seconds >= self.seconds
        )


def describe_budget(budget: Budget | None) -> str:
    """``"100 queries"``, ``"12000 seconds"``, ``"100 queries or 500 seconds"`` or ``"no budget"``."""
    if budget is None:
        return "no budget"
    parts = [f"{budget.queries} queries"] if budget.queries is not None else []
    parts += [f"{budget.seconds:g} seconds"] if budget.seconds is not None else []
    return " or ".join(parts)


class Spending:
    """What a study had spent when it last asked its optimizer: (evaluations, simulated seconds).

    The study is the one writer (:meth:`asked`); everyone else reads :attr:`view`.
    """

    def __init__(self) -> None:
        self._used: tuple[int, float] = (0, 0.0)
        #: The read-only view the study hands its optimizer.
        self.view = SpendingView(self)

    def asked(self, queries: int, seconds: float) -> None:
        """Record what was spent when the study asks for the next proposals."""
        self._used = (int(queries), float(seconds))


class SpendingView:
    """A read-only view of a study's :class:`Spending`."""

    __slots__ = ("_spending",)

    def __init__(self, spending: Spending) -> None:
        self._spending = spending

    @property
    def used(self) -> tuple[int, float]:
        """(evaluations, simulated seconds) spent when the study last asked."""
        return self._spending._used

    def remaining(self, budget: Budget | None) -> tuple[int | None, float | None]:
        """(evaluations, simulated seconds) left of ``budget``; None where it has no such limit."""
        if budget is None:
            return None, None
        queries, seconds = self.used
        left_queries = None if budget.queries is None else max(0, budget.queries - queries)
        left_seconds = None if budget.seconds is None else max(0.0, budget.seconds - seconds)
        return left_queries, left_seconds
