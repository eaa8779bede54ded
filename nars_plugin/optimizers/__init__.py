"""Search strategies on the ask/tell interface, each typed by its settings declaration and given a
:class:`~nars_plugin.settings.RunContext` apart from its settings (see :mod:`.base`)."""

from ..settings import RunContext
from .base import Budget, Optimizer, Proposal
from .random_search import RandomSearch

__all__ = ["Budget", "Optimizer", "Proposal", "RandomSearch", "RunContext"]
