"""``hebo``: HEBO (Cowen-Rivers et al., JAIR 2022; winner of the NeurIPS 2020 black-box
optimisation challenge) as a peer baseline, run in a worker environment of its own.

**Why a worker environment.** HEBO 0.3.6, the current release, pins ``numpy<1.25`` and
``pymoo==0.6.0``; nars-plugin's dependencies (pandas, scikit-learn, SciPy, Optuna releases for
Python 3.11) need NumPy >= 1.26, so pip cannot install HEBO beside them: there is no ``hebo`` extra.
Instead ``nars hebo install`` builds a virtual environment with HEBO and explicit pins
(:data:`WORKER_REQUIREMENTS`, about two minutes), and this optimizer runs HEBO there, in a process
per search (:mod:`nars_plugin.optimizers.hebo_worker`, JSON lines over a pipe). The worker is
found through :data:`WORKER_PYTHON_ENV` (an interpreter path), else the environment
``nars hebo install`` builds by default (:func:`default_worker_dir`), else this interpreter where
HEBO happens to be importable. Without any, the ``hebo`` plugin is listed inactive by
``nars plugins`` with that reason and the install command.

**Settings.** HEBO's own defaults, which its documentation gives for expensive black-box problems
with categorical parameters (the challenge's setting): the ``gp`` surrogate (a GP with input
warping and categorical embeddings), the MACE acquisition ensemble optimised by NSGA-II, and
``1 + number of parameters`` Sobol points before the model.

**The space.** Categorical parameters become HEBO ``cat`` parameters over the positions of their
values; ordinal ones ``int`` over positions (HEBO has no ordinal type, and an integer keeps the
order); a stepped integer ``int`` over its grid positions; other integers ``int``; floats ``num``,
or ``pow`` when ``log``.

**What the wrapper fixes.** HEBO minimises: it is told ``-value``. It drops non-finite values
without a word, so a failed evaluation, a repeat, an invalid point or a constraint break is told a
finite penalty instead: the worst value seen so far minus the violation (1 for a failure or an
invalid point) times the spread of the values seen. HEBO has no constraint interface for a single
objective; the penalty keeps its model away from infeasible regions. Its random state (global
generators, an unseeded Sobol sampler unless ``scramble_seed`` is given) is seeded inside the
worker, which serves one search, so the same seed replays the same proposals. Under constraints
each model fit proposes a batch of 8 (``batch``; MACE proposes batches), tried in turn: the
infeasible ones are told their penalty without a refit in between (one fit per rejected sample made
a 10-query constrained search on a toy space take 10 minutes). The batch is tried in the order of a
single suggestion (random points of the acquisition's Pareto set) with HEBO's two extra picks, the
most uncertain and the best-predicted point, last (:mod:`.hebo_worker`): tried first, the most
uncertain point was evaluated after every fit and a constrained search explored and never refined.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError
from ..evaluation import Result
from ..settings import setting
from ..space import Candidate, Categorical, Float, Integer, Ordinal, Param
from .base import Proposal
from .peer import PeerOptimizer, PeerSettings, candidate_from_positions, positions, positions_of

#: Environment variable naming the Python interpreter of a HEBO worker environment.
WORKER_PYTHON_ENV = "NARS_HEBO_PYTHON"

PYMOO = "pymoo==0.6.0"

#: What ``nars hebo install`` puts into the worker environment (after torch), pinned so that pip's
#: resolver has nothing to search: HEBO 0.3.6's own pins and releases that have wheels for them.
WORKER_REQUIREMENTS = (
    "numpy==1.24.4",
    "scipy==1.10.1",
    "pandas==2.0.3",
    "scikit-learn==1.3.2",
    "matplotlib==3.7.5",
    PYMOO,
    "catboost==1.2.5",
    "GPy==1.13.2",
    "hebo==0.3.6",
)

#: Installed before :data:`WORKER_REQUIREMENTS`, which are built against them (pymoo's compiled modules).
BUILD_REQUIREMENTS = ("numpy==1.24.4", "cython<3", "setuptools", "wheel")

#: torch for the worker environment (the CPU build that this project's machines hold on disk).
WORKER_TORCH = "torch==2.13.0"

INSTALL_HINT = "nars hebo install (builds the worker environment, about two minutes), or set NARS_HEBO_PYTHON"


def default_worker_dir() -> Path:
    """Where ``nars hebo install`` builds the worker environment by default."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "nars-plugin" / "hebo-env"


def _venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def worker_python() -> str | None:
    """The interpreter to run HEBO with, or None where there is none (see the module docstring)."""
    named = os.environ.get(WORKER_PYTHON_ENV)
    if named:
        return named
    built = _venv_python(default_worker_dir())
    if built.exists():
        return str(built)
    if importlib.util.find_spec("hebo") is not None:
        return sys.executable
    return None


def status() -> tuple[str, str] | None:
    """None where a HEBO worker can start, else ``(reason, fix)`` (for ``nars plugins``)."""
    named = os.environ.get(WORKER_PYTHON_ENV)
    if named and not Path(named).exists():
        return f"{WORKER_PYTHON_ENV}={named} does not exist", "point it at the worker's python, or " + INSTALL_HINT
    if worker_python() is None:
        return (
            "HEBO 0.3.6 cannot share this environment (it pins numpy<1.25 and pymoo==0.6.0) "
            "and no HEBO worker environment is installed",
            INSTALL_HINT,
        )
    return None


def install_worker(folder: Path | None = None, *, torch: str = WORKER_TORCH, quiet: bool = True) -> Path:
    """Build a HEBO worker environment in ``folder`` (default :func:`default_worker_dir`); its python.

    Creates a virtual environment, installs ``torch``, :data:`BUILD_REQUIREMENTS`, then
    :data:`WORKER_REQUIREMENTS` (built against them), and proves the install by starting a worker
    and asking it for one suggestion.
    """
    folder = Path(folder or default_worker_dir()).resolve()  # absolute: the proof runs in the folder
    flags = ["-q"] if quiet else []
    pip = [str(_venv_python(folder)), "-m", "pip", "install", *flags]
    steps = [
        [sys.executable, "-m", "venv", str(folder)],
        [*pip, torch],
        [*pip, *BUILD_REQUIREMENTS],
        # pymoo 0.6.0 is an sdist: built in an isolated environment it lacks Cython and falls back to
        # pure-Python non-dominated sorting, which HEBO's NSGA-II calls at every suggestion
        [*pip, "--no-build-isolation", *WORKER_REQUIREMENTS],
        # and once more from source, so that a wheel pip cached from an isolated build is not reused
        [*pip, "--no-build-isolation", "--no-cache-dir", "--force-reinstall", "--no-deps", PYMOO],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=quiet, text=True)
        if done.returncode != 0:
            raise ConfigError(
                f"building the HEBO worker environment failed at `{' '.join(step)}`:\n{(done.stderr or '')[-2000:]}",
                "check the network or pip's message above; `nars hebo install --venv PATH` builds elsewhere",
            )
    python = str(_venv_python(folder))
    check = "from pymoo.util.function_loader import is_compiled; raise SystemExit(0 if is_compiled() else 1)"
    if subprocess.run([python, "-c", check], cwd=folder, capture_output=True).returncode != 0:
        warnings.warn("pymoo's compiled modules did not build: HEBO works, several times slower", stacklevel=2)
    with HEBOWorker(python) as worker:
        worker.start([{"name": "x", "type": "num", "lb": 0.0, "ub": 1.0}], seed=0)
        worker.suggest()
    return Path(python)


class HEBOWorker:
    """A HEBO worker process (one per search): :meth:`start`, :meth:`suggest`, :meth:`observe`."""

    def __init__(self, python: str) -> None:
        self.python = python
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - the worker's stderr, closed by close()
        worker_file = Path(__file__).with_name("hebo_worker.py")
        env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        try:
            self._process = subprocess.Popen(
                [python, str(worker_file)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
                env=env,
            )
        except OSError as exc:
            raise ConfigError(f"cannot start the HEBO worker with {python}: {exc}", INSTALL_HINT) from None
        self.versions: dict[str, str] = {}

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        stdin: IO[str] | None = self._process.stdin
        stdout: IO[str] | None = self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            line = stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            self._log.seek(0)
            raise ConfigError(
                f"the HEBO worker ({self.python}) stopped during {request['op']!r}:\n{self._log.read()[-2000:]}",
                "check that its environment has HEBO (" + INSTALL_HINT + ")",
            )
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise ConfigError(f"HEBO failed during {request['op']!r}: {answer['error']}", "see the message above")
        return answer

    def start(self, params: list[dict[str, Any]], seed: int, rand_sample: int | None = None) -> None:
        self.versions = self._call({"op": "init", "params": params, "seed": seed, "rand_sample": rand_sample})

    def suggest(self, n: int = 1) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._call({"op": "suggest", "n": n})["rows"]
        return rows

    def observe(self, row: dict[str, Any], value: float) -> None:
        self._call({"op": "observe", "row": row, "y": value})

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                if self._process.stdin is not None:
                    self._process.stdin.close()  # end of input: the worker's loop ends
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._log.close()

    def __enter__(self) -> HEBOWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def design_parameter(param: Param) -> dict[str, Any]:
    """One parameter in HEBO's design-space format (see the module docstring)."""
    n = positions(param)
    if isinstance(param, Categorical) and not isinstance(param, Ordinal):
        return {"name": param.name, "type": "cat", "categories": list(range(n or 0))}
    if n is not None:  # ordinal, stepped integer: positions
        return {"name": param.name, "type": "int", "lb": 0, "ub": n - 1}
    if isinstance(param, Integer):
        return {"name": param.name, "type": "int", "lb": param.low, "ub": param.high}
    if isinstance(param, Float):
        return {"name": param.name, "type": "pow" if param.log else "num", "lb": param.low, "ub": param.high}
    raise ConfigError(
        f"hebo cannot map parameter {param.name!r} of type {type(param).__name__} onto HEBO",
        "use Categorical, Ordinal, Integer or Float parameters",
    )


@dataclass(frozen=True)
class HEBOSettings(PeerSettings):
    """Settings of the HEBO peer."""

    rand_sample: int | None = setting(
        None, "Sobol points before the model (auto: HEBO's 1 + number of parameters)", none="auto", low=2
    )
    batch: int | None = setting(
        None,
        "suggestions per model fit, tried in turn until one is feasible (auto: 8 under constraints, else 1)",
        none="auto",
        low=1,
    )
    python: str | None = setting(
        None,
        "interpreter of the HEBO worker environment (auto: $NARS_HEBO_PYTHON, then `nars hebo install`'s)",
        none="auto",
    )


class HEBO(PeerOptimizer[HEBOSettings]):
    """HEBO behind the ask/tell contract, in a worker process (settings: :class:`HEBOSettings`)."""

    name = "hebo"

    def setup(self) -> None:
        super().setup()
        python = self.config.python or worker_python()
        if python is None:
            reason, fix = status() or ("no HEBO worker environment", INSTALL_HINT)
            raise ConfigError(f"the hebo optimizer cannot run: {reason}", fix)
        self.params = [design_parameter(p) for p in self.space.params]
        self.worker = HEBOWorker(python)
        self.worker.start(self.params, seed=self.seed, rand_sample=self.config.rand_sample)
        chosen = self.config.batch
        self.suggestions = (8 if self.constraints else 1) if chosen is None else chosen
        self._queue: list[dict[str, Any]] = []  # suggestions of the last model fit not yet drawn
        self.worker_seconds = 0.0

    def close(self) -> None:
        """Stop the worker process (also done when the optimizer is collected)."""
        self.worker.close()

    def __del__(self) -> None:
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.close()

    # -- the PeerOptimizer hooks ------------------------------------------- #

    def _draw(self) -> tuple[Any, Candidate]:
        if not self._queue:
            started = time.perf_counter()
            self._queue = self.worker.suggest(self.suggestions)
            self.worker_seconds += time.perf_counter() - started
        row = self._queue.pop(0)
        return row, candidate_from_positions(self.space, row)

    def tell(self, proposal: Proposal, result: Result) -> None:
        super().tell(proposal, result)
        self._queue = []  # suggestions from before this result: the next draw asks a refitted model

    def _observe(self, row: dict[str, Any], value: float) -> None:
        started = time.perf_counter()
        self.worker.observe(row, -value)  # HEBO minimises
        self.worker_seconds += time.perf_counter() - started

    def _reject(self, handle: Any, violation: float) -> None:
        self._observe(handle, self.penalty(violation))

    def _answer(self, handle: Any, value: float) -> None:
        if not math.isfinite(value):
            self._reject(handle, 1.0)
            return
        self.told_values.append(value)
        self._observe(handle, value)

    def _withdraw(self, handle: Any) -> None:
        self._reject(handle, 1.0)

    def _adopt(self, cand: Candidate) -> Any:
        return positions_of(self.space, cand)

    def report(self) -> dict[str, Any]:
        return {"hebo_worker_seconds": round(self.worker_seconds, 3), **self.worker.versions, **super().report()}
