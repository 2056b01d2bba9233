"""``pawflow mcp --transport http``: the SDK's streamable-HTTP client, concurrency, the bearer token, the bind rule."""

from __future__ import annotations

import asyncio
import os
import subprocess

import anyio
import httpx
import pytest

from integrations.mcp.errors import ServeConfigError
from integrations.mcp.options import ServeOptions, is_loopback
from tests.integrations.mcp.conftest import (
    Notifications,
    PAWFLOW,
    REPO,
    HttpServer,
    error_text,
    http_session,
    mcp_args,
    server_env,
    structured,
    tiny_program,
)

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_sdk_http_session_program_pipeline_unknown_progress(tiny_programs, tiny_pipelines, base_info, base_path, tmp_path) -> None:
    notes = Notifications()
    staging = tmp_path / "staging"
    staging.mkdir()
    with HttpServer(*mcp_args(tiny_programs, tiny_pipelines)) as server:
        assert server.url.startswith("http://127.0.0.1:")

        async def scenario() -> None:
            async with http_session(server.url, message_handler=notes) as session:
                names = {tool.name for tool in (await session.list_tools()).tools}
                assert {"tiny-alert", "tiny-mood", "tiny_check", "list_programs", "run_program"} <= names
                label = structured(await session.call_tool("tiny-mood", {"input": "I love this, thank you!"}))
                assert label["label"] in ("happy", "sad") and set(label["scores"]) == {"happy", "sad"}
                out = structured(await session.call_tool("tiny_check", {"line": "disk full"}))
                assert out["outputs"]["verdict"] in ("ALERT", "QUIET") and out["skipped"] == []
                assert "unknown tool 'tiny-alrt'" in error_text(await session.call_tool("tiny-alrt", {"input": "x"}))
                assert "did you mean 'tiny-alert'" in error_text(await session.call_tool("tiny-alrt", {"input": "x"}))
                progress: list[float] = []

                async def on_progress(value: float, total: float | None, message: str | None) -> None:
                    progress.append(value)

                batch = [f"step {i} loss 0.{i}" for i in range(20)]
                result = structured(await session.call_tool("run_program", {"name": "tiny-alert", "input": batch},
                                                            progress_callback=on_progress))
                assert len(result["results"]) == 20 and progress == sorted(progress) and progress[-1] == 20

                # a program compiled while serving reaches this HTTP session as tools/list_changed
                os.replace(tiny_program(base_info, base_path, staging, "tiny-late"), tiny_programs / "tiny-late.paw")
                await notes.wait_for(1)
                assert "tiny-late" in {tool.name for tool in (await session.list_tools()).tools}

        anyio.run(scenario)


def test_twenty_concurrent_calls_equal_sequential(tiny_programs) -> None:
    """20 calls from 4 clients at once, over two programs (adapter/prefix swaps): each equals its sequential answer."""
    calls = [("tiny-alert" if i % 2 else "tiny-mood", text) for i, text in enumerate(
        ["Traceback (most recent call last):", "I am so happy today", "loss is nan", "worst day ever",
         "Saved checkpoint", "great job team", "CUDA out of memory", "meh", "epoch 3 done", "I hate mondays"] * 2)]

    with HttpServer(*mcp_args(tiny_programs, None, "--no-watch")) as server:

        async def scenario() -> None:
            async with http_session(server.url) as one:
                sequential = [structured(await one.call_tool(tool, {"input": text})) for tool, text in calls]
            async with http_session(server.url) as a, http_session(server.url) as b, \
                    http_session(server.url) as c, http_session(server.url) as d:
                clients = [a, b, c, d]
                concurrent = await asyncio.gather(*(clients[i % 4].call_tool(tool, {"input": text})
                                                     for i, (tool, text) in enumerate(calls)))
            for (tool, text), seq, con in zip(calls, sequential, concurrent):
                got = structured(con)
                assert got["label"] == seq["label"], (tool, text)
                # The runtime's batching contract: same label, confidences within 1e-3 of a lone call
                # (coalesced rows share a KV cache laid out differently; measured differences ~2e-6).
                assert got["scores"] == pytest.approx(seq["scores"], abs=1e-4), (tool, text)

        anyio.run(scenario)


def test_bearer_token_checked_on_every_request(tiny_programs) -> None:
    with HttpServer(*mcp_args(tiny_programs, None, "--no-watch"), PAWFLOW_MCP_TOKEN="s3cret-token") as server:
        assert "bearer token required" in server.stderr
        no_token = httpx.post(server.url, json=INIT, headers=ACCEPT, timeout=60)
        assert no_token.status_code == 401
        wrong = httpx.post(server.url, json=INIT, headers={**ACCEPT, "Authorization": "Bearer nope"}, timeout=60)
        assert wrong.status_code == 401

        async def scenario() -> None:
            async with http_session(server.url, token="s3cret-token") as session:
                assert structured(await session.call_tool("tiny-alert", {"input": "Killed"}))["label"] in ("ALERT", "QUIET")

        anyio.run(scenario)


@pytest.mark.parametrize("extra, message", [
    ((), "refusing to bind 0.0.0.0"),
    (("--allow-remote",), "--allow-remote on 0.0.0.0 needs a bearer token"),
])
def test_binding_beyond_loopback_needs_flag_and_token(tiny_programs, extra, message) -> None:
    proc = subprocess.run([*PAWFLOW, *mcp_args(tiny_programs), "--transport", "http", "--host", "0.0.0.0", *extra],
                          cwd=REPO, env=server_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_bind_rule() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")
    ServeOptions(transport="http", host="0.0.0.0", allow_remote=True, token="t").check_bind()
    ServeOptions(transport="stdio", host="0.0.0.0").check_bind()  # stdio binds nothing
    with pytest.raises(ServeConfigError):
        ServeOptions(transport="http", host="10.1.2.3").check_bind()
