"""The Python API: what ``pawflow watch`` does, callable from a program (the MCP ``watch_log`` tool).

Everything the CLI does goes through :func:`run_watch`, so the CLI, :func:`watch_file` and
:func:`watch_command` cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.watch.engine import WatchConfig, WatchOutcome, Watcher
from integrations.watch.errors import WatchUsageError
from integrations.watch.lines import DEFAULT_MAX_LINE_BYTES
from integrations.watch.output import ExecHook, Report, Reporter, Status
from integrations.watch.sources import FileSource, Source, StreamSource
from integrations.watch.state import StateStore
from integrations.watch.verdicts import DEFAULT_CACHE_ENTRIES, DEFAULT_MAX_INPUT_CHARS, Classifier, Classifies, VerdictCache


@dataclass
class WatchOptions:
    """Every knob of a watch; the CLI flags map one to one (docs/watch.md)."""

    program: str | Classifies = "log-alert"
    from_start: bool = False
    once: bool = False
    poll: bool = False
    poll_interval: float = 0.25
    state_file: str | Path | None = None
    until: str | None = None
    timeout_s: float | None = None
    stall_s: float | None = None
    threshold: float = 0.5
    alert_labels: Sequence[str] | None = None
    report_all: bool = False
    cache_entries: int = DEFAULT_CACHE_ENTRIES
    gap_s: float = 0.1
    batch_max: int = 512
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_input_chars: int | None = None
    exec_command: str | None = None
    unbuffered: bool = True
    reporters: Sequence[Reporter] = field(default_factory=list)
    on_report: Callable[[Report], None] | None = None
    on_progress: Callable[[Status], None] | None = None


def load_classifier(options: WatchOptions) -> Classifier:
    """Load the program (by name, path, or an already loaded Function) and wrap it for the watcher."""
    program = options.program
    if isinstance(program, (str, Path)):
        import pawflow

        program = pawflow.load(program)
    max_chars = options.max_input_chars or _context_chars()
    return Classifier(program, cache=VerdictCache(options.cache_entries), alert_labels=options.alert_labels, max_input_chars=max_chars)


def _context_chars() -> int:
    """How much of a line the program gets: what its context holds, capped so one line stays fast."""
    try:
        from pawflow.config import load_settings

        n_ctx = load_settings().n_ctx
    except Exception:  # noqa: BLE001 - a broken config is reported when the program loads
        n_ctx = 4096
    return max(256, min(DEFAULT_MAX_INPUT_CHARS, (n_ctx - 768) * 2))


def run_watch(sources: Sequence[Source], options: WatchOptions, *, classifier: Classifier | None = None,
              stop_requested: Callable[[], bool] | None = None, on_finish: Callable[[str], None] | None = None) -> WatchOutcome:
    """Run a watch over ``sources`` with ``options``; returns how it ended (never raises for the end)."""
    if not 0.0 <= options.threshold <= 1.0:
        raise WatchUsageError(f"--threshold {options.threshold}: must be between 0 and 1")
    classifier = classifier or load_classifier(options)
    if options.until is not None and options.until.upper() not in {label.upper() for label in classifier.alert_labels}:
        raise WatchUsageError(
            f"--until {options.until}: the watcher reports only {', '.join(classifier.alert_labels)} "
            f"(labels of {classifier.program.name!r}: {', '.join(classifier.labels)})",
            hint="name one of the reported labels, or add it with --alert-label",
        )
    state = StateStore(options.state_file) if options.state_file else None
    if state is not None:
        for source in sources:
            if isinstance(source, FileSource):
                source._opts["state"] = state  # noqa: SLF001 - the store is created once for all files
    reporters = list(options.reporters)
    hooks: list[Callable[[Report], None]] = []
    exec_hook = None
    if options.exec_command:
        def notice(message: str) -> None:
            for reporter in reporters:
                reporter.notice(message)

        exec_hook = ExecHook(options.exec_command, notice=notice)
        hooks.append(exec_hook)
    if options.on_report is not None:
        hooks.append(options.on_report)
    config = WatchConfig(
        until=options.until,
        timeout_s=options.timeout_s,
        stall_s=options.stall_s,
        threshold=options.threshold,
        gap_s=options.gap_s,
        batch_max=options.batch_max,
        report_all=options.report_all,
    )
    watcher = Watcher(sources, classifier, config, reporters=reporters, hooks=hooks, state=state,
                      on_progress=options.on_progress, stop_requested=stop_requested, on_finish=on_finish)
    try:
        return watcher.run()
    finally:
        if exec_hook is not None:
            exec_hook.close()


def file_sources(paths: Sequence[str | Path], options: WatchOptions) -> list[Source]:
    """One source per path; ``-`` is standard input."""
    if not paths:
        raise WatchUsageError("nothing to watch", hint="give a FILE, '-' for standard input, or a command after --")
    sources: list[Source] = []
    for path in paths:
        if str(path) == "-":
            sources.append(StreamSource(0, name="<stdin>", stream="stdin", max_line_bytes=options.max_line_bytes))
        else:
            sources.append(FileSource(path, from_start=options.from_start, once=options.once, poll=options.poll,
                                      poll_interval=options.poll_interval, max_line_bytes=options.max_line_bytes))
    return sources


def watch_file(
    path: str | Path,
    *,
    program: str | Classifies = "log-alert",
    from_start: bool = False,
    timeout_s: float | None = None,
    until: str | None = "ALERT",
    threshold: float = 0.5,
    stall_s: float | None = None,
    once: bool = False,
    state_file: str | Path | None = None,
    on_progress: Callable[[Status], None] | None = None,
    on_report: Callable[[Report], None] | None = None,
    **more: Any,
) -> WatchOutcome:
    """Follow ``path`` until the first ``until`` alert, ``timeout_s``, a stall or (``once``) its end.

    Returns a :class:`~integrations.watch.engine.WatchOutcome`: ``reason`` (``until``, ``timeout``,
    ``stall``, ``end``), ``exit_code`` (as the CLI's), ``alert`` (the report that ended it, with
    ``to_json()`` giving the documented JSON object), every report, ``lines_seen``, the last lines
    seen (``tail``) and the statistics (cache hit rate, program calls, lines/s).
    """
    options = WatchOptions(program=program, from_start=from_start, timeout_s=timeout_s, until=until, threshold=threshold,
                           stall_s=stall_s, once=once, state_file=state_file, on_progress=on_progress,
                           on_report=on_report, **more)
    return run_watch(file_sources([path], options), options)


def watch_command(argv: Sequence[str], **kwargs: Any) -> tuple[WatchOutcome, int]:
    """Run ``argv`` wrapped (output passed through) and watch it; returns (outcome, exit code to use)."""
    from integrations.watch.wrap import WrappedCommand

    options = WatchOptions(**kwargs)
    command = WrappedCommand(argv, unbuffered=options.unbuffered, max_line_bytes=options.max_line_bytes)
    classifier = load_classifier(options)  # load before starting the command: a bad program must not run it
    sources = command.start()

    def stop_command(reason: str) -> None:
        if reason in ("until", "timeout", "stall"):
            command.terminate()

    try:
        outcome = run_watch(sources, options, classifier=classifier, on_finish=stop_command)
    except BaseException:
        command.terminate()
        raise
    finally:
        command.restore_signals()
    if outcome.reason in ("until", "timeout", "stall"):
        command.wait()
        return outcome, outcome.exit_code
    return outcome, command.wait()
