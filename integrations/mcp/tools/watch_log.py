"""``watch_log``: follow a log file; return at the first alert, or at the timeout, with what was seen.

Built on the watcher integration's Python API (:mod:`integrations.watch.api`: ``run_watch`` over a
``FileSource``, as ``watch_file`` does), so the MCP tool follows files exactly like ``pawflow watch``
(by name across truncation and rotation, never splitting or repeating a line; progress bars and
tracebacks grouped; verdicts cached by line shape). Two things are the MCP server's own:

* the program runs through the model queue (:class:`QueuedProgram`), so a watch waiting for lines
  never holds the interpreter, and its batches take turns with every other client's calls;
* progress notes count the lines seen, and a client's cancellation stops the watch at the watcher's
  next wake-up (``stop_requested``).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Annotated, Any, Sequence

from pydantic import Field

from integrations.mcp.catalog.entries import ProgramEntry
from integrations.mcp.errors import ToolInputError
from integrations.mcp.runtime.progress import ProgressBridge
from integrations.mcp.runtime.queue import JobControl, ModelQueue
from integrations.mcp.tools.common import check_size, progress_reporter
from integrations.mcp.tools.seam import ToolKit
from pawflow.function import Function
from pawflow.program import LabelsOutput

MAX_TIMEOUT_S = 3600.0
REPORTS_RETURNED = 50


class QueuedProgram:
    """A program as the watcher sees it (``name``, ``output``, ``run_many``), run on the model queue."""

    def __init__(self, entry: ProgramEntry, queue: ModelQueue, cancelled: threading.Event) -> None:
        self.name = entry.name
        self.output = entry.program.output
        self._program = entry.program
        self._queue = queue
        self._cancelled = cancelled

    def run_many(self, texts: Sequence[str]) -> list[Any]:
        def job(control: JobControl) -> list[Any]:
            return Function(self._program, self._queue.interpreter()).run_many(list(texts))

        future = self._queue.submit(job, label=f"watch_log {self.name}")
        while True:  # wait for our turn, but give up on it if the client cancels meanwhile
            try:
                return future.result(timeout=0.25)
            except TimeoutError:
                if self._cancelled.is_set() and future.cancel():
                    return [_Quiet() for _ in texts]


class _Quiet:
    """Placeholder verdicts for a batch withdrawn by a cancellation; the watch stops right after."""

    value = ""
    confidence = 0.0


def register(kit: ToolKit) -> None:
    state = kit.state

    async def watch_log(
        path: Annotated[str, Field(description="the log file to follow (it may not exist yet)")],
        program: Annotated[str, Field(description="a labels program that judges each line")] = "log-alert",
        timeout_s: Annotated[float, Field(description="give up after this many seconds", gt=0, le=MAX_TIMEOUT_S)] = 30.0,
        from_start: Annotated[bool, Field(description="judge the lines already in the file too, not only new ones")] = False,
        alert_labels: Annotated[
            list[str] | None,
            Field(description="labels that count as an alert (default: every label not named like QUIET/OK/NORMAL)"),
        ] = None,
    ) -> dict[str, Any]:
        """Follow a log file; return at the first line the program labels as an alert, or when timeout_s passes,
        with the alert, the lines seen (count and the last ones) and statistics. Long: reports progress, can be cancelled."""
        from integrations.watch.api import WatchOptions, file_sources, run_watch
        from integrations.watch.verdicts import split_labels

        check_size({"path": path, "program": program}, state.options.max_input_chars)
        entry = await state.sync.program_for_call(program)
        output = entry.program.output
        if not isinstance(output, LabelsOutput):
            raise ToolInputError(f"watch_log needs a labels program; {program!r} has {output.type} output",
                                 hint="use log-alert, or any program whose output type is labels")
        alerts, _ = split_labels(list(output.labels), alert_labels)
        first_alert: list[Any] = []
        cancelled = threading.Event()
        bridge = ProgressBridge(asyncio.get_running_loop(), progress_reporter())

        def on_report(report: Any) -> None:
            if report.alert and not first_alert:
                first_alert.append(report)

        def on_progress(status: Any) -> None:
            bridge(status.lines, None, f"{status.lines} lines, {status.alerts} alerts, {status.lines_per_s:.1f} lines/s")

        options = WatchOptions(
            program=QueuedProgram(entry, state.queue, cancelled),
            from_start=from_start,
            timeout_s=timeout_s,
            until=alerts[0] if len(alerts) == 1 else None,  # one alert label: the watcher's own stop rule
            alert_labels=alerts,
            max_input_chars=state.options.max_input_chars,
            on_report=on_report,
            on_progress=on_progress,
        )
        sources = file_sources([Path(path).expanduser()], options)
        watch = asyncio.ensure_future(asyncio.to_thread(
            run_watch, sources, options, stop_requested=lambda: cancelled.is_set() or bool(first_alert)))
        watch.add_done_callback(lambda f: f.cancelled() or f.exception())  # a cancelled watch's end is not news
        try:
            outcome = await asyncio.shield(watch)
        except asyncio.CancelledError:
            cancelled.set()  # the watcher thread ends at its next wake-up
            raise
        await bridge.drain()
        alert = outcome.alert or (first_alert[0] if first_alert else None)
        return {
            "path": str(path),
            "reason": "alert" if alert is not None else outcome.reason,
            "alert": alert.to_json() if alert is not None else None,
            "alerts": [report.to_json() for report in outcome.reports[:REPORTS_RETURNED]],
            "timed_out": outcome.reason == "timeout",
            "lines_seen": outcome.lines_seen,
            "tail": list(outcome.tail),
            "stats": outcome.stats,
        }

    kit.add(watch_log)
