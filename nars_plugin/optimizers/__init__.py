"""Search strategies on the ask/tell interface."""

from ..budget import Budget
from .base import Optimizer, Proposal
from .random_search import RandomSearch

__all__ = ["Budget", "Optimizer", "Proposal", "RandomSearch"]
