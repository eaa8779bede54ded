"""Durable search state: the journal, the folder lock and the file names of a study's output folder.

A study's folder holds ``journal.jsonl`` (a header line with the search's identity, then one
fsynced JSON line per evaluation, ``"type": "eval"``, and one per proposal answered from the cache
because its canonical form was evaluated already, ``"type": "cached"``: written only when that
happens, with the number of evaluations before it, ``after``, and the encoding proposed where it
differs, ``proposed``), ``summary.json``, ``trajectory.csv``, a ``.lock`` that keeps a
second process out and, while an evaluation worker runs, ``.pending-result.json``. The search loop
(:mod:`nars_plugin.study`) decides what to write; this module writes and reads it safely.

Integrity: every journal line carries a ``"check"`` field, a link of a hash chain (:func:`chain_check`:
SHA-256 over the previous line's check and the line's own canonical JSON). On replay, a line that was
edited (even into valid JSON), or lines removed, reordered or replaced before it, break the chain and
the journal is refused with a :class:`~nars_plugin.errors.JournalError` naming the first bad line.
Journals written before checks existed still replay, with a :class:`JournalWarning`; the lines
appended to them are checked from then on. Other code may read ``journal.jsonl`` directly: a line is
still one JSON object, with one more key.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._safe_files import refuse_link
from .errors import JournalError, option

JOURNAL_VERSION = 1
JOURNAL_NAME = "journal.jsonl"
SUMMARY_NAME = "summary.json"
TRAJECTORY_NAME = "trajectory.csv"
#: The evaluation worker's latest result, kept until journaled (only with a time limit).
PENDING_NAME = ".pending-result.json"
#: A batch's results evaluated side by side, kept until every one of them is journaled.
BATCH_PENDING_NAME = ".pending-batch.json"
#: The type of a journal line that records a proposal answered from the cache (see the module docstring).
CACHED = "cached"
#: The key of every journal line that holds its link of the hash chain.
CHECK_FIELD = "check"
_BAD_CHAIN_HINT = (
    "the journal no longer records what was evaluated; move it away (e.g. rename journal.jsonl to "
    "journal.jsonl.bad) to start the search afresh, or put back an unedited copy to resume it"
)


def chain_check(previous: str, record: Mapping[str, Any]) -> str:
    """The check of ``record`` written after a line whose check was ``previous`` ("" for the first line).

    The first 32 hex digits of SHA-256 over ``previous``, a newline and the record's canonical JSON
    (sorted keys, without the check field).
    """
    body = {k: v for k, v in record.items() if k != CHECK_FIELD}
    text = previous + "\n" + json.dumps(body, sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class JournalWarning(UserWarning):
    """Something in a journal was repaired (e.g. a truncated last line)."""


class Journal:
    """An append-only JSON-lines file: a header line, then one line per evaluation."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: Any = None
        self._last_check = ""  # the check of the last line in the file ("" before the first or after an old line)
        #: The ``cached`` lines read by :meth:`open` or :meth:`read` (proposals answered from the cache).
        self.cached: list[dict[str, Any]] = []

    def open(
        self, header: Mapping[str, Any], upgrade: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Open for appending; return the evaluation records already in the file (the ``cached`` lines
        go to :attr:`cached`).

        A journal written under another configuration, or one whose hash chain is broken (an edited
        line), is refused; a truncated last line (a crash mid-write) is dropped with a warning.
        ``upgrade`` turns the found header's config into this version's form before they are compared.
        """
        records: list[dict[str, Any]] = []
        refuse_link(self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            records = self._read_existing(header, upgrade)
        else:
            self._write_line(header, create=True)
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for appends
        return records

    def read(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read only: the header and the evaluation records, hash chain checked (the ``cached`` lines
        go to :attr:`cached`). Changes nothing.

        A cut-off last line (a crash mid-write) is left out with a warning, as :meth:`open` drops it.
        """
        refuse_link(self.path)
        parsed, numbers, _ = self._parse(self.path.read_bytes())
        return parsed[0] if parsed else {}, self._records(parsed, numbers)

    def _parse(self, data: bytes) -> tuple[list[Any], list[int], int]:
        """The JSON lines of ``data``, their line numbers, and the length of the part that is whole."""
        lines = data.split(b"\n")
        good_end = 0
        parsed: list[Any] = []
        numbers: list[int] = []  # the line number of each parsed record
        for i, raw in enumerate(lines):
            if not raw.strip():
                good_end += len(raw) + (1 if i < len(lines) - 1 else 0)
                continue
            last = i == len(lines) - 1  # no newline after it: possibly cut off mid-write
            try:
                parsed.append(json.loads(raw))
                numbers.append(i + 1)
            except (json.JSONDecodeError, UnicodeDecodeError):
                if last or all(not rest.strip() for rest in lines[i + 1 :]):
                    warnings.warn(
                        f"{self.path}: dropped a truncated last line ({len(raw)} bytes) left by an interrupted write",
                        JournalWarning,
                        stacklevel=4,
                    )
                    break
                raise JournalError(
                    f"{self.path} line {i + 1} is corrupt (not JSON)",
                    "the journal was damaged; move it away to start the search afresh",
                ) from None
            good_end += len(raw) + (0 if last else 1)
        return parsed, numbers, good_end

    def _records(self, parsed: list[Any], numbers: list[int]) -> list[dict[str, Any]]:
        """The evaluation records after the header, each checked for shape and against the hash chain."""
        if not parsed or not isinstance(parsed[0], dict) or parsed[0].get("type") != "header":
            raise JournalError(f"{self.path} has no header line", "it is not a nars journal; " + _other_folder("use"))
        records, self.cached = [], []
        for number, record in zip(numbers[1:], parsed[1:]):
            if isinstance(record, dict) and record.get("type") == CACHED and isinstance(record.get("candidate"), dict):
                self.cached.append(record)
                continue
            valid = isinstance(record, dict) and record.get("type") == "eval"
            if not valid or not isinstance(record.get("candidate"), dict) or not isinstance(record.get("result"), dict):
                raise JournalError(
                    f"{self.path} record {number} is not an evaluation record: {str(record)[:80]}",
                    "the journal was edited or damaged; move it away to start the search afresh",
                )
            records.append(record)
        self._last_check = self._verify_chain(parsed, numbers)
        return records

    def _read_existing(
        self, header: Mapping[str, Any], upgrade: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None
    ) -> list[dict[str, Any]]:
        data = self.path.read_bytes()
        parsed, numbers, good_end = self._parse(data)
        if good_end < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(good_end)
        if not parsed and good_end == 0:  # only a header cut off mid-write: nothing was evaluated yet
            self._write_line(header, create=True)
            return []
        if good_end and not data[:good_end].endswith(b"\n"):
            with open(self.path, "ab") as fh:  # the next record must start on a line of its own
                fh.write(b"\n")
        if parsed and isinstance(parsed[0], dict) and parsed[0].get("type") == "header":
            self._check_header(parsed[0], header, upgrade)  # a foreign configuration is named before a broken chain
        return self._records(parsed, numbers)

    def _verify_chain(self, parsed: list[dict[str, Any]], numbers: list[int]) -> str:
        """Check every line's link of the hash chain; return the last check. Old lines warn, edits raise."""
        previous, unchecked = "", 0
        for number, record in zip(numbers, parsed):
            found = record.get(CHECK_FIELD)
            if found is None:
                if previous:
                    raise JournalError(
                        f"{self.path} line {number} has no check although the lines before it have: it was "
                        "added or rewritten by something other than nars",
                        _BAD_CHAIN_HINT,
                    )
                unchecked += 1
                continue
            if found != chain_check(previous, record):
                raise JournalError(
                    f"{self.path} line {number} fails its integrity check: the line was edited, or lines "
                    "before it were removed, reordered or replaced",
                    _BAD_CHAIN_HINT,
                )
            previous = found
        if unchecked:
            warnings.warn(
                f"{self.path}: {unchecked} line(s) were written without checks (by an older nars) and cannot be "
                "checked for edits; the lines appended from now on are checked",
                JournalWarning,
                stacklevel=4,
            )
        return previous

    def _check_header(
        self,
        found: Mapping[str, Any],
        expected: Mapping[str, Any],
        upgrade: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None,
    ) -> None:
        if found.get("version") != expected.get("version"):
            raise JournalError(
                f"{self.path} was written by journal format {found.get('version')}, this is {expected.get('version')}",
                _other_folder("use"),
            )
        old, new = found.get("config", {}), expected.get("config", {})
        if upgrade is not None and isinstance(old, Mapping):
            old = upgrade(old)
        if old != new:
            changes = differences(old, new)
            details = "; ".join(f"{k}: journal has {a!r}, now {b!r}" for k, a, b in changes)
            unknown_then = [key for key, _, _ in changes if not _has_path(old, key)]
            if len(unknown_then) == len(changes):  # only settings the journal's version did not have
                raise JournalError(
                    f"{self.path} was written by an older nars-plugin, before {', '.join(unknown_then)} existed "
                    f"({details}); this version would run a different search",
                    "resume it with the nars-plugin version that wrote it, or " + _other_folder(),
                )
            raise JournalError(
                f"{self.path} belongs to a different search ({details})",
                "rerun with the journal's settings to resume it, or " + _other_folder(),
            )

    def _write_line(self, record: Mapping[str, Any], create: bool = False) -> None:
        check = chain_check("" if create else self._last_check, record)
        line = json.dumps({**record, CHECK_FIELD: check}, sort_keys=True, allow_nan=True) + "\n"
        self._last_check = check
        if create:
            with open(self.path, "w", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            return
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record durably (flush + fsync)."""
        self._write_line(record)

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _other_folder(verb: str = "choose") -> str:
    """The hint's words for another output folder: ``--out`` under ``nars``, ``storage=`` in Python."""
    return f"{verb} " + option("another storage= folder", "another --out folder")


def _has_path(config: Any, dotted: str) -> bool:
    """Whether the nested mapping ``config`` has the entry ``dotted`` (a key of :func:`differences`)."""
    for part in dotted.split("."):
        if not isinstance(config, Mapping) or part not in config:
            return False
        config = config[part]
    return True


def differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, old, new)`` for every leaf where two nested mappings differ (sorted keys)."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [] if old == new else [(path, old, new)]
    out = []
    for key in sorted(set(old) | set(new), key=str):
        if old.get(key) != new.get(key):
            inner_old, inner_new = old.get(key), new.get(key)
            if key not in old or key not in new:  # a whole entry came or went: show it whole
                out.append((f"{path}{key}", inner_old, inner_new))
            else:
                out += differences(inner_old, inner_new, f"{path}{key}.")
    return [(k.rstrip("."), a, b) for k, a, b in out]


class FolderLock:
    """An exclusive advisory lock on an output folder (``OUT/.lock``)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / ".lock"
        self._fh: Any = None

    def acquire(self) -> None:
        """Take the lock or raise JournalError if another process holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX
            return
        refuse_link(self.path)
        self._fh = open(self.path, "a+")  # noqa: SIM115 - held for the study's lifetime
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            self._fh = None
            raise JournalError(
                f"another process is running a search in {self.path.parent}",
                "wait for it to finish, or give this search "
                + option("another storage= folder", "another --out folder"),
            ) from None

    def release(self) -> None:
        """Release the lock."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def jsonable(obj: Any) -> Any:
    """Round-trip through JSON so headers compare equal after reading them back."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))
