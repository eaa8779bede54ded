"""NASLib bridge: NARS inside NASLib, NASLib's optimizers and predictors on nars-plugin's tables.

Nothing here imports NASLib until it is used, so the plugin loads (and reports itself inactive)
where NASLib is missing. The parts:

* :mod:`.plugin` registers ``naslib:<name>`` optimizers for ``nars compare`` and reports status;
* :mod:`.dataset_api` builds a NASLib NAS-Bench-201 ``dataset_api`` from a tabular benchmark;
* :mod:`.optimizer` is NARS (and any registered ask/tell optimizer) as a NASLib ``MetaOptimizer``;
* :mod:`.runner` runs NASLib's own optimizers through NASLib's ``Trainer`` on our tables;
* :mod:`.config_runner` is ``nars naslib --config FILE.yaml``;
* :mod:`.predictor` is the NARS predictor as a NASLib ``Predictor``.

It may import nars-plugin's public packages, and NASLib only through :mod:`._naslib` when used; the
core never imports this package.
"""
