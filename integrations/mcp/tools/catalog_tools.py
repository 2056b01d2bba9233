"""One tool per served program and per served pipeline.

Each is a fastmcp :class:`~fastmcp.tools.base.Tool` whose schemas come from the program's manifest or
the pipeline's declared inputs and validated output types (:mod:`integrations.mcp.catalog.schemas`).
A tool holds only names: each call looks the program or pipeline up again (re-checking the file on
disk), so a tool whose file was rebuilt, removed or damaged answers with the current file or a clear
error, even before the client has re-read the tool list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastmcp.tools.base import Tool, ToolResult
from mcp_types import ToolAnnotations
from pydantic import PrivateAttr

from integrations.mcp.catalog.entries import PipelineEntry, ProgramEntry
from integrations.mcp.catalog.schemas import (
    pipeline_description,
    pipeline_input_schema,
    pipeline_output_schema,
    program_description,
    program_input_schema,
    program_output_schema,
    program_result,
)
from integrations.mcp.runtime.queue import JobControl, ModelQueue
from integrations.mcp.server.state import ServerState
from integrations.mcp.tools.common import check_arguments, guarded, progress_reporter, structured
from pawflow.function import Function
from pawflow.result import Result

BATCH_CHUNK = 8  # inputs per interpreter lock hold in a batch: one adapter swap each, progress between


class ProgramTool(Tool):
    """Runs one program on one input."""

    _state: ServerState = PrivateAttr()
    _program: str = PrivateAttr()

    @classmethod
    def for_entry(cls, state: ServerState, entry: ProgramEntry) -> "ProgramTool":
        program = entry.program
        meta = program.meta.pawflow
        tool = cls(
            name=entry.tool_name,
            title=f"{entry.name} (pawflow program)",
            description=program_description(program),
            parameters=program_input_schema(state.options.max_input_chars),
            output_schema=program_output_schema(program.output),
            annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
            tags={"pawflow", "program"},
            meta={"pawflow": {"kind": "program", "program": entry.name, "program_id": entry.program_id,
                              "version": meta.version if meta else None, "path": str(entry.path)}},
        )
        tool._state = state
        tool._program = entry.name
        return tool

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        state = self._state

        async def work() -> ToolResult:
            check_arguments(self.name, self.parameters, arguments, state.options.max_input_chars)
            entry = await state.sync.program_for_call(self._program)
            result = await call_program(state, entry, arguments["input"])
            return structured(program_result(result, entry.program.output))

        return await guarded(self.name, work)


async def call_program(state: ServerState, entry: ProgramEntry, text: str) -> Result:
    """One input: joins any calls to the same program waiting in the queue (one ``run_many`` for all)."""
    program = entry.program

    def run_many(texts: Sequence[str]) -> list[Result]:
        return Function(program, state.queue.interpreter()).run_many(list(texts))

    return await state.coalescer.call(entry.program_id, text, run_many, label=f"program {entry.name}")


async def run_program(queue: ModelQueue, entry: ProgramEntry, texts: list[str], *, label: str) -> list[Result]:
    """Run ``texts`` through a program on the queue; batches go in chunks with progress and cancellation between."""
    program = entry.program

    def job(control: JobControl) -> list[Result]:
        function = Function(program, queue.interpreter())
        results: list[Result] = []
        for start in range(0, len(texts), BATCH_CHUNK):
            control.check()
            results.extend(function.run_many(texts[start : start + BATCH_CHUNK]))
            if len(texts) > 1:
                control.progress(len(results), len(texts), f"{entry.name}: {len(results)}/{len(texts)} inputs")
        return results

    return await queue.run(job, label=label, report=progress_reporter() if len(texts) > 1 else None)


class PipelineTool(Tool):
    """Runs one pipeline on its declared inputs."""

    _state: ServerState = PrivateAttr()
    _pipeline: str = PrivateAttr()

    @classmethod
    def for_entry(cls, state: ServerState, entry: PipelineEntry) -> "PipelineTool":
        spec = entry.pipeline.spec
        analysis = entry.pipeline.analysis()
        tool = cls(
            name=entry.tool_name,
            title=f"{entry.name} (pawflow pipeline)",
            description=pipeline_description(entry.name, spec.description, entry.programs, list(spec.outputs)),
            parameters=pipeline_input_schema(dict(spec.inputs)),
            output_schema=pipeline_output_schema(dict(analysis.output_types)),
            annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
            tags={"pawflow", "pipeline"},
            meta={"pawflow": {"kind": "pipeline", "pipeline": entry.name, "path": str(entry.path), "programs": entry.programs}},
        )
        tool._state = state
        tool._pipeline = entry.name
        return tool

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        state = self._state

        async def work() -> ToolResult:
            check_arguments(self.name, self.parameters, arguments, state.options.max_input_chars)
            entry = await state.sync.pipeline_for_call(self._pipeline)
            return structured(await run_pipeline(state.queue, entry, arguments))

        return await guarded(self.name, work)


async def run_pipeline(queue: ModelQueue, entry: PipelineEntry, inputs: dict[str, Any]) -> dict[str, Any]:
    pipeline = entry.pipeline

    def job(control: JobControl) -> dict[str, Any]:
        queue.interpreter()  # load on the worker (timed, lazily) before the engine asks for it
        result = pipeline.run(inputs)
        return {"outputs": result.outputs, "skipped": list(result.skipped), "duration_ms": round(result.duration_ms, 1)}

    return await queue.run(job, label=f"pipeline {entry.name}")
