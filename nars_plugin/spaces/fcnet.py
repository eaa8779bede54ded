"""The FC-Net space of the HPOLib tabular benchmark (Klein & Hutter 2019): a two-layer MLP and
its training recipe, 62,208 combinations.

Architecture: ``n_units_1``, ``n_units_2`` (16 .. 512, powers of two), ``activation_fn_1``,
``activation_fn_2`` (relu, tanh), ``dropout_1``, ``dropout_2`` (0, 0.3, 0.6). Recipe:
``init_lr`` (5e-4 .. 0.1), ``batch_size`` (8 .. 64), ``lr_schedule`` (cosine, const).

The numbers are :class:`~nars_plugin.space.Ordinal` parameters (widths, learning rate and batch
size on a log scale), so predictors see their order; ``encoding="categorical"`` makes every
parameter an unordered :class:`~nars_plugin.space.Categorical` instead (an ablation). The free
statistic is ``params``, the trainable parameters of the MLP (it depends on the data set's
number of input features).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..space import Candidate, Categorical, Ordinal, Param, Space, Value

#: Data sets of the table -> number of input features (checked against the table's model sizes).
FCNET_DATASETS: dict[str, int] = {
    "naval_propulsion": 15,
    "parkinsons_telemonitoring": 20,
    "protein_structure": 9,
    "slice_localization": 380,
}
UNITS = (16, 32, 64, 128, 256, 512)
ACTIVATIONS = ("relu", "tanh")
DROPOUTS = (0.0, 0.3, 0.6)
INIT_LRS = (5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1)
BATCH_SIZES = (8, 16, 32, 64)
SCHEDULES = ("cosine", "const")
ENCODINGS = ("ordinal", "categorical")


def fcnet_params(dataset: str = "protein_structure", encoding: str = "ordinal") -> tuple[list[Param], list[Param]]:
    """(architecture, recipe) parameters of the FC-Net space."""
    if encoding not in ENCODINGS:
        raise ConfigError(f"unknown FC-Net encoding {encoding!r}", f"choose one of {list(ENCODINGS)}")

    def ordered(name: str, values: tuple[Value, ...], log: bool) -> Param:
        return Ordinal(name, values, log=log) if encoding == "ordinal" else Categorical(name, values)

    arch = [
        ordered("n_units_1", UNITS, True),
        ordered("n_units_2", UNITS, True),
        Categorical("activation_fn_1", ACTIVATIONS),
        Categorical("activation_fn_2", ACTIVATIONS),
        ordered("dropout_1", DROPOUTS, False),
        ordered("dropout_2", DROPOUTS, False),
    ]
    recipe = [
        ordered("init_lr", INIT_LRS, True),
        ordered("batch_size", BATCH_SIZES, True),
        Categorical("lr_schedule", SCHEDULES),
    ]
    return arch, recipe


class FCNetSpace(Space):
    """FC-Net: a two-layer MLP (architecture) and its training recipe, for one regression data set.

    Args:
        dataset: one of :data:`FCNET_DATASETS` (sets the input width, hence ``params``).
        encoding: ``"ordinal"`` (numbers as ordered parameters) or ``"categorical"``.
    """

    def __init__(self, dataset: str = "protein_structure", encoding: str = "ordinal", name: str = "fcnet") -> None:
        if dataset not in FCNET_DATASETS:
            raise ConfigError(f"unknown FC-Net data set {dataset!r}", f"choose one of {list(FCNET_DATASETS)}")
        self.dataset, self.encoding = dataset, encoding
        arch, recipe = fcnet_params(dataset, encoding)
        super().__init__(name, arch, recipe, f"FC-Net (HPOLib) on {dataset}: 2-layer MLP x training recipe")

    def options(self) -> dict[str, Any]:
        """The data set (it sets the input width, hence the parameter count) and the encoding."""
        return {"dataset": self.dataset, "encoding": self.encoding}

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return ("params",)

    def statistics(self, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        """Trainable parameters of each MLP: input -> n_units_1 -> n_units_2 -> 1, with biases."""
        n1 = np.array([float(c.arch["n_units_1"]) for c in cands])
        n2 = np.array([float(c.arch["n_units_2"]) for c in cands])
        d = FCNET_DATASETS[self.dataset]
        return {"params": (d + 1) * n1 + (n1 + 1) * n2 + n2 + 1}
