"""Search strategies on the ask/tell interface."""

from .base import Budget, Optimizer, Proposal
from .random_search import RandomSearch

__all__ = ["Budget", "Optimizer", "Proposal", "RandomSearch"]
