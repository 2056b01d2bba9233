"""``pawflow watch``: follow a log (or wrap a command) and report only the lines that matter.

A program (``log-alert`` by default) classifies every new line; progress bars, blank lines and the
grouping of tracebacks into one record are decided exactly in Python; verdicts are cached by line
shape and bursts are classified in batches. See ``docs/watch.md``.

Python API (what the MCP ``watch_log`` tool calls)::

    from integrations.watch import watch_file

    outcome = watch_file("train.log", program="log-alert", from_start=False, timeout_s=600,
                         until="ALERT", on_progress=lambda status: print(status.lines))
    outcome.reason      # "until" | "timeout" | "stall" | "end" (once=True) | "stopped"
    outcome.exit_code   # the CLI's exit code for the same ending (3 until, 4 timeout, 5 stall, 0 end)
    outcome.alert       # the Report that ended the watch, or None; .to_json() -> the --json object
    outcome.reports     # every alert reported; outcome.lines_seen; outcome.tail (last 20 lines)
    outcome.stats       # lines, program_calls, cache_hit_rate, lines_per_s, ...

``watch_command(["python", "train.py"], program="log-alert")`` wraps a command instead, returning
``(outcome, exit_code)``. Errors derive from :class:`pawflow.errors.PawflowError`
(:mod:`integrations.watch.errors`); each carries the CLI's ``exit_code``.

Modules: ``lines`` (bytes → lines), ``follow`` (tail -F), ``state`` (--state), ``sources`` (threads
feeding the loop), ``records`` (multi-line records), ``progress`` (progress bars), ``shape`` (cache
keys), ``verdicts`` (program, cache, batches), ``engine`` (the loop), ``output`` (human, JSON,
--exec), ``wrap`` (wrap mode), ``durations``, ``api``, ``cli``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["watch_file", "watch_command", "run_watch", "WatchOptions", "WatchOutcome", "Report"]

if TYPE_CHECKING:  # pragma: no cover
    from integrations.watch.api import WatchOptions, run_watch, watch_command, watch_file
    from integrations.watch.engine import WatchOutcome
    from integrations.watch.output import Report


def __getattr__(name: str) -> Any:
    """Import lazily: ``register()`` imports this package and must stay light."""
    if name in ("watch_file", "watch_command", "run_watch", "WatchOptions"):
        from integrations.watch import api

        return getattr(api, name)
    if name == "WatchOutcome":
        from integrations.watch.engine import WatchOutcome

        return WatchOutcome
    if name == "Report":
        from integrations.watch.output import Report

        return Report
    raise AttributeError(name)
