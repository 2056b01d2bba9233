"""The watcher's errors, all under :class:`pawflow.errors.PawflowError` so one ``except`` catches them.

Each carries the exit code ``pawflow watch`` ends with, so the CLI and the Python API agree on what a
failure means (see ``docs/watch.md``, "Exit codes").
"""

from __future__ import annotations

from pawflow.errors import PawflowError


class WatchError(PawflowError):
    """A watch could not start or had to stop. ``exit_code`` is what ``pawflow watch`` exits with."""

    exit_code = 1


class WatchUsageError(WatchError):
    """The watch was asked for something it cannot do (wrong program type, bad duration, no file)."""

    exit_code = 2


class BinaryFileError(WatchUsageError):
    """The followed file is not text (an archive, an image, a compiled binary)."""


class UnreadableFileError(WatchUsageError):
    """The followed file exists but cannot be read (permissions, a directory, a device)."""


class StateFileError(WatchUsageError):
    """The ``--state`` file exists but is not a watcher state file; it is never overwritten silently."""
