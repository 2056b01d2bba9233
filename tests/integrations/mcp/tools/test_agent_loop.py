"""An agent framework's MCP client driving a whole loop against ``pawflow mcp`` — no hosted LLM.

openai-agents' ``MCPServerStdio`` starts the server and turns its tools into function tools; the
agent's "model" is the SDK's own deterministic ``ScriptedModel``: turn 1 picks the ``log-alert`` tool
from the tool list the server sent and calls it with the user's line, turn 2 reads the tool's real
output and answers. Tracing is off (it would send spans to a hosted service).
"""

from __future__ import annotations

import json

import anyio
import pytest

from tests.integrations.mcp.conftest import PAWFLOW, REPO, SHIPPED_PROGRAMS, mcp_args, server_env

agents = pytest.importorskip("agents", reason="openai-agents is in the test extra")

LINE = "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"


def _find_result(value: object) -> dict:
    """The program's result object inside whatever envelope the framework wraps tool output in."""
    if isinstance(value, dict):
        if "label" in value and "scores" in value:
            return value
        if isinstance(value.get("text"), str):
            try:
                return _find_result(json.loads(value["text"]))
            except ValueError:
                pass
        for item in value.values():
            found = _find_result(item)
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _find_result(item)
            if found:
                return found
    return {}


def test_openai_agents_runs_a_loop_through_pawflow_tools() -> None:
    from agents import Agent, RunConfig, Runner, set_tracing_disabled
    from agents.mcp import MCPServerStdio
    from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call

    set_tracing_disabled(True)
    seen: dict[str, object] = {}

    def pick_tool(call) -> object:
        names = [tool.name for tool in call.tools]
        seen["tools"] = names
        user = call.input if isinstance(call.input, str) else call.input[-1]["content"]
        return [function_call("log-alert", {"input": user}, call_id="call-1")]

    def answer(call) -> object:
        outputs = [item for item in call.input if isinstance(item, dict) and item.get("type") == "function_call_output"]
        raw = outputs[-1]["output"]
        text = raw if isinstance(raw, str) else json.dumps(raw)
        seen["tool_output"] = text
        payload = _find_result(json.loads(text))
        return [assistant_message(f"verdict: {payload['label']} ({payload['confidence']:.2f})")]

    model = ScriptedModel([ModelStep.respond(pick_tool), ModelStep.respond(answer)])

    async def scenario() -> str:
        params = {"command": PAWFLOW[0], "args": [*PAWFLOW[1:], *mcp_args(SHIPPED_PROGRAMS, None, "--warm", "log-alert")],
                  "env": server_env(), "cwd": str(REPO)}
        # The SDK's default session timeout is 5 s; a first call on a cold 2-core machine can take longer
        # (model load + the program's prefix), so it is raised here — README "MCP server" says the same.
        async with MCPServerStdio(params=params, client_session_timeout_seconds=300, cache_tools_list=True) as server:
            agent = Agent(name="log-triage", instructions="Judge the log line with the pawflow tool.", mcp_servers=[server], model=model)
            result = await Runner.run(agent, LINE, run_config=RunConfig(tracing_disabled=True))
            return str(result.final_output)

    final = anyio.run(scenario)
    assert {"log-alert", "list_programs", "run_program"} <= set(seen["tools"])  # the framework listed our tools
    assert final.startswith("verdict: ALERT") or final.startswith("verdict: QUIET")
    assert final.split()[1] in str(seen["tool_output"])  # the answer came from the server's real output
    assert model.remaining_steps == 0
