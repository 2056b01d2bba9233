"""The stable tools: ``list_programs``, ``run_program``, ``run_pipeline``.

Many MCP clients read the tool list once and ignore ``notifications/tools/list_changed``; these three
tools never change, so such a client can still discover and run a program compiled after it
connected. They take the same arguments and give the same results as the per-program and
per-pipeline tools.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from integrations.mcp.catalog.entries import ProgramEntry
from integrations.mcp.catalog.schemas import pipeline_input_schema, program_result, summarize
from integrations.mcp.errors import ToolInputError
from integrations.mcp.tools.catalog_tools import call_program
from integrations.mcp.tools.catalog_tools import run_pipeline as run_pipeline_entry
from integrations.mcp.tools.catalog_tools import run_program as run_program_entries
from integrations.mcp.tools.common import check_arguments, check_size
from integrations.mcp.tools.seam import ToolKit
from pawflow.program import JsonOutput, LabelsOutput


def register(kit: ToolKit) -> None:
    state = kit.state

    async def list_programs() -> dict[str, Any]:
        """List the programs and pipelines this server runs (with their tool names, output types and labels),
        the files it cannot serve and why, and whether the model is loaded yet."""
        await state.sync.refresh("list_programs")
        snapshot = state.sync.snapshot
        queue = state.queue
        return {
            "programs": [_program_info(entry) for entry in sorted(snapshot.programs.values(), key=lambda e: e.name)],
            "pipelines": [
                {
                    "name": entry.name,
                    "tool": entry.tool_name,
                    "path": str(entry.path),
                    "description": summarize(entry.pipeline.spec.description),
                    "inputs": pipeline_input_schema(dict(entry.pipeline.spec.inputs))["properties"],
                    "outputs": list(entry.pipeline.spec.outputs),
                    "programs": entry.programs,
                }
                for entry in sorted(snapshot.pipelines.values(), key=lambda e: e.name)
            ],
            "unavailable": [{"kind": u.kind, "path": str(u.path), "error": u.error} for u in snapshot.unavailable],
            "model": {
                "loaded": queue.model_loaded,
                "base": state.base.describe(),
                "load_s": queue.stats.model_load_s,
            },
            "queue": {"pending": queue.pending, "completed": queue.stats.completed,
                      "batches": state.coalescer.batches, "largest_batch": state.coalescer.largest_batch},
            "limits": {"max_input_chars": state.options.max_input_chars, "max_batch": state.options.max_batch},
        }

    async def run_program(
        name: Annotated[str, Field(description="program name, as list_programs shows it")],
        input: Annotated[
            str | list[str],
            Field(description="one input text, or a list of texts to run as a batch (progress reported, cancellable)"),
        ],
    ) -> dict[str, Any]:
        """Run any served program by name on one input, or on a list of inputs as a batch. Labels programs
        return label, confidence and scores; text and JSON programs return value."""
        entry = await _program(name)
        texts = [input] if isinstance(input, str) else list(input)
        if not texts:
            raise ToolInputError("input is an empty list", hint="pass one text, or a list with at least one text")
        if len(texts) > state.options.max_batch:
            raise ToolInputError(
                f"a batch of {len(texts)} inputs is over this server's limit of {state.options.max_batch}",
                hint="split it into several calls, or start the server with a larger --max-batch",
            )
        check_size({"input": input}, state.options.max_input_chars)
        if isinstance(input, str):
            return {"program": entry.name, **program_result(await call_program(state, entry, input), entry.program.output)}
        results = await run_program_entries(state.queue, entry, texts, label=f"run_program {entry.name}")
        return {"program": entry.name, "results": [program_result(result, entry.program.output) for result in results]}

    async def run_pipeline(
        name: Annotated[str, Field(description="pipeline name (or its tool name or file name), as list_programs shows it")],
        inputs: Annotated[dict[str, Any], Field(description="the pipeline's inputs by name")] = {},  # noqa: B006 - pydantic copies defaults
    ) -> dict[str, Any]:
        """Run any served pipeline by name on its inputs; returns its outputs (null where a branch was skipped)."""
        entry = await state.sync.pipeline_for_call(name)
        schema = pipeline_input_schema(dict(entry.pipeline.spec.inputs))
        check_arguments(f"run_pipeline {entry.name}", schema, inputs, state.options.max_input_chars)
        return {"pipeline": entry.name, **await run_pipeline_entry(state.queue, entry, inputs)}

    async def _program(name: str) -> ProgramEntry:
        snapshot = state.sync.snapshot
        entry = snapshot.programs.get(name) or snapshot.program_by_tool(name)
        return await state.sync.program_for_call(entry.name if entry is not None else name)

    kit.add(list_programs)
    kit.add(run_program)
    kit.add(run_pipeline)


def _program_info(entry: ProgramEntry) -> dict[str, Any]:
    program = entry.program
    meta = program.meta.pawflow
    output = program.output
    shown: dict[str, Any] = {"type": output.type}
    if isinstance(output, LabelsOutput):
        shown["labels"] = list(output.labels)
    elif isinstance(output, JsonOutput):
        shown["schema"] = output.json_schema
    return {
        "name": entry.name,
        "tool": entry.tool_name,
        "output": shown,
        "description": summarize(meta.spec if meta else program.meta.spec, 200),
        "version": meta.version if meta else None,
        "compile_method": meta.compile.method if meta else None,
        "adapter": program.adapter is not None,
        "program_id": entry.program_id,
        "path": str(entry.path),
    }
