"""One training job: a candidate, a data set and settings in, a result dict out.

:func:`run_job` is what executors ship to workers (a local process, a Ray task). With one device
per candidate it trains in the calling process; with ``devices > 1`` it launches ``torchrun``
(``python -m torch.distributed.run``) on this machine with one process per device, running
``python -m nars_imagenet.jobs JOB.json RESULT.json``, and reads rank 0's result back.
Everything a job needs is plain JSON, so it crosses process and machine boundaries unchanged.

A failure on one rank (an exception, running out of memory, divergence) ends the whole job within a
bounded time: that rank writes its failed result beside ``RESULT.json`` (``failed-rank<R>.json``) and
exits at once with status 1, and torchrun then stops the other ranks, which may be waiting for it in
a collective (torchrun notices within its monitor interval and sends them SIGTERM). A rank that hangs
instead is caught by the collective timeout (``collective_timeout``): the other ranks' collectives
fail, they exit, and torchrun stops the hung one. The job's result is then the failed result of the
rank that failed first (the cause; the others only lost their peer), naming the rank.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from nars_plugin._isolation import die_with_parent, failed_by
from nars_plugin.evaluation import Result
from nars_plugin.space import Candidate


def make_space(name: str, options: Mapping[str, Any] | None = None) -> Any:
    """The space called ``name`` (``fbnetv3``, ``fbnetv3-tiny`` or ``nb201-digits``) made with ``options``
    (its :meth:`~nars_plugin.space.Space.options`), without going through the registry."""
    from .nb201 import nb201_train_space
    from .space import fbnetv3_space, fbnetv3_tiny_space

    factories = {"fbnetv3": fbnetv3_space, "fbnetv3-tiny": fbnetv3_tiny_space, "nb201-digits": nb201_train_space}
    return factories[name](**dict(options or {}))


def training_recipe(space: Any, cand: Candidate) -> dict[str, Any]:
    """The recipe ``cand`` trains with: its own recipe part, or the space's fixed recipe (``nb201-digits``)."""
    from .nb201 import NB201TrainSpace

    return space.training_recipe(cand) if isinstance(space, NB201TrainSpace) else dict(cand.recipe)


def train_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Train the job's candidate in this process (rank 0 or the only process) and return its result dict."""
    from .data import load_data
    from .trainer import TrainSettings, setup_distributed, teardown_distributed, train

    settings = TrainSettings(**job["settings"])
    ctx = setup_distributed(settings.device, settings.collective_timeout)
    space = make_space(job["space"], job.get("space_options"))
    cand = space.validate(Candidate.from_dict(job["candidate"]))
    spec = space.network(cand)
    data = load_data(job["dataset"], spec.resolution, bool(job.get("test")))
    if data.num_classes != spec.num_classes or data.in_channels != spec.in_channels:
        spec = _adapt(spec, data.num_classes, data.in_channels)
    recipe = training_recipe(space, cand)
    outcome = train(spec, recipe, data, settings, job.get("fidelity"), job.get("checkpoint_dir"), ctx)
    if outcome.status == "ok":  # every rank got here: leave together (a failed rank leaves at once, see main)
        teardown_distributed()
    return outcome.to_result(job.get("fidelity"), job.get("max_fidelity")).to_dict()


def _adapt(spec: Any, num_classes: int, in_channels: int) -> Any:
    from dataclasses import replace

    return replace(spec, num_classes=num_classes, in_channels=in_channels)


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run one job on this machine with ``job["devices"]`` processes; never raises for a bad candidate."""
    devices = int(job.get("devices", 1))
    try:
        if devices <= 1:
            return train_job(job)
        return _torchrun(job, devices)
    except Exception as exc:  # noqa: BLE001 - a failing candidate must not end the search
        return failed_by(exc).to_dict()


#: Exit status of a rank whose training failed (after it wrote ``failed-rank<R>.json``).
FAILED_RANK_STATUS = 1


def _torchrun(job: Mapping[str, Any], devices: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nars-job-") as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_path.write_text(json.dumps({**job, "devices": 1}))
        command = [
            sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={devices}",
            "-m", "nars_imagenet.jobs", str(job_path), str(out_path),
        ]  # fmt: skip
        tie = partial(die_with_parent, os.getpid())  # killed at a time limit: torchrun (and its ranks) go too
        proc = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), preexec_fn=tie)
        if proc.returncode != 0 or not out_path.is_file():
            # the rank that failed first holds the cause (the others then lost their peer)
            failed = sorted(Path(tmp).glob("failed-rank*.json"), key=lambda f: f.stat().st_mtime_ns)
            if failed:
                result = json.loads(failed[0].read_text())
                result["error"] = f"rank {failed[0].stem.removeprefix('failed-rank')}: {result.get('error')}"
                return result
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            return Result.failed(f"torchrun exited with status {proc.returncode}: {' | '.join(tail)}").to_dict()
        result: dict[str, Any] = json.loads(out_path.read_text())
        return result


def main(argv: list[str] | None = None) -> int:
    """``python -m nars_imagenet.jobs JOB.json RESULT.json`` (one torchrun process)."""
    args = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(args[0]).read_text())
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    try:
        result = train_job(job)
    except Exception as exc:  # noqa: BLE001 - reported as this rank's failure
        result = failed_by(exc).to_dict()
    if result.get("status") != "ok" and world > 1:
        # The other ranks may be waiting for this one in a collective: leave now, without the
        # process group's teardown, and let torchrun stop them.
        Path(args[1]).with_name(f"failed-rank{rank}.json").write_text(json.dumps(result))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(FAILED_RANK_STATUS)
    if rank == 0:
        Path(args[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":  # pragma: no cover - run by torchrun
    sys.exit(main())
