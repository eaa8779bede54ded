"""Calling an evaluator safely: exceptions, time limits, crashed workers and an audit log.

:func:`call_evaluator` is the one place where a study calls ``evaluator.evaluate``. It turns an
exception into a failed :class:`~nars_plugin.evaluation.Result` that records the reason, so a bad
candidate never ends a search.

A Python call that hangs cannot be interrupted from inside its own process, so a time limit needs
another process: :class:`TimedEvaluator` keeps one worker process per study, sends it one candidate
at a time and waits at most ``timeout`` seconds for the answer. A worker that runs past the limit
(or dies, e.g. killed for memory) is killed, the evaluation is recorded as failed with the reason,
and the next evaluation starts a fresh worker. The worker is forked where the platform can fork, so
it inherits the evaluator as it is (no pickling, start-up in milliseconds); elsewhere it is spawned
and the evaluator must be picklable.

Audit log: when the environment variable ``NARS_EVALUATION_LOG`` names a file, every evaluation that
actually ran appends one JSON line to it (candidate key, fidelity, status, process id), written by
the process that ran it as soon as the evaluator returned. The reliability harness
(``benchmarks/reliability``) counts these lines to prove that a killed and resumed search never
evaluates a candidate twice, independently of what the journal says. The harness also sets
``NARS_EVALUATION_DELAY`` (seconds) to make each evaluation take that long, as a training run would,
so that its kills land inside evaluations and at every evaluation count.
"""

from __future__ import annotations

import inspect
import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ._safe_files import atomic_write
from .evaluation import Evaluator, Result
from .space import Candidate

#: Environment variable naming the audit log of real evaluations (unset: no log).
EVALUATION_LOG_ENV = "NARS_EVALUATION_LOG"
#: Environment variable: seconds every evaluation sleeps first (crash tests; unset: none).
EVALUATION_DELAY_ENV = "NARS_EVALUATION_DELAY"


def log_evaluation(cand: Candidate, fidelity: int | None, result: Result) -> None:
    path = os.environ.get(EVALUATION_LOG_ENV)
    if not path:
        return
    line = json.dumps({"key": cand.key, "fidelity": fidelity, "status": result.status, "pid": os.getpid()})
    with open(path, "a", encoding="utf-8") as fh:  # O_APPEND: lines of concurrent writers do not interleave
        fh.write(line + "\n")


def save_pending(path: Path, token: str, cand: Candidate, fidelity: int | None, result: Result) -> None:
    """Keep a finished result on disk until the study has journaled it (see :class:`TimedEvaluator`)."""
    record = {"token": token, "key": cand.key, "fidelity": fidelity, "result": result.to_dict()}
    atomic_write(path, json.dumps(record, allow_nan=True))


def load_pending(path: Path, token: str, cand: Candidate, fidelity: int | None) -> Result | None:
    """The result :func:`save_pending` kept for this evaluation (same token, candidate, fidelity), if any."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["token"] == token and record["key"] == cand.key and record["fidelity"] == fidelity:
            return Result.from_dict(record["result"])
    except (OSError, ValueError, KeyError, TypeError):  # absent, or cut off by a crash: evaluate again
        pass
    return None


def save_pending_batch(path: Path, entries: list[tuple[str, Candidate, int | None, Result]]) -> None:
    """Keep a batch's finished results, each under its token, until the study has journaled them all."""
    records = [{"token": t, "key": c.key, "fidelity": f, "result": r.to_dict()} for t, c, f, r in entries]
    atomic_write(path, json.dumps(records, allow_nan=True))


def load_pending_batch(path: Path) -> dict[tuple[str, str, int | None], Result]:
    """(token, candidate key, fidelity) -> result of what :func:`save_pending_batch` kept (empty if nothing)."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
        return {(r["token"], r["key"], r["fidelity"]): Result.from_dict(r["result"]) for r in records}
    except (OSError, ValueError, KeyError, TypeError):  # absent, or cut off by a crash: evaluate again
        return {}


def failed_by(exc: BaseException) -> Result:
    """The failed result of an evaluation that raised ``exc``, naming the exception."""
    return Result.failed(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def call_evaluator(
    evaluator: Evaluator, cand: Candidate, fidelity: int | None, keep: Callable[[Result], None] | None = None
) -> Result:
    """``evaluator.evaluate(cand, fidelity)``; an exception becomes a failed result naming it.

    ``keep`` (if given) receives the result as soon as it exists, before anything else happens.
    """
    delay = os.environ.get(EVALUATION_DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    try:
        result = evaluator.evaluate(cand, fidelity)
        if not isinstance(result, Result):
            result = Result.failed(f"the evaluator returned {type(result).__name__}, not a Result")
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a failing evaluation must not end the search
        result = failed_by(exc)
    if keep is not None:
        keep(result)
    log_evaluation(cand, fidelity, result)
    return result


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent (``parent_pid``) dies, even by SIGKILL.

    Call it first thing in a worker process (or, with ``os.getppid()``, in a child started by
    ``subprocess``); a parent that died before the call ends the process at once.

    Without it, a worker orphaned mid-evaluation would finish that evaluation while the resumed
    study runs it again (a training run twice on the same GPU).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the pipe check below remains
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


_die_with_parent = die_with_parent  # the earlier private name


def timed_out(timeout: float, what: str = "evaluation") -> Result:
    """The failed result of an evaluation stopped after ``timeout`` seconds (every executor says the same)."""
    return Result.failed(f"timed out: no result after {timeout:g} s ({what} stopped)")


def accepts_timeout(evaluator: Evaluator) -> bool:
    """Whether ``evaluator.evaluate_many`` takes ``timeout=`` (a per-candidate limit it enforces itself)."""
    try:
        return "timeout" in inspect.signature(evaluator.evaluate_many).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False


def serve_messages(conn: Any, parent_pid: int, handle: Callable[[Any], Any]) -> None:
    """Worker loop: answer each message with ``handle(message)`` until the pipe closes or ``None``
    arrives; the worker dies with its parent."""
    die_with_parent(parent_pid)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        conn.send(handle(message))


class WorkerProcess:
    """A worker process running :func:`serve_messages` with ``handle``, and this side's end of its pipe.

    ``daemon=False`` for work that starts processes of its own (training with data-loader workers).
    """

    def __init__(self, context: Any, handle: Callable[[Any], Any], daemon: bool = True, name: str | None = None):
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=serve_messages, args=(child, os.getpid(), handle), daemon=daemon, name=name)
        self.proc.start()
        child.close()

    def kill(self) -> int | None:
        """Kill the process now; its exit code."""
        self.proc.kill()
        self.proc.join()
        self.conn.close()
        exitcode: int | None = self.proc.exitcode
        return exitcode

    def stop(self) -> None:
        """Ask the process to finish (between messages); kill it if it does not within 5 s."""
        try:
            self.conn.send(None)
        except OSError:
            self.proc.kill()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def _evaluate_message(evaluator: Evaluator, message: tuple[Any, ...]) -> dict[str, Any]:
    """What a :class:`TimedEvaluator` worker does with one message: evaluate, keep the result pending."""
    cand_data, fidelity, pending, token = message
    cand = Candidate.from_dict(cand_data)
    keep = partial(save_pending, Path(pending), token, cand, fidelity) if pending is not None else None
    return call_evaluator(evaluator, cand, fidelity, keep).to_dict()


class TimedEvaluator:
    """Evaluates in a worker process and gives up after ``timeout`` seconds.

    A result travels from the worker to the study before the study journals it; a study killed in
    between would lose a finished evaluation (hours of training) and run it again. So with
    ``pending`` set, the worker first saves each result there (:func:`save_pending`, durable), and a
    resumed study takes it from there (:func:`load_pending`) instead of evaluating again.

    Args:
        evaluator: the evaluator to run in the worker.
        timeout: seconds one evaluation may take; the worker is killed when it runs longer.
        pending: file where the worker keeps its latest result until it is journaled.
    """

    def __init__(self, evaluator: Evaluator, timeout: float, pending: Path | None = None) -> None:
        self.evaluator = evaluator
        self.timeout = float(timeout)
        self.pending = pending
        methods = multiprocessing.get_all_start_methods()
        # one get_context call per literal, so the type is ForkContext | SpawnContext (both have .Process)
        self._context = (
            multiprocessing.get_context("fork") if "fork" in methods else multiprocessing.get_context("spawn")
        )
        self._worker: WorkerProcess | None = None
        self.restarts = 0  # workers replaced after a time-out or a crash

    def _start(self) -> None:
        self._worker = WorkerProcess(self._context, partial(_evaluate_message, self.evaluator))

    def _stop(self, kill: bool) -> int | None:
        """Kill or stop the worker, if any; its exit code."""
        worker, self._worker = self._worker, None
        if worker is None:
            return None
        if kill:
            return worker.kill()
        worker.stop()
        return None

    def evaluate(self, cand: Candidate, fidelity: int | None = None, token: str = "") -> Result:
        """Evaluate in the worker; a time-out or a dead worker gives a failed result with the reason.

        ``token`` identifies this evaluation in the ``pending`` file (the study passes its identity
        and the number of evaluations journaled so far).
        """
        if self._worker is None:
            self._start()
        conn = self._worker.conn  # type: ignore[union-attr]
        try:
            pending = str(self.pending) if self.pending is not None else None
            conn.send((cand.to_dict(), fidelity, pending, token))
            if not conn.poll(self.timeout):
                self._stop(kill=True)
                self.restarts += 1
                return timed_out(self.timeout)
            return Result.from_dict(conn.recv())
        except (EOFError, OSError):
            code = self._stop(kill=True)
            self.restarts += 1
            return Result.failed(f"the evaluation process died (exit code {code})")
        except BaseException:  # e.g. KeyboardInterrupt while waiting: leave no worker behind
            self._stop(kill=True)
            raise

    def close(self) -> None:
        """Stop the worker (it finishes nothing: close only between evaluations)."""
        self._stop(kill=False)
