"""The version of nars-plugin (one place: the package and the plugin host read it)."""

__version__ = "0.1.0"
