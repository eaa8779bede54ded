"""Progress of a search, a comparison or a suite: a bar on a terminal, plain log lines elsewhere.

On a terminal :class:`Progress` draws a tqdm bar on stderr. When stderr is a file or a pipe (a batch
job's log), a bar would print nothing useful, so it writes one plain line instead each time the work
has moved on by a quarter of the total or :data:`LOG_SECONDS` seconds have passed, and one at the end::

    compare nb201-c10 (nars, rea, rs x 10 seeds): 450/3000 eval (15%) [42 s]
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

#: Seconds between two log lines when stderr is not a terminal (a line is also written every quarter).
LOG_SECONDS = 30.0


class Progress:
    """Progress towards ``total`` units (evaluations, runs or simulated seconds).

    Args:
        total: units at the end.
        desc: what is running, e.g. ``"search"`` or ``"suite 2/9 nb201-c10"``.
        unit: the unit's name (``"eval"``, ``"run"``, ``"s"``).
        enabled: True: a bar, whatever stderr is; False: nothing; None: a bar on a terminal, else
            log lines.
        file: where to write (default stderr).
    """

    def __init__(
        self, total: float, desc: str, unit: str, enabled: bool | None = None, file: TextIO | None = None
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.file = file if file is not None else sys.stderr
        self.n: float = 0
        self.postfix = ""
        self._bar: Any = None
        self._log = False
        self._started = self._logged_at = time.monotonic()
        self._logged_n: float = 0
        if enabled is False:
            return
        if enabled or _is_terminal(self.file):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=self.file)
        else:
            self._log = True

    def update(self, n: float) -> None:
        """Add ``n`` units."""
        self.set(self.n + n)

    def set(self, n: float) -> None:
        """Set the units done so far to ``n``."""
        if self._bar is not None and n != self.n:
            self._bar.update(n - self.n)
        self.n = n
        if self._log and n > self._logged_n:
            now = time.monotonic()
            if n - self._logged_n >= self.total / 4 or now - self._logged_at >= LOG_SECONDS:
                self._write_line(now)

    def set_postfix(self, **values: str) -> None:
        """Values shown after the count (e.g. ``best="93.4"``)."""
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def close(self, last_line: bool = True) -> None:
        """Close the bar, or write the last log line (``last_line=False``: not after a failure)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._log and last_line and self.n != self._logged_n:
            self._write_line(time.monotonic())
        self._log = False

    def _write_line(self, now: float) -> None:
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        postfix = f", {self.postfix}" if self.postfix else ""
        count = f"{self.n:g}/{self.total:g} {self.unit}"
        print(f"{self.desc}: {count}{share}{postfix} [{now - self._started:.0f} s]", file=self.file, flush=True)
        self._logged_at, self._logged_n = now, self.n


def _is_terminal(file: TextIO) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):
        return False
