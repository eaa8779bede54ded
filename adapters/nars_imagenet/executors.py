"""Executors: where training jobs run.

* :class:`LocalExecutor` (default): a pool of ``workers`` spawned processes on this machine
  (``workers=0`` trains in the calling process). Each job gets ``devices`` GPUs (through torchrun)
  or one CPU thread set.
* :class:`RayExecutor`: one Ray task per job on a Ray cluster (``address``; None starts a local
  instance), each asking Ray for ``gpus`` GPUs and ``cpus`` CPUs, so candidates spread over the
  cluster's machines.

Both return results in job order and turn a crashed worker into a failed result; what a job
computes depends only on the job, never on which worker ran it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from nars_plugin.errors import ConfigError
from nars_plugin.evaluation import Result

from .jobs import run_job


class LocalExecutor:
    """Runs jobs in ``workers`` local processes (0: in this process)."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        if workers < 0:
            raise ConfigError(f"workers must be >= 0, got {workers}", "use --workers 1 or more")
        self.workers = int(workers)
        self._pool: ProcessPoolExecutor | None = None

    def run(self, jobs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Results of ``jobs``, in order."""
        if self.workers == 0:
            return [run_job(job) for job in jobs]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        futures = [self._pool.submit(run_job, dict(job)) for job in jobs]
        results = []
        for future in futures:
            try:
                results.append(future.result())
            except BrokenProcessPool as exc:
                self.close()
                results.append(Result.failed(f"training worker died: {exc}").to_dict())
        return results

    def close(self) -> None:
        """Shut the worker processes down."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Runs each job as a Ray task with ``gpus`` GPUs and ``cpus`` CPUs."""

    name = "ray"

    def __init__(
        self, address: str | None = None, gpus: float | None = None, cpus: float = 1, num_cpus: int | None = None
    ) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray", 'install it with pip install "nars-plugin[ray]"') from None
        self._ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False}
            if address is None and num_cpus is not None:
                options["num_cpus"] = num_cpus
            ray.init(**options)
        self.address = address
        self.gpus = gpus
        self.cpus = cpus
        self._task = ray.remote(max_retries=0)(run_job)

    def _gpus_for(self, job: Mapping[str, Any]) -> float:
        """GPUs to ask for: as configured, else the job's devices on a cluster that has GPUs, else none.

        Asking a GPU-less cluster for a GPU would leave the task waiting forever.
        """
        if self.gpus is not None:
            return self.gpus
        if job.get("settings", {}).get("device") == "cpu":
            return 0
        has_gpus = self._ray.cluster_resources().get("GPU", 0) > 0
        return float(job.get("devices", 1)) if has_gpus else 0

    def run(self, jobs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Results of ``jobs``, in order (a lost task becomes a failed result)."""
        refs = [self._task.options(num_gpus=self._gpus_for(job), num_cpus=self.cpus).remote(dict(job)) for job in jobs]
        results = []
        for ref in refs:
            try:
                results.append(self._ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - a lost worker or node fails one candidate
                results.append(Result.failed(f"Ray task failed: {type(exc).__name__}: {exc}").to_dict())
        return results

    def close(self) -> None:
        """Leave the cluster running (it may be shared); nothing to release per search."""
