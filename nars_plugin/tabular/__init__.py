"""Tabular benchmarks: answers from measured tables, in microseconds."""

from .base import TabularBenchmark

__all__ = ["TabularBenchmark"]
