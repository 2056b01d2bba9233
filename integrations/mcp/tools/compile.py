"""``compile_program``: compile a program source into the served folder, so its tool appears.

Offered only when the compile stack (torch, the ``compile`` extra) is installed. A compile takes
seconds (``prompt``) to minutes (``fit``): it runs on its own thread, not the model queue, so calls
keep being answered while a LoRA trains — its own model use (pseudo-compiling, held-out scoring) is
still serialised by the interpreter's lock. Progress notes follow the compiler's stages; a client's
cancellation stops it at the next progress note, and since programs are written atomically the
served folder keeps the old program or none. The new ``.paw`` is picked up like any file written
into the folder: the tool list changes and clients are notified.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from integrations.mcp.errors import CallCancelled, ToolInputError
from integrations.mcp.runtime.progress import ProgressBridge
from integrations.mcp.tools.common import progress_reporter
from integrations.mcp.tools.seam import ToolKit
from pawflow.cli.registry import missing_modules

COMPILE_MODULES = ("torch", "transformers", "compiler")


def available() -> bool:
    return not missing_modules(*COMPILE_MODULES)


def register(kit: ToolKit) -> None:
    state = kit.state
    one_at_a_time = asyncio.Lock()

    async def compile_program(
        source_yaml: Annotated[
            str,
            Field(description="a program source as YAML text (name, spec, output, examples), or the path of a source file"),
        ],
        method: Annotated[str | None, Field(description="compile method: prompt (seconds), channel (labels, seconds: P(input | label's examples)), auto (labels from a few examples: cross-validated choice, minutes) or fit (minutes, LoRA); default: the source's")] = None,
    ) -> dict[str, Any]:
        """Compile a program source into this server's programs folder; its tool appears when done.
        Long: reports progress by stage and can be cancelled (the folder then keeps the old program)."""
        from compiler.driver import compile_file
        from compiler.methods import method_names

        if method is not None and method not in method_names():
            raise ToolInputError(f"unknown compile method {method!r}", hint=f"one of: {', '.join(method_names())}")
        out_dir = _output_folder(state.sync.program_dirs)
        loop = asyncio.get_running_loop()
        bridge = ProgressBridge(loop, progress_reporter())
        cancelled = threading.Event()
        stages: list[str] = []

        def progress(stage: str, completed: float, total: float | None, note: str = "") -> None:
            if cancelled.is_set():
                raise CallCancelled("the client cancelled the compile")
            if stage not in stages:
                stages.append(stage)
            fraction = (completed / total) if total else 0.0
            done = f" {completed:g}/{total:g}" if total else ""
            bridge(len(stages) - 1 + min(max(fraction, 0.0), 1.0), None, f"{stage}{done} {note}".strip())

        def job() -> Any:
            with tempfile.TemporaryDirectory(prefix="pawflow-mcp-compile-") as scratch:
                source = _source_file(source_yaml, Path(scratch))
                from pawflow.source import load_source

                name = load_source(source).source.name
                return compile_file(source, method=method, out=out_dir / f"{name}.paw", progress=progress)

        async with one_at_a_time:
            worker = asyncio.ensure_future(asyncio.to_thread(job))
            worker.add_done_callback(lambda f: f.cancelled() or f.exception())  # a cancelled compile's error is expected
            try:
                report = await asyncio.shield(worker)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        changes = await state.sync.refresh("compiled a program")
        entry = state.sync.snapshot.programs.get(report.name)
        return {
            "program": report.name,
            "path": str(report.out),
            "tool": entry.tool_name if entry else None,
            "method": report.method,
            "seconds": round(report.seconds, 1),
            "status": report.status,
            "tools_changed": bool(changes),
            "heldout_em": report.details.get("heldout_em"),
        }

    kit.add(compile_program, read_only=False)


def _output_folder(program_dirs: list[Path]) -> Path:
    for folder in program_dirs:
        if folder.is_dir():
            return folder
    if program_dirs:
        program_dirs[0].mkdir(parents=True, exist_ok=True)
        return program_dirs[0]
    raise ToolInputError("this server has no programs folder to compile into", hint="start it with --programs DIR")


def _source_file(source_yaml: str, scratch: Path) -> Path:
    """A path to the source: the given file, or the YAML text written into a scratch folder."""
    text = source_yaml.strip()
    if "\n" not in text and text.endswith((".yaml", ".yml")):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ToolInputError(f"source file not found: {path}", hint="pass the YAML text itself, or an existing file path")
        return path
    if ":" not in text:
        raise ToolInputError(
            "source_yaml is neither YAML (name:, spec:, output:, examples:) nor a path to a .yaml file",
            hint="see programs/log-alert.yaml for the format",
        )
    path = scratch / "source.yaml"
    path.write_text(source_yaml, encoding="utf-8")
    return path
