"""``pawflow watch``: the command. ``register`` imports only typer and rich (pawflow.cli.registry)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

EXIT_CODES_HELP = (
    "Exit codes: 0 ended (Ctrl-C, end of stdin or --once), 1 error, 2 bad usage or input (binary file, "
    "unreadable file, not a labels program), 3 --until matched, 4 --timeout passed, 5 --stall fired while "
    "--until was given; wrap mode exits with the command's code (128+N for signal N) unless 3/4/5 ended it."
)


def _split_wrap(targets: list[str]) -> tuple[list[str], list[str]]:
    """(files, command): what follows ``--`` on the command line is the command to wrap."""
    argv = sys.argv[1:]
    if "--" not in argv:
        return targets, []
    command = argv[argv.index("--") + 1 :]
    files = targets[: len(targets) - len(command)] if command else targets
    return files, command


def register(app: typer.Typer) -> None:
    from pawflow.cli.registry import needs_note

    @app.command(
        "watch",
        help=(
            "Follow a log like tail -F (or wrap a command: pawflow watch -- CMD ...) and report only the lines a "
            "program flags." + needs_note("watch", "watchdog") + "\n\n" + EXIT_CODES_HELP
        ),
        context_settings={"allow_interspersed_args": True},
    )
    def watch(
        targets: Optional[List[str]] = typer.Argument(None, help="Files to follow ('-' = standard input); or, after --, a command to run."),
        program: str = typer.Option("log-alert", "--program", "-p", help="Labels program (name or .paw path)."),
        from_start: bool = typer.Option(False, "--from-start", help="Read what the file already holds (default: start at its end)."),
        once: bool = typer.Option(False, "--once", help="Read the file(s) to the end, report, and exit (no following)."),
        poll: bool = typer.Option(False, "--poll", help="Poll instead of file events (network mounts)."),
        poll_interval: float = typer.Option(0.25, "--poll-interval", min=0.01, help="Seconds between polls."),
        state: Optional[Path] = typer.Option(None, "--state", help="Resume file: offsets per inode, so a restart repeats and misses nothing."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per alert: time, file, line_no, text, label, confidence, cached (+ extras)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write reports here (default: stdout; stderr in wrap mode)."),
        until: Optional[str] = typer.Option(None, "--until", help="Exit (code 3) at the first alert with this label, e.g. ALERT."),
        timeout: Optional[str] = typer.Option(None, "--timeout", help="Exit (code 4) after this long, e.g. 30m."),
        stall: Optional[str] = typer.Option(None, "--stall", help="Report when no line arrived for this long, e.g. 5m (exit 5 with --until)."),
        threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="Report labels only at or above this confidence."),
        alert_labels: Optional[List[str]] = typer.Option(None, "--alert-label", help="Labels to report (default: all but QUIET/OK/NORMAL/...)."),
        exec_command: Optional[str] = typer.Option(None, "--exec", help="Shell command run per alert, the alert's JSON on its stdin."),
        report_all: bool = typer.Option(False, "--all", help="Report every record with its verdict, not only alerts."),
        cache_entries: int = typer.Option(4096, "--cache-size", min=0, help="Verdict cache entries (0 disables the cache)."),
        gap: float = typer.Option(0.1, "--gap", min=0.0, help="Seconds a multi-line record may pause between its lines."),
        max_line_bytes: int = typer.Option(65536, "--max-line-bytes", min=64, help="Longer lines are cut (and flagged)."),
        keep_buffering: bool = typer.Option(False, "--keep-buffering", help="Wrap mode: do not set PYTHONUNBUFFERED=1 for the command."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No notices, status line or summary on stderr."),
    ) -> None:
        from pawflow.cli.registry import require

        require("watch", "watchdog", command="watch")
        from integrations.watch.errors import WatchError

        # A watcher wants latency more than batch invariance: without it a new line's verdict comes ~1.7x
        # sooner (bench/watch.py, quiet 2-core Xeon: alert p95 330 ms vs 552 ms), and a line's confidence may
        # differ by a few 1e-3 with the burst it arrived in. PAWFLOW_BATCH_INVARIANT=1 restores exact batching.
        os.environ.setdefault("PAWFLOW_BATCH_INVARIANT", "0")

        try:
            code = _watch(
                targets or [], program=program, from_start=from_start, once=once, poll=poll, poll_interval=poll_interval,
                state=state, as_json=as_json, output=output, until=until, timeout=timeout, stall=stall, threshold=threshold,
                alert_labels=alert_labels, exec_command=exec_command, report_all=report_all, cache_entries=cache_entries,
                gap=gap, max_line_bytes=max_line_bytes, keep_buffering=keep_buffering, quiet=quiet,
            )
        except WatchError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(exc.exit_code) from None
        raise typer.Exit(code)


def _watch(targets: list[str], *, program: str, from_start: bool, once: bool, poll: bool, poll_interval: float,
           state: Path | None, as_json: bool, output: Path | None, until: str | None, timeout: str | None,
           stall: str | None, threshold: float, alert_labels: list[str] | None, exec_command: str | None,
           report_all: bool, cache_entries: int, gap: float, max_line_bytes: int, keep_buffering: bool, quiet: bool) -> int:
    from rich.console import Console

    from integrations.watch.api import WatchOptions, file_sources, run_watch, watch_command
    from integrations.watch.durations import parse_duration
    from integrations.watch.errors import WatchUsageError
    from integrations.watch.output import HumanReporter, JsonReporter

    files, command = _split_wrap(targets)
    if command and files:
        raise WatchUsageError(f"give files or a command after --, not both (files: {', '.join(files)})")
    if command and (state or once or from_start):
        raise WatchUsageError("--state, --once and --from-start apply to files, not to a wrapped command")
    wrap = bool(command)
    out_stream = open(output, "a", encoding="utf-8") if output else (sys.stderr if wrap else sys.stdout)  # noqa: SIM115
    try:
        if as_json:
            reporter = JsonReporter(out_stream, quiet=quiet)
        else:
            console = Console(file=out_stream, stderr=out_stream is sys.stderr, highlight=False)
            reporter = HumanReporter(console, status_line=None if not wrap else False, quiet=quiet)
        options = WatchOptions(
            program=program, from_start=from_start, once=once, poll=poll, poll_interval=poll_interval, state_file=state,
            until=until, timeout_s=parse_duration(timeout, option="--timeout") if timeout else None,
            stall_s=parse_duration(stall, option="--stall") if stall else None, threshold=threshold,
            alert_labels=alert_labels or None, report_all=report_all, cache_entries=cache_entries, gap_s=gap,
            max_line_bytes=max_line_bytes, exec_command=exec_command, unbuffered=not keep_buffering, reporters=[reporter],
        )
        if wrap:
            _, code = watch_command(command, **{k: getattr(options, k) for k in options.__dataclass_fields__})
            return code
        outcome = run_watch(file_sources(files, options), options)
        return outcome.exit_code
    finally:
        if output:
            out_stream.close()
