"""Executors: where training jobs run.

* :class:`LocalExecutor` (default): ``workers`` spawned worker processes on this machine
  (``workers=0`` trains in the calling process). Each job gets ``devices`` GPUs (through torchrun)
  or one CPU thread set.
* :class:`RayExecutor`: one Ray task per job on a Ray cluster (``address``; None starts a local
  instance), each asking Ray for ``gpus`` GPUs and ``cpus`` CPUs, so candidates spread over the
  cluster's machines.

Both return results in job order and turn a crashed worker into a failed result; what a job
computes depends only on the job, never on which worker ran it.

Time limits: ``run(jobs, timeout=T)`` gives every job at most ``T`` seconds. A local job's clock
starts when a worker takes it; a job past its limit has its worker killed (with it the torchrun and
rank processes it started, which die with their parent) and replaced by a fresh one, and it becomes
a failed result that says so; the other jobs of the batch go on. A Ray task's clock starts when it is
submitted (time spent waiting for free resources counts); past its limit the task is cancelled with
``ray.cancel(force=True)``, which kills its worker process, and Ray starts a new worker for later
tasks.

A lost node: Ray runs the jobs that were on it again on the nodes left (up to ``RAY_RETRIES``
times), and each resumes from its last checkpoint where the search has an output folder.
"""

from __future__ import annotations

import multiprocessing
import time
import weakref
from collections.abc import Mapping, Sequence
from multiprocessing.connection import wait
from typing import Any

from nars_plugin._isolation import WorkerProcess, timed_out
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
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[WorkerProcess] = []
        self.replaced = 0  # workers killed after a time-out or found dead, and replaced
        # stop idle workers at exit even without close(): multiprocessing would otherwise wait for them
        weakref.finalize(self, _stop_all, self._idle)

    def run(self, jobs: Sequence[Mapping[str, Any]], timeout: float | None = None) -> list[dict[str, Any]]:
        """Results of ``jobs``, in order; each job may run ``timeout`` seconds (None: no limit).

        With ``workers=0`` and no limit, jobs train in this process; a limit needs a worker process,
        so ``workers=0`` with a limit uses one.
        """
        if self.workers == 0 and timeout is None:
            return [run_job(job) for job in jobs]
        results: list[dict[str, Any] | None] = [None] * len(jobs)
        queue = list(range(len(jobs)))[::-1]
        busy: dict[Any, tuple[int, WorkerProcess, float]] = {}  # pipe -> (job index, worker, deadline)
        try:
            while queue or busy:
                while queue and len(busy) < max(1, self.workers):
                    index = queue.pop()
                    worker = self._idle.pop() if self._idle else self._new_worker()
                    deadline = time.monotonic() + timeout if timeout is not None else float("inf")
                    try:
                        worker.conn.send(dict(jobs[index]))
                    except OSError:  # died while idle: a fresh worker takes the job
                        worker.kill()
                        queue.append(index)
                        continue
                    busy[worker.conn] = (index, worker, deadline)
                soonest = min(deadline for _, _, deadline in busy.values())
                wait_for = None if soonest == float("inf") else max(0.0, soonest - time.monotonic())
                for conn in wait(list(busy), timeout=wait_for):
                    index, worker, _ = busy.pop(conn)
                    try:
                        results[index] = worker.conn.recv()
                        self._idle.append(worker)
                    except (EOFError, OSError):
                        code = worker.kill()
                        self.replaced += 1
                        results[index] = Result.failed(f"training worker died (exit code {code})").to_dict()
                now = time.monotonic()
                for conn, (index, worker, deadline) in list(busy.items()):
                    if now >= deadline:
                        del busy[conn]
                        worker.kill()
                        self.replaced += 1
                        results[index] = timed_out(float(timeout or 0), "training").to_dict()
        except BaseException:  # e.g. KeyboardInterrupt: leave no worker behind mid-job
            for _, worker, _ in busy.values():
                worker.kill()
            raise
        return [r if r is not None else Result.failed("no result").to_dict() for r in results]

    def _new_worker(self) -> WorkerProcess:
        # not a daemon: a training job may start processes of its own (data-loader workers)
        return WorkerProcess(self._context, run_job, daemon=False, name="nars-training-worker")

    def close(self) -> None:
        """Shut the worker processes down."""
        _stop_all(self._idle)


def _stop_all(workers: list[WorkerProcess]) -> None:
    """Stop the workers of a list, emptying it."""
    while workers:
        workers.pop().stop()


#: How many times Ray runs a job again whose node or worker process was lost (a job never raises;
#: a cancelled job is not run again). A job with a checkpoint folder resumes from its last epoch.
RAY_RETRIES = 3


class RayExecutor:
    """Runs each job as a Ray task with ``gpus`` GPUs and ``cpus`` CPUs."""

    name = "ray"

    def __init__(
        self, address: str | None = None, gpus: float | None = None, cpus: float = 1, num_cpus: int | None = None
    ) -> None:
        from nars_plugin._ray_cluster import connect

        ray = connect(address, num_cpus=num_cpus, forward_settings=False)  # a new local instance without an address
        self._ray = ray
        self.address = address
        self.gpus = gpus
        self.cpus = cpus
        self._task = ray.remote(max_retries=RAY_RETRIES)(run_job)

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

    def run(self, jobs: Sequence[Mapping[str, Any]], timeout: float | None = None) -> list[dict[str, Any]]:
        """Results of ``jobs``, in order (a lost task becomes a failed result); each task may take
        ``timeout`` seconds from its submission (None: no limit), then it is cancelled."""
        ray = self._ray
        refs = [self._task.options(num_gpus=self._gpus_for(job), num_cpus=self.cpus).remote(dict(job)) for job in jobs]
        _, remaining = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        late = set(remaining)
        for ref in late:
            ray.cancel(ref, force=True)  # kills the task's worker process; Ray starts new ones as needed
        results = []
        for ref in refs:
            if ref in late:
                results.append(timed_out(float(timeout or 0), "Ray task cancelled, training").to_dict())
                continue
            try:
                results.append(ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - a lost worker or node fails one candidate
                results.append(Result.failed(f"Ray task failed: {type(exc).__name__}: {exc}").to_dict())
        return results

    def close(self) -> None:
        """Leave the cluster running (it may be shared); nothing to release per search."""
