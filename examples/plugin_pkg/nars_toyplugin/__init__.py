"""A small third-party plugin for nars-plugin (used by its tests)."""

__version__ = "0.3.1"
