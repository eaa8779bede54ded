"""Errors that users see: each one names the problem and the fix.

The CLI prints any :class:`NarsError` as ``error: <message>`` plus its hint and
exits with status 2, without a traceback. Library users catch them by class.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator


class NarsError(Exception):
    """Base class of every error caused by user input or user data.

    Args:
        message: what is wrong, naming the offending value.
        hint: how to fix it (shown on its own line by the CLI).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UnknownNameError(NarsError, KeyError):
    """A space, benchmark, optimizer or other plugin name that nobody registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return NarsError.__str__(self)


class InvalidArchitectureError(NarsError, ValueError):
    """An architecture string or encoding that does not describe a member of the space."""


class InvalidRecipeError(NarsError, ValueError):
    """A recipe value that is unknown or out of its parameter's range."""


class InfeasibleConstraintError(NarsError, ValueError):
    """A resource constraint that no candidate of the space can meet."""


class DataFileError(NarsError, OSError):
    """A benchmark data file that is missing, unreadable or malformed."""


class JournalError(NarsError, RuntimeError):
    """A study journal that cannot be resumed (other configuration, corrupt, locked)."""


class ConfigError(NarsError, ValueError):
    """An option or setting with a bad value."""


#: Whether hints name command-line flags (``nars`` sets it while it runs) or Python arguments.
_COMMAND_LINE: contextvars.ContextVar[bool] = contextvars.ContextVar("nars_command_line", default=False)


def option(python: str, flag: str) -> str:
    """How a hint names an option: ``flag`` (``--budget N``) under ``nars``, else ``python`` (``budget=N``)."""
    return flag if _COMMAND_LINE.get() else python


@contextlib.contextmanager
def command_line_wording() -> Iterator[None]:
    """Hints inside name the command line's flags (:func:`option`); ``nars`` runs its commands in it."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)
