"""``pawflow mcp`` over stdio with real clients: the official SDK session, and a raw JSON-RPC session
whose every stdout line is checked."""

from __future__ import annotations

import io
import json
import subprocess
import time

import anyio

from tests.integrations.mcp.conftest import (
    PAWFLOW,
    REPO,
    SHIPPED_PIPELINES,
    SHIPPED_PROGRAMS,
    error_text,
    mcp_args,
    server_env,
    stdio_session,
    structured,
)

GENERIC = {"list_programs", "run_program", "run_pipeline", "watch_log"}


def test_sdk_stdio_session_programs_pipeline_errors_progress() -> None:
    """Initialize, list, call a labels program, a pipeline, an unknown tool, bad arguments, a long batch."""

    async def scenario() -> None:
        async with stdio_session(*mcp_args(SHIPPED_PROGRAMS, SHIPPED_PIPELINES)) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert GENERIC <= set(tools)
            assert {"log-alert", "support-triage", "site_navigation"} <= set(tools)

            alert = tools["log-alert"]
            assert alert.input_schema["required"] == ["input"]
            assert alert.output_schema["properties"]["label"]["enum"] == ["ALERT", "QUIET"]
            assert "ALERT" in alert.description and "QUIET" in alert.description
            nav = tools["site_navigation"]
            assert nav.input_schema["properties"]["question"]["type"] == "string"
            intent = nav.output_schema["properties"]["outputs"]["properties"]["intent"]
            assert intent == {"anyOf": [{"type": "string", "enum": ["site", "chitchat"]}, {"type": "null"}]}

            result = structured(await session.call_tool("log-alert", {"input": "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"}))
            assert result["label"] in ("ALERT", "QUIET")
            assert abs(sum(result["scores"].values()) - 1) < 1e-6
            assert result["confidence"] == max(result["scores"].values())
            assert json.loads(json.dumps(result)) == result

            answer = structured(await session.call_tool("site_navigation", {"question": "how much is the team plan?"}))
            assert set(answer["outputs"]) == {"answer", "intent", "page", "url", "fact"}
            assert answer["outputs"]["intent"] in ("site", "chitchat")

            unknown = error_text(await session.call_tool("no-such-program", {"input": "x"}))
            assert "unknown tool 'no-such-program'" in unknown and "list_programs" in unknown
            wrong = error_text(await session.call_tool("log-alert", {"input": 42}))
            assert "argument 'input'" in wrong and "string" in wrong
            huge = error_text(await session.call_tool("log-alert", {"input": "x" * 50_000}))
            assert "50,000 characters" in huge and "--max-input-chars" in huge
            missing = error_text(await session.call_tool("run_program", {"name": "nope", "input": "x"}))
            assert "no program named 'nope'" in missing and "log-alert" in missing

            notes: list[tuple[float, float | None, str | None]] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                notes.append((progress, total, message))

            batch = ["I was charged twice this month", "the app crashes when I log in", "please add dark mode"] * 4
            out = structured(await session.call_tool("run_program", {"name": "support-triage", "input": batch},
                                                     progress_callback=on_progress))
            assert len(out["results"]) == len(batch)
            assert all(r["label"] in ("billing", "bug", "account", "feature") for r in out["results"])
            assert [n[0] for n in notes] == sorted(n[0] for n in notes) and len(notes) >= 2
            assert notes[-1][0] == len(batch) and notes[-1][1] == len(batch)

            again = structured(await session.call_tool("run_program", {"name": "log-alert", "input": "loss is nan"}))
            assert again["program"] == "log-alert" and again["label"] in ("ALERT", "QUIET")

    anyio.run(scenario)


def _rpc(method: str, params: dict | None = None, id: int | None = None) -> bytes:
    message: dict = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    if id is not None:
        message["id"] = id
    return (json.dumps(message) + "\n").encode()


def test_stdout_carries_protocol_messages_only(tiny_programs, tiny_pipelines, tmp_path) -> None:
    """A whole session — model load, a step that prints and warns, errors — leaves only JSON-RPC on stdout."""
    stderr_file = (tmp_path / "server.stderr").open("w+b")
    proc = subprocess.Popen([*PAWFLOW, *mcp_args(tiny_programs, tiny_pipelines)], cwd=REPO, env=server_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr_file)
    assert proc.stdin is not None and proc.stdout is not None
    out = io.BytesIO()
    responses: dict[int, dict] = {}

    def send(data: bytes) -> None:
        proc.stdin.write(data)
        proc.stdin.flush()

    def wait_for(request_id: int) -> dict:
        deadline = time.monotonic() + 300
        while request_id not in responses:
            line = proc.stdout.readline()
            assert line, f"server closed stdout; stderr:\n{(tmp_path / 'server.stderr').read_text()[-3000:]}"
            out.write(line)
            message = json.loads(line)
            if "id" in message and "method" not in message:
                responses[message["id"]] = message
            assert time.monotonic() < deadline
        return responses[request_id]

    try:
        send(_rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}, 1))
        assert wait_for(1)["result"]["capabilities"]["tools"]["listChanged"] is True
        send(_rpc("notifications/initialized"))
        send(_rpc("tools/list", {}, 2))
        names = {tool["name"] for tool in wait_for(2)["result"]["tools"]}
        assert {"tiny-alert", "tiny-mood", "tiny_check"} <= names
        send(_rpc("tools/call", {"name": "tiny_check", "arguments": {"line": "Killed"}}, 3))
        result = wait_for(3)["result"]
        assert not result.get("isError"), result
        assert result["structuredContent"]["outputs"]["sentence"].startswith("KILLED is ")
        send(_rpc("tools/call", {"name": "tiny-alert", "arguments": {"input": "loss is nan"}}, 4))
        assert wait_for(4)["result"]["structuredContent"]["label"] in ("ALERT", "QUIET")
        send(_rpc("tools/call", {"name": "tiny-alert", "arguments": {"text": "wrong argument name"}}, 5))
        assert wait_for(5)["result"]["isError"] is True
        send(_rpc("ping", {}, 6))
        wait_for(6)
    finally:
        proc.stdin.close()  # end of session: the server must exit on its own
        rest = proc.stdout.read()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        stderr_file.close()
    out.write(rest)
    err = (tmp_path / "server.stderr").read_bytes()
    lines = [line for line in out.getvalue().decode().splitlines() if line.strip()]
    assert len(lines) >= 6
    for line in lines:
        message = json.loads(line)  # every line is JSON …
        assert message.get("jsonrpc") == "2.0" and ("method" in message or "id" in message), line  # … and JSON-RPC
    stderr = err.decode()
    assert "STRAY PRINT FROM A PIPELINE STEP" in stderr
    assert "STRAY BYTES ON FD 1" in stderr
    assert "a stray warning from a pipeline step" in stderr


def test_first_list_answers_before_the_model_loads(tiny_programs) -> None:
    """With --no-preload nothing loads the model until a call needs it; the list is answered without it."""

    async def scenario() -> None:
        started = time.perf_counter()
        async with stdio_session(*mcp_args(tiny_programs, None, "--no-preload")) as session:
            tools = await session.list_tools()
            first_list = time.perf_counter() - started
            assert "tiny-alert" in {t.name for t in tools.tools}
            status = structured(await session.call_tool("list_programs", {}))
            assert status["model"]["loaded"] is False
            assert [p["name"] for p in status["programs"]] == ["tiny-alert", "tiny-mood"]
            called = time.perf_counter()
            structured(await session.call_tool("tiny-alert", {"input": "Segmentation fault (core dumped)"}))
            first_call = time.perf_counter() - called
            status = structured(await session.call_tool("list_programs", {}))
            assert status["model"]["loaded"] is True and status["model"]["load_s"] > 0
            print(f"first tools/list {first_list * 1000:.0f} ms after spawn; first call {first_call * 1000:.0f} ms (model load included)")

    anyio.run(scenario)
