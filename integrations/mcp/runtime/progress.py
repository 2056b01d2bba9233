"""Progress from a worker thread to the client that asked for it.

Model work runs on a worker thread; MCP progress notifications are sent from the event loop. The
bridge hops between the two (``call_soon_threadsafe``, then a task in the request's context), never blocks the worker, keeps values
strictly increasing (the spec requires it, and multi-stage work such as a compile restarts its own
counters at each stage) and drops updates when the client sent no progress token — fastmcp's
``Context.report_progress`` already sends nothing then.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable

log = logging.getLogger("pawflow.mcp")

ProgressFn = Callable[[float, "float | None", "str | None"], None]
"""``progress(done, total, message)`` as a job calls it, from any thread."""

Reporter = Callable[[float, "float | None", "str | None"], Awaitable[None]]


class ProgressBridge:
    """Thread-safe, monotonic progress reporting onto an event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, report: Reporter | None) -> None:
        self._loop = loop
        self._report = report
        # fastmcp finds the request (and its progress token) through context variables: the send must run
        # in the context of the request that created the bridge, not the loop's default one
        self._context = contextvars.copy_context()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self._last = -1.0
        self.sent = 0

    def __call__(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if self._report is None:
            return
        with self._lock:
            if done <= self._last:
                # equal or backwards: nudge forward so a client drawing a bar never sees it stall or rewind
                done = self._last + 1e-3
            self._last = done
            self.sent += 1
        try:
            self._loop.call_soon_threadsafe(self._start_send, done, total, message)
        except RuntimeError:  # the loop is closing: the call is being torn down, nobody is listening
            pass

    def _start_send(self, done: float, total: float | None, message: str | None) -> None:
        task = self._loop.create_task(self._send(done, total, message), context=self._context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait for notes still being sent, so none arrives after the call's result."""
        await asyncio.sleep(0)  # let call_soon_threadsafe callbacks queued by the worker create their tasks
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def _send(self, done: float, total: float | None, message: str | None) -> None:
        assert self._report is not None
        try:
            await self._report(done, total, message)
        except Exception as exc:  # noqa: BLE001 - a lost progress note must never fail the call
            log.debug("progress notification not sent: %s", exc)


def no_progress(done: float, total: float | None = None, message: str | None = None) -> None:
    """A progress function that discards updates (jobs started outside a request)."""
