"""Search strategies on the ask/tell interface: one module per optimizer, each typed by its settings
declaration and given a :class:`~nars_plugin.settings.RunContext` apart from its settings.

Here: the :class:`Optimizer` contract with :class:`Proposal` and :class:`Budget`, random search,
REA, local search, BANANAS, NARS, and the peers that run another library (Optuna TPE, SMAC3, HEBO
in its worker environment). May import the space, evaluation, settings, budget and errors modules
and :mod:`nars_plugin.predictors`; never the plugin host (a predictor named in a setting arrives as a
factory) nor the study. A peer's library is imported lazily, so listing optimizers stays cheap.
"""

from ..budget import Budget
from ..settings import RunContext
from .base import Optimizer, Proposal
from .random_search import RandomSearch

__all__ = ["Budget", "Optimizer", "Proposal", "RandomSearch", "RunContext"]
