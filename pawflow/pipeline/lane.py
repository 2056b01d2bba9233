"""Where work runs, and how long it may take: the interpreter lane and the step pool.

Model calls run on the calling thread unless a step has a ``timeout``; then they go to the
*interpreter lane*, one thread that owns model calls, so the scheduler can wait on them with a
deadline. Python and nested-pipeline steps go to a thread pool. In both, a deadline counts a job's own
running time, not the time it queued, which is why every submission records when it started.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from pawflow.pipeline.rows import Task


class InterpreterLane:
    """A single thread that owns model calls, so callers can wait on them with a timeout.

    llama.cpp cannot be interrupted mid-call: a timed-out call is abandoned (its row fails at once)
    but finishes in the background, and later calls queue behind it. Queue time does not count
    against a timeout; only the call's own running time does.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pawflow-interpreter")

    def submit(self, fn: Callable[[], Any]) -> tuple[Future, threading.Event, list[float]]:
        started = threading.Event()
        stamp: list[float] = []

        def job() -> Any:
            stamp.append(time.perf_counter())
            started.set()
            return fn()

        return self._executor.submit(job), started, stamp


_LANE: InterpreterLane | None = None
_LANE_LOCK = threading.Lock()


def interpreter_lane() -> InterpreterLane:
    """The process-wide lane (created on first use)."""
    global _LANE
    with _LANE_LOCK:
        if _LANE is None:
            _LANE = InterpreterLane()
        return _LANE


def wait_for(future: Future, started: threading.Event, stamp: list[float], timeout: float | None) -> Any:
    """Result of a submitted job, raising TimeoutError if it *runs* longer than ``timeout``."""
    if timeout is None:
        return future.result()
    started.wait()
    remaining = stamp[0] + timeout - time.perf_counter()
    from concurrent.futures import TimeoutError as FuturesTimeout

    try:
        return future.result(timeout=max(0.0, remaining))
    except FuturesTimeout:
        raise TimeoutError(f"timed out after {timeout:g}s") from None


def submit_to_pool(pool: ThreadPoolExecutor, fn: Callable[[], Any], limiter: threading.Semaphore | None) -> tuple[Future, threading.Event, list[float]]:
    """Run ``fn`` on the pool, at most ``limiter`` at a time (a map step's ``concurrency``), stamping its start."""
    started = threading.Event()
    stamp: list[float] = []

    def job() -> Any:
        if limiter is not None:
            limiter.acquire()
        try:
            stamp.append(time.perf_counter())
            started.set()
            return fn()
        finally:
            if limiter is not None:
                limiter.release()

    return pool.submit(job), started, stamp


def group_timeout(group: list[Task]) -> float | None:
    """A grouped call may take as long as its members would one by one."""
    timeouts = [task.info.step.timeout for task in group]
    if any(timeout is None for timeout in timeouts):
        return None
    return float(sum(timeouts))  # type: ignore[arg-type]
