"""What the watcher says: alerts for people (rich), one JSON object per alert for agents, hooks.

Why three outputs: a person glances at a terminal (an alert needs its file, line, confidence and the
lines around it, and a status line says the watcher is alive); an agent parses a stream (one JSON
object per reported record, fixed keys); a hook reacts (``--exec CMD`` gets the same JSON object on
stdin, one process per alert, run one at a time off the watching thread so a slow hook never delays
reading). Notices (truncation, rotation, waiting for a file) always go to stderr, so ``--json``
output stays parseable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

SHOWN_RECORD_LINES = 14


@dataclass
class Report:
    """One reported record (an alert, or with ``--all`` any record)."""

    time: str
    file: str
    line_no: int
    text: str
    label: str
    confidence: float
    cached: bool
    end_line_no: int = 0
    kind: str = "line"
    lines: int = 1
    stream: str = "file"
    by: str = "program"
    classified: str = ""
    cut: bool = False
    alert: bool = True
    context: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The agent-facing object: the seven documented keys first, then the extras."""
        data = asdict(self)
        data.pop("context")
        data["confidence"] = round(self.confidence, 4)
        order = ["time", "file", "line_no", "text", "label", "confidence", "cached"]
        return {key: data[key] for key in order} | {k: v for k, v in data.items() if k not in order}


@dataclass
class Status:
    file: str
    lines: int
    lines_per_s: float
    cache_hit_rate: float
    alerts: int
    program_calls: int


class Reporter:
    """Base: subclasses print; every method is called from the watcher's thread."""

    def report(self, report: Report) -> None: ...

    def notice(self, message: str) -> None: ...

    def status(self, status: Status) -> None: ...

    def close(self, summary: str) -> None: ...


def _stderr_notice(console: Console, message: str) -> None:
    console.print(f"[yellow]pawflow watch:[/yellow] {escape(message)}", highlight=False, soft_wrap=True)


class JsonReporter(Reporter):
    """One JSON object per line on ``stream``; notices and the summary on stderr."""

    def __init__(self, stream: IO[str] | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.err = Console(stderr=True, highlight=False)
        self.quiet = quiet

    def report(self, report: Report) -> None:
        self.stream.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
        self.stream.flush()

    def notice(self, message: str) -> None:
        if not self.quiet:
            _stderr_notice(self.err, message)

    def close(self, summary: str) -> None:
        if not self.quiet and summary:
            self.err.print(f"[dim]pawflow watch: {escape(summary)}[/dim]", soft_wrap=True)


class HumanReporter(Reporter):
    """Rich alerts with context; a live status line on stderr when stderr is a terminal."""

    def __init__(self, console: Console | None = None, *, status_line: bool | None = None, quiet: bool = False) -> None:
        self.console = console or Console()
        self.err = Console(stderr=True, highlight=False)
        self.quiet = quiet
        show = self.err.is_terminal if status_line is None else status_line
        self._live: Live | None = None
        if show and not quiet:
            self._live = Live(Text(""), console=self.err, transient=True, refresh_per_second=4)
            self._live.start()

    def report(self, report: Report) -> None:
        style = "bold red" if report.alert else "dim"
        where = f"{report.file}:{report.line_no}" + (f"-{report.end_line_no}" if report.end_line_no > report.line_no else "")
        extra = f" {report.kind} ({report.lines} lines)" if report.lines > 1 else ""
        cached = " cached" if report.cached else ""
        head = Text.assemble((f"{report.label} {report.confidence:.2f}", style), f"  {where}{extra}  ", (f"{report.time}{cached}", "dim"))
        body = Text()
        for no, text in report.context:
            body.append(f"  {no:>6} │ {text}\n", style="dim")
        lines = report.text.split("\n")
        if len(lines) > SHOWN_RECORD_LINES:
            keep_head, keep_tail = 4, SHOWN_RECORD_LINES - 5
            lines = lines[:keep_head] + [f"… {len(lines) - keep_head - keep_tail} more lines …"] + lines[-keep_tail:]
        for i, text in enumerate(lines):
            marker = "▶" if i == 0 else " "
            body.append(f"{marker} {'':>6} │ {text}\n" if i else f"{marker} {report.line_no:>6} │ {text}\n", style="red" if report.alert else "")
        if report.cut:
            body.append("  (line cut: longer than the watcher reads or the program's context holds)\n", style="yellow")
        if self._live is not None:
            # The status line lives on stderr; clear it so an alert never prints after it on one line.
            self._live.stop()
            self.console.print(Group(head, body), soft_wrap=True)
            self._live.start()
        else:
            self.console.print(Group(head, body), soft_wrap=True)

    def notice(self, message: str) -> None:
        if not self.quiet:
            _stderr_notice(self.err, message)

    def status(self, status: Status) -> None:
        if self._live is not None:
            self._live.update(
                Text(
                    f"watching {status.file} · {status.lines:,} lines · {status.lines_per_s:,.0f} lines/s · "
                    f"cache hit {status.cache_hit_rate:.0%} · {status.program_calls:,} program calls · {status.alerts} alerts",
                    style="dim",
                )
            )

    def close(self, summary: str) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if not self.quiet and summary:
            self.err.print(f"[dim]pawflow watch: {escape(summary)}[/dim]", soft_wrap=True)


class ExecHook:
    """``--exec CMD``: run CMD through the shell once per alert, the alert's JSON on its stdin."""

    def __init__(self, command: str, *, notice: Callable[[str], None], timeout_s: float = 60.0) -> None:
        self.command = command
        self.notice = notice
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pawflow-watch-exec")
        self._futures: list[Future] = []
        self._lock = threading.Lock()
        self.failures = 0
        self.runs = 0

    def __call__(self, report: Report) -> None:
        payload = (json.dumps(report.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(self._pool.submit(self._run, payload, report.line_no))

    def _run(self, payload: bytes, line_no: int) -> None:
        try:
            done = subprocess.run(self.command, shell=True, input=payload, timeout=self.timeout_s, capture_output=True)
        except subprocess.TimeoutExpired:
            self.failures += 1
            self.notice(f"--exec hook for line {line_no} ran over {self.timeout_s:g} s and was stopped")
            return
        self.runs += 1
        if done.returncode != 0:
            self.failures += 1
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            self.notice(f"--exec hook for line {line_no} exited with {done.returncode}: {detail[0][:200]}")

    def close(self, timeout_s: float = 30.0) -> None:
        """Wait for hooks still running (a watcher that exits at the first alert still runs its hook)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                future.result(timeout=remaining)
            except Exception:  # noqa: BLE001 - hook errors were already reported by _run
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)
