"""Thin shim: the distribution's metadata lives in pyproject.toml (PEP 621).

Kept so that ``python setup.py ...`` and tools that look for a setup.py still work; everything,
including the ``nars`` console script, the entry points and the extras, is declared in
pyproject.toml.
"""

from setuptools import setup

setup()
