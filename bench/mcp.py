"""MCP server benchmark: cold start, per-call latency and throughput, through real MCP clients.

1. **stdio** (the official ``mcp`` SDK's ``stdio_client`` + ``ClientSession``, as a coding agent runs
   it): ``pawflow mcp`` is spawned serving ``programs/build`` and ``pipelines/``;
   ``first_list_ms`` is spawn → ``tools/list`` answered (imports, folder scan, initialize included;
   the model is not loaded yet), ``first_call_ms`` the first ``log-alert`` call right after it (the
   background preload may still be loading the model), ``call_ms_median`` / ``call_ms_p90`` the next
   ``--calls`` calls on different log lines (prefix cached: the steady state an agent sees), and
   ``overhead_ms_median``: round trip minus the model time the tool reports (protocol, queue, JSON) —
   the part that is the server's own, and the figure least disturbed by a busy machine.
2. **HTTP** (the SDK's streamable-HTTP client): the same calls from one client one after another
   (``calls_per_s_sequential``) and from 4 clients at once (``calls_per_s_concurrent``), after a
   warm-up, in ``--rounds`` pairs whose order alternates (medians; the per-round ratios are listed
   too). Calls queue on the one interpreter; concurrent calls to one program are coalesced into one
   ``run_many`` (``largest_coalesced_batch``), which is where concurrency gains beyond hiding round trips.

Goals (issue #15, on the 2-core machine): first list < 3 s, median call < 1 s, concurrent ≥
sequential. On a shared machine every figure here measures its load too.

    python bench/mcp.py            # rich table
    python bench/mcp.py --json     # exactly one JSON object on stdout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# This file is named like the `mcp` SDK it uses: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REPO = Path(__file__).resolve().parent.parent
PAWFLOW = [sys.executable, "-m", "pawflow.cli.main"]
PROGRAM = "log-alert"
LINES = [
    "step 4100 | train loss 2.871 | lr 2.4e-04 | tok/s 51200",
    "RuntimeError: CUDA out of memory. Tried to allocate 1.50 GiB",
    "Checkpoint saved: runs/exp7/ckpt_0004000.pt",
    "loss is nan at step 300, stopping",
    "epoch 3 | val acc 0.912 | val loss 0.301",
    "Traceback (most recent call last):",
    "NCCL timeout: rank 3 did not respond in 1800 s",
    "UserWarning: torch.meshgrid: pass the indexing argument",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def server_args(*extra: str) -> list[str]:
    return [*PAWFLOW, "mcp", "--programs", str(REPO / "programs" / "build"), "--pipelines", str(REPO / "pipelines"), *extra]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


async def bench_stdio(calls: int, errlog: Any) -> dict[str, float]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    args = server_args()
    params = StdioServerParameters(command=args[0], args=args[1:], env=env(), cwd=str(REPO))
    started = time.perf_counter()
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=600) as session:
            await session.initialize()
            tools = await session.list_tools()
            first_list = time.perf_counter() - started
            assert PROGRAM in {t.name for t in tools.tools}, "log-alert is not served: compile it first (make compile)"
            t0 = time.perf_counter()
            result = await session.call_tool(PROGRAM, {"input": LINES[0]})
            first_call = time.perf_counter() - t0
            assert not result.is_error, result.content
            latencies, overheads = [], []
            for i in range(calls):
                t0 = time.perf_counter()
                result = await session.call_tool(PROGRAM, {"input": LINES[i % len(LINES)]})
                elapsed = time.perf_counter() - t0
                assert not result.is_error, result.content
                latencies.append(elapsed)
                overheads.append(elapsed * 1000 - result.structured_content["latency_ms"])
            status = (await session.call_tool("list_programs", {})).structured_content or {}
    latencies.sort()
    return {
        "first_list_ms": round(first_list * 1000, 1),
        "first_call_ms": round(first_call * 1000, 1),
        "call_ms_median": round(statistics.median(latencies) * 1000, 1),
        "call_ms_p90": round(latencies[int(0.9 * (len(latencies) - 1))] * 1000, 1),
        "overhead_ms_median": round(statistics.median(overheads), 1),
        "model_load_s": status.get("model", {}).get("load_s"),
        "tools": len(tools.tools),
    }


class HttpServer:
    def __init__(self, errlog: Any) -> None:
        self.errlog = errlog
        self.url = ""

    def __enter__(self) -> "HttpServer":
        self.proc = subprocess.Popen([*server_args("--no-watch"), "--transport", "http", "--port", "0"], cwd=REPO, env=env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ready = threading.Event()

        def pump() -> None:
            for line in self.proc.stderr:  # type: ignore[union-attr]
                self.errlog.write(line)
                match = re.search(r"serving at (http://\S+)", line)
                if match:
                    self.url = match.group(1)
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(300):
            self.proc.kill()
            raise RuntimeError("the HTTP server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def bench_http(calls: int, clients: int, rounds: int, errlog: Any) -> dict[str, Any]:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def session_loop(url: str, texts: list[str], out: list[float]) -> None:
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(600)) as client:
            async with streamable_http_client(url, http_client=client) as (read, write, *_):
                async with ClientSession(read, write, read_timeout_seconds=600) as session:
                    await session.initialize()
                    await ready.wait()
                    for text in texts:
                        t0 = time.perf_counter()
                        result = await session.call_tool(PROGRAM, {"input": text})
                        out.append(time.perf_counter() - t0)
                        assert not result.is_error, result.content

    texts = [LINES[i % len(LINES)] for i in range(calls)]
    sequential_rates, concurrent_rates = [], []
    with HttpServer(errlog) as server:
        ready = asyncio.Event()
        ready.set()
        await session_loop(server.url, LINES[:2], [])  # warm-up: model and prefix loaded

        async def sequential() -> float:
            nonlocal ready
            ready = asyncio.Event()
            ready.set()
            t0 = time.perf_counter()
            await session_loop(server.url, texts, [])
            return calls / (time.perf_counter() - t0)

        async def concurrent() -> float:
            nonlocal ready
            ready = asyncio.Event()  # every client connects first, then all start together
            tasks = [asyncio.ensure_future(session_loop(server.url, texts[i::clients], [])) for i in range(clients)]
            await asyncio.sleep(0.5)
            t0 = time.perf_counter()
            ready.set()
            await asyncio.gather(*tasks)
            return calls / (time.perf_counter() - t0)

        for round_no in range(rounds):  # alternate the order: a machine whose load drifts favours neither side
            first, second = (sequential, concurrent) if round_no % 2 == 0 else (concurrent, sequential)
            a, b = await first(), await second()
            seq, con = (a, b) if first is sequential else (b, a)
            sequential_rates.append(seq)
            concurrent_rates.append(con)
            log(f"  round {round_no + 1}: sequential {seq:.2f} calls/s, {clients} clients {con:.2f} calls/s")
        status = await status_of(server.url)
    ratios = [c / s for s, c in zip(sequential_rates, concurrent_rates)]
    return {
        "calls_per_s_sequential": round(statistics.median(sequential_rates), 2),
        "calls_per_s_concurrent": round(statistics.median(concurrent_rates), 2),
        "concurrent_vs_sequential": round(statistics.median(ratios), 2),  # paired per round: load drift cancels
        "concurrent_vs_sequential_rounds": [round(r, 2) for r in ratios],
        "largest_coalesced_batch": status.get("queue", {}).get("largest_batch"),
        "http_clients": clients,
        "http_calls": calls,
    }


async def status_of(url: str) -> dict[str, Any]:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(timeout=httpx2.Timeout(600)) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, *_):
            async with ClientSession(read, write, read_timeout_seconds=600) as session:
                await session.initialize()
                return (await session.call_tool("list_programs", {})).structured_content or {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--calls", type=int, default=20, help="steady-state stdio calls for the median (default 20)")
    parser.add_argument("--http-calls", type=int, default=16, help="calls in each HTTP throughput run (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="sequential/concurrent pairs, order alternating (default 3)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--server-log", type=Path, default=None, help="write the servers' stderr here (default: discard)")
    args = parser.parse_args()
    errlog = args.server_log.open("w") if args.server_log else open(os.devnull, "w")
    load = os.getloadavg()[0]
    log(f"load average {load:.1f} on {os.cpu_count()} cores; stdio …")
    result: dict[str, Any] = {"program": PROGRAM, "load_avg_1m": round(load, 2)}
    result.update(asyncio.run(bench_stdio(args.calls, errlog)))
    log("HTTP …")
    result.update(asyncio.run(bench_http(args.http_calls, args.clients, args.rounds, errlog)))
    result["goals"] = {
        "first_list_under_3s": result["first_list_ms"] < 3000,
        "median_call_under_1s": result["call_ms_median"] < 1000,
        "concurrent_at_least_sequential": result["concurrent_vs_sequential"] >= 1.0,
    }
    if args.json:
        print(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"pawflow mcp ({PROGRAM}, embedded SmolLM2-135M; load avg {load:.1f})")
    for column in ("what", "figure", "goal"):
        table.add_column(column)
    goals = result["goals"]
    mark = {True: "[green]met[/]", False: "[red]missed[/]"}
    table.add_row("first tools/list after spawn (stdio)", f"{result['first_list_ms']:.0f} ms", f"< 3 s: {mark[goals['first_list_under_3s']]}")
    table.add_row("first call (model load overlapped by preload)", f"{result['first_call_ms']:.0f} ms", "")
    table.add_row("call, median · p90 (stdio)", f"{result['call_ms_median']:.0f} · {result['call_ms_p90']:.0f} ms",
                  f"< 1 s: {mark[goals['median_call_under_1s']]}")
    table.add_row("server overhead per call, median (round trip − model time)", f"{result['overhead_ms_median']:.1f} ms", "")
    table.add_row("calls/s sequential · 4 clients (HTTP)",
                  f"{result['calls_per_s_sequential']:.2f} · {result['calls_per_s_concurrent']:.2f} ({result['concurrent_vs_sequential']}×)",
                  f"concurrent ≥ sequential: {mark[goals['concurrent_at_least_sequential']]}")
    Console().print(table)


if __name__ == "__main__":
    main()
