"""``compile_program``: compile YAML into the served folder; progress, the new tool, clear source errors."""

from __future__ import annotations

import anyio
import pytest

from integrations.mcp.tools.compile import available
from tests.integrations.mcp.conftest import Notifications, error_text, mcp_args, stdio_session, structured

pytestmark = pytest.mark.skipif(not available(), reason="the compile stack (torch, pawflow[compile]) is not installed")

SOURCE = """\
name: tiny-compiled
spec: Is this customer message about billing or about something else?
output: {type: labels, labels: [billing, other]}
examples:
  - {input: "I was charged twice this month", output: billing}
  - {input: "the app crashes when I open it", output: other}
compile:
  method: prompt
  options: {pseudo_lm: false}
"""


def test_compile_program_adds_a_tool_with_progress(tiny_programs) -> None:
    notes = Notifications()

    async def scenario() -> None:
        async with stdio_session(*mcp_args(tiny_programs, None), message_handler=notes) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert "compile_program" in names and "tiny-compiled" not in names
            progress: list[tuple[float, str | None]] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append((value, message))

            out = structured(await session.call_tool("compile_program", {"source_yaml": SOURCE}, progress_callback=on_progress))
            assert out["program"] == "tiny-compiled" and out["tool"] == "tiny-compiled" and out["method"] == "prompt"
            assert (tiny_programs / "tiny-compiled.paw").is_file()
            assert progress and any("pseudo-compiling" in (m or "") for _, m in progress)
            assert [v for v, _ in progress] == sorted(v for v, _ in progress)
            await notes.wait_for(1)
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert tools["tiny-compiled"].output_schema["properties"]["label"]["enum"] == ["billing", "other"]
            assert structured(await session.call_tool("tiny-compiled", {"input": "refund my invoice"}))["label"] in ("billing", "other")

            bad_method = error_text(await session.call_tool("compile_program", {"source_yaml": SOURCE, "method": "magic"}))
            assert "unknown compile method 'magic'" in bad_method and "fit" in bad_method
            bad_source = error_text(await session.call_tool("compile_program", {"source_yaml": SOURCE.replace("labels: [billing, other]", "labels: [billing]")}))
            assert "source.yaml:3" in bad_source
            not_yaml = error_text(await session.call_tool("compile_program", {"source_yaml": "programs/missing.yaml"}))
            assert "source file not found" in not_yaml

    anyio.run(scenario)
