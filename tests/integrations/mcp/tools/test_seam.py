"""The registration seam other integrations use (``pawflow.mcp_tools`` entry points → ``ToolKit``).

The server is built in-process and driven by fastmcp's own client over its in-memory transport (a
real MCP client/server pair, no subprocess), since what is tested is the assembly, not a transport.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint

import anyio
import pytest

from integrations.mcp.options import ServeOptions
from integrations.mcp.runtime.queue import JobControl
from integrations.mcp.server.app import create_server
from integrations.mcp.tools import seam
from integrations.mcp.tools.seam import ToolKit, plugin_registrars


def register_demo(kit: ToolKit) -> None:
    """What an integration's ``register`` looks like: a typed function, model work on the shared queue."""

    async def count_tokens(text: str, repeat: int = 1) -> dict:
        """Count the base model's tokens in a text (a stand-in for a reranker's model work)."""

        def job(control: JobControl) -> int:
            total = 0
            for i in range(repeat):
                control.check()
                total += len(kit.interpreter().tokenize(text))
                control.progress(i + 1, repeat, "tokenizing")
            return total

        return {"tokens": await kit.run_on_model(job, label="count_tokens")}

    kit.add(count_tokens)


def register_broken(kit: ToolKit) -> None:
    raise RuntimeError("this plugin is broken")


def test_plugin_tools_are_served_with_the_queue_and_errors_handled(tiny_programs) -> None:
    from fastmcp import Client

    options = ServeOptions(program_dirs=[tiny_programs], pipeline_dirs=[], compile_tool=False, preload=False)
    server = create_server(options, registrars=[("demo", register_demo), ("broken", register_broken)])

    async def scenario() -> None:
        async with Client(server.mcp) as client:
            names = {tool.name for tool in await client.list_tools()}
            assert {"count_tokens", "list_programs", "tiny-alert"} <= names
            notes: list[float] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                notes.append(progress)

            result = await client.call_tool("count_tokens", {"text": "hello world", "repeat": 3}, progress_handler=on_progress)
            assert result.structured_content["tokens"] > 0 and result.structured_content["tokens"] % 3 == 0
            assert notes == [1, 2, 3]
            bad = await client.call_tool("count_tokens", {"text": ["not", "a", "string"]}, raise_on_error=False)
            assert bad.is_error and "count_tokens: invalid arguments" in bad.content[0].text
            assert server.state.queue.stats.completed >= 1

    anyio.run(scenario)
    assert "count_tokens" in server.state.stable_tools


def test_entry_points_are_discovered(monkeypatch) -> None:
    points = [EntryPoint("demo", f"{__name__}:register_demo", seam.ENTRY_POINT_GROUP),
              EntryPoint("missing", "no.such.module:register", seam.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(seam, "entry_points", lambda group: points if group == seam.ENTRY_POINT_GROUP else [])
    found = plugin_registrars()
    assert [name for name, _ in found] == ["demo"] and found[0][1] is register_demo


@pytest.mark.parametrize("name", ["list_programs", "run_program"])
def test_a_program_named_like_a_generic_tool_gets_a_prefix(tmp_path, base_info, base_path, name) -> None:
    from fastmcp import Client

    from tests.integrations.mcp.conftest import tiny_program

    tiny_program(base_info, base_path, tmp_path, name)
    server = create_server(ServeOptions(program_dirs=[tmp_path], pipeline_dirs=[], compile_tool=False, plugins=False, preload=False))

    async def scenario() -> set[str]:
        async with Client(server.mcp) as client:
            return {tool.name for tool in await client.list_tools()}

    names = anyio.run(scenario)
    assert name in names and f"program_{name}" in names


def test_compile_program_is_offered_only_with_the_compile_stack(tmp_path, monkeypatch) -> None:
    from fastmcp import Client

    from integrations.mcp.tools import compile as compile_tool

    def tool_names() -> set[str]:
        server = create_server(ServeOptions(program_dirs=[tmp_path], pipeline_dirs=[], plugins=False, preload=False))

        async def scenario() -> set[str]:
            async with Client(server.mcp) as client:
                return {tool.name for tool in await client.list_tools()}

        return anyio.run(scenario)

    monkeypatch.setattr(compile_tool, "missing_modules", lambda *modules: ["torch"])
    assert "compile_program" not in tool_names()
    monkeypatch.setattr(compile_tool, "missing_modules", lambda *modules: [])
    assert "compile_program" in tool_names()
