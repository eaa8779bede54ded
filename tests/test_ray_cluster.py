"""Ray across nodes, with a node lost mid-run: a real three-node Ray cluster on this machine.

``ray.cluster_utils.Cluster`` starts a head (no CPUs: it only schedules) and two worker nodes of one
CPU each, every node bound to the loopback address, so no test traffic reaches any other address of
the machine. The driver is a separate ``nars`` process connected with ``--address 127.0.0.1:PORT``.
Once a worker node is seen running work, that node is killed (SIGKILL of all its processes, as a
machine that loses power): Ray runs its lost task again on the node left, and the tests check that
nothing was lost, nothing ran twice and the results equal those of a local run.

The scenario and its figures are in benchmarks/reliability/REPORT.md. Slow: real Ray nodes, real
searches and real training.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import listening_addresses

from nars_plugin._ray_cluster import LOOPBACK
from nars_plugin.storage import JOURNAL_NAME

pytestmark = pytest.mark.slow

#: What starts the figures line each test prints (see :func:`_report`).
REPORT_PREFIX = "node-loss figures: "
#: Seconds the tests wait for a worker node to be seen running work before they give up.
START_LIMIT = 240.0


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A head with no CPUs and two one-CPU worker nodes, all on 127.0.0.1; ``cluster.workers`` lists the two."""
    pytest.importorskip("ray", reason="needs the ray extra: pip install -e '.[ray]'")
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the driver, another process, holds no token
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "node_ip_address": LOOPBACK, "include_dashboard": False},
    )
    try:
        cluster.workers = [cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK) for _ in range(2)]
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


def _worker_processes(node: Any) -> list[Any]:
    """The live processes a node started (its raylet's descendants: Ray's worker processes)."""
    import psutil
    from ray._private import ray_constants

    raylet = psutil.Process(node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid)
    return [p for p in raylet.children(recursive=True) if p.is_running()]


def _node_pids(nodes: list[Any]) -> list[int]:
    """The raylet and GCS processes of ``nodes`` (every other process of a node descends from them)."""
    from ray._private import ray_constants

    kinds = (ray_constants.PROCESS_TYPE_RAYLET, ray_constants.PROCESS_TYPE_GCS_SERVER)
    return [info.process.pid for node in nodes for kind in kinds for info in node.all_processes.get(kind, [])]


def _wait_for(what: str, check: Callable[[], Any], driver: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        assert driver.poll() is None, f"the driver ended before {what}: {driver.communicate()[1][-3000:]}"
        time.sleep(0.05)
    driver.kill()
    pytest.fail(f"no {what} within {START_LIMIT:g} s")


def _nars(*args: str) -> list[str]:
    return [sys.executable, "-m", "nars_plugin.cli", *args]


def _finish(driver: subprocess.Popen[str], timeout: float = 600) -> str:
    out, err = driver.communicate(timeout=timeout)
    assert driver.returncode == 0, err[-3000:]
    return out


def _report(scenario: str, **figures: Any) -> None:
    """One line that ``benchmarks/reliability/run_reliability.py`` reads into REPORT.md (pytest -s)."""
    print(REPORT_PREFIX + json.dumps({"scenario": scenario, **figures}))


def _evaluations(journal: Path) -> list[dict[str, Any]]:
    """The evaluation records of a journal (its header and other records left out)."""
    records = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    return [r for r in records if "result" in r]


def test_a_comparison_on_a_three_node_cluster_survives_the_loss_of_a_node(cluster: Any, tmp_path: Path) -> None:
    """`nars compare --executor ray --address`: the run in flight on the lost node resumes on the
    other from its journal; every run equals the local one and no evaluation is made twice."""
    budget, local_out = 60, tmp_path / "local"
    args = ["compare", "-b", "nb201-analog", "--optimizers", "nars,rea", "--seeds", "3", "--budget", str(budget)]
    env = {**os.environ, "NARS_BLOCK_PLUGINS": "imagenet,naslib"}
    local = subprocess.run(
        _nars(*args, "--out", str(local_out), "--no-progress", "--workers", "2"),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert local.returncode == 0, local.stderr[-3000:]

    assert listening_addresses(_node_pids([cluster.head_node, *cluster.workers])) == {LOOPBACK}
    out = tmp_path / "ray"
    started = time.monotonic()
    driver = subprocess.Popen(
        _nars(*args, "--out", str(out), "--no-progress", "--executor", "ray", "--address", cluster.address),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    victim_node = cluster.workers[1]

    def run_in_flight_on_the_victim() -> tuple[Path, bytes] | None:
        """The run folder whose lock a worker of the victim node holds, once it has journaled 5
        evaluations, and its journal's complete lines then."""
        for process in _worker_processes(victim_node):
            try:
                files = process.open_files()
            except Exception:  # noqa: BLE001 - a worker that just ended
                continue
            for held in files:
                lock = Path(held.path)
                if lock.name == ".lock" and out in lock.parents:
                    journal = (lock.parent / JOURNAL_NAME).read_bytes()
                    if 5 < journal.count(b"\n") <= budget:  # the header and 5 or more evaluations
                        return lock.parent, journal[: journal.rindex(b"\n") + 1]
        return None

    victim, journal_at_loss = _wait_for("run in flight on the second node", run_in_flight_on_the_victim, driver)
    lost_at, evaluated_at_loss = time.monotonic() - started, journal_at_loss.count(b"\n") - 1
    cluster.remove_node(victim_node, allow_graceful=False)  # SIGKILL: raylet, object store, workers
    _finish(driver)
    ended_at = time.monotonic() - started

    local_runs = {p.relative_to(local_out): p.read_bytes() for p in local_out.rglob("trajectory.csv")}
    ray_runs = {p.relative_to(out): p.read_bytes() for p in out.rglob("trajectory.csv")}
    assert len(local_runs) == 6 and ray_runs == local_runs  # nothing lost, the same numbers
    for journal in out.rglob(JOURNAL_NAME):  # nothing evaluated twice
        assert [r["n"] for r in _evaluations(journal)] == list(range(1, budget + 1)), journal
    assert (victim / JOURNAL_NAME).read_bytes().startswith(journal_at_loss)  # the new attempt went on from it
    _report(
        "compare",
        runs=len(ray_runs),
        evaluations=len(ray_runs) * budget,
        lost_at=lost_at,
        ended_at=ended_at,
        in_flight=f"{victim.relative_to(out / 'runs')} after {evaluated_at_loss} of {budget} evaluations",
    )


def test_training_on_a_three_node_cluster_survives_the_loss_of_a_node(cluster: Any, tmp_path: Path) -> None:
    """The train evaluator's Ray executor: the candidate training on the lost node trains again on the
    other from its last checkpoint; the search's results equal a local search's."""
    pytest.importorskip("timm", reason="needs the imagenet extra: pip install -e '.[imagenet]'")
    args = ["search", "--space", "fbnetv3-tiny", "--evaluator", "train", "--dataset", "digits"]
    args += ["--optimizer", "rs", "--budget", "2", "--seed", "1", "--parallel", "2", "--no-progress"]
    args += ["-E", "max_steps_per_epoch=12", "-E", "batch_size=32"]
    env = {**os.environ, "NARS_BLOCK_PLUGINS": "naslib", "OMP_NUM_THREADS": "1"}
    local = subprocess.run(
        _nars(*args, "--workers", "2", "--out", str(tmp_path / "local")), env=env, capture_output=True, text=True
    )
    assert local.returncode == 0, local.stderr[-3000:]

    out = tmp_path / "ray"
    started = time.monotonic()
    driver = subprocess.Popen(
        _nars(*args, "--executor", "ray", "--address", cluster.address, "--out", str(out)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    victim_node = cluster.workers[1]

    def both_training_and_the_victim_busy() -> bool:
        checkpoints = list((out / "checkpoints").glob("*/checkpoint.pt"))
        busy = [p for p in _worker_processes(victim_node) if "run_job" in " ".join(p.cmdline())]
        return len(checkpoints) == 2 and bool(busy)

    _wait_for("candidate training on each node", both_training_and_the_victim_busy, driver)
    lost_at = time.monotonic() - started
    cluster.remove_node(victim_node, allow_graceful=False)
    _finish(driver)
    ended_at = time.monotonic() - started

    on_ray, locally = _evaluations(out / JOURNAL_NAME), _evaluations(tmp_path / "local" / JOURNAL_NAME)
    assert len(on_ray) == 2 and all(r["result"]["status"] == "ok" for r in on_ray)  # nothing lost
    assert [r["candidate"] for r in on_ray] == [r["candidate"] for r in locally]  # nothing run twice
    assert [r["result"]["curve"] for r in on_ray] == [r["result"]["curve"] for r in locally]
    epochs = [len(r["result"]["curve"]) for r in on_ray]
    _report(
        "train",
        runs=1,
        evaluations=len(on_ray),
        lost_at=lost_at,
        ended_at=ended_at,
        in_flight=f"one of 2 candidates training ({'/'.join(map(str, epochs))} epochs), each with a checkpoint",
    )
