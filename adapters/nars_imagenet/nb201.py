"""The NAS-Bench-201 cell space, trained for real by the ``train`` evaluator (``nb201-digits``).

The candidates are the 15,625 NB201 cells (:class:`~nars_plugin.spaces.nb201.NB201Space`); the
network is the NB201 macro (:class:`~nars_plugin.spaces.nb201.NB201Network`, plain torch): a 3x3
stem, three stages of ``cells_per_stage`` cells with 16, 32 and 64 channels, NB201's residual
reduction blocks between them, global pooling and a linear classifier. The defaults size it for
scikit-learn's 8x8 one-channel digits: 2 cells per stage (NB201 has 5) at the images' own
resolution, so stages run at 8x8, 4x4 and 2x2. The channels are NB201's because NASLib's
``NasBench201SearchSpace`` (the supernet of DARTS and GDAS) fixes them; its cells per stage are
sized to match (:func:`nars_naslib.runner.nb201_supernet`), so one-shot and query-based methods
search exactly the same networks.

The training recipe is fixed (NB201's: SGD with Nesterov momentum 0.9, cosine learning rate,
weight decay 5e-4, no mixup, dropout, stochastic depth or EMA) with ``epochs`` epochs, and every
candidate, from any optimizer, trains with it: the space has no recipe part. The free statistics
(``flops``, ``params``) are NB201's analytical counts of the CIFAR-10 network of the cell (the core
space's), which order the cells as this network's counts do (every term scales alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nars_plugin.errors import ConfigError
from nars_plugin.space import Candidate
from nars_plugin.spaces.nb201 import OPS, NB201Space, op_matrix

#: NB201's recipe with the learning rate per 256 images (the trainer scales it linearly with the batch).
NB201_RECIPE: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.4,
    "weight_decay": 5e-4,
    "mixup": 0.0,
    "dropout": 0.0,
    "drop_path": 0.0,
    "ema": False,
}


@dataclass(frozen=True)
class NB201NetSpec:
    """What the trainer needs to build and feed the network of one cell."""

    ops: tuple[str, ...]
    num_classes: int = 10
    in_channels: int = 1
    resolution: int = 8
    channels: int = 16
    cells_per_stage: int = 2

    def build(self) -> Any:
        """The :class:`~nars_plugin.spaces.nb201.NB201Network` of the cell (imports torch)."""
        from nars_plugin.spaces.nb201 import NB201Network

        return NB201Network(self.ops, self.num_classes, self.channels, self.cells_per_stage, self.in_channels)


class NB201TrainSpace(NB201Space):
    """NB201 cells trained by the ``train`` evaluator with one fixed recipe (see the module docstring).

    Args:
        cells_per_stage: cells in each of the three stages (NB201: 5).
        epochs: epochs of the fixed recipe.
        resolution: input resolution the images are resized to (digits: 8, CIFAR-10: 32).
    """

    def __init__(self, cells_per_stage: int = 2, epochs: int = 4, resolution: int = 8) -> None:
        for key, value in (("cells_per_stage", cells_per_stage), ("epochs", epochs), ("resolution", resolution)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"nb201-digits: {key} must be an integer >= 1, got {value!r}",
                                  f"e.g. --space-option {key}=2")  # fmt: skip
        super().__init__(
            dataset="cifar10",
            name="nb201-digits",
            description="NB201 cells trained for real by the train evaluator (fixed NB201 recipe; "
            "2 cells per stage and 4 epochs for 8x8 digits by default)",
        )
        self.cells_per_stage, self.epochs, self.image_resolution = cells_per_stage, epochs, resolution

    def options(self) -> dict[str, Any]:
        """The network's size and the recipe's epochs."""
        return {"cells_per_stage": self.cells_per_stage, "epochs": self.epochs, "resolution": self.image_resolution}

    def training_recipe(self, cand: Candidate) -> dict[str, Any]:
        """The fixed recipe every candidate trains with."""
        return {**NB201_RECIPE, "epochs": self.epochs}

    def network(self, cand: Candidate | str | Any) -> NB201NetSpec:  # type: ignore[override]
        """The network of ``cand`` as the trainer builds it (10 classes, one channel until the data say)."""
        ops = tuple(OPS[i] for i in op_matrix([cand])[0])
        return NB201NetSpec(ops, resolution=self.image_resolution, cells_per_stage=self.cells_per_stage)


def nb201_train_space(cells_per_stage: int = 2, epochs: int = 4, resolution: int = 8) -> NB201TrainSpace:
    """The ``nb201-digits`` space (:class:`NB201TrainSpace`)."""
    return NB201TrainSpace(cells_per_stage, epochs, resolution)
