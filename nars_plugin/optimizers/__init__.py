"""Search strategies on the ask/tell interface, one module per optimizer (:mod:`.base` is the contract).

Optimizers import the components below them (space, settings, predictors, :mod:`nars_plugin.budget`)
and never the plugin host: a predictor a setting names arrives resolved (``self.config.predictor.make``).
:class:`~nars_plugin.budget.Budget` is re-exported here.
"""

from ..budget import Budget
from .base import Optimizer, Proposal
from .random_search import RandomSearch

__all__ = ["Budget", "Optimizer", "Proposal", "RandomSearch"]
