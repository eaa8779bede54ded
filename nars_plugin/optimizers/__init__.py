"""Search strategies on the ask/tell interface."""

from .base import Budget, Optimizer, Proposal, RandomSearch

__all__ = ["Budget", "Optimizer", "Proposal", "RandomSearch"]
