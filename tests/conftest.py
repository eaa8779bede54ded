"""Shared fixtures: the benchmark data folder, a tiny joint space and benchmark built in code, the CLI.

Benchmark tables are never part of the repository. Tests find them under ``$NARS_DATA_DIR``
(default ``<repo>/../shared/data``) and skip, naming the missing file, when they are absent.

The tiny space (:func:`tiny_space`) has two categorical ops, an integer width and an epochs recipe
(3 x 3 x 4 x 2 = 72 candidates) plus a free "flops" statistic, and the tiny benchmark
(:func:`tiny_bench`) is a :class:`TabularBenchmark` over all of it with a synthetic accuracy that has
a single best candidate, so study tests need no data file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from nars_plugin.space import Candidate, Categorical, Integer, Space
from nars_plugin.tabular.base import TabularBenchmark

REPO_ROOT = Path(__file__).resolve().parents[1]
# Reusable results (pretrained encoders, zero-cost proxies) go to a cache of this test session, not
# the user's ~/.cache: tests start cold and leave nothing behind (subprocesses inherit it).
if "NARS_CACHE_DIR" not in os.environ:
    import atexit
    import tempfile

    os.environ["NARS_CACHE_DIR"] = tempfile.mkdtemp(prefix="nars-test-cache-")
    atexit.register(shutil.rmtree, os.environ["NARS_CACHE_DIR"], ignore_errors=True)
#: The example plugin packages (``examples/plugin_pkg``, ``examples/graph_space``).
EXAMPLES = REPO_ROOT / "examples"
C10_CSV = "nb201/cifar10_test_acc_200ep.csv"
#: A one-member predictor trained briefly: enough for tests that run NARS end to end on a small budget.
QUICK_PREDICTOR = {"n_models": 1, "pretrain_samples": 256, "pretrain_epochs": 2, "head_steps": 20, "finetune_steps": 20}
BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def data_root() -> Path:
    """``$NARS_DATA_DIR``, or ``<repo>/../shared/data`` (may not exist)."""
    env = os.environ.get("NARS_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def _require(relative: str) -> Path:
    path = data_root() / relative
    if not path.is_file():
        pytest.skip(f"benchmark data file {path} is absent (set NARS_DATA_DIR to the folder holding {relative})")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data folder; the test is skipped when it does not exist."""
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"benchmark data folder {root} is absent (set NARS_DATA_DIR to it)")
    return root


@pytest.fixture(scope="session")
def c10_csv(data_dir: Path) -> Path:
    """Path of the 200-epoch CIFAR-10 NB201 table (skips when absent)."""
    return _require(C10_CSV)


@pytest.fixture
def need_data() -> Callable[[str], Path]:
    """``need_data("nb201/x.csv")``: that data file's path, or a skip naming it when it is absent."""
    return _require


# --------------------------------------------------------------------------- #
# A tiny joint space and a tiny tabular benchmark, built in code
# --------------------------------------------------------------------------- #

TINY_OPS = ("a", "b", "c")


class TinySpace(Space):
    """Two categorical ops, an integer width (arch) and an epochs recipe; statistic "flops"."""

    def __init__(self, name: str = "tiny") -> None:
        super().__init__(
            name,
            [Categorical("op1", TINY_OPS), Categorical("op2", TINY_OPS), Integer("width", 1, 4)],
            [Categorical("epochs", (12, 200))],
            description="a 72-candidate test space",
        )

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return ("flops",)

    def statistics(self, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        # flops = width * (1 + index(op1) + index(op2)): from 1 (a, a, 1) to 20 (c, c, 4)
        flops = [c.arch["width"] * (1 + TINY_OPS.index(c.arch["op1"]) + TINY_OPS.index(c.arch["op2"])) for c in cands]
        return {"flops": np.asarray(flops, dtype=float)}


def tiny_accuracy(cand: Candidate) -> float:
    """Synthetic accuracy with one best candidate: (c, b, width 3, 200 epochs) -> 90 + 4 + 3 + 2 + 1 = 100."""
    value = 90.0
    value += {"a": 0.0, "b": 1.5, "c": 4.0}[cand.arch["op1"]]
    value += {"a": 1.0, "b": 3.0, "c": 0.5}[cand.arch["op2"]]
    value += {1: 0.0, 2: 1.25, 3: 2.0, 4: 0.75}[cand.arch["width"]]
    value += 1.0 if cand.recipe["epochs"] == 200 else 0.0
    return value


def build_tiny_bench(space: Space | None = None) -> TabularBenchmark:
    """A :class:`TabularBenchmark` over every candidate of :class:`TinySpace`."""
    space = space or TinySpace()
    rows = space.enumerate()
    acc = np.array([tiny_accuracy(c) for c in rows])
    cost = np.array([float(c.arch["width"] * (10 if c.recipe["epochs"] == 200 else 1)) for c in rows])
    return TabularBenchmark(
        "tiny",
        space,
        rows,
        {"acc": acc, "loss": 100.0 - acc},
        objective="acc",
        cost=cost,
        description="tiny in-code benchmark",
    )


@pytest.fixture
def tiny_space() -> TinySpace:
    return TinySpace()


@pytest.fixture
def tiny_bench() -> TabularBenchmark:
    return build_tiny_bench()


# --------------------------------------------------------------------------- #
# Installing an example plugin package for real
# --------------------------------------------------------------------------- #


def install_package(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the package folder ``source`` with pip into a new folder and return that folder.

    pip runs with ``--target`` (no network, no build isolation, no dependencies) on a copy of the
    folder, so the repository stays clean; put the returned folder on ``sys.path`` (or
    ``PYTHONPATH``) and the package's ``nars_plugin`` entry point is discovered like any other.
    """
    site = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    copy = build / "src"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    proc = subprocess.run(
        [*cmd, "--target", str(site), str(copy)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(build)},
        cwd=build,
    )
    assert proc.returncode == 0, f"installing {source.name} failed:\n{proc.stderr}"
    return site


def path_with(site: Path) -> str:
    """A ``PYTHONPATH`` value that puts ``site`` first."""
    return os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])


# --------------------------------------------------------------------------- #
# The command line, in a subprocess
# --------------------------------------------------------------------------- #


def cli_command() -> list[str]:
    """How to start ``nars``: this interpreter running the CLI module (same venv as the tests)."""
    return [sys.executable, "-m", "nars_plugin.cli"]


def run_cli(args: Sequence[str | os.PathLike[str]], cwd: str | os.PathLike[str] | None = None, timeout: float = 60):
    """Run ``nars ARGS`` in a subprocess; return ``(returncode, stdout, stderr)``."""
    proc = subprocess.run(
        [*cli_command(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def cli() -> Callable[..., tuple[int, str, str]]:
    """The :func:`run_cli` helper as a fixture: ``cli(["spaces"], cwd=...)``."""
    return run_cli


def listening_addresses(pids: Sequence[int]) -> set[str]:
    """The local addresses that the processes ``pids`` and their descendants listen on (TCP;
    IPv4-mapped IPv6 addresses as IPv4): what a Ray node exposes to the network."""
    import psutil

    tree: set[int] = set()
    for pid in pids:
        try:
            process = psutil.Process(pid)
            tree |= {pid} | {p.pid for p in process.children(recursive=True)}
        except psutil.Error:
            continue
    listening = set()
    for pid in tree:
        try:
            sockets = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        listening |= {s.laddr.ip.removeprefix("::ffff:") for s in sockets if s.status == psutil.CONN_LISTEN}
    return listening
