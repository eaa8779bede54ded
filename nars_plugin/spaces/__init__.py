"""Built-in search spaces (:mod:`nars_plugin.spaces.nb201`: NAS-Bench-201 cells)."""
