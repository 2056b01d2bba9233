"""The model queue: FIFO on one thread, never two jobs at once, cancellation before and during a job,
progress that only moves forward and arrives before the result."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from integrations.mcp.errors import CallCancelled
from integrations.mcp.runtime.progress import ProgressBridge
from integrations.mcp.runtime.queue import JobControl, ModelQueue
from pawflow.config import load_settings


@pytest.fixture
def queue():
    q = ModelQueue(load_settings())
    yield q
    q.close()


def test_jobs_run_one_at_a_time_in_arrival_order(queue: ModelQueue) -> None:
    order: list[int] = []
    active = {"now": 0, "max": 0}
    threads: set[str] = set()
    lock = threading.Lock()

    def job(i: int):
        def run(control: JobControl) -> int:
            with lock:
                active["now"] += 1
                active["max"] = max(active["max"], active["now"])
                threads.add(threading.current_thread().name)
            time.sleep(0.01)
            order.append(i)
            with lock:
                active["now"] -= 1
            return i * i
        return run

    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(queue.run(job(i)) for i in range(20))))

    assert asyncio.run(scenario()) == [i * i for i in range(20)]
    assert order == list(range(20)) and active["max"] == 1 and len(threads) == 1
    assert queue.pending == 0 and queue.stats.completed == 20


def test_cancelled_waiting_job_never_runs_and_running_job_is_told(queue: ModelQueue) -> None:
    started = threading.Event()
    ran: list[str] = []

    def blocker(control: JobControl) -> str:
        started.set()
        while not control.wait(0.01):
            pass
        ran.append("blocker saw cancel")
        control.check()
        return "not reached"

    def waiter(control: JobControl) -> str:
        ran.append("waiter ran")
        return "ran"

    async def scenario() -> None:
        running = asyncio.ensure_future(queue.run(blocker))
        waiting = asyncio.ensure_future(queue.run(waiter))
        await asyncio.to_thread(started.wait, 5)
        waiting.cancel()
        running.cancel()
        for task in (running, waiting):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert await queue.run(lambda control: "after") == "after"

    asyncio.run(scenario())
    assert ran == ["blocker saw cancel"]
    assert queue.stats.cancelled_before_start == 1


def test_control_check_raises_a_pawflow_error() -> None:
    control = JobControl()
    control.check()
    control.cancel()
    with pytest.raises(CallCancelled):
        control.check()


def test_progress_is_monotonic_and_delivered_before_the_result(queue: ModelQueue) -> None:
    received: list[tuple[float, float | None, str | None]] = []

    async def report(done: float, total: float | None, message: str | None) -> None:
        await asyncio.sleep(0.001)
        received.append((done, total, message))

    def job(control: JobControl) -> str:
        for value in (0, 1, 1, 0.5, 3):  # a repeat and a step back, as a multi-stage job may send
            control.progress(value, 3, f"at {value}")
        return "done"

    async def scenario() -> str:
        return await queue.run(job, report=report)

    assert asyncio.run(scenario()) == "done"
    values = [r[0] for r in received]
    assert len(values) == 5 and all(b > a for a, b in zip(values, values[1:]))
    assert values[-1] == 3


def test_progress_without_a_reporter_is_dropped() -> None:
    async def scenario() -> int:
        bridge = ProgressBridge(asyncio.get_running_loop(), None)
        bridge(1, 2, "nobody listens")
        return bridge.sent

    assert asyncio.run(scenario()) == 0
