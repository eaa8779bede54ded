"""Built-in search spaces, one family per module or folder.

Here: NAS-Bench-201 cells (:mod:`nars_plugin.spaces.nb201`: exact FLOPs and parameters, the cell's
network, measured latencies and zero-cost proxies as free statistics) and FC-Net's MLP x recipe
space. May import the space contract, settings, errors and data-file modules, and torch for the
networks (lazily where it is heavy); never the benchmarks, predictors, optimizers or plugin host.
"""
