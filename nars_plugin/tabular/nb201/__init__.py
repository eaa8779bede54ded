"""The NAS-Bench-201 family's benchmarks, in one place: the NATS-Bench reader (``_nats``), the
tables the paper benchmarks are built from (``_tables``), the paper's 12-epoch / 200-epoch
benchmarks (``_paper``), the analog-nasbench recipe table (``_analog``) and the latency benchmark
(``_latency``). The space they answer for is :mod:`nars_plugin.spaces.nb201`.

It may import the core's lower layers and :mod:`nars_plugin.spaces.nb201`, never the plugin host.
"""

from ._analog import AnalogSettings, load_analog
from ._latency import LatencyBenchmarkSettings, load_nb201_latency_benchmark
from ._nats import NATSBenchmark, NATSSettings, load_nats, nats_benchmark_factory
from ._paper import PaperSettings, ScheduleSettings, load_nb201_paper, load_nb201_schedule
from ._tables import hpo_bench_file, read_hpo_bench, read_nb201_columns, table_path

__all__ = [
    "AnalogSettings",
    "LatencyBenchmarkSettings",
    "NATSBenchmark",
    "NATSSettings",
    "PaperSettings",
    "ScheduleSettings",
    "hpo_bench_file",
    "load_analog",
    "load_nats",
    "load_nb201_latency_benchmark",
    "load_nb201_paper",
    "load_nb201_schedule",
    "nats_benchmark_factory",
    "read_hpo_bench",
    "read_nb201_columns",
    "table_path",
]
