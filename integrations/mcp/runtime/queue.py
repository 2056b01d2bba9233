"""The model queue: every call that touches the interpreter runs here, one at a time, in arrival order.

Why a queue when :class:`pawflow.Interpreter` already serialises with a lock: a lock gives no order
and no way to withdraw a waiting call. Here calls from every client (stdio, or many HTTP sessions)
wait in one FIFO on one worker thread, so a burst of 20 calls is answered in the order it came,
the event loop stays free to answer ``tools/list`` and pings while the model works, and a call the
client cancels while it waits is removed without ever running. A call already running is told through
its :class:`JobControl`; long jobs (batches, compiles, log watching) check it between steps.

The interpreter itself is created lazily by the first job (or the background preload), so a server
answers its first ``tools/list`` before the model is loaded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from integrations.mcp.errors import CallCancelled
from integrations.mcp.runtime.progress import ProgressBridge, ProgressFn, Reporter, no_progress
from pawflow.config import Settings
from pawflow.interpreter import Interpreter

T = TypeVar("T")


@dataclass
class JobControl:
    """What a job sees of its caller: cancellation and progress."""

    progress: ProgressFn = no_progress
    _cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    def check(self) -> None:
        """Raise :class:`CallCancelled` when the client has cancelled; call between units of work."""
        if self._cancelled.is_set():
            raise CallCancelled("the client cancelled this call")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on cancellation; True when cancelled."""
        return self._cancelled.wait(seconds)


@dataclass
class QueueStats:
    submitted: int = 0
    completed: int = 0
    cancelled_before_start: int = 0
    running: str | None = None
    model_load_s: float | None = None
    loaded_at: float | None = None


class ModelQueue:
    """One worker thread, FIFO, for everything that runs the model."""

    def __init__(self, settings: Settings, *, name: str = "pawflow-mcp-model") -> None:
        self.settings = settings
        self._name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._interpreter: Interpreter | None = None
        self._interpreter_lock = threading.Lock()
        self.stats = QueueStats()
        self._pending = 0
        self._pending_lock = threading.Lock()

    # ------------------------------------------------------------------ the interpreter

    @property
    def model_loaded(self) -> bool:
        return self._interpreter is not None

    def interpreter(self) -> Interpreter:
        """The process's shared interpreter, loading it on first use (from a job, never the event loop)."""
        if self._interpreter is None:
            with self._interpreter_lock:
                if self._interpreter is None:
                    started = time.perf_counter()
                    interpreter = Interpreter.shared(self.settings)
                    self.stats.model_load_s = round(time.perf_counter() - started, 3)
                    self.stats.loaded_at = time.time()
                    self._interpreter = interpreter
        return self._interpreter

    # ------------------------------------------------------------------ submitting work

    @property
    def pending(self) -> int:
        """Jobs submitted and not finished (waiting or running)."""
        return self._pending

    async def run(self, job: Callable[[JobControl], T], *, label: str = "call", report: Reporter | None = None) -> T:
        """Run ``job(control)`` on the worker once every earlier job is done; await its result.

        Cancelling the awaiting task (the client's ``notifications/cancelled``) withdraws a job that has
        not started and flags a running one through ``control``.
        """
        loop = asyncio.get_running_loop()
        bridge = ProgressBridge(loop, report) if report is not None else None
        control = JobControl(progress=bridge or no_progress)
        future = self.submit(job, control, label=label)
        try:
            result = await asyncio.wrap_future(future)
            if bridge is not None:
                await bridge.drain()
            return result
        except asyncio.CancelledError:
            control.cancel()
            if future.cancel():
                self.stats.cancelled_before_start += 1
            raise

    def submit(self, job: Callable[[JobControl], T], control: JobControl | None = None, *, label: str = "job") -> Future[T]:
        control = control or JobControl()
        with self._pending_lock:
            self._pending += 1
            self.stats.submitted += 1

        def run() -> T:
            self.stats.running = label
            try:
                control.check()
                return job(control)
            finally:
                self.stats.running = None
                self.stats.completed += 1

        try:
            future = self._executor.submit(run)
        except RuntimeError:  # closed by a previous serving session (fastmcp runs the lifespan per session in-memory)
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
            future = self._executor.submit(run)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[Any]) -> None:
        with self._pending_lock:
            self._pending -= 1

    def close(self) -> None:
        """Stop taking work; waiting jobs are dropped, a running one finishes in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)
