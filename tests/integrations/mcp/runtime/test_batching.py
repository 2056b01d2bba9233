"""Coalescing: calls to one program waiting together run as one batch; answers, failures and
cancellations stay each caller's own."""

from __future__ import annotations

import asyncio
import threading

from integrations.mcp.runtime.batching import Coalescer
from integrations.mcp.runtime.queue import ModelQueue
from pawflow.config import load_settings


def test_waiting_calls_share_one_batch_and_keep_their_answers() -> None:
    queue = ModelQueue(load_settings())
    coalescer: Coalescer[str] = Coalescer(queue)
    batches: list[list[str]] = []
    release = threading.Event()

    def run_many(texts):
        batches.append(list(texts))
        if any(text == "bad" for text in texts):
            raise ValueError("bad input")
        return [text.upper() for text in texts]

    async def scenario():
        busy = asyncio.ensure_future(queue.run(lambda control: release.wait(10)))  # the worker is busy…
        await asyncio.sleep(0.05)
        calls = [asyncio.ensure_future(coalescer.call("p", text, run_many, label="t")) for text in ("a", "b", "bad", "c", "d")]
        other = asyncio.ensure_future(coalescer.call("q", "z", run_many, label="t"))
        await asyncio.sleep(0.05)
        calls[3].cancel()  # … so these all wait; one is withdrawn
        await asyncio.sleep(0.05)
        release.set()
        await busy
        results = await asyncio.gather(*calls, return_exceptions=True)
        return results, await other

    try:
        results, other = asyncio.run(scenario())
    finally:
        queue.close()
    assert results[0] == "A" and results[1] == "B" and results[4] == "D"
    assert isinstance(results[2], ValueError) and isinstance(results[3], asyncio.CancelledError)
    assert other == "Z"
    assert batches[0] == ["a", "b", "bad", "d"]  # one batch for program p, the cancelled call left out
    assert ["a"] in batches and ["bad"] in batches  # the failed batch was retried one by one
    assert coalescer.largest_batch == 4


def test_a_lone_call_is_a_batch_of_one() -> None:
    queue = ModelQueue(load_settings())
    coalescer: Coalescer[int] = Coalescer(queue)
    try:
        assert asyncio.run(coalescer.call("p", "abc", lambda texts: [len(t) for t in texts], label="t")) == 3
    finally:
        queue.close()
    assert coalescer.batches == 1 and coalescer.largest_batch == 1
