"""Tabular benchmarks: answers from measured tables, in microseconds.

Here: :class:`TabularBenchmark` and one module per family of tables (nb201-analog, NATS-Bench
files, CSV tables, the NB201 paper protocol and schedule, nb201-latency, FC-Net), each with its
settings declaration. May import the space, spaces, evaluation, settings, errors and data-file
modules; tables are read at run time from ``$NARS_DATA_DIR`` or an installed package, never from
this repository. Never imports the plugin host (a CSV table's ``space=NAME`` is resolved by it),
the predictors or the optimizers.
"""

from .base import TabularBenchmark

__all__ = ["TabularBenchmark"]
