"""The ``train`` evaluator: every evaluation is a real training run, through an executor.

Any optimizer searches with it exactly as with a tabular benchmark. ``max_fidelity`` is the
largest ``epochs`` of the space, and a proposal's fidelity trains that many epochs of the
candidate's schedule, so NARS's early-stopping rule works on the real validation curves. With
a checkpoint folder, each candidate keeps its checkpoint there, and a later evaluation of the same
candidate at a higher fidelity continues from it instead of starting again.

Studies evaluate a batch of proposals at once through :meth:`evaluate_many` (``--parallel``);
the executor runs them side by side, each within the study's ``--eval-timeout`` when one is set
(a candidate past it is stopped and failed, its worker replaced, the rest of the batch kept).
Results depend on the job only (each job seeds its own training), so the number of workers never
changes a search.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nars_plugin._keyvalue import as_flag
from nars_plugin.errors import ConfigError
from nars_plugin.evaluation import Evaluator, Result
from nars_plugin.settings import resolve
from nars_plugin.space import Candidate

from .data import DIGITS, check_dataset
from .executors import LocalExecutor, RayExecutor
from .jobs import make_space
from .nb201 import NB201TrainSpace
from .trainer import TrainSettings

#: Settings that suit the digits data set on a CPU (tiny batches, no loader workers, one thread).
DIGITS_SETTINGS = {"batch_size": 64, "num_workers": 0, "warmup_epochs": 1.0, "threads": 1, "eval_batch_size": 512}


class TrainingEvaluator(Evaluator):
    """Evaluate candidates of an FBNetV3 space by training them.

    Args:
        space: ``fbnetv3``, ``fbnetv3-tiny``, ``nb201-digits`` (or a space registered under those names).
        dataset: ``digits`` or an ImageNet-style folder (``DIR/train``, ``DIR/val``).
        test: also score every trained candidate on a held-out test split (``test_top1``, the
            reported metric; digits: 20% of the images taken from the training part, a folder:
            ``DIR/test``). The validation split, which the search maximises, does not change.
        executor: ``local`` or ``ray``.
        workers: local worker processes (0: train in this process).
        address: Ray cluster address (None: a local Ray instance).
        devices: GPUs (processes) per candidate.
        parallel: candidates a study sends at once (its batch; part of the search identity).
        checkpoints: folder for per-candidate checkpoints (None: none).
        **settings: :class:`TrainSettings` fields (batch_size, seed, device, ...).
    """

    name = "train"
    objective = "val_top1"

    def __init__(
        self,
        space: Any = "fbnetv3-tiny",
        dataset: str = DIGITS,
        executor: str = "local",
        workers: int = 1,
        address: str | None = None,
        devices: int = 1,
        parallel: int | None = None,
        checkpoints: str | os.PathLike[str] | None = None,
        test: bool | str = False,
        **settings: Any,
    ) -> None:
        self.space = make_space(space) if isinstance(space, str) else space
        if self.space.name not in ("fbnetv3", "fbnetv3-tiny", "nb201-digits"):
            raise ConfigError(
                f"the train evaluator cannot build networks of space {self.space.name!r}",
                "use --space fbnetv3, --space fbnetv3-tiny or --space nb201-digits",
            )
        self.test = as_flag(test, "test")
        self.report = "test_top1" if self.test else None
        check_dataset(str(dataset), self.test)
        self.dataset = str(dataset) if dataset == DIGITS else str(Path(dataset).resolve())
        defaults = DIGITS_SETTINGS if dataset == DIGITS else {}
        self.settings = resolve(TrainSettings, TrainSettings(**defaults), settings, "evaluator 'train'")
        self.devices = int(devices)
        nb201 = isinstance(self.space, NB201TrainSpace)
        self.max_fidelity: int = self.space.epochs if nb201 else int(self.space.param("epochs").high)
        self.parallel = int(parallel) if parallel else max(1, int(workers))
        self.checkpoints = Path(checkpoints).resolve() if checkpoints else None  # Ray workers run elsewhere
        if executor == "local":
            self.executor: Any = LocalExecutor(int(workers))
        elif executor == "ray":
            self.executor = RayExecutor(address)
        else:
            raise ConfigError(f"unknown executor {executor!r}", "use --executor local or --executor ray")

    def job(self, cand: Candidate, fidelity: int | None = None) -> dict[str, Any]:
        """The JSON job that trains ``cand`` (up to ``fidelity`` epochs)."""
        checkpoint = None
        if self.checkpoints is not None:
            digest = hashlib.sha1(cand.key.encode()).hexdigest()[:16]
            checkpoint = str(self.checkpoints / digest)
        return {
            "space": self.space.name,
            "space_options": self.space.options(),
            "test": self.test,
            "candidate": cand.to_dict(),
            "fidelity": fidelity if fidelity is not None and fidelity < self.max_fidelity else None,
            "max_fidelity": self.max_fidelity,
            "dataset": self.dataset,
            "settings": self.settings.to_dict(),
            "devices": self.devices,
            "checkpoint_dir": checkpoint,
        }

    def evaluate(self, cand: Candidate, fidelity: int | None = None) -> Result:
        return self.evaluate_many([cand], fidelity)[0]

    def evaluate_many(
        self, cands: Sequence[Candidate], fidelity: int | None = None, timeout: float | None = None
    ) -> list[Result]:
        """Train ``cands`` side by side; each may take ``timeout`` seconds (the study's ``--eval-timeout``),
        after which it is stopped and failed while the others go on."""
        return self.run_jobs([self.job(c, fidelity) for c in cands], timeout)

    def run_jobs(self, jobs: Sequence[Mapping[str, Any]], timeout: float | None = None) -> list[Result]:
        """Run prepared jobs through the executor (each within ``timeout`` seconds, if given)."""
        results = [Result.from_dict(r) for r in self.executor.run(jobs, timeout=timeout)]
        for job, result in zip(jobs, results):
            if result.fidelity is None and job["fidelity"] is not None:
                result.fidelity = job["fidelity"]
        return results

    def close(self) -> None:
        """Release the executor's workers."""
        self.executor.close()

    def config(self) -> dict[str, Any]:
        settings = self.settings.to_dict()
        for machine_only in ("num_workers", "device", "threads", "eval_batch_size", "collective_timeout", "fault"):
            settings.pop(machine_only, None)
        return {
            "name": self.name,
            "objective": self.objective,
            "dataset": self.dataset,
            **({"test": True} if self.test else {}),  # journals of searches without one keep their identity
            "devices": self.devices,
            "parallel": self.parallel,
            "settings": settings,
        }
